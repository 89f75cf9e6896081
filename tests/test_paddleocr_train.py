"""Proof by PaddleOCR beyond CI: each bundled recognition config trains, exports and converts to ONNX.

For each rec config: `augkit generate` on the bundled samples of that config's kind, `augkit config`
to make it run-ready, one short epoch of PaddleOCR's `tools/train.py` on CPU (checking the weights
exist: an empty data set makes PaddleOCR exit 0 having done nothing), then the export and ONNX
conversion commands `augkit config` prints. The ONNX input height must be the trained height (PaddleOCR's
export fixes it per algorithm), the output must have the dictionary's class count, and ONNX Runtime's
greedy CTC decoding of a crop must equal PaddleOCR's own `tools/infer_rec.py` on the trained weights.

Slow (about a minute per config on two CPU cores). Skips unless PADDLEOCR_HOME points at a
PaddleOCR 2.x checkout (tools/train.py; release/2.10 was used) and paddle, paddle2onnx, onnx and
onnxruntime import in this Python; tools/train.py also needs `requests` and `rapidfuzz`.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from augkit.cli import cli
from augkit.paddle_config import export_commands
from augkit.sample_set import sample_labels

HOME = Path(os.environ.get("PADDLEOCR_HOME", "/nonexistent"))
REPO = Path(__file__).resolve().parents[1]
# Bundled rec config -> the sample crops of its kind (file-name prefix in the bundled sample set).
KINDS = {"rec_crnn_mrz": "images/mrz_", "rec_svtr_lcnet_bz": "images/bz_", "rec_crnn_korean": "images/korean_"}
# CTC time steps per input column at inference: MobileNetV3 (CRNN) halves the width twice,
# PPLCNetV3 (SVTR_LCNet) pools it by 8.
WIDTH_PER_STEP = {"CRNN": 4, "SVTR_LCNet": 8}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (HOME / "tools" / "train.py").is_file(),
                       reason="set PADDLEOCR_HOME to a PaddleOCR 2.x checkout to train the bundled configs"),
]


@pytest.fixture(scope="module")
def onnx_tools():
    for module in ("paddle", "paddle2onnx", "onnx", "onnxruntime", "requests", "rapidfuzz"):
        pytest.importorskip(module)
    import onnx
    import onnxruntime

    return onnx, onnxruntime


def run(command: list[str], log: Path, timeout: int = 600) -> str:
    """Run `command` in the PaddleOCR checkout with this Python; its output, asserting exit 0."""
    if command[0] == "python":
        command = [sys.executable, *command[1:]]
    elif command[0] == "paddle2onnx":
        command = [str(Path(sys.executable).parent / "paddle2onnx"), *command[1:]]
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(command, cwd=HOME, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)
    log.write_text(done.stdout, encoding="utf-8")
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}; see {log}\n{done.stdout[-3000:]}"
    return done.stdout


def characters(config: dict) -> list[str]:
    """PaddleOCR's CTC classes: blank, the dictionary's lines, then a space with use_space_char."""
    g = config["Global"]
    lines = Path(g["character_dict_path"]).read_text(encoding="utf-8").splitlines()
    return ["blank", *lines, *([" "] if g.get("use_space_char") else [])]


def eval_shape(config: dict) -> tuple[int, int]:
    """(height, width) of the Eval resize: what the model is evaluated and exported at."""
    for op in config["Eval"]["dataset"]["transforms"]:
        (name, params), = op.items()
        if name == "RecResizeImg":
            _, height, width = params["image_shape"]
            return height, width
    raise AssertionError("no RecResizeImg in Eval")


def preprocess(path: Path, height: int, width: int) -> np.ndarray:
    """The crop as tools/infer_rec.py feeds it (RecResizeImg in infer mode): BGR, height fixed, the
    width kept in proportion and padded with zeros to at least `width`, scaled to [-1, 1]."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    ratio = image.shape[1] / image.shape[0]
    padded_width = int(height * max(width / height, ratio))
    resized_width = min(padded_width, math.ceil(height * ratio))
    resized = cv2.resize(image, (resized_width, height)).astype(np.float32).transpose(2, 0, 1) / 255
    out = np.zeros((3, height, padded_width), np.float32)
    out[:, :, :resized_width] = (resized - 0.5) / 0.5
    return out[None]


def ctc_greedy(probs: np.ndarray, classes: list[str]) -> tuple[str, float]:
    """Best-path decoding with PaddleOCR's CTCLabelDecode rules: text and mean kept probability."""
    ids, best = probs.argmax(-1), probs.max(-1)
    keep = np.ones(len(ids), bool)
    keep[1:] = ids[1:] != ids[:-1]
    keep &= ids != 0
    return "".join(classes[i] for i in ids[keep]), float(best[keep].mean()) if keep.any() else 0.0


def first_val_crop(data: Path, fmt: str, folder: Path) -> Path:
    """The first validation crop as a file (from val.txt, or written out of the first val database)."""
    if fmt == "files":
        return data / (data / "val.txt").read_text(encoding="utf-8").split("\t", 1)[0]
    from augkit.lmdb_store import LmdbStore

    with LmdbStore(data / "lmdb" / "val") as store:
        _, name, *_ = next(store.entries())
        crop = folder / Path(name).name
        crop.write_bytes(store.read(name))
    return crop


