"""Test-only stand-ins for `tensorrt` and cuda-python's runtime module, so the real TensorRT runner
and engine builder run unchanged on machines without TensorRT or a GPU.

`make_tensorrt(version)` returns a module with the surface augkit uses, the same in TensorRT 10
and 11 except where 11 differs (no BuilderFlag.FP16, no platform_has_fast_fp16):

- building: Logger, Builder.create_network / create_builder_config / create_optimization_profile /
  build_serialized_network, OnnxParser.parse_from_file, INetworkDefinition inputs and layers (from
  the ONNX graph), IOptimizationProfile.set_shape, IBuilderConfig flags, profiles and timing
  caches. The serialized "engine" holds the ONNX model, the profile and the TensorRT version.
- running: Runtime.deserialize_cuda_engine (None for bytes that are not an engine of this version),
  ICudaEngine's name-based I/O tensor API with profile shapes, IExecutionContext.set_input_shape
  (False outside the profile), get_tensor_shape (-1 until the input shape is set),
  set_tensor_address and execute_async_v3, which reads the input from the address set for it,
  runs the model in ONNX Runtime and writes every output to its address. It refuses to run with
  a missing shape or address, and a buffer too small for a tensor is a CUDA error.

`FakeCudart` is cuda-python's runtime module backed by numpy: allocations are real host memory
addressed by integer pointers, kept in a registry that checks every copy stays inside an
allocation of the right kind (a host-to-device copy reads pinned host memory and writes device
memory) and that every allocation is freed. With `RealCudaMemory`, the stand-in engine works on
real device memory through the real cuda-python instead (on a machine with a GPU).
"""

from __future__ import annotations

import ctypes
import enum
import itertools
import json
import struct
import sys
import time
import types
from pathlib import Path

import numpy as np

ENGINE_MAGIC = b"STANDIN-TRT-ENGINE\0"
CACHE_MAGIC = b"STANDIN-TRT-CACHE\0"


# ---------------------------------------------------------------------------------------------
# cuda-python runtime stand-in
# ---------------------------------------------------------------------------------------------
class cudaError_t(enum.IntEnum):
    cudaSuccess = 0
    cudaErrorInvalidValue = 1
    cudaErrorMemoryAllocation = 2
    cudaErrorInvalidResourceHandle = 400
    cudaErrorIllegalAddress = 700


class cudaMemcpyKind(enum.IntEnum):
    cudaMemcpyHostToHost = 0
    cudaMemcpyHostToDevice = 1
    cudaMemcpyDeviceToHost = 2
    cudaMemcpyDeviceToDevice = 3
    cudaMemcpyDefault = 4


class _Handle:
    """A stream or event handle: an opaque object that converts to an integer, as cuda-python's do."""

    _ids = itertools.count(0x1000)

    def __init__(self):
        self.handle = next(self._ids)
        self.time = None

    def __int__(self):
        return self.handle


class _Props:
    name = b"Stand-in GPU"


