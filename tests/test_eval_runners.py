"""Runners and the engine builder: ONNX Runtime for real, TensorRT against the stand-in in
tests/trt_standin.py (the real runner and builder code, unchanged), and against the real TensorRT
where it is installed (marked `tensorrt`, skipped here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import trt_standin  # noqa: E402
from eval_models import english_model, render_lines, tiny_ctc_model  # noqa: E402

from augkit.errors import UserError  # noqa: E402
from augkit.eval.engine import build_engine  # noqa: E402
from augkit.eval.runners import (EngineFromPath, OnnxrtRunner, SessionFromOnnx, ShapeRange, TrtRunner,  # noqa: E402
                                 make_runner)


def _batch(n: int, width: int = 64, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).uniform(-1, 1, (n, 3, 48, width)).astype(np.float32)
    x[:, :, :, width * 3 // 4:] = 0  # right padding, as preprocessing leaves it
    return x


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return tiny_ctc_model(tmp_path_factory.mktemp("tiny") / "tiny.onnx")


def _real_cuda_available() -> bool:
    try:
        from cuda.bindings import runtime
    except ImportError:
        return False
    err, count = runtime.cudaGetDeviceCount()
    return err == runtime.cudaError_t.cudaSuccess and count > 0


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.gpu)])
def standin(request, monkeypatch):
    """The TensorRT stand-in over the numpy CUDA stand-in, or over the real cuda-python on a GPU."""
    if request.param == "real" and not _real_cuda_available():
        pytest.skip("needs cuda-python and an NVIDIA GPU")
    return trt_standin.install(monkeypatch, "10.13.0", cuda=request.param)


@pytest.fixture
def fake_cuda(monkeypatch):
    return trt_standin.install(monkeypatch, "10.13.0")


# -- ONNX Runtime ---------------------------------------------------------------------------------
def test_onnxruntime_pads_partial_batches_and_trims(tiny):
    x = _batch(5)
    with OnnxrtRunner(SessionFromOnnx(tiny), 5) as runner:
        full = runner.infer(x)
        part = runner.infer(x[:2])
        times = runner.last_times
        info = runner.info()
    assert full.shape == (5, 8, 6) and part.shape == (2, 8, 6) and part.dtype == np.float32
    assert np.array_equal(part, full[:2])
    assert times.compute > 0 and times.h2d is None and times.d2h is None
    assert info["backend"] == "onnxruntime" and info["provider"] == "CPUExecutionProvider" and info["precision"] == "fp32"


def test_onnxruntime_shape_checks(tmp_path):
    fixed = tiny_ctc_model(tmp_path / "fixed.onnx", height=32, width=64, batch=1)
    with OnnxrtRunner(SessionFromOnnx(fixed), 1) as runner:
        with pytest.raises(UserError, match="height 48 is outside the model's 32"):
            runner.check_shape(48, 64)
        runner.check_shape(32, 64)
        assert runner.input_range().fixed(3) == 64
    with OnnxrtRunner(SessionFromOnnx(fixed), 4) as runner:
        with pytest.raises(UserError, match="batch 4 is outside the model's 1"):
            runner.check_shape(32, 64)


def test_onnxruntime_bad_model_and_provider(tmp_path, tiny):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf")
    with pytest.raises(UserError, match="cannot load ONNX model"):
        OnnxrtRunner(SessionFromOnnx(bad), 1).__enter__()
    with pytest.raises(UserError, match="has no NoSuchExecutionProvider"):
        OnnxrtRunner(SessionFromOnnx(tiny, providers=["NoSuchExecutionProvider"]), 1).__enter__()


def test_backend_choice_by_file(tmp_path, tiny):
    engine = tmp_path / "m.engine"
    engine.write_bytes(b"x")
    assert isinstance(make_runner(tiny, "auto", 1), OnnxrtRunner)
    assert isinstance(make_runner(engine, "auto", 1), TrtRunner)
    with pytest.raises(UserError, match="is a TensorRT engine"):
        make_runner(engine, "onnxruntime", 1)
    with pytest.raises(UserError, match="build one with augkit build-engine"):
        make_runner(tiny, "tensorrt", 1)
    with pytest.raises(UserError, match="does not exist"):
        make_runner(tmp_path / "none.onnx", "auto", 1)


def test_without_tensorrt_the_message_says_how_to_get_it(monkeypatch, tmp_path, tiny):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(UserError, match="TensorRT is not installed"):
        build_engine(tiny, tmp_path / "t.engine", height=48, width=64)


# -- TensorRT runner against the stand-in ---------------------------------------------------------
def test_tensorrt_runner_equals_onnxruntime(standin, tiny, tmp_path):
    trt, cudart = standin
    engine = tmp_path / "t.engine"
    build_engine(tiny, engine, height=48, width=64, max_batch=4)
    x = _batch(4, seed=1)
    with OnnxrtRunner(SessionFromOnnx(tiny), 4) as reference:
        expected = reference.infer(x)
    with TrtRunner(EngineFromPath(engine), 4) as runner:
        full = runner.infer(x)
        for n in (1, 3):  # partial batches: zero-padded to 4, trimmed to n
            assert np.array_equal(runner.infer(x[:n]), expected[:n])
        assert np.array_equal(runner.infer(x), expected)
        times = runner.last_times
        info = runner.info()
    assert np.array_equal(full, expected)
    assert times.h2d >= 0 and times.compute > 0 and times.d2h >= 0
    assert info["backend"] == "tensorrt" and info["backend_version"] == "10.13.0" and info["precision"] == "fp32"


def test_buffers_allocated_once_at_the_profiles_largest_shape(fake_cuda, tiny, tmp_path):
    trt, cudart = fake_cuda
    engine = tmp_path / "t.engine"
    build_engine(tiny, engine, height=48, width=64, max_batch=4)
    with TrtRunner(EngineFromPath(engine), 2) as runner:
        sizes = sorted((kind, a.nbytes) for kind, a in cudart.allocations.values())
        for n in (2, 1, 2, 2):
            runner.infer(_batch(n))
        assert cudart.calls.count("cudaMalloc") == 2 and cudart.calls.count("cudaMallocHost") == 2
        assert cudart.calls.count("cudaMemcpyAsync:cudaMemcpyHostToDevice") == 4
    # input 4x3x48x64 float32 and output 4x8x6 float32, on the device and pinned on the host
    assert sizes == [("device", 4 * 8 * 6 * 4), ("device", 4 * 3 * 48 * 64 * 4),
                     ("pinned", 4 * 8 * 6 * 4), ("pinned", 4 * 3 * 48 * 64 * 4)]
    assert cudart.leaks() == {"allocations": 0, "streams": 0, "events": 0}


def test_a_failed_start_frees_what_it_allocated(fake_cuda, tiny, tmp_path):
    trt, cudart = fake_cuda
    engine = tmp_path / "t.engine"
    build_engine(tiny, engine, height=48, width=64, max_batch=2)
    real = cudart.cudaMallocHost
    calls = []

    def second_fails(size):
        calls.append(size)
        return real(size) if len(calls) < 2 else (trt_standin.cudaError_t.cudaErrorMemoryAllocation, 0)

    cudart.cudaMallocHost = second_fails
    with pytest.raises(UserError, match="CUDA error in cudaMallocHost: cudaErrorMemoryAllocation"):
        with TrtRunner(EngineFromPath(engine), 2):
            pass
    assert cudart.leaks() == {"allocations": 0, "streams": 0, "events": 0}


def test_older_cuda_python_import_path(monkeypatch, tiny, tmp_path):
    trt, cudart = trt_standin.install(monkeypatch, "10.13.0", import_path="cudart")
    engine = tmp_path / "t.engine"
    build_engine(tiny, engine, height=48, width=64, max_batch=2)
    with TrtRunner(EngineFromPath(engine), 2) as runner:
        assert runner.infer(_batch(1)).shape == (1, 8, 6)
    assert cudart.calls and cudart.leaks()["allocations"] == 0


def test_out_of_profile_input_is_refused(fake_cuda, tiny, tmp_path):
    trt, _ = fake_cuda
    engine = tmp_path / "t.engine"
    build_engine(tiny, engine, height=48, width=64, max_batch=4)
    with TrtRunner(EngineFromPath(engine), 4) as runner:
        with pytest.raises(UserError, match="width 128 is outside the model's 64"):
            runner.infer(_batch(2, width=128))
        with pytest.raises(UserError, match="width 128 is outside"):
            runner.check_shape(48, 128)
        # TensorRT's own refusal is reported too, should the profile check ever let a shape through
        runner.range = ShapeRange(runner.range.name, ((1, None),) * 4)
        with pytest.raises(UserError, match="TensorRT refused input shape"):
            runner.infer(_batch(2, width=128))
        assert "outside the profile" in trt.errors[-1]
    with pytest.raises(UserError, match="runs batches of 1 to 4; --batch 8 is outside its profile"):
        TrtRunner(EngineFromPath(engine), 8).__enter__()


def test_engine_of_another_version_or_no_engine(monkeypatch, tiny, tmp_path):
    trt_standin.install(monkeypatch, "10.13.0")
    engine = tmp_path / "t.engine"
    build_engine(tiny, engine, height=48, width=64, max_batch=2)
    trt_standin.install(monkeypatch, "10.14.1")
    with pytest.raises(UserError, match="built by another TensorRT version"):
        TrtRunner(EngineFromPath(engine), 2).__enter__()
    junk = tmp_path / "junk.engine"
    junk.write_bytes(b"\0" * 64)
    with pytest.raises(UserError, match="not an engine"):
        TrtRunner(EngineFromPath(junk), 2).__enter__()
    with pytest.raises(UserError, match="does not exist"):
        EngineFromPath(tmp_path / "none.engine")()


# -- the builder against the stand-in -------------------------------------------------------------
def test_build_records_profile_and_reuses_the_timing_cache(fake_cuda, tiny, tmp_path):
    cache = tmp_path / "timing.cache"
    first = build_engine(tiny, tmp_path / "a.engine", height=48, width=64, max_batch=8, timing_cache=cache)
    assert first["profile"] == {"min": [1, 3, 48, 64], "opt": [8, 3, 48, 64], "max": [8, 3, 48, 64]}
    assert first["timing_cache_reused"] is False and cache.is_file()
    second = build_engine(tiny, tmp_path / "b.engine", height=48, width=128, max_batch=8, timing_cache=cache)
    assert second["timing_cache_reused"] is True
    entries = json.loads(cache.read_bytes()[len(trt_standin.CACHE_MAGIC):])
    assert len(entries) == 2  # both builds' timings are in the saved cache
    assert json.loads((tmp_path / "b.engine.json").read_text())["profile"]["max"] == [8, 3, 48, 128]
    cache.write_bytes(b"garbage")
    with pytest.raises(UserError, match="refused the timing cache"):
        build_engine(tiny, tmp_path / "c.engine", height=48, width=64, timing_cache=cache)


def test_fp16_on_tensorrt_10_uses_the_builder_flag(fake_cuda, tiny, tmp_path):
    record = build_engine(tiny, tmp_path / "h.engine", height=48, width=64, fp16=True)
    assert record["precision"] == "fp16 (TensorRT 10 FP16 builder flag)"
    assert b'"fp16": true' in (tmp_path / "h.engine").read_bytes()[:400]
    with TrtRunner(EngineFromPath(tmp_path / "h.engine"), 2) as runner:
        assert runner.info()["precision"] == record["precision"]


def test_fp16_on_tensorrt_11_comes_from_the_model(monkeypatch, tiny, tmp_path):
    trt, _ = trt_standin.install(monkeypatch, "11.4.0")
    assert not hasattr(trt.BuilderFlag, "FP16")
    with pytest.raises(UserError, match="removed the FP16 builder flag.*ModelOpt AutoCast"):
        build_engine(tiny, tmp_path / "h.engine", height=48, width=64, fp16=True)
    assert not (tmp_path / "h.engine").exists()
    half = tiny_ctc_model(tmp_path / "half.onnx", fp16=True)
    record = build_engine(half, tmp_path / "h.engine", height=48, width=64, fp16=True)
    assert record["precision"].startswith("fp16 (from the model")
    assert build_engine(tiny, tmp_path / "f.engine", height=48, width=64)["precision"] == "fp32"


def test_shape_mismatches_are_clear(fake_cuda, tmp_path):
    fixed = tiny_ctc_model(tmp_path / "fixed.onnx", height=32, width=64)
    with pytest.raises(UserError, match="fixed height of 32, not 48; pass --height 32"):
        build_engine(fixed, tmp_path / "e.engine", height=48, width=64)
    with pytest.raises(UserError, match="fixed width of 64, not 96; pass --width 64"):
        build_engine(fixed, tmp_path / "e.engine", height=32, width=96)
    one = tiny_ctc_model(tmp_path / "one.onnx", batch=1)
    with pytest.raises(UserError, match="fixed batch of 1; pass --max-batch 1"):
        build_engine(one, tmp_path / "e.engine", height=48, width=64, max_batch=8)
    assert build_engine(fixed, tmp_path / "e.engine", height=32, width=64, max_batch=8)["profile"]["max"] == [8, 3, 32, 64]
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"nope")
    with pytest.raises(UserError, match="TensorRT cannot parse"):
        build_engine(bad, tmp_path / "e.engine", height=48, width=64)


# -- the real English model through the TensorRT path (stand-in) against ONNX Runtime -------------
def test_english_model_through_engines_equals_onnxruntime(standin, tmp_path):
    """One engine per width, as deployed; every prediction and confidence equals ONNX Runtime's."""
    from augkit.eval.pipeline import EvalConfig, evaluate

    model, dictionary = english_model()
    labels = render_lines(tmp_path / "set", ("ANDERSSON", "27 SEP 1991", "Bookkeeper", "Place of birth: Stockholm",
                                              "Given names / Prenoms: ANNA MARIA ELISABETH"))
    engines = []
    for width in (320, 640):
        engines.append(tmp_path / f"en_{width}.engine")
        build_engine(model, engines[-1], height=48, width=width, max_batch=4)
    common = dict(labels=labels, dict_file=dictionary, widths=(320, 640), batch=4, warmup=1)
    trt_doc = evaluate(EvalConfig(models=tuple(engines), out=tmp_path / "trt", **common))
    ort_doc = evaluate(EvalConfig(models=(model,), out=tmp_path / "ort", **common))
    read = lambda out: [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]  # noqa: E731
    assert read(tmp_path / "trt") == read(tmp_path / "ort")
    assert trt_doc["metrics"]["accuracy"] == ort_doc["metrics"]["accuracy"] >= 0.6
    assert trt_doc["run"]["backend"] == "tensorrt" and [m["widths"] for m in trt_doc["run"]["models"]] == [[320], [640]]
    stages = trt_doc["timing"]["stages_ms"]
    assert stages["h2d"] is not None and stages["d2h"] is not None and ort_doc["timing"]["stages_ms"]["h2d"] is None


