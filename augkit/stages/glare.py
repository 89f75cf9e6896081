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
        x0, x1, overlay = glare_overlay(h, w, params["section"], self.grid, self.kernel)
        out = image.copy()
        band = out[:, x0:x1].astype(np.float32)
        band += overlay.astype(np.float32)[:, :, None] * np.float32(params["alpha"])
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


def glare_overlay(h: int, w: int, section: int, grid: tuple[int, int] = (5, 2),
                  kernel: int = 51) -> tuple[int, int, np.ndarray]:
    """The blurred white rectangle over `section`, as (x0, x1, band): columns x0..x1 of the
    full-size blur (every other column of it is exactly zero).

    Only the section widened by the kernel radius is blurred. Inside that band the result is
    bit-identical to blurring the full-size mask: beyond the band the mask is zero on both
    sides, and where the band meets the image edge both use the same reflected border.
    """
    x0, y0, x1, y1 = section_box(h, w, section, grid)
    radius = kernel // 2
    b0, b1 = max(0, x0 - radius), min(w, x1 + radius)
    mask = np.zeros((h, b1 - b0), np.uint8)
    mask[y0:y1, x0 - b0:x1 - b0] = 255
    return b0, b1, cv2.GaussianBlur(mask, (kernel, kernel), 0)
