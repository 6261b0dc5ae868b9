"""Moving a picture from one of the world's backgrounds onto another (docs/format.md,
"Backgrounds"), and reading which background a picture has. The engine's counterpart is
Sources/PonderCore/Image/Background.swift; tests hold the two to each other.
"""
from __future__ import annotations

import numpy as np

from ..language.world import BACKGROUND_RGB, COLOUR_RGB


def detect_background(img: np.ndarray) -> int:
    """The world background nearest the median colour of the image's border."""
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]]).astype(np.float64)
    med = np.median(border, axis=0)
    return int(np.argmin(((np.array(BACKGROUND_RGB, np.float64) - med) ** 2).sum(1)))


def alpha_maps(img: np.ndarray, background: int):
    """Per pixel and object colour: the coverage alpha explaining the pixel as a blend of the
    background and that colour (as render() blends them), and the RGB distance left over."""
    bg = np.array(BACKGROUND_RGB[background], np.float64)
    p = img.reshape(-1, 3).astype(np.float64) - bg
    d = np.array(COLOUR_RGB, np.float64) - bg  # (8, 3)
    alpha = np.clip(p @ d.T / (d * d).sum(1), 0, 1)  # (N, 8)
    resid = np.linalg.norm(p[:, None, :] - alpha[..., None] * d[None], axis=2)
    return alpha, resid


def rebackground(img: np.ndarray, source: int, target: int) -> np.ndarray:
    """The (H, W, 3) uint8 image on background `source` moved onto background `target`: each
    pixel is read as `source` blended with the object colour that explains it best, and
    blended again with `target` at the same coverage. Exact on renders up to rounding (no
    pixel mixes two objects: they keep 4 px apart). The model draws every image on white
    and this puts it on the planned background (docs/format.md, "Backgrounds"); the engine's
    Background.swift is the same arithmetic."""
    if source == target:
        return img.copy()
    alpha, resid = alpha_maps(img, source)
    rows = np.arange(len(alpha))
    best = resid.argmin(1)
    a = alpha[rows, best][:, None]
    out = np.array(COLOUR_RGB, np.float64)[best] * a + np.array(BACKGROUND_RGB[target], np.float64) * (1 - a)
    return np.floor(out + 0.5).astype(np.uint8).reshape(img.shape)

