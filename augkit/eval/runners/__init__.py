"""Runners: one model file → a `Runner` of the right backend (nothing heavy imported here)."""

from __future__ import annotations

from pathlib import Path

from augkit.errors import UserError
from augkit.eval.runners.base import Runner, ShapeRange, StageTimes
from augkit.eval.runners.onnxrt import OnnxrtRunner, SessionFromOnnx
from augkit.eval.runners.trt import ENGINE_SUFFIXES, EngineFromPath, TrtRunner

BACKENDS = ("auto", "onnxruntime", "tensorrt")

__all__ = ["BACKENDS", "Runner", "ShapeRange", "StageTimes", "OnnxrtRunner", "SessionFromOnnx", "TrtRunner",
           "EngineFromPath", "make_runner"]


def make_runner(model: str | Path, backend: str, batch_size: int) -> Runner:
    """The runner for `model` (.onnx, or a TensorRT engine .engine/.plan/.trt) on `backend`."""
    model = Path(model)
    if backend not in BACKENDS:
        raise UserError(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if not model.is_file():
        raise UserError(f"model {model} does not exist; pass --model an .onnx file or a TensorRT engine")
    suffix = model.suffix.lower()
    is_engine = suffix in ENGINE_SUFFIXES
    if backend == "auto":
        backend = "tensorrt" if is_engine else "onnxruntime"
    if backend == "onnxruntime":
        if is_engine:
            raise UserError(f"{model} is a TensorRT engine; run it with --backend tensorrt, or pass the ONNX model")
        return OnnxrtRunner(SessionFromOnnx(model), batch_size)
    if suffix == ".onnx":
        raise UserError(f"--backend tensorrt runs engines, not {model}; build one with "
                        f"augkit build-engine {model} --width W --out {model.stem}.engine")
    return TrtRunner(EngineFromPath(model), batch_size)
