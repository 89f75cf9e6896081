"""TensorRT: an engine loader and a runner, using only runtime calls that TensorRT 10 and 11 share
(Runtime, deserialize_cuda_engine, the name-based I/O tensor API, set_input_shape,
set_tensor_address, execute_async_v3) and CUDA through cuda-python.

The runner allocates once per engine: device buffers for every I/O tensor at the largest shape
the engine's profile allows, pinned host buffers for the image input and the class output, one
CUDA stream and four events (which split each batch into host-to-device, compute and
device-to-host time). Every batch runs at (batch_size, 3, H, W): partial batches are
zero-padded, and outputs are read at the shape the execution context reports for that input
shape, then trimmed to the real rows. tensorrt and cuda-python are imported only when a runner
or loader is used.
"""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

import numpy as np

from augkit.errors import UserError
from augkit.eval.runners.base import Runner, ShapeRange, StageTimes, padded
from augkit.eval.runners.device import gpu_name, import_cudart

ENGINE_SUFFIXES = (".engine", ".plan", ".trt")


def import_tensorrt():
    """The tensorrt module (10 or later), or a UserError saying how to get it."""
    try:
        import tensorrt
    except ImportError:
        raise UserError("TensorRT is not installed here; pip install 'augkit[tensorrt]' on a machine with an NVIDIA "
                        "GPU (TensorRT's libraries come from NVIDIA's package index), or use --backend onnxruntime "
                        "with the ONNX model") from None
    if tensorrt_major(tensorrt) < 10:
        raise UserError(f"TensorRT {tensorrt.__version__} is too old; augkit needs TensorRT 10 or later")
    return tensorrt


def tensorrt_major(trt) -> int:
    return int(str(trt.__version__).split(".")[0])


def cuda_runtime():
    try:
        return import_cudart()
    except ImportError:
        raise UserError("cuda-python is not installed; pip install 'augkit[tensorrt]' (cuda-python>=12)") from None


class Cuda:
    """The few CUDA runtime calls the runner makes, with errors turned into messages."""

    def __init__(self, cudart):
        self.rt = cudart
        self.success = cudart.cudaError_t.cudaSuccess

    def __call__(self, name: str, *args):
        result = getattr(self.rt, name)(*args)
        err, values = result[0], result[1:]
        if err != self.success:
            try:
                text = self.rt.cudaGetErrorString(err)[1]
                text = text.decode() if isinstance(text, bytes) else str(text)
            except Exception:
                text = str(err)
            raise UserError(f"CUDA error in {name}: {text}")
        return values[0] if len(values) == 1 else (values or None)

    def elapsed(self, start, end) -> float:
        """Seconds between two recorded events."""
        call = "cudaEventElapsedTime" if hasattr(self.rt, "cudaEventElapsedTime") else "cudaEventElapsedTime_v2"
        return float(self(call, start, end)) / 1000.0


class LoadedEngine:
    """A deserialized engine with the runtime that made it (which must outlive it)."""

    def __init__(self, engine, runtime, path: Path | None):
        self.engine = engine
        self.runtime = runtime
        self.path = path

    def build_info(self) -> dict:
        """What augkit build-engine recorded beside the engine (ENGINE.json), if anything."""
        if self.path is None:
            return {}
        sidecar = self.path.with_name(self.path.name + ".json")
        try:
            return json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}


