"""`augkit eval --task det`: DB post-processing, the ICDAR 2015 protocol, the whole run with the real
PP-OCRv4 detection model (rapidocr-onnxruntime wheel) on rendered pages, and bad input.

PaddleOCR is the reference where it is installed: its DetResizeForTest/NormalizeImage and
DBPostProcess (the `paddle` tier's ppocr, or a PaddleOCR checkout at PADDLEOCR_HOME) on the same
inputs, and its DetMetric (only in a checkout: the paddleocr wheel ships no ppocr.metrics) on the
same predictions. SROIE receipts (AUGKIT_SROIE) give a real-page check when present."""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from eval_models import det_model, render_pages

pytest.importorskip("shapely")
pytest.importorskip("pyclipper")

from augkit.cli import cli  # noqa: E402
from augkit.detect.postprocess import DBParams, db_boxes, order_clockwise  # noqa: E402
from augkit.detect.preprocess import det_input, resized_size  # noqa: E402
from augkit.detect.protocol import FALSE, IGNORED, INVALID, MATCHED, MISSED, score_page, totals  # noqa: E402

SROIE = Path(os.environ.get("AUGKIT_SROIE", "/work/sroie"))
HOME = Path(os.environ.get("PADDLEOCR_HOME", "/nonexistent"))


def _ppocr(module: str, need_checkout: bool = False):
    """A ppocr module from a PaddleOCR checkout (PADDLEOCR_HOME) or the paddleocr wheel, or skip."""
    pytest.importorskip("paddle")
    if (HOME / "ppocr").is_dir():
        if str(HOME) not in sys.path:
            sys.path.insert(0, str(HOME))
    elif need_checkout:
        pytest.skip("set PADDLEOCR_HOME to a PaddleOCR checkout (the paddleocr wheel has no ppocr.metrics)")
    else:
        spec = importlib.util.find_spec("paddleocr")
        if spec is None:
            pytest.skip("paddleocr is not installed (the paddle tier)")
        folder = list(spec.submodule_search_locations)[0]
        if folder not in sys.path:
            sys.path.append(folder)
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pytest.skip(f"{module} does not import here: {exc}")


def _rect(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


# ---------------------------------------------------------------- preprocess

@pytest.mark.parametrize("size, limit, kind, expected", [
    ((1200, 600), 960, "max", (960, 480)),
    ((500, 300), 960, "max", (512, 288)),     # smaller pages keep their size, sides to multiples of 32
    ((100, 400), 736, "min", (736, 2944)),
    ((10, 10), 960, "max", (32, 32)),          # at least 32
])
def test_resized_size(size, limit, kind, expected):
    assert resized_size(*size, limit_side_len=limit, limit_type=kind) == expected


def test_det_input_matches_paddleocr():
    ops = _ppocr("ppocr.data.imaug.operators")
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (437, 611, 3), dtype=np.uint8)
    for limit, kind in ((960, "max"), (736, "min"), (320, "max")):
        data = {"image": image.copy()}
        data = ops.DetResizeForTest(limit_side_len=limit, limit_type=kind)(data)
        data = ops.NormalizeImage(scale="1./255.", mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225],
                                  order="hwc")(data)
        data = ops.ToCHWImage()(data)
        ours = det_input(image, limit, kind)[0]
        assert ours.shape == data["image"].shape
        np.testing.assert_allclose(ours, data["image"], atol=1e-5)


# ---------------------------------------------------------------- postprocess

def test_db_boxes_grow_a_rectangle_by_the_unclip_distance():
    prob = np.zeros((200, 400), np.float32)
    prob[50:71, 100:301] = 0.9               # contour corners at 100..300 x 50..70: 200 x 20
    (box,) = db_boxes(prob, (200, 400))
    d = 200 * 20 * 1.5 / (2 * (200 + 20))    # area x ratio / perimeter
    xs, ys = [p[0] for p in box.points], [p[1] for p in box.points]
    assert abs(min(xs) - (100 - d)) <= 1 and abs(max(xs) - (300 + d)) <= 1
    assert abs(min(ys) - (50 - d)) <= 1 and abs(max(ys) - (70 + d)) <= 1
    assert box.points[0] == (min(xs), min(ys))   # clockwise from the top-left
    assert box.score == pytest.approx(0.9, abs=1e-3)


