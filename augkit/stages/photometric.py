"""Photometric stages: brightness/contrast and Gaussian noise."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from augkit import kernels
from augkit.kernels import NORMAL_UNIT
from augkit.stages.base import Params, Stage, StageOptionError, VariantContext, float_range, uniform


class BrightnessContrast(Stage):
    """out = alpha * img + beta * 255, saturating, with alpha in 1 +/- contrast and beta in +/- brightness
    (16.16 fixed point, rounded half up)."""

    name = "brightness_contrast"
    returns_new_image = True

    def __init__(self, brightness=0.2, contrast=0.2):
        self.brightness = _half_width("brightness", brightness)
        self.contrast = _half_width("contrast", contrast)

    def sample(self, rng: np.random.Generator, shape, ctx: VariantContext) -> Params:
        return {
            "alpha": 1.0 + uniform(rng, (-self.contrast, self.contrast)),
            "beta": uniform(rng, (-self.brightness, self.brightness)),
        }

    def apply(self, image: np.ndarray, params: Params) -> np.ndarray:
        # In 16.16 fixed point, rounded half up (augkit.kernels.levels): alpha and beta * 255
        # to 1/65536, far below one grey level over the whole 0..255 range.
        return kernels.levels(kernels.bgr(image), params["alpha"], params["beta"])


def _half_width(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise StageOptionError(f"{name} must be a number in [0, 1] (the +/- range), got {value!r}")
    return float(value)


class GaussianNoise(Stage):
    """Zero-mean Gaussian noise, independent per pixel and channel, saturating.

    `variance` is in squared 0..255 pixel units (albumentations 1.x `var_limit`): sigma is
    drawn uniformly between sqrt(low) and sqrt(high).
    """

    name = "gaussian_noise"
    returns_new_image = True

    def __init__(self, variance=(50.0, 70.0)):
        self.variance = float_range("variance", variance, 0.0)

    def sample(self, rng: np.random.Generator, shape, ctx: VariantContext) -> Params:
        lo, hi = self.variance
        # The per-pixel values are chosen by their own seed, so the parameters stay small JSON
        # values and still replay the exact noise.
        return {"sigma": uniform(rng, (lo ** 0.5, hi ** 0.5)), "noise_seed": int(rng.integers(0, 2**63))}

    def apply(self, image: np.ndarray, params: Params) -> np.ndarray:
        # clamp(rint(v + sigma * n)) in float32 (augkit.kernels.add_noise)
        image = kernels.bgr(image)
        table, start = normals_run(image.size, params["noise_seed"])
        return kernels.add_noise(image, table, start, params["sigma"])


NOISE_TABLE_SIZE = 1 << 21


def normals_run(n: int, noise_seed: int) -> tuple[np.ndarray, int]:
    """`n` independent N(0, 1) values (int16, in units of 1/4096) chosen by `noise_seed`, as
    (array, start): the values are array[start:start + n].

    Drawing fresh normals costs more than all other stages of a variant together; instead an
    image takes a contiguous run of a fixed table of 2M independent normals, starting at an
    offset the seed picks. Within an image every value is a different table entry, so the
    noise is exactly i.i.d. Gaussian per pixel and channel (to 1/4096 of sigma); across images
    only the offsets differ. Images too large for a run of the table draw their own normals.
    """
    table = _normal_table()
    if n <= NOISE_TABLE_SIZE // 4:
        return table, noise_seed % (NOISE_TABLE_SIZE - n + 1)
    return _in_units(np.random.Generator(np.random.PCG64(noise_seed)).standard_normal(n)), 0


def _in_units(normals: np.ndarray) -> np.ndarray:
    """float normals as int16 in units of 1/4096 (rounded; |n| < 8 always fits)."""
    return np.clip(np.rint(normals * NORMAL_UNIT), -32767, 32767).astype(np.int16)


@lru_cache(maxsize=1)
def _normal_table() -> np.ndarray:
    """NOISE_TABLE_SIZE standard normals from a fixed seed, in units of 1/4096: the same table in
    every process (4 MB, built in ~30 ms on first use)."""
    table = _in_units(np.random.Generator(np.random.PCG64(0x6E6F697365)).standard_normal(NOISE_TABLE_SIZE))
    table.setflags(write=False)
    return table
