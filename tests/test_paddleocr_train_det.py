"""Proof by PaddleOCR beyond CI: the bundled DB config trains on `augkit synth --kind page` pages,
exports and converts to ONNX, and `augkit eval --task det` of the ONNX model finds the boxes
PaddleOCR's own `tools/infer_det.py` finds with the trained weights.

`augkit config det_db_mv3 --data OUT` makes the config run-ready; a short run of PaddleOCR's
`tools/train.py` on CPU trains it (a few epochs on a few pages: the point is that every piece
runs, not a good detector), `tools/export_model.py` and paddle2onnx convert it as `augkit config`
prints. The boxes are compared after predict_det's own filter (clockwise order, clipped to the
page, sides over 3 pixels), at thresholds low enough that the young model gives boxes.

Slow (a few minutes on two CPU cores). Skips unless PADDLEOCR_HOME points at a PaddleOCR 2.x
checkout and paddle, paddle2onnx, onnxruntime, pyclipper and shapely import.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from augkit.cli import cli
from augkit.paddle_config import export_commands

from test_paddleocr_train import HOME, run  # noqa: E402  (the same PaddleOCR runner)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (HOME / "tools" / "train.py").is_file(),
                       reason="set PADDLEOCR_HOME to a PaddleOCR 2.x checkout to train the bundled configs"),
]
THRESH, BOX_THRESH = 0.2, 0.3


def _filtered(boxes, width: int, height: int) -> set:
    from augkit.detect.postprocess import order_clockwise

    out = set()
    for box in boxes:
        box = order_clockwise(np.asarray(box, float))
        box[:, 0] = np.clip(box[:, 0], 0, width - 1)
        box[:, 1] = np.clip(box[:, 1], 0, height - 1)
        if int(np.linalg.norm(box[0] - box[1])) > 3 and int(np.linalg.norm(box[0] - box[3])) > 3:
            out.add(tuple(map(tuple, box.astype(int).tolist())))
    return out


def test_db_trains_on_synth_pages_exports_and_agrees_with_infer_det(tmp_path):
    for module in ("paddle", "paddle2onnx", "onnxruntime", "pyclipper", "shapely", "requests", "rapidfuzz"):
        pytest.importorskip(module)
    data = tmp_path / "pages"
    runner = CliRunner()
    result = runner.invoke(cli, ["synth", "--kind", "page", "--count", "10", "--val-fraction", "0.2", "--seed", "3",
                                 "--out", str(data), "--quiet"])
    assert result.exit_code == 0, result.output
    run_yml = tmp_path / "run.yml"
    result = runner.invoke(cli, ["config", "det_db_mv3", "--data", str(data), "--cpu", "--out", str(run_yml)])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(run_yml.read_text(encoding="utf-8"))
    assert config["Train"]["dataset"]["label_file_list"] == [str(data.resolve() / "train.txt")]
    printed = export_commands(config, run_yml.resolve())
    for command in printed:
        assert f"  {shlex.join(command)}" in result.output.splitlines()

    config["Global"]["save_model_dir"] = str(tmp_path / "model")
    config["Global"]["save_res_path"] = str(tmp_path / "predicts_db.txt")
    config["PostProcess"].update(thresh=THRESH, box_thresh=BOX_THRESH)
    run_yml.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    log = run(["python", "tools/train.py", "-c", str(run_yml), "-o", "Global.use_gpu=False", "Global.epoch_num=4",
               "Train.loader.num_workers=0", "Eval.loader.num_workers=0", "Train.loader.batch_size_per_card=4",
               "Global.print_batch_step=1", "Optimizer.lr.warmup_epoch=0", "Global.eval_batch_step=[0,100]",
               "Global.save_epoch_step=4"], tmp_path / "train.log", timeout=1200)
    assert re.findall(r"epoch: \[4/4\], global_step: (\d+)", log), f"no training step in {tmp_path / 'train.log'}"
    assert (tmp_path / "model" / "latest.pdparams").stat().st_size > 0

    for i, command in enumerate(export_commands(config, run_yml, weights="latest")):
        run(command, tmp_path / f"export_{i}.log")
    onnx_model = tmp_path / "model" / "inference" / "model.onnx"
    assert onnx_model.stat().st_size > 0

    # PaddleOCR's own inference on the trained weights, page by page.
    val_lines = (data / "val.txt").read_text(encoding="utf-8").splitlines()
    pages = [data / line.split("\t", 1)[0] for line in val_lines]
    theirs = {}
    for page in pages:
        run(["python", "tools/infer_det.py", "-c", str(run_yml), "-o", "Global.use_gpu=False",
             f"Global.pretrained_model={tmp_path / 'model' / 'latest'}", f"Global.infer_img={page}"],
            tmp_path / "infer.log")
        path, boxes = (tmp_path / "predicts_db.txt").read_text(encoding="utf-8").rstrip("\n").split("\t")
        theirs[Path(path).resolve()] = [b["points"] for b in json.loads(boxes)]

    out = tmp_path / "eval"
    result = runner.invoke(cli, ["eval", "--task", "det", "--model", str(onnx_model), "--labels", str(data / "val.txt"),
                                 "--data-dir", str(data), "--det-thresh", str(THRESH), "--box-thresh", str(BOX_THRESH),
                                 "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == len(pages)
    total = 0
    for row in rows:
        w, h = row["size"]
        ours = {tuple(map(tuple, d["points"])) for d in row["detections"]}
        expected = _filtered(theirs[(data / row["image"]).resolve()], w, h)
        total += len(expected)
        # ONNX Runtime and Paddle differ in the last bits of the map: a box may move by a pixel.
        assert len(ours) == len(expected), (row["image"], len(ours), len(expected))
        for box in expected:
            assert any(np.abs(np.array(box) - np.array(o)).max() <= 2 for o in ours), box
    assert total > 0, "the trained model gave no box at all: the comparison would prove nothing"