def test_db_boxes_scale_to_the_page_and_apply_the_drop_rules():
    prob = np.zeros((100, 200), np.float32)
    prob[10:21, 10:91] = 0.95                # kept
    prob[40:51, 10:91] = 0.45                # above thresh, under box_thresh: dropped
    prob[70:72, 10:91] = 0.95                # 2 map pixels high, under min_size: dropped
    boxes = db_boxes(prob, (300, 800))       # the page is 3x / 4x the map
    assert len(boxes) == 1
    xs, ys = [p[0] for p in boxes[0].points], [p[1] for p in boxes[0].points]
    d = 80 * 10 * 1.5 / (2 * (80 + 10))      # grown on the map, then scaled 4x across and 3x down
    assert abs(min(xs) - 4 * (10 - d)) <= 4 and abs(max(xs) - 4 * (90 + d)) <= 4
    assert abs(min(ys) - 3 * (10 - d)) <= 3 and abs(max(ys) - 3 * (20 + d)) <= 3
    assert len(db_boxes(prob, (300, 800), DBParams(box_thresh=0.4))) == 2
    assert db_boxes(prob, (300, 800), DBParams(thresh=0.99)) == []
    # Candidates are counted before the drop rules, in OpenCV's contour order (the bottom region
    # first here): two candidates are the thin one (dropped) and the faint one.
    (faint,) = db_boxes(prob, (300, 800), DBParams(box_thresh=0.4, max_candidates=2))
    assert faint.score == pytest.approx(0.45, abs=1e-3)


def test_order_clockwise():
    quad = np.array([[10, 50], [90, 10], [100, 30], [20, 70]], float)   # turned a little
    rng = np.random.default_rng(0)
    for _ in range(5):
        np.testing.assert_array_equal(order_clockwise(quad[rng.permutation(4)]), quad[[0, 1, 2, 3]])


def _paddle_boxes(db_module, prob, page_hw, params: DBParams):
    """PaddleOCR's DBPostProcess on the map, then predict_det's clockwise order, clip and size filter."""
    post = db_module.DBPostProcess(thresh=params.thresh, box_thresh=params.box_thresh, max_candidates=params.max_candidates,
                                   unclip_ratio=params.unclip_ratio, use_dilation=params.dilate,
                                   score_mode=params.score_mode)
    h, w = page_hw
    shape = np.array([[h, w, prob.shape[0] / h, prob.shape[1] / w]])
    boxes = post({"maps": prob[None, None]}, shape)[0]["points"]
    out = set()
    for box in boxes:
        box = order_clockwise(np.asarray(box, float))
        box[:, 0] = np.clip(box[:, 0], 0, w - 1)
        box[:, 1] = np.clip(box[:, 1], 0, h - 1)
        if int(np.linalg.norm(box[0] - box[1])) <= 3 or int(np.linalg.norm(box[0] - box[3])) <= 3:
            continue
        out.add(tuple(map(tuple, box.astype(int).tolist())))
    return out


def test_db_boxes_match_paddleocr_on_a_real_models_maps(tmp_path):
    db_module = _ppocr("ppocr.postprocess.db_postprocess")
    from augkit.detect.model import DetModel

    labels, pages = render_pages(tmp_path, pages=3)
    model = DetModel(det_model())
    rng = np.random.default_rng(1)
    for name, _ in pages:
        page = cv2.imread(str(tmp_path / name))
        prob = model.probability(det_input(page))
        noisy = np.clip(prob + rng.normal(0, 0.06, prob.shape).astype(np.float32), 0, 1)  # ragged contours too
        for p, params in ((prob, DBParams()), (noisy, DBParams()), (noisy, DBParams(dilate=True, score_mode="slow")),
                          (prob, DBParams(unclip_ratio=2.0, box_thresh=0.3))):
            ours = {b.points for b in db_boxes(p, page.shape[:2], params)}
            assert ours == _paddle_boxes(db_module, p, page.shape[:2], params)
            assert ours


# ---------------------------------------------------------------- protocol

