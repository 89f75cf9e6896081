"""Resolution-loss stages: motion blur and pixelation."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from augkit.kernels import bgr, filter_taps, pixelate, quantise_kernel, quantise_kernels
from augkit.stages.base import (Params, Stage, StageOptionError, VariantContext, float_range, odd_at_least_one,
                                of_height, uniform)


class MotionBlur(Stage):
    """Convolve with a straight line kernel at a random angle (weights in units of 1/256,
    replicated border).

    `kernels` is a list of odd sizes in pixels, one drawn per image, or `{of_height: [lo, hi]}`:
    a line length drawn as that fraction of the crop's height, rounded to the nearest odd size
    (1, no blur, for a short crop), so the blur smears the same share of a glyph at every size.
    """

    name = "motion_blur"
    returns_new_image = True

    def __init__(self, kernels=(5, 7)):
        relative = of_height("kernels", kernels, 0.0, 1.0)
        if relative is not None:
            self.kernels = relative
            return
        if isinstance(kernels, int) and not isinstance(kernels, bool):
            kernels = [kernels]
        if (not isinstance(kernels, (list, tuple)) or not kernels
                or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 3 and k % 2 for k in kernels)):
            raise StageOptionError(f"kernels must be a list of odd sizes >= 3 or {{of_height: [low, high]}}, "
                                   f"got {kernels!r}")
        self.kernels = tuple(kernels)

    def sample(self, rng: np.random.Generator, shape, ctx: VariantContext) -> Params:
        # Angles on a 0.1-degree grid: far finer than a 7-pixel line can show, and few enough
        # distinct kernels that each is built once per process.
        if isinstance(self.kernels, tuple):
            return {"kernel": int(self.kernels[int(rng.integers(len(self.kernels)))]),
                    "angle": round(uniform(rng, (0.0, 180.0)), 1)}
        fraction, pixels = self.kernels.draw(rng, shape, ctx)
        return {"kernel": odd_at_least_one(pixels), "angle": round(uniform(rng, (0.0, 180.0)), 1),
                "of_height": round(fraction, 6)}

    def apply(self, image: np.ndarray, params: Params) -> np.ndarray:
        # The kernel's weights in units of 1/256 (filter_taps), replicated border.
        size = params["kernel"]
        if size == 1:
            return bgr(image).copy()
        return filter_taps(bgr(image), line_taps(size, params["angle"]), size // 2)


ANGLE_STEPS = 1800  # the 0.1-degree grid of motion-blur angles over [0, 180)
MIN_WEIGHT = 0.01


def line_kernel(size: int, angle: float) -> np.ndarray:
    """A normalised `size` x `size` kernel: an anti-aliased line through the centre at `angle` degrees."""
    step = angle * 10.0
    if abs(step - round(step)) < 1e-6:
        # Every angle a recipe draws lies on the grid: one lookup, no building per call.
        return _grid_kernels(size)[round(step) % ANGLE_STEPS]
    return _line_kernels(size, np.array([math.radians(angle)]))[0]


def line_taps(size: int, angle: float) -> np.ndarray:
    """`line_kernel(size, angle)` as integer taps (dy, dx, q), q in 1/256 summing to 256."""
    step = angle * 10.0
    if abs(step - round(step)) < 1e-6:
        return _grid_taps(size)[round(step) % ANGLE_STEPS]
    return quantise_kernel(line_kernel(size, angle))


@lru_cache(maxsize=16)
def _grid_taps(size: int) -> list[np.ndarray]:
    """The taps of all 1,800 grid kernels of one size, quantised together (once per process)."""
    return quantise_kernels(_grid_kernels(size))


@lru_cache(maxsize=16)
def _grid_kernels(size: int) -> np.ndarray:
    """The kernels of all 1,800 grid angles of one size, built together (a few ms, once per process)."""
    return _line_kernels(size, np.radians(np.arange(ANGLE_STEPS) / 10.0))


def _line_kernels(size: int, radians: np.ndarray) -> np.ndarray:
    """Line kernels of one size for each angle in `radians`, shape (angles, size, size), float32, read-only."""
    c = (size - 1) / 2.0
    # Splat evenly spaced points along the line bilinearly: smooth in the angle, exact at 0/90.
    t = np.linspace(-c, c, 4 * size + 1)[None, :]
    x, y = c + t * np.cos(radians)[:, None], c - t * np.sin(radians)[:, None]
    x0 = np.minimum(np.floor(x).astype(np.intp), size - 1)
    y0 = np.minimum(np.floor(y).astype(np.intp), size - 1)
    fx, fy = x - x0, y - y0
    # Bilinear weights of every point onto its four neighbours, summed per cell of a kernel
    # padded by one row and column (weights falling there are zero or dropped).
    side = size + 1
    base = np.arange(len(radians))[:, None] * side * side + y0 * side + x0
    cells = np.concatenate([base, base + 1, base + side, base + side + 1], axis=1)
    weights = np.concatenate([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], axis=1)
    padded = np.bincount(cells.ravel(), weights.ravel(), minlength=len(radians) * side * side)
    kernels = padded.reshape(len(radians), side, side)[:, :size, :size]
    kernels /= kernels.sum(axis=(1, 2), keepdims=True)
    # Weights under 1% (the far corners of the splat, under 1% of contrast each) are dropped:
    # OpenCV's filter costs one pass per non-zero weight, and they are a fifth of them.
    kernels[kernels < MIN_WEIGHT] = 0.0
    kernels /= kernels.sum(axis=(1, 2), keepdims=True)
    kernels = kernels.astype(np.float32)
    kernels.setflags(write=False)
    return kernels


class Pixelate(Stage):
    """Shrink to (max(1, floor(w*s)), max(1, floor(h*s))) bilinearly, enlarge back with nearest
    (each pixel takes the small pixel its centre falls in); positions of the shrink to 1/128
    pixel (`augkit.kernels.pixelate`).

    `scale` draws s directly (a share of each side: a 20-pixel crop at 0.3 keeps 6 rows, a
    128-pixel one 38). `cell` draws the side of one coarse pixel instead, `{of_height: [lo, hi]}`
    of the crop's height, and s = min(1, 1 / (cell * h)): every crop keeps the same number of
    rows of text, whatever its size. Give one of the two.
    """

    name = "pixelate"
    returns_new_image = True

    def __init__(self, scale=None, cell=None):
        if scale is not None and cell is not None:
            raise StageOptionError("give pixelate either scale or cell, not both")
        if cell is not None:
            self.cell = of_height("cell", cell, 0.0, 1.0)
            if self.cell is None:
                raise StageOptionError(f"cell must be {{of_height: [low, high]}}, got {cell!r}")
            if self.cell.low <= 0:
                raise StageOptionError(f"cell must be above 0, got {self.cell.as_option()}")
            self.scale = None
            return
        self.scale = float_range("scale", (0.3, 1.0) if scale is None else scale, 0.0, 1.0)
        if self.scale[0] <= 0:
            raise StageOptionError(f"scale must be above 0, got {list(self.scale)}")
        self.cell = None

    def options(self):
        return {"scale": list(self.scale)} if self.cell is None else {"cell": self.cell.as_option()}

    def sample(self, rng: np.random.Generator, shape, ctx: VariantContext) -> Params:
        if self.cell is None:
            return {"scale": uniform(rng, self.scale)}
        fraction, pixels = self.cell.draw(rng, shape, ctx)
        return {"scale": min(1.0, 1.0 / pixels), "of_height": round(fraction, 6)}

    def apply(self, image: np.ndarray, params: Params) -> np.ndarray:
        image = bgr(image)
        h, w = image.shape[:2]
        s = params["scale"]
        return pixelate(image, max(1, math.floor(w * s)), max(1, math.floor(h * s)))
