"""What a runner is: a context manager that runs one loaded model on batches, with timing.

Loaders (build or load the expensive object: an ONNX Runtime session, a TensorRT engine) are
kept apart from runners (which own buffers and streams while active and run batches), as in
Polygraphy. Every runner runs every batch at one shape, (batch_size, 3, H, W): a partial batch
is zero-padded to batch_size and its outputs trimmed, so a sample's result never depends on
what else is in its batch (the deployed engine works the same way).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from augkit.errors import UserError


@dataclass(frozen=True)
class StageTimes:
    """Seconds one `infer` call spent per stage; None where the backend does not separate it."""

    h2d: float | None
    compute: float
    d2h: float | None

    @property
    def total(self) -> float:
        return (self.h2d or 0.0) + self.compute + (self.d2h or 0.0)


@dataclass(frozen=True)
class ShapeRange:
    """The input shapes a model accepts: per dimension (min, max), None for no bound."""

    name: str
    dims: tuple[tuple[int | None, int | None], ...]  # (batch, channels, height, width)

    def refuse(self, shape: tuple[int, ...]) -> str | None:
        """Why `shape` is outside the range, or None when it fits."""
        if len(shape) != len(self.dims):
            return f"input {self.name} has {len(self.dims)} dimensions, not {len(shape)}"
        for axis, value, (lo, hi) in zip(("batch", "channels", "height", "width"), shape, self.dims):
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                allowed = str(lo) if lo == hi else f"{lo if lo is not None else 1}..{hi if hi is not None else 'any'}"
                return f"{axis} {value} is outside the model's {allowed} for input {self.name}"
        return None

    def fixed(self, axis: int) -> int | None:
        lo, hi = self.dims[axis]
        return lo if lo is not None and lo == hi else None


class Runner(ABC):
    """Runs one model. Use as a context manager; `infer` only while active."""

    backend = "unknown"

    def __init__(self, batch_size: int):
        if batch_size < 1:
            raise UserError(f"--batch must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.last_times: StageTimes | None = None
        self.active = False

    def __enter__(self):
        try:
            self.activate()
        except BaseException:
            self.deactivate()  # free whatever was allocated before the failure
            raise
        self.active = True
        return self

    def __exit__(self, kind, value, tb):
        self.active = False
        self.deactivate()

    @abstractmethod
    def activate(self) -> None:
        """Load the model and allocate what inference needs."""

    @abstractmethod
    def deactivate(self) -> None:
        """Free everything `activate` allocated."""

    @abstractmethod
    def input_range(self) -> ShapeRange:
        """The input shapes the loaded model accepts."""

    @abstractmethod
    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities (n, T, C) as float32 for a float32 batch (n, 3, H, W), n <= batch_size;
        sets `last_times`."""

    @abstractmethod
    def info(self) -> dict:
        """backend, backend_version, provider, precision, device: what the report names."""

    def num_classes(self) -> int | None:
        """The model's class count where its output shape states it before running, else None."""
        return None

    def dictionary_text(self) -> str | None:
        """A character dictionary stored in the model itself, if any."""
        return None

    def check_shape(self, height: int, width: int) -> None:
        """UserError unless the model takes (batch_size, 3, height, width)."""
        reason = self.input_range().refuse((self.batch_size, 3, height, width))
        if reason:
            raise UserError(f"{self.describe()} cannot run batches of {self.batch_size}×3×{height}×{width}: {reason}")

    def describe(self) -> str:
        return f"the {self.backend} model"


def padded(batch: np.ndarray, batch_size: int, out: np.ndarray) -> np.ndarray:
    """`batch` copied into `out` (batch_size, ...) with the rows past it zeroed."""
    n = batch.shape[0]
    if n > batch_size:
        raise ValueError(f"batch of {n} is larger than the runner's batch size {batch_size}")
    out[:n] = batch
    out[n:] = 0
    return out