def test_score_page_matches_one_to_one_and_ignores_dont_care():
    gt = [(_rect(0, 0, 100, 20), False), (_rect(0, 40, 100, 60), False), (_rect(0, 80, 100, 100), True),
          ([[0, 0], [10, 10], [10, 0], [0, 10]], False)]                      # a bow tie: invalid
    det = [_rect(2, 1, 101, 21),                                              # matches gt 0
           _rect(0, 0, 100, 20),                                              # a second box on gt 0: false
           _rect(0, 40, 30, 60),                                              # IoU 0.3 with gt 1: false
           _rect(10, 82, 90, 99)]                                             # on the don't-care region
    s = score_page(gt, det)
    assert s.gt == [MATCHED, MISSED, IGNORED, INVALID]
    assert s.det == [MATCHED, FALSE, FALSE, IGNORED]
    assert s.pairs[0][:2] == (0, 0) and s.pairs[0][2] == pytest.approx(98 * 19 / (100 * 20 + 99 * 20 - 98 * 19), abs=1e-6)
    assert (s.recall, s.precision) == (0.5, pytest.approx(1 / 3))


def test_score_page_iou_is_strictly_exceeded_and_empty_pages():
    # IoU exactly 0.5 (a box half the width inside the line) does not match, as in the ICDAR script.
    assert score_page([(_rect(0, 0, 100, 10), False)], [_rect(0, 0, 50, 10)]).matched == 0
    assert score_page([(_rect(0, 0, 100, 10), False)], [_rect(0, 0, 51, 10)]).matched == 1
    nothing = score_page([], [])
    assert (nothing.recall, nothing.precision) == (1.0, 1.0)
    spurious = score_page([], [_rect(0, 0, 9, 9)])
    assert (spurious.recall, spurious.precision) == (1.0, 0.0)
    t = totals([score_page([(_rect(0, 0, 10, 10), False)], [_rect(0, 0, 10, 10)]), spurious])
    assert (t["precision"], t["recall"], t["hmean"]) == (0.5, 1.0, pytest.approx(2 / 3))


def _random_page(rng, n=12):
    gt, det = [], []
    for i in range(n):
        x, y, w, h = rng.uniform(0, 800), rng.uniform(0, 800), rng.uniform(20, 300), rng.uniform(8, 40)
        box = _rect(x, y, x + w, y + h)
        gt.append((box, bool(rng.random() < 0.15)))
        r = rng.random()
        if r < 0.7:   # a jittered detection, sometimes too far off to match
            j = rng.normal(0, h * (0.15 if r < 0.55 else 0.6), (4, 2))
            det.append((np.array(box) + j).round(1).tolist())
        elif r < 0.8:  # split in two
            det += [_rect(x, y, x + w / 2, y + h), _rect(x + w / 2, y, x + w, y + h)]
    for _ in range(rng.integers(0, 3)):  # spurious
        x, y = rng.uniform(0, 800), rng.uniform(0, 800)
        det.append(_rect(x, y, x + 60, y + 15))
    rng.shuffle(det)
    return gt, det


def test_totals_match_paddleocr_det_metric():
    det_metric = _ppocr("ppocr.metrics.det_metric", need_checkout=True)
    rng = np.random.default_rng(11)
    metric = det_metric.DetMetric()
    pages = []
    for _ in range(40):
        gt, det = _random_page(rng)
        pages.append(score_page(gt, det))
        batch = [None, None, [np.array([g for g, _ in gt], np.float64)], [np.array([d for _, d in gt])]]
        metric([{"points": np.array(det, dtype=np.float64)}], batch)
    theirs = metric.get_metric()
    ours = totals(pages)
    for key in ("precision", "recall", "hmean"):
        assert ours[key] == pytest.approx(theirs[key], abs=1e-9), key
    assert 0.3 < ours["hmean"] < 0.95   # the cases exercise misses, splits and false boxes


# ---------------------------------------------------------------- the whole run

