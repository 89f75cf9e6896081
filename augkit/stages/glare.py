"""Sectioned glare: a soft white patch over one cell of a 5x2 grid, the cell chosen by the variant number."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from augkit import kernels
from augkit.stages.base import (OfHeight, Params, Stage, StageOptionError, VariantContext, float_range,
                                odd_at_least_one, of_height, uniform)


class SectionedGlare(Stage):
    """Add alpha * GaussianBlur(white rectangle over one grid section), saturating.

    Section s = (variant - 1) mod (columns * rows): row s // columns, column s % columns, so
    ten consecutive variants visit every section once, whatever the strong/weak split.

    `kernel` is the blur's odd size in pixels, or `{of_height: x}`: x times the crop's height,
    rounded to the nearest odd size, so the patch has the same soft edge at every crop size.
    """

    name = "sectioned_glare"
    returns_new_image = True

    def __init__(self, alpha=(0.5, 0.7), grid=(5, 2), kernel=51):
        self.alpha = float_range("alpha", alpha, 0.0, 1.0)
        if not (isinstance(grid, (list, tuple)) and len(grid) == 2
                and all(isinstance(g, int) and not isinstance(g, bool) and g >= 1 for g in grid)):
            raise StageOptionError(f"grid must be [columns, rows] of positive integers, got {grid!r}")
        relative = of_height("kernel", kernel)
        if relative is None and (isinstance(kernel, bool) or not isinstance(kernel, int) or kernel < 1
                                 or kernel % 2 == 0):
            raise StageOptionError(f"kernel must be an odd positive integer or {{of_height: x}}, got {kernel!r}")
        if relative is not None:
            kernel = relative
        self.grid = tuple(grid)
        self.kernel = kernel

    def sample(self, rng: np.random.Generator, shape, ctx: VariantContext) -> Params:
        columns, rows = self.grid
        params = {"section": (ctx.variant - 1) % (columns * rows), "alpha": uniform(rng, self.alpha)}
        if isinstance(self.kernel, OfHeight):
            fraction, pixels = self.kernel.draw(rng, shape, ctx)
            params["kernel"] = odd_at_least_one(pixels)
        return params

    def apply(self, image: np.ndarray, params: Params) -> np.ndarray:
        return self._add(kernels.bgr(image), params, in_place=False)

    def apply_owned(self, image: np.ndarray, params: Params) -> np.ndarray:
        # In place: only the section's columns change, so the rest of the image is not copied.
        return self._add(kernels.bgr(image), params, in_place=True)

    def _add(self, image: np.ndarray, params: Params, in_place: bool) -> np.ndarray:
        h, w = image.shape[:2]
        # A relative kernel is resolved per image when sampled; older records carry none.
        kernel = params.get("kernel", self.kernel)
        rows, x0, cols3 = _kernel_profiles(h, w, params["section"], self.grid, kernel)
        # weight = rint(rows[y] * cols[x] * alpha) in float32, added saturating (augkit.kernels.add_glare)
        return kernels.add_glare(image, rows, cols3, x0, params["alpha"], out=image if in_place else None)


def section_box(h: int, w: int, section: int, grid: tuple[int, int] = (5, 2)) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), end-exclusive, of grid `section`; the sections tile the image."""
    columns, rows = grid
    row, col = divmod(section, columns)
    x0, x1 = col * w // columns, (col + 1) * w // columns
    y0, y1 = row * h // rows, (row + 1) * h // rows
    # Images narrower or shorter than the grid still get a one-pixel section.
    return x0, y0, max(x1, min(x0 + 1, w)), max(y1, min(y0 + 1, h))


def glare_profiles(h: int, w: int, section: int, grid: tuple[int, int] = (5, 2),
                   kernel: int = 51) -> tuple[np.ndarray, int, np.ndarray]:
    """The Gaussian-blurred white (255) rectangle over `section` as the outer product of two
    profiles, (rows, x0, cols): the blur at (y, x) is rows[y] * cols[x - x0] (float32) for
    x0 <= x < x0 + len(cols), and exactly zero elsewhere.

    A box blurred by a separable Gaussian is the outer product of the blurred row and column
    indicators (OpenCV's kernel for the size, sigma from the size, its default reflected
    border), so no 2-D mask is built or blurred: a few thousand operations per variant
    instead of a 51x51 filter over the whole image.
    """
    x0, y0, x1, y1 = section_box(h, w, section, grid)
    b0, b1, cols = _blurred_indicator(w, x0, x1, kernel)
    return _blurred_indicator(h, y0, y1, kernel)[2] * np.float32(255.0), b0, cols[b0:b1]


@lru_cache(maxsize=4096)
def _kernel_profiles(h: int, w: int, section: int, grid: tuple[int, int], kernel: int) -> tuple[np.ndarray, int, np.ndarray]:
    """glare_profiles with the column profile repeated per channel byte, as the kernel takes it
    (cached: crops of a data set share a few sizes)."""
    rows, x0, cols = glare_profiles(h, w, section, grid, kernel)
    cols3 = np.repeat(cols, 3)
    rows.setflags(write=False)
    cols3.setflags(write=False)
    return rows, x0, cols3


@lru_cache(maxsize=4096)
def _blurred_indicator(n: int, start: int, stop: int, kernel: int) -> tuple[int, int, np.ndarray]:
    """1-D Gaussian blur of the indicator of [start, stop) in 0..n, and where it is non-zero.

    Cached: crops of a data set share a few heights and widths, so most calls are hits.
    """
    line = np.zeros((1, n), np.float32)
    line[0, start:stop] = 1.0
    profile = cv2.GaussianBlur(line, (kernel, 1), 0).ravel()
    profile.setflags(write=False)
    nonzero = np.flatnonzero(profile)
    return int(nonzero[0]), int(nonzero[-1]) + 1, profile