class EngineFromPath:
    """Loader: deserialize a TensorRT engine file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __call__(self) -> LoadedEngine:
        trt = import_tensorrt()
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise UserError(f"engine {self.path} does not exist") from None
        except OSError as exc:
            raise UserError(f"cannot read engine {self.path}: {exc.strerror}") from None
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        engine = runtime.deserialize_cuda_engine(data) if data else None
        if engine is None:
            raise UserError(f"TensorRT {trt.__version__} cannot load {self.path}: not an engine, or built by another "
                            "TensorRT version or for another GPU; rebuild it here with augkit build-engine")
        return LoadedEngine(engine, runtime, self.path)


class TrtRunner(Runner):
    """Runs a TensorRT engine on one CUDA stream with buffers allocated once."""

    backend = "tensorrt"

    def __init__(self, engine_loader, batch_size: int):
        super().__init__(batch_size)
        self.loader = engine_loader
        self.loaded: LoadedEngine | None = None
        self._device: list[int] = []
        self._pinned: list[int] = []
        self._events: list = []
        self.stream = None
        self.context = None

    def describe(self) -> str:
        path = getattr(self.loader, "path", None)
        return f"engine {path}" if path else "the engine"

    # -- setup ---------------------------------------------------------------------------------
    def activate(self) -> None:
        trt = import_tensorrt()
        self.cuda = Cuda(cuda_runtime())
        self.loaded = self.loader() if callable(self.loader) else self.loader
        engine = self.loaded.engine
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(inputs) != 1:
            raise UserError(f"{self.describe()} has {len(inputs)} inputs; a recognition engine has one image input")
        self.input = inputs[0]
        ranked = [n for n in outputs if len(engine.get_tensor_shape(n)) == 3]
        if not ranked:
            raise UserError(f"{self.describe()} has no output of shape (batch, steps, classes); is it a CTC recognition model?")
        self.output = ranked[-1]
        self.input_dtype = self._dtype(trt, engine.get_tensor_dtype(self.input), self.input)
        self.output_dtype = self._dtype(trt, engine.get_tensor_dtype(self.output), self.output)
        lo, _, hi = (tuple(int(d) for d in s) for s in engine.get_tensor_profile_shape(self.input, 0))
        if len(lo) != 4:
            raise UserError(f"{self.describe()} input {self.input} has {len(lo)} dimensions; (batch, 3, height, width) expected")
        self.range = ShapeRange(self.input, tuple(zip(lo, hi)))
        if not lo[0] <= self.batch_size <= hi[0]:
            raise UserError(f"{self.describe()} runs batches of {lo[0]} to {hi[0]}; --batch {self.batch_size} is outside "
                            f"its profile (pass --batch {hi[0]}, or rebuild with --max-batch {self.batch_size})")
        self.context = engine.create_execution_context()
        if self.context is None:
            raise UserError(f"TensorRT could not create an execution context for {self.describe()} (out of GPU memory?)")
        self._allocate(engine, names, hi)
        self.current_shape = None

    @staticmethod
    def _dtype(trt, dtype, name: str):
        table = {trt.DataType.FLOAT: np.float32, trt.DataType.HALF: np.float16}
        if dtype not in table:
            raise UserError(f"engine tensor {name} is {dtype}; float32 or float16 expected")
        return np.dtype(table[dtype])

    def _allocate(self, engine, names: list[str], max_input: tuple[int, ...]) -> None:
        """Device memory for every I/O tensor at the profile's largest shape, pinned host memory
        for the image input and the class output, the stream and the timing events."""
        if not self.context.set_input_shape(self.input, max_input):
            raise UserError(f"{self.describe()} refuses its own largest profile shape {max_input}")
        for name in names:
            shape = tuple(int(d) for d in self.context.get_tensor_shape(name))
            if any(d < 0 for d in shape):
                raise UserError(f"{self.describe()}: the size of tensor {name} is unknown at the profile's largest input")
            itemsize = self._dtype_size(engine, name)
            nbytes = max(1, int(np.prod(shape)) * itemsize)
            ptr = self.cuda("cudaMalloc", nbytes)
            self._device.append(ptr)
            if not self.context.set_tensor_address(name, ptr):
                raise UserError(f"TensorRT refused the address of tensor {name}")
            if name == self.input:
                self.d_input, self.h_input = ptr, self._pinned_array(nbytes)
            elif name == self.output:
                self.d_output, self.h_output = ptr, self._pinned_array(nbytes)
        self.stream = self.cuda("cudaStreamCreate")
        for _ in range(4):
            self._events.append(self.cuda("cudaEventCreate"))

    def _dtype_size(self, engine, name: str) -> int:
        if name in (self.input, self.output):
            return (self.input_dtype if name == self.input else self.output_dtype).itemsize
        dtype = engine.get_tensor_dtype(name)
        data_type = import_tensorrt().DataType
        for kind, size in (("FLOAT", 4), ("HALF", 2), ("BF16", 2), ("INT32", 4), ("INT64", 8), ("INT8", 1),
                           ("UINT8", 1), ("BOOL", 1)):
            if getattr(data_type, kind, None) == dtype:
                return size
        return 8  # an unknown type gets the widest element size rather than too small a buffer

    def _pinned_array(self, nbytes: int) -> np.ndarray:
        ptr = self.cuda("cudaMallocHost", nbytes)
        self._pinned.append(ptr)
        return np.frombuffer((ctypes.c_char * nbytes).from_address(ptr), dtype=np.uint8)

    def deactivate(self) -> None:
        cuda = getattr(self, "cuda", None)
        if cuda is not None:
            if self.stream is not None:
                cuda("cudaStreamSynchronize", self.stream)
            for event in self._events:
                cuda("cudaEventDestroy", event)
            if self.stream is not None:
                cuda("cudaStreamDestroy", self.stream)
            for ptr in self._pinned:
                cuda("cudaFreeHost", ptr)
            for ptr in self._device:
                cuda("cudaFree", ptr)
        self._events, self._pinned, self._device, self.stream = [], [], [], None
        self.h_input = self.h_output = None
        self.context = None
        self.loaded = None

    # -- running -------------------------------------------------------------------------------
    def input_range(self) -> ShapeRange:
        return self.range

    def num_classes(self) -> int | None:
        c = int(self.loaded.engine.get_tensor_shape(self.output)[-1])
        return c if c > 0 else None

    def _set_shape(self, shape: tuple[int, ...]) -> None:
        reason = self.range.refuse(shape)
        if reason:
            raise UserError(f"{self.describe()} cannot run a batch of shape {shape}: {reason}")
        if not self.context.set_input_shape(self.input, shape):
            raise UserError(f"TensorRT refused input shape {shape} for {self.describe()}")
        self.output_shape = tuple(int(d) for d in self.context.get_tensor_shape(self.output))
        if any(d < 0 for d in self.output_shape):
            raise UserError(f"{self.describe()}: output {self.output} has no definite shape for input {shape}")
        self.current_shape = shape

    def infer(self, batch: np.ndarray) -> np.ndarray:
        n = batch.shape[0]
        shape = (self.batch_size,) + tuple(batch.shape[1:])
        if shape != self.current_shape:
            self._set_shape(shape)
        in_bytes = int(np.prod(shape)) * self.input_dtype.itemsize
        out_bytes = int(np.prod(self.output_shape)) * self.output_dtype.itemsize
        host_in = self.h_input[:in_bytes].view(self.input_dtype).reshape(shape)
        padded(batch, self.batch_size, host_in)
        cuda, stream, ev = self.cuda, self.stream, self._events
        h2d = self.cuda.rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        d2h = self.cuda.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        cuda("cudaEventRecord", ev[0], stream)
        cuda("cudaMemcpyAsync", self.d_input, self.h_input.ctypes.data, in_bytes, h2d, stream)
        cuda("cudaEventRecord", ev[1], stream)
        if not self.context.execute_async_v3(int(stream)):
            raise UserError(f"TensorRT failed to run {self.describe()} on a batch of shape {shape}")
        cuda("cudaEventRecord", ev[2], stream)
        cuda("cudaMemcpyAsync", self.h_output.ctypes.data, self.d_output, out_bytes, d2h, stream)
        cuda("cudaEventRecord", ev[3], stream)
        cuda("cudaStreamSynchronize", stream)
        self.last_times = StageTimes(cuda.elapsed(ev[0], ev[1]), cuda.elapsed(ev[1], ev[2]), cuda.elapsed(ev[2], ev[3]))
        out = self.h_output[:out_bytes].view(self.output_dtype).reshape(self.output_shape)
        return out[:n].astype(np.float32)

    def info(self) -> dict:
        trt = import_tensorrt()
        built = self.loaded.build_info()
        precision = built.get("precision") or ("fp16 I/O" if self.input_dtype == np.float16 else
                                               "as built (engine has fp32 I/O; no build record beside it)")
        return {"backend": self.backend, "backend_version": trt.__version__, "provider": "TensorRT runtime",
                "precision": precision, "device": gpu_name()}
