"""Sectioned glare: a soft white patch over one cell of a 5x2 grid, the cell chosen by the variant number."""

from __future__ import annotations

import cv2
import numpy as np

from augkit.stages.base import Params, Stage, StageOptionError, VariantContext, float_range, uniform


class SectionedGlare(Stage):
    """Add alpha * GaussianBlur(white rectangle over one grid section), saturating.

    Section s = (variant - 1) mod (columns * rows): row s // columns, column s % columns, so
    ten consecutive variants visit every section once, whatever the strong/weak split.
    """

    name = "sectioned_glare"

    def __init__(self, alpha=(0.5, 0.7), grid=(5, 2), kernel=51):
        self.alpha = float_range("alpha", alpha, 0.0, 1.0)
        if not (isinstance(grid, (list, tuple)) and len(grid) == 2
                and all(isinstance(g, int) and not isinstance(g, bool) and g >= 1 for g in grid)):
            raise StageOptionError(f"grid must be [columns, rows] of positive integers, got {grid!r}")
        if isinstance(kernel, bool) or not isinstance(kernel, int) or kernel < 1 or kernel % 2 == 0:
            raise StageOptionError(f"kernel must be an odd positive integer, got {kernel!r}")
        self.grid = tuple(grid)
        self.kernel = kernel

    def sample(self, rng: np.random.Generator, shape, ctx: VariantContext) -> Params:
        columns, rows = self.grid
        return {"section": (ctx.variant - 1) % (columns * rows), "alpha": uniform(rng, self.alpha)}

    def apply(self, image: np.ndarray, params: Params) -> np.ndarray:
        h, w = image.shape[:2]
        col_profile, row_profile = glare_profiles(h, w, params["section"], self.grid, self.kernel)
        # The blurred rectangle is the outer product of two 1-D blurs, and it is exactly zero
        # outside the section widened by the kernel radius: only that band is touched.
        cols = np.flatnonzero(col_profile)
        out = image.copy()
        if cols.size == 0:
            return out
        x0, x1 = int(cols[0]), int(cols[-1]) + 1
        overlay = np.outer(row_profile, col_profile[x0:x1]) * (255.0 * params["alpha"])
        band = out[:, x0:x1].astype(np.float32)
        band += overlay[:, :, None] if out.ndim == 3 else overlay
        out[:, x0:x1] = cv2.convertScaleAbs(np.clip(band, 0.0, 255.0, out=band))
        return out


def section_box(h: int, w: int, section: int, grid: tuple[int, int] = (5, 2)) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), end-exclusive, of grid `section`; the sections tile the image."""
    columns, rows = grid
    row, col = divmod(section, columns)
    x0, x1 = col * w // columns, (col + 1) * w // columns
    y0, y1 = row * h // rows, (row + 1) * h // rows
    # Images narrower or shorter than the grid still get a one-pixel section.
    return x0, y0, max(x1, min(x0 + 1, w)), max(y1, min(y0 + 1, h))


def glare_profiles(h: int, w: int, section: int, grid: tuple[int, int], kernel: int) -> tuple[np.ndarray, np.ndarray]:
    """1-D Gaussian blurs (OpenCV's kernel and default border) of the section's column and row indicators."""
    x0, y0, x1, y1 = section_box(h, w, section, grid)
    cols = np.zeros((1, w), np.float32)
    cols[0, x0:x1] = 1.0
    rows = np.zeros((h, 1), np.float32)
    rows[y0:y1, 0] = 1.0
    col_profile = cv2.GaussianBlur(cols, (kernel, 1), 0).ravel()
    row_profile = cv2.GaussianBlur(rows, (1, kernel), 0).ravel()
    return col_profile, row_profile