def test_eval_det_real_model_on_rendered_pages_with_bad_input(tmp_path):
    model = det_model()
    labels, pages = render_pages(tmp_path, pages=3)
    good = labels.read_text(encoding="utf-8").splitlines()
    # Bad input beside the good pages: every case recorded, never a traceback.
    entries = json.loads(good[0].split("\t", 1)[1])
    entries[0]["transcription"] = "###"                                   # don't care: excused, not listed
    entries[1]["transcription"] = ""                                      # empty text: don't care, listed
    entries[2]["points"] = entries[2]["points"][:3]                        # 3 points: not scored, listed
    entries.append({"transcription": "X"})                                # no points: listed
    entries.append({"transcription": "FAR", "points": [[2000, 10], [2100, 10], [2100, 30], [2000, 30]]})  # off the page
    lines = [good[0].split("\t")[0] + "\t" + json.dumps(entries), good[1], good[2],
             "img/missing.png\t[]",                                       # missing page
             "img/page_00.png\t{not json",                                # malformed JSON
             "../outside.png\t[]"]                                        # escapes the image folder
    labels.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "eval"
    result = CliRunner().invoke(cli, ["eval", "--task", "det", "--model", str(model), "--labels", str(labels),
                                      "--data-dir", str(tmp_path), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "metrics.json").read_text())
    m = doc["metrics"]
    assert doc["counts"] == {"pages": 6, "scored": 3, "rejected_pages": 3, "rejects": 7}
    assert m["annotated"] == 21 - 3 and m["dont_care_annotations"] == 2
    assert m["recall"] >= 0.9 and m["precision"] >= 0.9, m      # a real detector on clean printed lines
    reasons = [line.split("\t")[2] for line in (out / "rejects.tsv").read_text().splitlines()]
    assert sorted(reasons) == sorted(["empty transcription", "wrong number of points", "malformed annotation",
                                      "missing image", "malformed line", "page path escapes --images",
                                      "region outside the page"])
    from augkit.detect.evaluate import recompute

    assert recompute(out) == m
    rows = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["image"] for r in rows] == [p for p, _ in pages]
    # detections.txt is a det label file that augkit's own parser (and PaddleOCR's) reads back.
    from augkit.crop.formats import Page, parse_paddle_det_line

    for row, line in zip(rows, (out / "detections.txt").read_text().splitlines()):
        page = parse_paddle_det_line(line, "detections.txt")
        assert isinstance(page, Page) and page.image == row["image"]
        assert [list(map(list, r.points)) for r in page.regions if hasattr(r, "points") and r.points] == \
            [d["points"] for d in row["detections"]]
    html = (out / "report.html").read_text()
    assert "Worst pages" in html and html.count("<figure>") == 3 and "data:image/jpeg;base64," in html
    assert f"{100 * m['hmean']:.1f}%" in html


def test_eval_det_refuses_what_it_cannot_run(tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["eval", "--task", "det", "--labels", str(tmp_path), "--out", str(tmp_path / "o")])
    assert r.exit_code != 0 and "--model" in r.output and "Traceback" not in r.output
    labels, _ = render_pages(tmp_path, pages=1)
    r = runner.invoke(cli, ["eval", "--task", "det", "--model", str(tmp_path / "nope.onnx"), "--labels", str(labels),
                            "--out", str(tmp_path / "o")])
    assert r.exit_code != 0 and "does not exist" in r.output
    from eval_models import english_model

    rec, _ = english_model()
    r = runner.invoke(cli, ["eval", "--task", "det", "--model", str(rec), "--labels", str(labels),
                            "--out", str(tmp_path / "o")])
    assert r.exit_code != 0 and "detection model" in r.output


