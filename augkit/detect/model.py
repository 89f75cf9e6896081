"""A DB detection model through ONNX Runtime: one page at a time (pages differ in size), the
first output as the text probability map. TensorRT engines are not taken here yet."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from augkit.errors import UserError
from augkit.eval.runners.onnxrt import SessionFromOnnx


class DetModel:
    def __init__(self, path: str | Path, threads: int | None = None):
        self.path = Path(path)
        if self.path.suffix.lower() != ".onnx":
            raise UserError(f"{self.path}: augkit eval --task det takes an ONNX model (.onnx)")
        self.session = SessionFromOnnx(self.path, threads=threads)()
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise UserError(f"{self.path} does not take one (batch, 3, height, width) image; is it a detection model?")
        self.input = inputs[0]
        if self.input.type != "tensor(float)":
            raise UserError(f"{self.path} takes {self.input.type}; float images expected")
        output = self.session.get_outputs()[0]
        if len(output.shape) != 4:
            raise UserError(f"{self.path} is not a DB detection model: its first output has shape {output.shape}, "
                            "not (batch, 1, height, width)")
        self.output = output
        self.fixed = tuple(d if isinstance(d, int) and d > 0 else None for d in self.input.shape[2:])
        self.seconds = 0.0

    def probability(self, x: np.ndarray) -> np.ndarray:
        """The (H, W) text probability map of one (1, 3, H, W) input."""
        for axis, want in zip((2, 3), self.fixed):
            if want is not None and x.shape[axis] != want:
                raise UserError(f"{self.path} takes a fixed input of {self.fixed}; export it with dynamic height and width")
        start = time.perf_counter()
        out = self.session.run([self.output.name], {self.input.name: x})[0]
        self.seconds += time.perf_counter() - start
        return np.asarray(out[0, 0], np.float32)

    def info(self) -> dict:
        import onnxruntime

        from augkit.eval.runners.device import cpu_name, gpu_name

        provider = self.session.get_providers()[0]
        on_gpu = provider in ("CUDAExecutionProvider", "TensorrtExecutionProvider")
        return {"model": str(self.path), "backend": "onnxruntime", "backend_version": onnxruntime.__version__,
                "provider": provider, "device": gpu_name() if on_gpu else cpu_name()}