# Every config on files; the two families on LMDB (`--output-format lmdb`, LMDBDataSet).
RUNS = [(name, "files") for name in KINDS] + [("rec_crnn_mrz", "lmdb"), ("rec_svtr_lcnet_bz", "lmdb")]


@pytest.mark.parametrize("name,fmt", RUNS, ids=[f"{n}-{f}" for n, f in RUNS])
def test_train_export_onnx(name, fmt, tmp_path, onnx_tools):
    onnx, onnxruntime = onnx_tools
    samples = sample_labels()
    kind = [line for line in samples.read_text(encoding="utf-8").splitlines(keepends=True)
            if line.startswith(KINDS[name])]
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(kind), encoding="utf-8")
    bundled = yaml.safe_load((REPO / "paddle_configs" / f"{name}.yml").read_text(encoding="utf-8"))
    g = bundled["Global"]
    data, run_yml = tmp_path / "data", tmp_path / "run.yml"
    result = CliRunner().invoke(cli, [
        "generate", "--input", str(labels), "--data-dir", str(samples.parent), "--out", str(data),
        "--strong", "1", "--weak", "0", "--val-fraction", "0.25", "--quiet", "--output-format", fmt,
        "--dict", str(REPO / g["character_dict_path"]), "--space" if g["use_space_char"] else "--no-space"])
    assert result.exit_code == 0, result.output
    assert (data / "rejects.tsv").read_text(encoding="utf-8").count("\n") == 1  # header only: every line fits
    result = CliRunner().invoke(cli, ["config", name, "--data", str(data), "--cpu", "--out", str(run_yml)])
    assert result.exit_code == 0, result.output

    config = yaml.safe_load(run_yml.read_text(encoding="utf-8"))
    if fmt == "lmdb":
        assert config["Train"]["dataset"]["name"] == config["Eval"]["dataset"]["name"] == "LMDBDataSet"
    printed = export_commands(config, run_yml.resolve())
    assert printed is not None
    for command in printed:
        assert f"  {shlex.join(command)}" in result.output.splitlines()

    # Train and evaluate every step; everything PaddleOCR writes goes to tmp_path.
    config["Global"]["save_model_dir"] = str(tmp_path / "model")
    config["Global"]["save_res_path"] = str(tmp_path / "predicts.txt")
    run_yml.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    shrink = ["Train.loader.num_workers=0", "Eval.loader.num_workers=0", "Global.print_batch_step=1",
              "Optimizer.lr.warmup_epoch=0",
              "Global.eval_batch_step=[0,1]"]
    if config["Train"].get("sampler"):
        shrink.append("Train.sampler.first_bs=8")
    log = run(["python", "tools/train.py", "-c", str(run_yml), "-o", "Global.use_gpu=False", "Global.epoch_num=1",
               *shrink], tmp_path / "train.log")
    steps = re.findall(r"epoch: \[1/1\], global_step: (\d+)", log)
    assert steps, f"no training step in {tmp_path / 'train.log'}"
    for weights in ("latest", "best_accuracy"):
        assert (tmp_path / "model" / f"{weights}.pdparams").stat().st_size > 0

    # Export and convert with the commands `augkit config` printed (here with tmp_path's model folder).
    commands = export_commands(config, run_yml)
    for i, command in enumerate(commands):
        run(command, tmp_path / f"export_{i}.log")
    model_file = tmp_path / "model" / "inference" / "model.onnx"
    model = onnx.load(str(model_file))
    height, width = eval_shape(config)
    (x,) = model.graph.input
    dims = [d.dim_value if d.HasField("dim_value") else None for d in x.type.tensor_type.shape.dim]
    assert dims[1:3] == [3, height], f"ONNX input {dims}, trained at height {height}"
    classes = characters(config)
    assert model.graph.output[0].type.tensor_type.shape.dim[-1].dim_value == len(classes)

    # ONNX Runtime on a validation crop agrees with PaddleOCR's own inference on the trained weights.
    crop = first_val_crop(data, fmt, tmp_path)
    session = onnxruntime.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    image = preprocess(crop, height, width)
    (probs,) = session.run(None, {x.name: image})
    algorithm = config["Architecture"]["algorithm"]
    assert probs.shape == (1, image.shape[3] // WIDTH_PER_STEP[algorithm], len(classes))
    assert np.allclose(probs.sum(-1), 1, atol=1e-3)
    run(["python", "tools/infer_rec.py", "-c", str(run_yml), "-o", "Global.use_gpu=False",
         f"Global.pretrained_model={tmp_path / 'model' / 'best_accuracy'}", f"Global.infer_img={crop}"],
        tmp_path / "infer.log")
    _, text, score = (tmp_path / "predicts.txt").read_text(encoding="utf-8").rstrip("\n").split("\t")
    ours = ctc_greedy(probs[0], classes)
    assert ours[0] == text and ours[1] == pytest.approx(float(score), abs=1e-3)