@pytest.mark.skipif(not (SROIE / "data" / "box").is_dir(), reason="set AUGKIT_SROIE to a SROIE 2019 checkout")
def test_eval_det_on_sroie_receipts(tmp_path):
    model = det_model()
    out = tmp_path / "sroie"
    result = CliRunner().invoke(cli, ["eval", "--task", "det", "--model", str(model), "--format", "sroie",
                                      "--labels", str(SROIE / "data" / "box"), "--data-dir", str(SROIE / "data" / "img"),
                                      "--count", "25", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    m = json.loads((out / "metrics.json").read_text())["metrics"]
    assert m["pages"] == 25 and m["annotated"] > 1000
    assert m["hmean"] > 0.8, m


# ---------------------------------------------------------------- pages end to end

def test_end_to_end_figures():
    from augkit.detect.page import end_to_end
    from augkit.eval.normalise import Normalisation

    row = {"annotations": [{"text": "TOTAL 5.00", "status": MATCHED}, {"text": "CASH", "status": MATCHED},
                           {"text": "THANK YOU", "status": MISSED}, {"text": "", "status": IGNORED}],
           "detections": [{"text": "CASH", "status": MATCHED}, {"text": "TOTAL 5.0O", "status": MATCHED},
                          {"text": "x", "status": FALSE}, {"text": "y", "status": IGNORED}],
           "pairs": [[0, 1, 0.9], [1, 0, 0.8]]}
    z = end_to_end([row], Normalisation())
    assert (z["lines_read"], z["annotated"], z["detected"], z["matched"]) == (1, 3, 3, 2)
    assert (z["recall"], z["precision"], z["missed"], z["spurious"]) == (1 / 3, 1 / 3, 1, 1)
    assert z["matched_accuracy"] == 0.5 and z["matched_cer"] == 1 / 14
    assert end_to_end([row], Normalisation(ignore_space=True))["matched_cer"] == 1 / 13


def test_eval_page_real_models_on_rendered_pages(tmp_path):
    from eval_models import english_model

    from augkit.detect.page import recompute_page

    det = det_model()
    rec, dictionary = english_model()
    labels, pages = render_pages(tmp_path, pages=3)
    out = tmp_path / "page"
    result = CliRunner().invoke(cli, ["eval", "--task", "page", "--det", str(det), "--rec", str(rec), "--dict",
                                      str(dictionary), "--labels", str(labels), "--data-dir", str(tmp_path),
                                      "--batch", "4", "--ignore-space", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "metrics.json").read_text())
    z = doc["end_to_end"]
    assert doc["task"] == "page" and z["annotated"] == 21 and doc["metrics"]["recall"] >= 0.9
    # Printed lines found by a real detector and read by a real recogniser, long lines included
    # (the wide buckets): nearly every line reads right, spaces aside.
    assert z["recall"] >= 0.85 and z["matched_cer"] < 0.05, z
    assert doc["run"]["rec"]["widths"] == [320, 640, 960, 1280]
    assert recompute_page(out, ignore_space=True) == z
    rows = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    readings = [d["text"] for r in rows for d in r["detections"]]
    written = [e["transcription"] for line in (out / "detections.txt").read_text().splitlines()
               for e in json.loads(line.split("\t", 1)[1])]
    assert readings == written and sum(bool(t) for t in readings) >= 19
    html = (out / "report.html").read_text()
    assert "Pages end to end" in html and "lines read" in html
    assert f"{100 * z['hmean']:.1f}%" in html


def test_eval_page_needs_both_models(tmp_path):
    labels, _ = render_pages(tmp_path, pages=1)
    r = CliRunner().invoke(cli, ["eval", "--task", "page", "--det", str(det_model()), "--labels", str(labels),
                                 "--out", str(tmp_path / "o")])
    assert r.exit_code != 0 and "--rec" in r.output and "Traceback" not in r.output


def test_eval_det_reads_every_format_alike(tmp_path):
    """The same pages as SROIE box files and ICDAR 2015 gt files score as their det labels do."""
    model = det_model()
    labels, pages = render_pages(tmp_path, pages=2)
    runner = CliRunner()
    sroie, icdar = tmp_path / "box", tmp_path / "gt"
    sroie.mkdir()
    icdar.mkdir()
    for name, regions in pages:
        stem = Path(name).stem
        rows = "".join(",".join(str(round(v)) for p in q for v in p) + f",{t}\n" for t, q in regions)
        (sroie / f"{stem}.csv").write_text(rows, encoding="utf-8")
        (icdar / f"gt_{stem}.txt").write_text("\ufeff" + rows.replace("\n", "\r\n"), encoding="utf-8")
    figures = {}
    for fmt, source in (("paddle-det", labels), ("sroie", sroie), ("icdar2015", icdar)):
        data_dir = tmp_path if fmt == "paddle-det" else tmp_path / "img"
        out = tmp_path / f"eval_{fmt}"
        result = runner.invoke(cli, ["eval", "--task", "det", "--model", str(model), "--format", fmt, "--labels",
                                     str(source), "--data-dir", str(data_dir), "--out", str(out), "--quiet"])
        assert result.exit_code == 0, result.output
        m = json.loads((out / "metrics.json").read_text())["metrics"]
        figures[fmt] = (m["annotated"], m["matched"], m["detected"])
    assert figures["sroie"] == figures["icdar2015"] == figures["paddle-det"] and figures["sroie"][0] == 14
