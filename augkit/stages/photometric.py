"""Photometric stages: brightness/contrast and Gaussian noise."""

from __future__ import annotations

from functools import lru_cache
from statistics import NormalDist

import cv2
import numpy as np

from augkit.stages.base import Params, Stage, StageOptionError, VariantContext, float_range, uniform


class BrightnessContrast(Stage):
    """out = alpha * img + beta * 255, saturating, with alpha in 1 +/- contrast and beta in +/- brightness."""

    name = "brightness_contrast"

    def __init__(self, brightness=0.2, contrast=0.2):
        self.brightness = _half_width("brightness", brightness)
        self.contrast = _half_width("contrast", contrast)

    def sample(self, rng: np.random.Generator, shape, ctx: VariantContext) -> Params:
        return {
            "alpha": 1.0 + uniform(rng, (-self.contrast, self.contrast)),
            "beta": uniform(rng, (-self.brightness, self.brightness)),
        }

    def apply(self, image: np.ndarray, params: Params) -> np.ndarray:
        # A 256-entry table is exact for uint8 input and costs one lookup per pixel.
        table = np.clip(np.rint(params["alpha"] * np.arange(256) + params["beta"] * 255.0), 0, 255)
        return cv2.LUT(image, table.astype(np.uint8))


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

    def __init__(self, variance=(50.0, 70.0)):
        self.variance = float_range("variance", variance, 0.0)

    def sample(self, rng: np.random.Generator, shape, ctx: VariantContext) -> Params:
        lo, hi = self.variance
        # The per-pixel values come from their own seeded stream, so the parameters stay
        # small JSON values and still replay the exact noise.
        return {"sigma": uniform(rng, (lo ** 0.5, hi ** 0.5)), "noise_seed": int(rng.integers(0, 2**63))}

    def apply(self, image: np.ndarray, params: Params) -> np.ndarray:
        # Inverse-CDF sampling from 16-bit uniforms: one of 65,536 equiprobable quantiles of
        # N(0, 1) per value. A 16-bit draw plus a table lookup costs about a third of drawing
        # float normals; tails are cut at 4.4 sigma (probability 1.5e-5).
        gen = np.random.Generator(np.random.PCG64(params["noise_seed"]))
        uniforms = np.frombuffer(gen.bytes(image.size * 2), dtype="<u2").reshape(image.shape)
        out = _normal_quantiles().take(uniforms)
        out *= np.float32(params["sigma"])
        out += image
        np.clip(out, 0.0, 255.0, out=out)
        return cv2.convertScaleAbs(out)  # rounds to nearest; values are already in 0..255


@lru_cache(maxsize=1)
def _normal_quantiles() -> np.ndarray:
    """Phi^-1((u + 0.5) / 65536) for u = 0..65535 (float32), computed once per process."""
    inv = NormalDist().inv_cdf
    return np.array([inv((u + 0.5) / 65536.0) for u in range(65536)], dtype=np.float32)
