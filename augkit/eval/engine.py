"""`augkit build-engine`: an ONNX recognition model → a TensorRT engine for one input shape.

The engine gets one optimization profile over the batch: min 1, opt and max --max-batch (augkit
eval always runs full, zero-padded batches, so the optimum is the batch it runs), at a fixed
height and width (one engine per width, as deployed). A timing cache file, when given, is loaded
before the build and saved after it, so rebuilding for the next width or batch is fast.

Precision follows the installed TensorRT: TensorRT 10 honours --fp16 with its FP16 builder flag
(a weakly typed network); TensorRT 11 removed that flag and builds every network strongly typed,
so the precision is the model's own: --fp16 is accepted only for a model that already holds FP16
tensors (convert it first, e.g. with NVIDIA ModelOpt's AutoCast), and refused otherwise rather
than silently giving an FP32 engine. Next to the engine, ENGINE.json records how it was built.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

from augkit import __version__
from augkit.errors import UserError
from augkit.eval.runners.trt import import_tensorrt, tensorrt_major
from augkit.writer import atomic_write

log = logging.getLogger("augkit.eval")


def _onnx_input(network, path: Path):
    if network.num_inputs != 1:
        raise UserError(f"{path} has {network.num_inputs} inputs; a recognition model has one image input")
    tensor = network.get_input(0)
    shape = tuple(int(d) for d in tensor.shape)
    if len(shape) != 4:
        raise UserError(f"{path} input {tensor.name} has shape {shape}; (batch, 3, height, width) expected")
    return tensor, shape


def _check_dims(path: Path, name: str, shape: tuple[int, ...], height: int, width: int, max_batch: int) -> None:
    """UserError when a fixed dimension of the model contradicts the requested shape."""
    for axis, want, option in ((1, 3, None), (2, height, "--height"), (3, width, "--width")):
        have = shape[axis]
        if have >= 0 and have != want:
            what = ("channels", "height", "width")[axis - 1]
            fix = f"; pass {option} {have}" if option else ""
            raise UserError(f"{path} input {name} has a fixed {what} of {have}, not {want}{fix}")
    if shape[0] >= 0 and shape[0] != max_batch:
        raise UserError(f"{path} input {name} has a fixed batch of {shape[0]}; pass --max-batch {shape[0]} "
                        "or export the model with a dynamic batch")


def _has_fp16(trt, network) -> bool:
    """Whether the parsed network computes in FP16 anywhere (a model converted to mixed precision)."""
    half = trt.DataType.HALF
    tensors = [network.get_input(i) for i in range(network.num_inputs)]
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        tensors.extend(layer.get_output(j) for j in range(layer.num_outputs))
    return any(t is not None and t.dtype == half for t in tensors)


def _parse(trt, builder, logger, onnx: Path):
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx)):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise UserError(f"TensorRT cannot parse {onnx}: {errors[0] if errors else 'unknown error'}")
    return network, parser


def build_engine(onnx: str | Path, out: str | Path, *, height: int = 48, width: int, max_batch: int = 8,
                 fp16: bool = False, timing_cache: str | Path | None = None) -> dict:
    """Build and write the engine; return its build record (also written to OUT.json)."""
    onnx, out = Path(onnx), Path(out)
    if not onnx.is_file():
        raise UserError(f"model {onnx} does not exist")
    if height < 1 or width < 1 or max_batch < 1:
        raise UserError("--height, --width and --max-batch must be positive")
    if out.suffix.lower() == ".onnx":
        raise UserError(f"--out {out} would overwrite an ONNX file; name the engine .engine")
    trt = import_tensorrt()
    major = tensorrt_major(trt)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network, parser = _parse(trt, builder, logger, onnx)
    tensor, shape = _onnx_input(network, onnx)
    _check_dims(onnx, tensor.name, shape, height, width, max_batch)

    config = builder.create_builder_config()
    precision = "fp32"
    if fp16:
        if major < 11:
            config.set_flag(trt.BuilderFlag.FP16)
            precision = "fp16 (TensorRT 10 FP16 builder flag)"
        elif _has_fp16(trt, network):
            precision = "fp16 (from the model: TensorRT 11 builds strongly typed networks)"
            log.info("TensorRT %s has no FP16 builder flag; the model's own FP16 tensors set the precision",
                     trt.__version__)
        else:
            raise UserError(f"TensorRT {trt.__version__} removed the FP16 builder flag: every network is strongly "
                            f"typed and {onnx} is FP32, so --fp16 would give an FP32 engine. Convert the model to "
                            "FP16 first (e.g. NVIDIA ModelOpt AutoCast: python -m modelopt.onnx.autocast "
                            "--onnx_path MODEL.onnx) and build that, or drop --fp16")
    elif major >= 11 and _has_fp16(trt, network):
        precision = "fp16 (from the model: TensorRT 11 builds strongly typed networks)"

    profile = builder.create_optimization_profile()
    lo, hi = (1, 3, height, width), (max_batch, 3, height, width)
    profile.set_shape(tensor.name, lo, hi, hi)
    config.add_optimization_profile(profile)

    cache_path = Path(timing_cache) if timing_cache is not None else None
    cache_bytes = b""
    if cache_path is not None and cache_path.is_file():
        cache_bytes = cache_path.read_bytes()
    cache = config.create_timing_cache(cache_bytes)
    if cache is None or not config.set_timing_cache(cache, False):
        raise UserError(f"TensorRT refused the timing cache {cache_path}; delete it to start a new one")

    started = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise UserError(f"TensorRT could not build an engine from {onnx} (its log above says why)")
    seconds = time.perf_counter() - started
    data = bytes(serialized)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, data)
    if cache_path is not None:
        atomic_write(cache_path, bytes(config.get_timing_cache().serialize()))
    record = {"augkit_version": __version__, "tensorrt_version": trt.__version__, "onnx": str(onnx),
              "onnx_sha256": hashlib.sha256(onnx.read_bytes()).hexdigest(), "input": tensor.name,
              "profile": {"min": list(lo), "opt": list(hi), "max": list(hi)}, "precision": precision,
              "timing_cache": str(cache_path) if cache_path is not None else None,
              "timing_cache_reused": bool(cache_bytes), "build_seconds": round(seconds, 2), "bytes": len(data)}
    atomic_write(out.with_name(out.name + ".json"), (json.dumps(record, indent=2) + "\n").encode("utf-8"))
    return record
