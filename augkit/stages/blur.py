"""Resolution-loss stages: motion blur and pixelation."""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from augkit.stages.base import Params, Stage, StageOptionError, VariantContext, float_range, uniform


class MotionBlur(Stage):
    """Convolve with a straight line kernel of a size drawn from `kernels` at a random angle."""

    name = "motion_blur"

    def __init__(self, kernels=(5, 7)):
        if isinstance(kernels, int) and not isinstance(kernels, bool):
            kernels = [kernels]
        if (not isinstance(kernels, (list, tuple)) or not kernels
                or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 3 and k % 2 for k in kernels)):
            raise StageOptionError(f"kernels must be a list of odd sizes >= 3, got {kernels!r}")
        self.kernels = tuple(kernels)

    def sample(self, rng: np.random.Generator, shape, ctx: VariantContext) -> Params:
        # Angles on a 0.1-degree grid: far finer than a 7-pixel line can show, and few enough
        # distinct kernels that each is built once per process.
        return {"kernel": int(self.kernels[int(rng.integers(len(self.kernels)))]),
                "angle": round(uniform(rng, (0.0, 180.0)), 1)}

    def apply(self, image: np.ndarray, params: Params) -> np.ndarray:
        kernel = line_kernel(params["kernel"], params["angle"])
        return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REPLICATE)


@lru_cache(maxsize=8192)
def line_kernel(size: int, angle: float) -> np.ndarray:
    """A normalised `size` x `size` kernel: an anti-aliased line through the centre at `angle` degrees."""
    c = (size - 1) / 2.0
    a = math.radians(angle)
    # Splat evenly spaced points along the line bilinearly: smooth in the angle, exact at 0/90.
    t = np.linspace(-c, c, 4 * size + 1)
    x, y = c + t * math.cos(a), c - t * math.sin(a)
    x0 = np.minimum(np.floor(x).astype(np.intp), size - 1)
    y0 = np.minimum(np.floor(y).astype(np.intp), size - 1)
    fx, fy = x - x0, y - y0
    # Bilinear weights of every point onto its four neighbours, summed per cell of a kernel
    # padded by one row and column (weights falling there are zero or dropped).
    cells = np.concatenate([y0 * (size + 1) + x0, y0 * (size + 1) + x0 + 1,
                            (y0 + 1) * (size + 1) + x0, (y0 + 1) * (size + 1) + x0 + 1])
    weights = np.concatenate([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy])
    padded = np.bincount(cells, weights, minlength=(size + 1) ** 2).reshape(size + 1, size + 1)
    kernel = padded[:size, :size].astype(np.float32)
    kernel /= kernel.sum()
    kernel.setflags(write=False)
    return kernel


class Pixelate(Stage):
    """Shrink to (max(1, floor(w*s)), max(1, floor(h*s))) bilinearly, enlarge back with nearest."""

    name = "pixelate"

    def __init__(self, scale=(0.3, 1.0)):
        self.scale = float_range("scale", scale, 0.0, 1.0)
        if self.scale[0] <= 0:
            raise StageOptionError(f"scale must be above 0, got {list(self.scale)}")

    def sample(self, rng: np.random.Generator, shape, ctx: VariantContext) -> Params:
        return {"scale": uniform(rng, self.scale)}

    def apply(self, image: np.ndarray, params: Params) -> np.ndarray:
        h, w = image.shape[:2]
        s = params["scale"]
        small = cv2.resize(image, (max(1, math.floor(w * s)), max(1, math.floor(h * s))), interpolation=cv2.INTER_LINEAR)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
