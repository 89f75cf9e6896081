"""Preprocessing: PaddleOCR's eval-time resize (`resize_norm_img` of ppocr/data/imaug/rec_img_aug.py,
as its RecResizeImg runs it in every recognition config's Eval section) into width buckets.

For an input of height H and width W: keep the aspect ratio, height H, width
min(W, ceil(H * (w / h))) with cv2.resize's default bilinear interpolation; normalise each value to
(x / 255 - 0.5) / 0.5 in float32; channels first; zero to the right up to W. The width is computed
with PaddleOCR's own floating-point expression, H * (w / h), which at some heights differs from
exact arithmetic by one pixel (height 100, an 11×5 crop: 221, not 220). The normalisation is a 256-entry table made with
PaddleOCR's float32 operations, so every value is bit-identical to PaddleOCR's.

With several input widths (one engine per width), a crop goes to the narrowest width that holds
it at its natural aspect ratio; a crop wider than all of them goes to the widest and is squashed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from augkit.errors import UserError

# PaddleOCR: astype('float32') / 255, then -= 0.5, then /= 0.5, all in float32.
NORMALISE = ((np.arange(256).astype(np.float32) / np.float32(255)) - np.float32(0.5)) / np.float32(0.5)
_LUT = NORMALISE.reshape(256, 1)


@dataclass(frozen=True)
class Placement:
    """Where one crop goes: the input width (bucket), its width after the resize, and whether it
    had to be narrowed below its natural aspect ratio."""

    width: int
    resized_width: int
    squashed: bool


def natural_width(h: int, w: int, height: int) -> int:
    """Width of an h×w crop resized to `height` at its own aspect ratio (PaddleOCR's expression)."""
    ratio = w / float(h)
    return int(math.ceil(height * ratio))


def place(h: int, w: int, height: int, widths: tuple[int, ...]) -> Placement:
    """The narrowest of `widths` (ascending) that holds the crop unsquashed, else the widest."""
    natural = natural_width(h, w, height)
    for width in widths:
        if natural <= width:
            return Placement(width, natural, False)
    return Placement(widths[-1], widths[-1], True)


def normalised(image: np.ndarray, height: int, placement: Placement) -> np.ndarray:
    """The resized, normalised crop alone: (3, height, placement.resized_width) float32."""
    resized = cv2.resize(image, (placement.resized_width, height))
    # cv2.LUT applies the float32 table without holding the GIL (reader threads run in parallel).
    return np.ascontiguousarray(cv2.LUT(resized, _LUT).transpose(2, 0, 1))


def resize_normalise(image: np.ndarray, height: int, placement: Placement, out: np.ndarray | None = None) -> np.ndarray:
    """The (3, height, placement.width) float32 input for a BGR uint8 crop; written into `out`
    (which must be zero right of the resized width) when given."""
    if out is None:
        out = np.zeros((3, height, placement.width), np.float32)
    out[:, :, :placement.resized_width] = normalised(image, height, placement)
    return out


def check_shape(height: int, widths: list[int] | tuple[int, ...]) -> tuple[int, ...]:
    """The input widths sorted and distinct, after checking the shape options."""
    if height < 1:
        raise UserError(f"--height must be positive, got {height}")
    if not widths:
        raise UserError("give at least one --width")
    bad = [w for w in widths if w < 1]
    if bad:
        raise UserError(f"--width must be positive, got {bad[0]}")
    return tuple(sorted(set(int(w) for w in widths)))
