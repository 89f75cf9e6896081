"""What every augmentation stage is: declared options, a sampler, a pure apply.

A stage never draws random numbers while applying. `sample` turns a generator into plain
JSON parameters; `apply` is a pure function of (image, parameters). So every output can
be explained by, and replayed from, the parameters recorded in the manifest.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

Params = dict[str, Any]


class StageOptionError(ValueError):
    """A stage was configured with a missing, unknown or out-of-range option."""


@dataclass(frozen=True)
class VariantContext:
    """Where a variant stands: its number among all variants of the source (1-based), its
    index within the recipe that makes it (0 for the recipe's first), and the height of the
    source crop it is made from (what relative lengths are fractions of; set by the recipe,
    since an earlier step such as rotation may have grown the canvas)."""

    variant: int
    index: int
    height: int | None = None


class Stage(ABC):
    """Base class. Subclasses set `name` and implement `sample` and `apply`."""

    name: ClassVar[str] = ""
    # Whether `apply` always returns a newly allocated image (true of augkit's seven stages; not
    # promised by outside code). A recipe hands such an image to the next step's `apply_owned`.
    returns_new_image: ClassVar[bool] = False

    @abstractmethod
    def sample(self, rng: np.random.Generator, shape: tuple[int, ...], ctx: VariantContext) -> Params:
        """Draw this stage's parameters for an image of `shape`."""

    @abstractmethod
    def apply(self, image: np.ndarray, params: Params) -> np.ndarray:
        """Apply `params` to `image`, returning a new uint8 image; `image` is not modified."""

    def apply_owned(self, image: np.ndarray, params: Params) -> np.ndarray:
        """`apply` on an image nobody else holds (a recipe's own intermediate), which the stage
        may overwrite instead of copying. The same result as `apply`."""
        return self.apply(image, params)

    def options(self) -> dict[str, Any]:
        """The stage's resolved options as JSON values (for the run manifest)."""
        return {k: _jsonable(v) for k, v in vars(self).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({args})"


def _jsonable(value: Any) -> Any:
    if hasattr(value, "as_option"):
        return value.as_option()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def float_range(name: str, value: Any, low: float | None = None, high: float | None = None) -> tuple[float, float]:
    """Validate a `[lo, hi]` option (a single number x means [x, x])."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value, value]
    if not (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise StageOptionError(f"{name} must be a number or a [low, high] pair, got {value!r}")
    lo, hi = float(value[0]), float(value[1])
    if lo > hi:
        raise StageOptionError(f"{name}: low {lo} is above high {hi}")
    if (low is not None and lo < low) or (high is not None and hi > high):
        raise StageOptionError(f"{name} must lie within [{low}, {high}], got [{lo}, {hi}]")
    return lo, hi


def uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    """One draw from U(lo, hi) as a plain float: lo + (hi - lo) * rng.random(), which is how
    numpy's `Generator.uniform` defines it (the same double), without its array machinery."""
    lo, hi = bounds
    return lo + (hi - lo) * float(rng.random())


# ---------------------------------------------------------------- lengths that follow the text's size

REFERENCE_HEIGHT = 48
"""The crop height at which a relative length equals the original procedure's absolute one.

The passport-field crops the original procedure was written for are 48 pixels high (MRZ lines and
BZ fields), and 48 is also the input height of the PP-OCRv3/v4 recognisers, which resize every
crop to it: so a length of f * H at any crop height H is what f * 48 pixels is at the height the
model sees. A 7-pixel blur is 7/48 = 0.146 of the height."""


@dataclass(frozen=True)
class OfHeight:
    """A length given as a fraction of the crop's height: `{of_height: [low, high]}` in a recipe."""

    low: float
    high: float

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...], ctx: VariantContext) -> tuple[float, float]:
        """(fraction, pixels): a fraction drawn from [low, high] and its length in pixels, of
        the source crop's height (`ctx.height`; the image's own where no source is known)."""
        fraction = uniform(rng, (self.low, self.high))
        return fraction, fraction * (ctx.height if ctx.height is not None else shape[0])

    def as_option(self) -> dict:
        return {"of_height": [self.low, self.high]}


def of_height(name: str, value: Any, low: float | None = 0.0, high: float | None = None) -> OfHeight | None:
    """`value` as an OfHeight when it is written `{of_height: x}` or `{of_height: [lo, hi]}`,
    None when it is a plain (absolute) value; anything else in a mapping is an error."""
    if isinstance(value, OfHeight):
        return value
    if not isinstance(value, dict):
        return None
    if set(value) != {"of_height"}:
        raise StageOptionError(f"{name}: a mapping must be {{of_height: [low, high]}} (a fraction of the crop's "
                               f"height), got {value!r}")
    lo, hi = float_range(f"{name}.of_height", value["of_height"], low, high)
    return OfHeight(lo, hi)


def odd_at_least_one(pixels: float) -> int:
    """The odd integer nearest `pixels` (1 at least): a kernel size for a length."""
    return max(1, 2 * math.floor(pixels / 2.0) + 1)