class FakeCudart(types.ModuleType):
    """cuda.bindings.runtime over numpy memory: every call returns (error, *values)."""

    cudaError_t = cudaError_t
    cudaMemcpyKind = cudaMemcpyKind

    def __init__(self, name: str = "cuda.bindings.runtime"):
        super().__init__(name)
        self.allocations: dict[int, tuple[str, np.ndarray]] = {}
        self.streams: dict[int, _Handle] = {}
        self.events: dict[int, _Handle] = {}
        self.calls: list[str] = []

    # memory
    def _alloc(self, kind: str, size: int):
        if size <= 0:
            return (cudaError_t.cudaErrorInvalidValue, 0)
        array = np.zeros(size, np.uint8)
        ptr = array.ctypes.data
        self.allocations[ptr] = (kind, array)
        return (cudaError_t.cudaSuccess, ptr)

    def cudaMalloc(self, size):
        self.calls.append("cudaMalloc")
        return self._alloc("device", int(size))

    def cudaMallocHost(self, size):
        self.calls.append("cudaMallocHost")
        return self._alloc("pinned", int(size))

    def _free(self, kind, ptr):
        entry = self.allocations.get(int(ptr))
        if entry is None or entry[0] != kind:
            return (cudaError_t.cudaErrorInvalidValue,)
        del self.allocations[int(ptr)]
        return (cudaError_t.cudaSuccess,)

    def cudaFree(self, ptr):
        return self._free("device", ptr)

    def cudaFreeHost(self, ptr):
        return self._free("pinned", ptr)

    def region(self, ptr: int, nbytes: int) -> str | None:
        """The kind of allocation holding [ptr, ptr + nbytes), or None when none holds it whole."""
        for start, (kind, array) in self.allocations.items():
            if start <= ptr and ptr + nbytes <= start + array.nbytes:
                return kind
        return None

    def cudaMemcpyAsync(self, dst, src, count, kind, stream):
        self.calls.append(f"cudaMemcpyAsync:{cudaMemcpyKind(kind).name}")
        if int(stream) not in self.streams:
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        want = {cudaMemcpyKind.cudaMemcpyHostToDevice: ("pinned", "device"),
                cudaMemcpyKind.cudaMemcpyDeviceToHost: ("device", "pinned")}.get(kind)
        if want is None:
            return (cudaError_t.cudaErrorInvalidValue,)
        if self.region(int(src), int(count)) != want[0] or self.region(int(dst), int(count)) != want[1]:
            return (cudaError_t.cudaErrorInvalidValue,)
        ctypes.memmove(int(dst), int(src), int(count))
        return (cudaError_t.cudaSuccess,)

    # streams and events
    def cudaStreamCreate(self):
        h = _Handle()
        self.streams[h.handle] = h
        return (cudaError_t.cudaSuccess, h)

    def cudaStreamDestroy(self, stream):
        return (cudaError_t.cudaSuccess,) if self.streams.pop(int(stream), None) else (cudaError_t.cudaErrorInvalidResourceHandle,)

    def cudaStreamSynchronize(self, stream):
        return (cudaError_t.cudaSuccess,) if int(stream) in self.streams else (cudaError_t.cudaErrorInvalidResourceHandle,)

    def cudaEventCreate(self):
        h = _Handle()
        self.events[h.handle] = h
        return (cudaError_t.cudaSuccess, h)

    def cudaEventDestroy(self, event):
        return (cudaError_t.cudaSuccess,) if self.events.pop(int(event), None) else (cudaError_t.cudaErrorInvalidResourceHandle,)

    def cudaEventRecord(self, event, stream):
        if int(event) not in self.events or int(stream) not in self.streams:
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        self.events[int(event)].time = time.perf_counter()
        return (cudaError_t.cudaSuccess,)

    def cudaEventElapsedTime(self, start, end):
        a, b = self.events.get(int(start)), self.events.get(int(end))
        if a is None or b is None or a.time is None or b.time is None:
            return (cudaError_t.cudaErrorInvalidResourceHandle, 0.0)
        return (cudaError_t.cudaSuccess, (b.time - a.time) * 1000.0)

    # misc
    def cudaGetErrorString(self, err):
        return (cudaError_t.cudaSuccess, cudaError_t(err).name.encode())

    def cudaGetDevice(self):
        return (cudaError_t.cudaSuccess, 0)

    def cudaGetDeviceProperties(self, device):
        return (cudaError_t.cudaSuccess, _Props())

    def leaks(self) -> dict:
        return {"allocations": len(self.allocations), "streams": len(self.streams), "events": len(self.events)}


class FakeDeviceMemory:
    """How the stand-in engine reads and writes FakeCudart's device memory."""

    def __init__(self, cudart: FakeCudart):
        self.cudart = cudart

    def check(self, ptr: int, nbytes: int) -> bool:
        return self.cudart.region(ptr, nbytes) == "device"

    def read(self, ptr: int, nbytes: int, stream) -> bytes:
        return ctypes.string_at(ptr, nbytes)

    def write(self, ptr: int, data: bytes, stream) -> None:
        ctypes.memmove(ptr, data, len(data))


class RealCudaMemory:
    """How the stand-in engine reads and writes real device memory (cuda-python, a GPU)."""

    def __init__(self, cudart):
        self.rt = cudart

    def check(self, ptr: int, nbytes: int) -> bool:
        return True  # a real out-of-bounds access fails in cudaMemcpy below

    def _ok(self, result):
        assert result[0] == self.rt.cudaError_t.cudaSuccess, result

    def read(self, ptr: int, nbytes: int, stream) -> bytes:
        # The runner's host-to-device copy is queued on the stream; wait for it first.
        self._ok(self.rt.cudaStreamSynchronize(stream))
        buf = np.empty(nbytes, np.uint8)
        self._ok(self.rt.cudaMemcpy(buf.ctypes.data, ptr, nbytes, self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost))
        return buf.tobytes()

    def write(self, ptr: int, data: bytes, stream) -> None:
        buf = np.frombuffer(data, np.uint8)
        self._ok(self.rt.cudaMemcpy(ptr, buf.ctypes.data, len(data), self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice))


