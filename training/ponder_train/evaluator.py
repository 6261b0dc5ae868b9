"""GenEval-style evaluation for the Shapes world (the end of docs/world.md).

`detect(image)` finds the background and every object (shape, colour, fitted side, centre);
`correct(image, prompt)` decides whether the image is correct for the prompt. Nothing here
knows how an image was made: ground-truth renders, tokenizer reconstructions and generated
images are judged the same way.

Detection: the background is the world colour nearest the image border; each pixel is
explained as the background blended with one palette colour by some coverage alpha; pixels
mostly covered (alpha ≥ 0.5) by one colour form connected components, one per object. An
object's side and centre come from the moments of its alpha map under each shape's known
area and centroid, and its shape is the one whose rendered coverage at that pose matches
the alpha map best.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .image.background import alpha_maps, detect_background
from .image.render import coverage, shape_mask
from .language.plan import scene_satisfies
from .language.prompt import Prompt
from .language.world import COLOUR_RGB, SHAPES, Obj, Scene

PALETTE = np.array(COLOUR_RGB, np.float64)
MIN_PIXELS = 20  # smaller blobs are noise: the smallest object (a small star) covers ~75 px
MAX_RESIDUAL = 60.0  # RGB distance beyond which a pixel is no blend of background and colour


def _shape_moments():
    """Area and centroid of each shape in normalised units, measured on a fine grid."""
    g = (np.arange(2000) + 0.5) / 2000 - 0.5
    u, v = np.meshgrid(g, g)
    out = []
    for k in range(len(SHAPES)):
        m = shape_mask(k, u, v)
        out.append((m.mean(), u[m].mean(), v[m].mean()))
    return out


MOMENTS = _shape_moments()


@dataclass
class Detection:
    shape: int
    colour: int
    side: float
    cx: float
    cy: float
    error: float  # mismatch between the alpha map and the fitted shape (0 = perfect)


def detect(img: np.ndarray) -> tuple[int, list[Detection]]:
    """(background index, objects) found in a (128, 128, 3) uint8 image."""
    h, w, _ = img.shape
    bg_index = detect_background(img)
    alpha, resid = alpha_maps(img, bg_index)
    # Each pixel takes the colour that explains it best; it belongs to an object's core
    # when that explanation is good and the colour covers at least half of it.
    best = resid.argmin(1)
    rows = np.arange(len(best))
    core = (alpha[rows, best] >= 0.5) & (resid[rows, best] < MAX_RESIDUAL)
    labels = np.where(core, best, -1).reshape(h, w)
    found = []
    for colour in range(len(PALETTE)):
        comps, n = ndimage.label(labels == colour, structure=np.ones((3, 3)))
        for k in range(1, n + 1):
            mask = comps == k
            if mask.sum() < MIN_PIXELS:
                continue
            # The object's alpha map: its core grown by two pixels to take in anti-aliasing.
            region = ndimage.binary_dilation(mask, iterations=2)
            a = np.where(region, alpha[:, colour].reshape(h, w), 0.0)
            a = np.where(resid[:, colour].reshape(h, w) < MAX_RESIDUAL, a, 0.0)
            found.append(_fit(a, colour))
    return bg_index, found


def _fit(a: np.ndarray, colour: int) -> Detection:
    area = a.sum()
    ys, xs = np.nonzero(a)
    my = (a[ys, xs] * (ys + 0.5)).sum() / area
    mx = (a[ys, xs] * (xs + 0.5)).sum() / area
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    win = a[y0:y1, x0:x1]
    best = None
    for shape, (unit_area, du, dv) in enumerate(MOMENTS):
        side = float(np.sqrt(area / unit_area))
        cx, cy = mx - du * side, my - dv * side
        cov = coverage(shape, side, cx, cy, x0, y0, x1 - x0, y1 - y0)
        err = np.abs(cov - win).sum() / area
        if best is None or err < best.error:
            best = Detection(shape, colour, side, cx, cy, float(err))
    return best


def as_scene(bg: int, found: list[Detection]) -> Scene:
    return Scene(bg, [Obj(d.shape, d.colour, d.side, d.cx, d.cy) for d in found])


def correct(img: np.ndarray, prompt: Prompt, detection=None) -> bool:
    """Whether the image is correct for the prompt (world.md's definition). `detection` is
    detect(img) where the caller has it already (it is most of the cost)."""
    bg, found = detection or detect(img)
    return scene_satisfies(as_scene(bg, found), prompt)