# -- the real TensorRT, where installed ------------------------------------------------------------
@pytest.mark.tensorrt
def test_real_tensorrt_engine_matches_onnxruntime(tmp_path):
    pytest.importorskip("tensorrt", reason="needs TensorRT (pip install 'augkit[tensorrt]' on a GPU machine)")
    if not _real_cuda_available():
        pytest.skip("needs cuda-python and an NVIDIA GPU")
    from augkit.eval.pipeline import EvalConfig, evaluate

    model, dictionary = english_model()
    labels = render_lines(tmp_path / "set")
    engine = tmp_path / "en_320.engine"
    record = build_engine(model, engine, height=48, width=320, max_batch=8, timing_cache=tmp_path / "cache")
    assert record["precision"] == "fp32"
    common = dict(labels=labels, dict_file=dictionary, widths=(320,), batch=8)
    trt_doc = evaluate(EvalConfig(models=(engine,), out=tmp_path / "trt", **common))
    ort_doc = evaluate(EvalConfig(models=(model,), out=tmp_path / "ort", **common))
    read = lambda out: [json.loads(line)["prediction"] for line in (out / "predictions.jsonl").read_text().splitlines()]  # noqa: E731
    same = sum(a == b for a, b in zip(read(tmp_path / "trt"), read(tmp_path / "ort")))
    assert same == len(read(tmp_path / "ort"))
    assert trt_doc["metrics"]["accuracy"] == ort_doc["metrics"]["accuracy"]
    assert trt_doc["run"]["backend"] == "tensorrt" and trt_doc["timing"]["stages_ms"]["h2d"] is not None