# ---------------------------------------------------------------------------------------------
# tensorrt stand-in
# ---------------------------------------------------------------------------------------------
def make_tensorrt(version: str = "10.13.0", memory=None) -> types.ModuleType:
    """A `tensorrt` module of the given version; `memory` is how engines reach device memory."""
    major = int(version.split(".")[0])
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    trt.memory = memory
    trt.errors: list[str] = []

    class Logger:
        INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = range(5)

        def __init__(self, min_severity=1):
            self.min_severity = min_severity

    class DataType(enum.Enum):
        FLOAT = 0
        HALF = 1
        INT8 = 2
        INT32 = 3
        BOOL = 4
        INT64 = 8
        BF16 = 7

    class TensorIOMode(enum.Enum):
        NONE = 0
        INPUT = 1
        OUTPUT = 2

    flags = ["TF32", "DEBUG", "GPU_FALLBACK", "REFIT", "SPARSE_WEIGHTS"]
    if major < 11:
        flags = ["FP16", "BF16", "INT8", "FP8", "OBEY_PRECISION_CONSTRAINTS", "PREFER_PRECISION_CONSTRAINTS"] + flags
    BuilderFlag = enum.Enum("BuilderFlag", flags)

    onnx_types = {"tensor(float)": DataType.FLOAT, "tensor(float16)": DataType.HALF, "tensor(int64)": DataType.INT64,
                  "tensor(int32)": DataType.INT32}
    np_types = {DataType.FLOAT: np.float32, DataType.HALF: np.float16, DataType.INT64: np.int64,
                DataType.INT32: np.int32}

    def _session(model_bytes: bytes):
        import onnxruntime as ort

        return ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])

    def _dims(shape) -> tuple[int, ...]:
        return tuple(d if isinstance(d, int) and d > 0 else -1 for d in shape)

    # -- building ------------------------------------------------------------------------------
    class ITensor:
        def __init__(self, name, shape, dtype):
            self.name, self.shape, self.dtype = name, shape, dtype

    class ILayer:
        def __init__(self, outputs):
            self._outputs = outputs
            self.num_outputs = len(outputs)

        def get_output(self, i):
            return self._outputs[i]

    class INetworkDefinition:
        def __init__(self, flags):
            self.flags = flags
            self.inputs, self.outputs, self.layers = [], [], []
            self.model_bytes = None

        num_inputs = property(lambda self: len(self.inputs))
        num_outputs = property(lambda self: len(self.outputs))
        num_layers = property(lambda self: len(self.layers))

        def get_input(self, i):
            return self.inputs[i]

        def get_output(self, i):
            return self.outputs[i]

        def get_layer(self, i):
            return self.layers[i]

    class OnnxParser:
        def __init__(self, network, logger):
            self.network = network
            self.errors = []

        num_errors = property(lambda self: len(self.errors))

        def get_error(self, i):
            return self.errors[i]

        def parse_from_file(self, path):
            try:
                data = Path(path).read_bytes()
                session = _session(data)
            except Exception as exc:
                self.errors.append(f"ModelImporter: failed to parse {path}: {exc.__class__.__name__}")
                return False
            net = self.network
            net.model_bytes = data
            net.inputs = [ITensor(i.name, _dims(i.shape), onnx_types[i.type]) for i in session.get_inputs()]
            net.outputs = [ITensor(o.name, _dims(o.shape), onnx_types[o.type]) for o in session.get_outputs()]
            net.layers = _layers(data)
            return True

    def _layers(model_bytes):
        """One layer per ONNX node, its outputs typed from ONNX shape inference."""
        import onnx

        model = onnx.shape_inference.infer_shapes(onnx.load_from_string(model_bytes))
        elem = {onnx.TensorProto.FLOAT: DataType.FLOAT, onnx.TensorProto.FLOAT16: DataType.HALF,
                onnx.TensorProto.INT64: DataType.INT64, onnx.TensorProto.INT32: DataType.INT32}
        types_ = {v.name: elem.get(v.type.tensor_type.elem_type, DataType.FLOAT)
                  for v in list(model.graph.value_info) + list(model.graph.output) + list(model.graph.input)}
        return [ILayer([ITensor(o, (), types_.get(o, DataType.FLOAT)) for o in node.output]) for node in model.graph.node]

    class IOptimizationProfile:
        def __init__(self):
            self.shapes = {}

        def set_shape(self, name, min, opt, max):
            lo, mid, hi = tuple(min), tuple(opt), tuple(max)
            if not (len(lo) == len(mid) == len(hi)) or any(not a <= b <= c for a, b, c in zip(lo, mid, hi)):
                raise ValueError(f"invalid profile shapes for {name}: {lo} {mid} {hi}")
            self.shapes[name] = (lo, mid, hi)

    class ITimingCache:
        def __init__(self, entries):
            self.entries = dict(entries)

        def serialize(self):
            return CACHE_MAGIC + json.dumps(self.entries).encode()

    class IBuilderConfig:
        def __init__(self):
            self.flags = set()
            self.profiles = []
            self.cache = None

        def set_flag(self, flag):
            self.flags.add(flag)

        def get_flag(self, flag):
            return flag in self.flags

        def add_optimization_profile(self, profile):
            self.profiles.append(profile)
            return len(self.profiles) - 1

        def create_timing_cache(self, data):
            data = bytes(data)
            if not data:
                return ITimingCache({})
            if not data.startswith(CACHE_MAGIC):
                trt.errors.append("timing cache: invalid blob")
                return None
            return ITimingCache(json.loads(data[len(CACHE_MAGIC):]))

        def set_timing_cache(self, cache, ignore_mismatch):
            self.cache = cache
            return True

        def get_timing_cache(self):
            return self.cache

    class HostMemory(bytes):
        @property
        def nbytes(self):
            return len(self)

    class Builder:
        def __init__(self, logger):
            self.logger = logger

        if major < 11:
            platform_has_fast_fp16 = True

        def create_network(self, flags=0):
            return INetworkDefinition(flags)

        def create_builder_config(self):
            return IBuilderConfig()

        def create_optimization_profile(self):
            return IOptimizationProfile()

        def build_serialized_network(self, network, config):
            inp = network.inputs[0]
            dynamic = any(d < 0 for d in inp.shape)
            if dynamic and not config.profiles:
                trt.errors.append("Network has dynamic or shape inputs, but no optimization profile has been defined.")
                return None
            profile = config.profiles[0].shapes.get(inp.name) if config.profiles else (inp.shape,) * 3
            if profile is None:
                trt.errors.append(f"profile has no shape for input {inp.name}")
                return None
            for lo, hi, fixed in zip(profile[0], profile[2], inp.shape):
                if fixed >= 0 and not lo == hi == fixed:
                    trt.errors.append(f"profile {profile} contradicts the fixed input shape {inp.shape}")
                    return None
            if config.cache is not None:
                config.cache.entries[json.dumps(profile)] = config.cache.entries.get(json.dumps(profile), 0) + 1
            header = json.dumps({"version": trt.__version__, "input": inp.name,
                                 "profile": [list(s) for s in profile],
                                 "fp16": any(getattr(f, "name", "") == "FP16" for f in config.flags)}).encode()
            return HostMemory(ENGINE_MAGIC + struct.pack("<I", len(header)) + header + network.model_bytes)

    # -- running -------------------------------------------------------------------------------
    class ICudaEngine:
        def __init__(self, header, model_bytes):
            self.session = _session(model_bytes)
            self.profile = tuple(tuple(s) for s in header["profile"])
            self.input_name = header["input"]
            self.tensors = {}
            for i in self.session.get_inputs():
                self.tensors[i.name] = (TensorIOMode.INPUT, _dims(i.shape), onnx_types[i.type])
            for o in self.session.get_outputs():
                self.tensors[o.name] = (TensorIOMode.OUTPUT, _dims(o.shape), onnx_types[o.type])
            self.names = list(self.tensors)
            self.num_optimization_profiles = 1

        num_io_tensors = property(lambda self: len(self.names))

        def get_tensor_name(self, i):
            return self.names[i]

        def get_tensor_mode(self, name):
            return self.tensors[name][0] if name in self.tensors else TensorIOMode.NONE

        def get_tensor_shape(self, name):
            return self.tensors[name][1]

        def get_tensor_dtype(self, name):
            return self.tensors[name][2]

        def get_tensor_profile_shape(self, name, profile_index):
            if name != self.input_name or profile_index != 0:
                raise RuntimeError(f"no profile shape for {name} in profile {profile_index}")
            return [tuple(s) for s in self.profile]

        def create_execution_context(self):
            return IExecutionContext(self)

    class IExecutionContext:
        def __init__(self, engine):
            self.engine = engine
            self.shapes = {}
            self.addresses = {}
            self._output_shapes = {}

        def set_input_shape(self, name, shape):
            shape = tuple(int(d) for d in shape)
            lo, _, hi = self.engine.profile
            if name != self.engine.input_name or len(shape) != len(lo) or any(
                    not a <= s <= b for a, s, b in zip(lo, shape, hi)):
                trt.errors.append(f"IExecutionContext::setInputShape: shape {shape} outside the profile [{lo}, {hi}]")
                return False
            self.shapes[name] = shape
            return True

        def _outputs_for(self, shape):
            if shape not in self._output_shapes:
                mode, _, dtype = self.engine.tensors[self.engine.input_name]
                outs = self.engine.session.run(None, {self.engine.input_name: np.zeros(shape, np_types[dtype])})
                names = [o.name for o in self.engine.session.get_outputs()]
                self._output_shapes[shape] = {n: tuple(o.shape) for n, o in zip(names, outs)}
            return self._output_shapes[shape]

        def get_tensor_shape(self, name):
            mode, static, _ = self.engine.tensors[name]
            if mode == TensorIOMode.INPUT:
                return self.shapes.get(name, static)
            if self.engine.input_name not in self.shapes:
                return static
            return self._outputs_for(self.shapes[self.engine.input_name])[name]

        def set_tensor_address(self, name, ptr):
            if name not in self.engine.tensors:
                return False
            self.addresses[name] = int(ptr)
            return True

        def execute_async_v3(self, stream_handle):
            if not isinstance(stream_handle, int):
                raise TypeError("execute_async_v3() expects the stream handle as an int")
            memory = trt.memory
            engine = self.engine
            if engine.input_name not in self.shapes:
                trt.errors.append("execute: input shape not specified")
                return False
            missing = [n for n in engine.names if n not in self.addresses]
            if missing:
                trt.errors.append(f"execute: no address set for {missing}")
                return False
            shape = self.shapes[engine.input_name]
            dtype = np_types[engine.tensors[engine.input_name][2]]
            nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
            ptr = self.addresses[engine.input_name]
            if not memory.check(ptr, nbytes):
                raise RuntimeError("CUDA error: an illegal memory access (input buffer too small)")
            x = np.frombuffer(memory.read(ptr, nbytes, stream_handle), dtype).reshape(shape)
            outs = engine.session.run(None, {engine.input_name: x})
            for o, value in zip(engine.session.get_outputs(), outs):
                data = np.ascontiguousarray(value, np_types[engine.tensors[o.name][2]]).tobytes()
                if not memory.check(self.addresses[o.name], len(data)):
                    raise RuntimeError(f"CUDA error: an illegal memory access (output {o.name} buffer too small)")
                memory.write(self.addresses[o.name], data, stream_handle)
            return True

    class Runtime:
        def __init__(self, logger):
            self.logger = logger

        def deserialize_cuda_engine(self, data):
            data = bytes(data)
            if not data.startswith(ENGINE_MAGIC):
                trt.errors.append("deserialize: not a serialized engine")
                return None
            (n,) = struct.unpack_from("<I", data, len(ENGINE_MAGIC))
            start = len(ENGINE_MAGIC) + 4
            header = json.loads(data[start:start + n])
            if header["version"] != trt.__version__:
                trt.errors.append(f"deserialize: engine built with TensorRT {header['version']}")
                return None
            return ICudaEngine(header, data[start + n:])

    for name, value in dict(Logger=Logger, DataType=DataType, TensorIOMode=TensorIOMode, BuilderFlag=BuilderFlag,
                            Builder=Builder, OnnxParser=OnnxParser, Runtime=Runtime).items():
        setattr(trt, name, value)
    return trt


