"""What every augmentation stage is: declared options, a sampler, a pure apply.

A stage never draws random numbers while applying. `sample` turns a generator into plain
JSON parameters; `apply` is a pure function of (image, parameters). So every output can
be explained by, and replayed from, the parameters recorded in the manifest.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

Params = dict[str, Any]


class StageOptionError(ValueError):
    """A stage was configured with a missing, unknown or out-of-range option."""


@dataclass(frozen=True)
class VariantContext:
    """Where a variant stands: its number among all variants of the source (1-based)
    and its index within the recipe that makes it (0 for the recipe's first)."""

    variant: int
    index: int


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
