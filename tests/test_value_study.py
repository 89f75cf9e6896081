"""The value study's reduced run (`benchmarks/bench_value.py --quick`): real SROIE receipts cut by
augkit crop, arms A, B and C trained by PaddleOCR's own tools/train.py, exported, converted to ONNX
and scored by augkit eval, the table recomputed from each arm's predictions.jsonl. A re-run
retrains nothing. Slow (several minutes on two cores); skips unless PADDLEOCR_HOME points at a
PaddleOCR 2.x checkout (tools/train.py) and AUGKIT_SROIE (default /work/sroie) at a SROIE 2019
checkout, with paddle, paddle2onnx and onnxruntime installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HOME = Path(os.environ.get("PADDLEOCR_HOME", "/nonexistent"))
SROIE = Path(os.environ.get("AUGKIT_SROIE", "/work/sroie"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (HOME / "tools" / "train.py").is_file(),
                       reason="set PADDLEOCR_HOME to a PaddleOCR 2.x checkout to run the value study"),
    pytest.mark.skipif(not (SROIE / "data" / "box").is_dir(), reason="set AUGKIT_SROIE to a SROIE 2019 checkout"),
]


def test_quick_value_study(tmp_path):
    pytest.importorskip("paddle")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("paddle2onnx")
    from augkit.eval.metrics import recompute

    work, export = tmp_path / "work", tmp_path / "export"
    command = [sys.executable, str(REPO / "benchmarks" / "bench_value.py"), "--quick", "--sroie", str(SROIE),
               "--paddleocr", str(HOME), "--work", str(work), "--export", str(export)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((work / "results.json").read_text())
    # The shared warm start (trained on augkit synth's BZ fields) comes first, then the arms, each from it.
    assert list(results["arms"]) == ["base", "A", "B", "C"]
    base = results["arms"]["base"]
    assert base["steps"] == 20 and base["warm_start"] is None
    assert all(results["arms"][a]["warm_start"].endswith("arms/base/model/latest") for a in "ABC")
    base_list = (work / "arms" / "base" / "train_list.txt").read_text().splitlines()
    assert len(base_list) == 20 * 16 and all(x.startswith("images_") for x in base_list)
    assert (work / "synth_base_320" / "augkit_run.json").is_file()
    assert "pretrained_model" in (work / "arms" / "A" / "run.yml").read_text()
    assert results["data"]["heldout"]["crops"] == 400
    for name, arm in results["arms"].items():
        if name == "base":
            continue
        # The table's figures are augkit eval's, recomputed from the arm's predictions.jsonl.
        metrics = recompute(arm["eval"])
        assert metrics["n"] == 400
        assert f"| {name} |" in done.stdout and f"{metrics['accuracy']:.3f}" in done.stdout
        assert arm["steps"] == 40 and arm["training_lines"] == 40 * 16
        assert (export / f"arm_{name}" / "model.onnx").stat().st_size > 0
    assert results["arms"]["B"]["rec_aug"] and not results["arms"]["A"]["rec_aug"]
    assert (work / "loss_curves.png").stat().st_size > 0
    # A's training images are pool crops, C's augkit variants of them.
    a_list = (work / "arms" / "A" / "train_list.txt").read_text().splitlines()
    c_list = (work / "arms" / "C" / "train_list.txt").read_text().splitlines()
    assert all(line.startswith("images_") for line in a_list + c_list)
    assert len({x.split("\t")[0].rsplit("_", 1)[1] for x in c_list}) > 3  # several variant numbers
    # A re-run retrains nothing.
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and again.stdout.count("not retrained") == 4