def install(monkeypatch, version: str = "10.13.0", cuda: str = "fake", import_path: str = "bindings"):
    """Put stand-ins in sys.modules: `tensorrt` of `version`, and cuda-python's runtime module
    ("fake": FakeCudart, "real": the installed cuda-python on a GPU) under `import_path`
    ("bindings": cuda.bindings.runtime, "cudart": the older cuda.cudart). Returns (trt, cudart)."""
    if cuda == "real":
        from cuda.bindings import runtime as cudart  # noqa: F401  (the real one, left in place)

        memory = RealCudaMemory(cudart)
    else:
        cudart = FakeCudart()
        memory = FakeDeviceMemory(cudart)
        package = types.ModuleType("cuda")
        package.__path__ = []
        monkeypatch.setitem(sys.modules, "cuda", package)
        if import_path == "bindings":
            bindings = types.ModuleType("cuda.bindings")
            bindings.__path__ = []
            bindings.runtime = cudart
            package.bindings = bindings
            monkeypatch.setitem(sys.modules, "cuda.bindings", bindings)
            monkeypatch.setitem(sys.modules, "cuda.bindings.runtime", cudart)
        else:
            package.cudart = cudart
            monkeypatch.setitem(sys.modules, "cuda.bindings", None)  # import of it fails, as before 12.6
            monkeypatch.setitem(sys.modules, "cuda.cudart", cudart)
    trt = make_tensorrt(version, memory)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    return trt, cudart
