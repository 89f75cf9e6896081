"""Where a point of a page lands after each augmentation step, by the formulas that move the
pixels (augkit.stages.geometry, augkit.kernels), so a polygon moves exactly with its text.

Points are in pixel coordinates with pixel centres on whole numbers, the convention the kernels
sample in: output pixel (x, y) of a rotation reads the source at A (x, y, 1) (A from
`kernels.rotation_inverse`), so a source point p lands at A^-1 p; output pixel (x, y) of the
cylindrical warp reads the source at (x - d(y), y), so a point (x, y) lands at (x + d(y), y)
with the same continuous d as `warp_shift` evaluates at whole rows. Both grow the canvas to
hold every source pixel, so no point of the page leaves it. The photometric stages (brightness
and contrast, noise, motion blur, pixelate, sectioned glare) leave points where they are.

Only corners move: an edge between two moved corners stays straight. A rotation keeps edges
straight; the warp bends a line's left and right sides by |d(mid) - (d(top) + d(bottom)) / 2|,
0.17 pixels for a 40-pixel line on a 704-pixel page at the strong recipe's largest shift, 0.07
at its smallest (`edge_bend` measures it; the manifest records the largest per variant).
"""

from __future__ import annotations

import math

import numpy as np

from augkit import kernels
from augkit.stages.geometry import rotated_size

MOVING = ("rotate", "cylindrical_warp")
STILL = ("brightness_contrast", "gaussian_noise", "motion_blur", "pixelate", "sectioned_glare")


def warp_d(y: np.ndarray, height: int, k: float) -> np.ndarray:
    """The warp's shift at (any real) row y of an image `height` rows tall (as `warp_shift`)."""
    r = height / (2.0 * math.pi) * k
    return r - np.sqrt(np.maximum(r * r - (np.asarray(y, np.float64) - height / 2.0) ** 2, 0.0))


def rotate_points(points: np.ndarray, width: int, height: int, angle: float) -> tuple[np.ndarray, tuple[int, int]]:
    """Points of a `width` x `height` image after `rotate_grow` by `angle`, and the new size."""
    new_w, new_h = rotated_size(width, height, angle)
    a, b, c, d, e, f = kernels.rotation_inverse(width, height, angle, new_w, new_h)
    inverse = np.linalg.inv(np.array([[a, b], [d, e]], np.float64))
    moved = (np.asarray(points, np.float64) - np.array([c, f])) @ inverse.T
    return moved, (new_w, new_h)


def warp_points(points: np.ndarray, width: int, height: int, k: float) -> tuple[np.ndarray, tuple[int, int]]:
    """Points after the cylindrical warp with radius factor `k`, and the new size."""
    from augkit.stages.geometry import warp_shift

    p = np.asarray(points, np.float64).copy()
    p[:, 0] += warp_d(p[:, 1], height, k)
    grown = width + math.ceil(float(warp_shift(height, k).max()) - 1e-9)
    return p, (grown, height)


def edge_bend(points: np.ndarray, height: int, k: float) -> float:
    """The most the warp bends any edge of the (unwarped) polygon away from the straight line
    between its moved corners, in pixels."""
    p = np.asarray(points, np.float64)
    q = np.roll(p, -1, axis=0)
    mid = (p[:, 1] + q[:, 1]) / 2
    return float(np.abs(warp_d(mid, height, k) - (warp_d(p[:, 1], height, k) + warp_d(q[:, 1], height, k)) / 2).max())


def move_points(polygons: list[np.ndarray], size: tuple[int, int], applied: list[dict]) -> tuple[list[np.ndarray], float]:
    """Every polygon after the recorded steps (the `applied` list of `Recipe.apply`) of an image
    of `size` (width, height), and the warp's largest edge bend."""
    width, height = size
    bend = 0.0
    for step in applied:
        stage, params = step["stage"], step["params"]
        if stage == "rotate":
            moved = [rotate_points(p, width, height, params["angle"])[0] for p in polygons]
            width, height = rotated_size(width, height, params["angle"])
            polygons = moved
        elif stage == "cylindrical_warp":
            bend = max([bend] + [edge_bend(p, height, params["k"]) for p in polygons])
            moved = [warp_points(p, width, height, params["k"]) for p in polygons]
            polygons = [m for m, _ in moved]
            if moved:
                width, height = moved[0][1]
            else:
                width = warp_points(np.zeros((1, 2)), width, height, params["k"])[1][0]
        elif stage not in STILL:
            raise ValueError(f"{stage} cannot move polygons")
    return polygons, bend
