"""Geometric stages: rotation and cylindrical warp. Both grow the canvas rather than cut glyphs."""

from __future__ import annotations

import math

import numpy as np

from augkit import kernels
from augkit.stages.base import Params, Stage, StageOptionError, VariantContext, float_range, of_height, uniform


class Rotate(Stage):
    """Rotate by an angle drawn from `limit` (degrees, counter-clockwise positive).

    `rise: {of_height: [lo, hi]}` draws the angle from how far the line's far end rises above
    (or falls below) its near end instead, as a fraction f of the line's height: the angle is
    atan(f H / W) with a random sign, still within `limit`. A fixed angle tilts a long line far
    more than a short word (3 degrees lift the end of a 15:1 receipt line by 0.8 of its height,
    of a 2:1 word by 0.1), and a line cut from a fitted box never tilts that far within it; the
    rise keeps every line's tilt the same share of its height.

    The canvas grows to the rotated image's bounding box, so no pixel of the source (and no
    glyph of a long line) leaves it; the new corners repeat the border (replicate). Bilinear,
    positions rounded to 1/128 pixel (`augkit.kernels.affine`).
    """

    name = "rotate"
    returns_new_image = True

    def __init__(self, limit=(-3.0, 3.0), rise=None):
        self.limit = float_range("limit", limit, -90.0, 90.0)
        self.rise = None
        if rise is not None:
            self.rise = of_height("rise", rise, 0.0, 10.0)
            if self.rise is None:
                raise StageOptionError(f"rise must be {{of_height: [low, high]}} (a fraction of the line's height), "
                                       f"got {rise!r}")

    def options(self):
        out = {"limit": list(self.limit)}
        if self.rise is not None:
            out["rise"] = self.rise.as_option()
        return out

    def sample(self, rng: np.random.Generator, shape, ctx: VariantContext) -> Params:
        if self.rise is None:
            return {"angle": uniform(rng, self.limit)}
        # The image's own height and width: the ratio, not the size, sets the angle.
        f = uniform(rng, (self.rise.low, self.rise.high))
        sign = 1.0 if rng.random() < 0.5 else -1.0
        angle = sign * math.degrees(math.atan2(f * shape[0], max(shape[1], 1)))
        return {"angle": min(max(angle, self.limit[0]), self.limit[1]), "rise": round(sign * f, 6)}

    def apply(self, image: np.ndarray, params: Params) -> np.ndarray:
        return rotate_grow(image, params["angle"])


def rotated_size(width: int, height: int, angle: float) -> tuple[int, int]:
    """(width, height) of the canvas that holds a `width` x `height` image rotated by `angle`."""
    a = math.radians(angle)
    c, s = abs(math.cos(a)), abs(math.sin(a))
    # Pixel centres span (w-1, h-1); the bounding box of the rotated centres plus one pixel.
    new_w = math.ceil((width - 1) * c + (height - 1) * s - 1e-9) + 1
    new_h = math.ceil((width - 1) * s + (height - 1) * c - 1e-9) + 1
    return new_w, new_h


def rotate_grow(image: np.ndarray, angle: float) -> np.ndarray:
    """Rotate about the centre onto a canvas that holds the whole rotated image.

    Bilinear sampling with replicated border (`augkit.kernels.affine`: positions to 1/128
    pixel, every neighbour clamped into the source), read straight from the source.
    """
    image = kernels.bgr(image)
    h, w = image.shape[:2]
    new_w, new_h = rotated_size(w, h, angle)
    return kernels.affine(image, (new_w, new_h), kernels.rotation_inverse(w, h, angle, new_w, new_h))


class CylindricalWarp(Stage):
    """Bend text as on a curved page: row y shifts right by d(y) = r - sqrt(max(r^2 - (y - H/2)^2, 0)),
    with r = H / (2*pi) * k and k drawn from `k`.

    The shift is continuous (rows beyond the radius shift by r, not by zero) and the canvas
    grows on the right by the largest shift, so nothing is cut; uncovered pixels replicate
    the border instead of turning black. Linear interpolation along the row, shifts rounded to
    1/128 pixel.

    k is a share of the height already (r grows with H), but a poor handle on strength: k = 3
    shifts the top and bottom rows by 0.48 H against the middle, k = 4 by 0.24 H, k = 7 by
    0.12 H. `shift: {of_height: [lo, hi]}` draws that largest shift instead, as a fraction f of
    the height (0 < f <= 0.5), and takes the radius that gives it, r = H (f/2 + 1/(8f)) (the
    bend of a page, k >= pi). Give one of `k` and `shift`.
    """

    name = "cylindrical_warp"
    returns_new_image = True

    def __init__(self, k=None, shift=None):
        if k is not None and shift is not None:
            raise StageOptionError("give cylindrical_warp either k or shift, not both")
        if shift is not None:
            self.shift = of_height("shift", shift, 0.0, 0.5)
            if self.shift is None or self.shift.low <= 0:
                raise StageOptionError(f"shift must be {{of_height: [low, high]}} within (0, 0.5], got {shift!r}")
            self.k = None
            return
        self.shift = None
        self.k = float_range("k", (3.0, 4.0) if k is None else k)
        if self.k[0] <= 0:
            raise StageOptionError(f"k must be positive, got {list(self.k)}")

    def options(self):
        return {"k": list(self.k)} if self.shift is None else {"shift": self.shift.as_option()}

    def sample(self, rng: np.random.Generator, shape, ctx: VariantContext) -> Params:
        if self.shift is None:
            return {"k": uniform(rng, self.k)}
        f, _ = self.shift.draw(rng, shape, ctx)
        return {"k": k_for_shift(f), "of_height": round(f, 6)}

    def apply(self, image: np.ndarray, params: Params) -> np.ndarray:
        image = kernels.bgr(image)
        h, w = image.shape[:2]
        d = warp_shift(h, params["k"])
        # linear along the row, shifts to 1/128 pixel (augkit.kernels.shift_rows)
        return kernels.shift_rows(image, d, w + math.ceil(float(d.max()) - 1e-9))


def warp_shift(height: int, k: float) -> np.ndarray:
    """d(y) for every row y of an image `height` rows tall (float64)."""
    r = height / (2.0 * math.pi) * k
    y = np.arange(height, dtype=np.float64)
    return r - np.sqrt(np.maximum(r * r - (y - height / 2.0) ** 2, 0.0))



def k_for_shift(fraction: float) -> float:
    """The k whose largest shift is `fraction` of the height (0 < fraction <= 0.5; k >= pi)."""
    return 2.0 * math.pi * (fraction / 2.0 + 1.0 / (8.0 * fraction))
