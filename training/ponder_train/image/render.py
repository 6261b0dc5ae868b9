"""The renderer of docs/world.md: a scene as the exact anti-aliased picture (each pixel
blended by the share of a 4 × 4 grid of sub-samples inside the shape). Training data, the
benchmark's ground truth and the evaluator's shape fits all come from here; the engine never
renders (its model draws).
"""
from __future__ import annotations

import numpy as np

from ..language.world import BACKGROUND_RGB, CANVAS, COLOUR_RGB, SHAPES, Obj, Scene


def _star_polygon():
    k = np.arange(10)
    ang = np.deg2rad(-90 + 36 * k)
    r = np.where(k % 2 == 0, 0.5, 0.2)
    return np.stack([r * np.cos(ang), r * np.sin(ang)], 1)


STAR = _star_polygon()
HEART_TRIANGLE = np.array([(-0.47, -0.08), (0.47, -0.08), (0.0, 0.48)])


def _in_polygon(u, v, poly):
    """Even-odd rule; points exactly on an edge are measure zero for rendering."""
    inside_ = np.zeros(u.shape, bool)
    n = len(poly)
    for i in range(n):
        x1, y1 = poly[i]
        x2, y2 = poly[(i + 1) % n]
        cond = (y1 > v) != (y2 > v)
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = x1 + (v - y1) * (x2 - x1) / (y2 - y1)
        inside_ ^= cond & (u < xint)
    return inside_


def shape_mask(shape: int, u, v):
    """Whether normalised points (u, v) are inside `shape` (world.md's table)."""
    name = SHAPES[shape]
    if name == "circle":
        return u * u + v * v <= 0.25
    if name == "square":
        return (np.abs(u) <= 0.5) & (np.abs(v) <= 0.5)
    if name == "triangle":
        return (v >= -0.5) & (v <= 0.5) & (np.abs(u) <= (v + 0.5) / 2)
    if name == "diamond":
        return np.abs(u) + np.abs(v) <= 0.5
    if name == "star":
        return _in_polygon(u, v, STAR)
    if name == "heart":
        d1 = (u + 0.22) ** 2 + (v + 0.18) ** 2 <= 0.27 ** 2
        d2 = (u - 0.22) ** 2 + (v + 0.18) ** 2 <= 0.27 ** 2
        return d1 | d2 | _in_polygon(u, v, HEART_TRIANGLE)
    if name == "cross":
        a = (np.abs(u) <= 1 / 6) & (np.abs(v) <= 0.5)
        b = (np.abs(v) <= 1 / 6) & (np.abs(u) <= 0.5)
        return a | b
    if name == "ring":
        r = u * u + v * v
        return (r >= 0.09) & (r <= 0.25)
    raise ValueError(name)


SUB = (np.arange(4) + 0.5) / 4  # 4 × 4 sub-sample offsets inside a pixel


def coverage(shape: int, size: float, cx: float, cy: float, x0: int, y0: int, w: int, h: int):
    """Fraction (0..1, multiples of 1/16) of each pixel in the window inside the shape."""
    xs = (x0 + np.arange(w))[:, None] + SUB[None, :]  # (w, 4)
    ys = (y0 + np.arange(h))[:, None] + SUB[None, :]  # (h, 4)
    u = (xs.reshape(1, 1, w, 4) - cx) / size
    v = (ys.reshape(h, 4, 1, 1) - cy) / size
    u, v = np.broadcast_arrays(u, v)
    m = shape_mask(shape, u, v)
    return m.reshape(h, 4, w, 4).mean(axis=(1, 3))


def object_window(o: Obj):
    x0 = max(0, int(np.floor(o.cx - o.size / 2)) - 1)
    y0 = max(0, int(np.floor(o.cy - o.size / 2)) - 1)
    x1 = min(CANVAS, int(np.ceil(o.cx + o.size / 2)) + 1)
    y1 = min(CANVAS, int(np.ceil(o.cy + o.size / 2)) + 1)
    return x0, y0, x1 - x0, y1 - y0


def render(scene: Scene) -> np.ndarray:
    """The scene as a (128, 128, 3) uint8 image. Channels are blended in floating point and
    rounded half up (world.md leaves the rounding open)."""
    img = np.empty((CANVAS, CANVAS, 3), np.float64)
    img[:] = BACKGROUND_RGB[scene.background]
    for o in scene.objects:
        x0, y0, w, h = object_window(o)
        a = coverage(o.shape, o.size, o.cx, o.cy, x0, y0, w, h)[..., None]
        win = img[y0:y0 + h, x0:x0 + w]
        win[:] = win * (1 - a) + np.array(COLOUR_RGB[o.colour], np.float64) * a
    return np.floor(img + 0.5).astype(np.uint8)

