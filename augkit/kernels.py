"""The compiled per-pixel kernels of the seven stages (rotation, cylindrical warp, brightness/contrast,
noise, motion blur, pixelate, glare), with their definitions and the checks of what goes in.

The arithmetic lives in `augkit/_kernels.c`, which states each formula exactly; this module
turns images into what it takes (uint8, three channels, C-contiguous) and allocates outputs.
Each kernel has a portable C path and an AVX2 path chosen at import; both give the same bytes
(tests compare them on every kernel), so output does not depend on the CPU.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

try:
    from augkit import _kernels
except ImportError as exc:  # a source tree used without building, or a broken install
    from pathlib import Path

    _package = Path(__file__).resolve().parent
    _where = (f"augkit was imported from its source tree ({_package}), which has no built kernels: run from "
              "another folder to use the installed augkit, or build them here with `pip install -e .`"
              if (_package.parent / "setup.py").is_file() else
              "install augkit with `pip install .` (a C compiler is needed when no wheel fits this machine)")
    raise ImportError(f"augkit's compiled kernels (augkit._kernels) are missing: {_where}") from exc


_UINT8 = np.dtype(np.uint8)


def bgr(image: np.ndarray) -> np.ndarray:
    """`image` as a C-contiguous uint8 H x W x 3 array (grey made BGR, alpha dropped)."""
    if image.dtype is _UINT8 and image.ndim == 3 and image.shape[2] == 3 and image.flags.c_contiguous:
        return image  # what every stage after the first gets: checked in a few attribute reads
    if image.dtype != np.uint8:
        raise ValueError(f"stages take uint8 images, got {image.dtype}")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        image = cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2BGR)
    elif image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"stages take H x W x 3 images, got shape {image.shape}")
    elif image.shape[2] == 4:
        image = image[:, :, :3]
    return np.ascontiguousarray(image)


def affine(image: np.ndarray, size: tuple[int, int], inverse: tuple[float, ...]) -> np.ndarray:
    """Sample `image` (BGR uint8) at the positions of an affine map.

    `size` is the output (width, height); `inverse` the six entries (m0..m5) that take an output
    pixel (x, y) to the source position (m0 x + m1 y + m2, m3 x + m4 y + m5). Bilinear, with
    positions rounded to 1/128 pixel and weights in units of 1/16384; each of the four
    neighbours is clamped into the image (replicated border), see `augkit/_kernels.c` for the
    exact formula.
    """
    h, w = image.shape[:2]
    out = np.empty((size[1], size[0], 3), np.uint8)
    _kernels.affine(image, h, w, out, size[1], size[0], inverse)
    return out


def levels(image: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """alpha * v + beta * 255 per byte, saturating: clamp((v*a + b + 32768) >> 16) with
    a = round(alpha * 65536), b = round(beta * 255 * 65536)."""
    out = np.empty_like(image)
    _kernels.levels(image, out, round(alpha * 65536), round(beta * 255 * 65536))
    return out


NORMAL_UNIT = 4096  # noise tables hold normals in units of 1/4096 (int16)


def add_noise(image: np.ndarray, normals: np.ndarray, start: int, sigma: float) -> np.ndarray:
    """clamp(rint(v + s * t)) per byte in float32, s = float32(sigma) / 4096 and t = normals[start + i]
    for byte i (row-major): `normals` is int16, standard normals in units of 1/4096."""
    if normals.dtype != np.int16:
        raise ValueError(f"add_noise takes int16 normals (units of 1/{NORMAL_UNIT}), got {normals.dtype}")
    out = np.empty_like(image)
    _kernels.noise(image, out, normals, int(start), float(sigma))
    return out


def filter_taps(image: np.ndarray, taps: np.ndarray, radius: int) -> np.ndarray:
    """Sparse filter with replicated border: out = (128 + sum q * image[y + dy - r, x + dx - r]) >> 8,
    positions outside the image clamped to its edge.

    `taps` is an int32 array of (dy, dx, q) rows with 0 <= dy, dx <= 2r and q summing to 256
    (`quantise_kernel` makes them from a float kernel).
    """
    h, w = image.shape[:2]
    out = np.empty_like(image)
    _kernels.filter(image, h, w, int(radius), out, taps)
    return out


def quantise_kernel(kernel: np.ndarray) -> np.ndarray:
    """A non-negative float kernel as integer (dy, dx, q) taps with q summing to 256: each
    weight (relative to the kernel's sum) floored to 1/256, the remainder given one unit at a
    time to the largest remainders (earlier taps first on ties); zero taps dropped."""
    return quantise_kernels(kernel[None])[0]


def quantise_kernels(kernels: np.ndarray) -> list[np.ndarray]:
    """`quantise_kernel` of each of a stack of kernels (n, k, k), computed together."""
    n, kh, kw = kernels.shape
    flat = kernels.reshape(n, kh * kw).astype(np.float64)
    scaled = flat * (256.0 / flat.sum(axis=1, keepdims=True))
    q = np.floor(scaled).astype(np.int64)
    order = np.argsort(-(scaled - q), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(kh * kw)[None, :].repeat(n, axis=0), axis=1)
    q += rank < (256 - q.sum(axis=1, keepdims=True))
    which, cell = np.nonzero(q)
    taps = np.stack([cell // kw, cell % kw, q[which, cell]], axis=1).astype(np.int32)
    out = np.split(taps, np.cumsum(np.bincount(which, minlength=n))[:-1])
    for t in out:
        t.setflags(write=False)
    return out


def shift_rows(image: np.ndarray, shifts: np.ndarray, width: int) -> np.ndarray:
    """Row y moved right by shifts[y] pixels onto a canvas `width` wide, linear, replicated border.

    Shifts are rounded to 1/128 pixel: out[y, x] = ((128 - f) * image[y, xi] + f * image[y, xi + 1] + 64) >> 7
    with P = 128 x - round(128 shifts[y]), xi = P >> 7, f = P & 127, indices clamped into the row.
    """
    h, w = image.shape[:2]
    steps = np.rint(np.asarray(shifts, np.float64) * 128.0).astype(np.int32)
    out = np.empty((h, width, 3), np.uint8)
    _kernels.shift_rows(image, h, w, out, width, steps)
    return out


def add_glare(image: np.ndarray, rows: np.ndarray, cols3: np.ndarray, x0: int, alpha: float,
              out: np.ndarray | None = None) -> np.ndarray:
    """image + clamp(rint(rows[y] * cols[x - x0] * alpha)) on columns x0 .. x0 + len(cols), saturating
    (float32 products in that order; the weight is the same for the three channels). `cols3` is
    cols with each value repeated three times (np.repeat(cols, 3)), one per channel byte.
    `out=image` works in place (only the band's columns are written)."""
    h, w = image.shape[:2]
    if out is None:
        out = np.empty_like(image)
    elif out.shape != image.shape or out.dtype != np.uint8 or not out.flags.c_contiguous:
        raise ValueError("add_glare: out must be a C-contiguous uint8 array of the image's shape")
    _kernels.glare(image, h, w, out, rows, cols3, int(x0), int(x0) + len(cols3) // 3, float(alpha))
    return out


def pixelate(image: np.ndarray, small_w: int, small_h: int) -> np.ndarray:
    """Shrink to `small_w` x `small_h` bilinearly (positions to 1/128 pixel, the rotation's
    weights), enlarge back with nearest (each pixel takes the small pixel its centre falls in);
    exact integer formulas in `augkit/_kernels.c`."""
    h, w = image.shape[:2]
    out = np.empty_like(image)
    _kernels.pixelate(image, h, w, out, int(small_h), int(small_w))
    return out


def simd() -> str:
    """The kernel paths in use: 'avx2' or 'c'."""
    return _kernels.simd()


def set_simd(enabled: bool) -> bool:
    """Use the AVX2 paths (where the CPU has them) or the portable C ones; returns the old setting.
    Both give the same bytes; tests switch to compare them."""
    return _kernels.set_simd(enabled)


def rotation_inverse(width: int, height: int, angle: float, new_w: int, new_h: int) -> tuple[float, ...]:
    """The map from a `new_w` x `new_h` canvas back into a `width` x `height` image rotated
    counter-clockwise by `angle` degrees about its centre, the two centres aligned."""
    a = math.radians(angle)
    c, s = math.cos(a), math.sin(a)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    nx, ny = (new_w - 1) / 2.0, (new_h - 1) / 2.0
    # output (x, y) -> source: R^-1 (x - nx, y - ny) + (cx, cy); R rotates counter-clockwise
    # on screen (y down), as OpenCV's getRotationMatrix2D with a positive angle.
    return (c, -s, cx - c * nx + s * ny,
            s, c, cy - s * nx - c * ny)
