"""The one module that imports albumentations (2.0.8, MIT, unmaintained: keep it wrapped here).

Any albumentations image transform can be a recipe step. It is built with `strict=True` so
misspelt arguments fail at load time, and it is given its own random state per item
(a seed drawn from the step's generator), never `Compose(seed=)`, which would hand every
transform the same stream and correlate their coin flips.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from augkit.stages.base import Params, Stage, StageOptionError, VariantContext


def _albumentations():
    import albumentations

    return albumentations


def transform_names() -> list[str]:
    """Names of the albumentations image transforms a recipe may use."""
    A = _albumentations()
    from albumentations.core.transforms_interface import BasicTransform

    return sorted(n for n, obj in vars(A).items()
                  if isinstance(obj, type) and issubclass(obj, BasicTransform) and not n.startswith("_"))


class AlbumentationsStage(Stage):
    """A recipe step backed by an albumentations transform. Its parameters are the seed of its
    private random state, which replays the exact result."""

    name = "albumentations"

    def __init__(self, transform: str, **arguments: Any):
        A = _albumentations()
        cls = getattr(A, transform, None)
        if cls is None or transform not in transform_names():
            raise StageOptionError(f"albumentations has no transform named {transform!r}")
        if "p" in arguments:
            raise StageOptionError("set the probability on the recipe step (p:), not inside the transform")
        try:
            self._transform = cls(**arguments, p=1.0, strict=True)
        except (TypeError, ValueError) as exc:
            first = str(exc).splitlines()[0]
            raise StageOptionError(f"albumentations {transform}: {first}") from None
        self.transform = transform
        self.arguments = dict(arguments)
        self.name = f"albumentations:{transform}"  # as recorded in the manifest and captions

    def sample(self, rng: np.random.Generator, shape, ctx: VariantContext) -> Params:
        return {"seed": int(rng.integers(0, 2**32))}

    def apply(self, image: np.ndarray, params: Params) -> np.ndarray:
        seed = params["seed"]
        self._transform.set_random_state(np.random.default_rng(seed), random.Random(seed))
        out = self._transform(image=image.copy())["image"]
        return np.ascontiguousarray(out)

    def options(self) -> dict[str, Any]:
        return {"transform": self.transform, **self.arguments}


def version() -> str:
    """The installed albumentations version."""
    return _albumentations().__version__
