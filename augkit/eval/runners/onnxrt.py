"""ONNX Runtime: a session loader and a runner (CPU, or the CUDA / TensorRT execution providers
where the installed onnxruntime has them). onnxruntime is imported only here, when used."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from augkit.errors import UserError
from augkit.eval.runners.base import Runner, ShapeRange, StageTimes, padded
from augkit.eval.runners.device import cpu_name, gpu_name

# Tried in this order among the providers the installed onnxruntime offers.
PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise UserError("onnxruntime is not installed; pip install 'augkit[onnx]' (or onnxruntime-gpu)") from None
    return onnxruntime


class SessionFromOnnx:
    """Loader: an ONNX Runtime InferenceSession for the model file, built when called."""

    def __init__(self, path: str | Path, providers: list[str] | None = None, threads: int | None = None):
        self.path = Path(path)
        self.providers = providers
        self.threads = threads

    def __call__(self):
        ort = import_onnxruntime()
        if not self.path.is_file():
            raise UserError(f"model {self.path} does not exist")
        available = ort.get_available_providers()
        if self.providers is None:
            providers = [p for p in PREFERRED_PROVIDERS if p in available] or available
        else:
            missing = [p for p in self.providers if p not in available]
            if missing:
                raise UserError(f"onnxruntime {ort.__version__} here has no {missing[0]}; it offers {', '.join(available)}")
            providers = list(self.providers)
        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        options.log_severity_level = 3
        try:
            return ort.InferenceSession(str(self.path), sess_options=options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
            raise UserError(f"cannot load ONNX model {self.path}: {first[:300]}") from None


class OnnxrtRunner(Runner):
    """Runs an ONNX model through ONNX Runtime at one batch size."""

    backend = "onnxruntime"

    def __init__(self, session_loader, batch_size: int):
        super().__init__(batch_size)
        self.loader = session_loader
        self.session = None
        self._buffers: dict[tuple[int, ...], np.ndarray] = {}

    def describe(self) -> str:
        path = getattr(self.loader, "path", None)
        return f"ONNX model {path}" if path else "the ONNX model"

    def activate(self) -> None:
        self.session = self.loader() if callable(self.loader) else self.loader
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise UserError(f"{self.describe()} has {len(inputs)} inputs; a recognition model has one image input")
        self.input = inputs[0]
        if self.input.type not in _DTYPES:
            raise UserError(f"{self.describe()} takes {self.input.type}; float or float16 images expected")
        self.input_dtype = _DTYPES[self.input.type]
        outputs = [o for o in self.session.get_outputs() if len(o.shape) == 3]
        if not outputs:
            raise UserError(f"{self.describe()} has no output of shape (batch, steps, classes); is it a CTC recognition model?")
        self.output = outputs[-1]  # PaddleOCR's CTCLabelDecode also takes the last head's output

    def deactivate(self) -> None:
        self.session = None
        self._buffers.clear()

    def input_range(self) -> ShapeRange:
        dims = []
        for axis, d in enumerate(self.input.shape):
            if isinstance(d, int) and d > 0:
                dims.append((d, d))
            else:
                dims.append((1 if axis == 0 else None, None))
        return ShapeRange(self.input.name, tuple(dims))

    def num_classes(self) -> int | None:
        c = self.output.shape[-1]
        return c if isinstance(c, int) and c > 0 else None

    def dictionary_text(self) -> str | None:
        return self.session.get_modelmeta().custom_metadata_map.get("character")

    def infer(self, batch: np.ndarray) -> np.ndarray:
        n = batch.shape[0]
        shape = (self.batch_size,) + tuple(batch.shape[1:])
        buf = self._buffers.get(shape)
        if buf is None:
            reason = self.input_range().refuse(shape)
            if reason:
                raise UserError(f"{self.describe()} cannot run a batch of shape {shape}: {reason}")
            buf = self._buffers[shape] = np.zeros(shape, self.input_dtype)
        padded(batch, self.batch_size, buf)
        start = time.perf_counter()
        out = self.session.run([self.output.name], {self.input.name: buf})[0]
        self.last_times = StageTimes(None, time.perf_counter() - start, None)
        return np.asarray(out[:n], dtype=np.float32)

    def info(self) -> dict:
        import onnxruntime

        provider = self.session.get_providers()[0]
        on_gpu = provider in ("CUDAExecutionProvider", "TensorrtExecutionProvider")
        return {"backend": self.backend, "backend_version": onnxruntime.__version__, "provider": provider,
                "precision": "fp16" if self.input_dtype == np.float16 else "fp32",
                "device": gpu_name() if on_gpu else cpu_name()}
