"""report.html from a synthetic report directory: written, well-formed, self-contained, showing the
numbers of metrics.json and the worst samples with their crops embedded."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser

import cv2
import numpy as np
import pytest

from augkit.errors import UserError
from augkit.eval.console import pct
from augkit.eval.examples import THUMB_HEIGHT, THUMB_MAX_WIDTH
from augkit.eval.metrics import recompute
from augkit.eval.report import write_report
from eval_fixtures import SAMPLES, make_report_dir

VOID = {"meta", "img", "br", "hr", "link", "input", "source", "wbr", "col", "area", "base", "embed", "track", "param"}


class TagChecker(HTMLParser):
    """Collects every element and insists that non-void elements are closed in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.imgs, self.text = [], [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(html)
    checker.close()
    assert not checker.errors, checker.errors[:5]
    assert not checker.stack, f"unclosed: {checker.stack}"
    return checker


@pytest.fixture
def report_dir(tmp_path):
    return make_report_dir(tmp_path)


def test_report_is_written_well_formed_and_self_contained(report_dir):
    out = write_report(report_dir)
    assert out == report_dir / "report.html" and out.is_file()
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    parse(html)
    # Nothing is fetched from elsewhere: every image is embedded, no scripts, no external styles.
    assert not re.search(r'(src|href)="(?!data:|#)', html)
    assert "<script" not in html and "<link" not in html
    assert not list(report_dir.glob(".report.html.*"))          # no temporary file left


def test_report_shows_the_numbers_and_the_run(report_dir):
    html = write_report(report_dir).read_text(encoding="utf-8")
    doc = json.loads((report_dir / "metrics.json").read_text(encoding="utf-8"))
    m = doc["metrics"]
    text = " ".join(parse(html).text)
    assert pct(m["accuracy"]) in text and pct(m["cer"]) in text and pct(m["wer"]) in text
    assert f'{m["norm_edit_dis"]:.4f}' in text
    assert f'{m["correct"]} of {m["n"]} exactly right' in text
    for value in ("rec_test.onnx", "onnxruntime 1.20.1", "CPUExecutionProvider", "fp32", "Test CPU", "labels/en_dict.txt + space class"):
        assert value in text
    assert "321.5 images/s" in text and "11.25 ms" in text and "not measured by this backend" in text
    assert "missing image" in text                                         # rejects.tsv summary
    assert "0→O" in text or "O→0" in text                                  # confusions
    assert "MRZ: ICAO 9303 check digits and fields" in text
    cd = m["mrz"]["check_digits"]
    assert f'{cd["caught"]}' in text and "pass every check" in text
    for bucket in m["by_length"]:
        assert f'n={bucket["n"]}' in html                                   # the per-length chart


def test_worst_examples_embed_their_crops_and_mark_the_differences(report_dir):
    html = write_report(report_dir).read_text(encoding="utf-8")
    checker = parse(html)
    worst = html[html.index('id="worst"'):html.index('id="confident"')]
    wrong = [s for s in SAMPLES if s[0] != s[1]]
    with_image = [s for s in wrong if s[4]]
    imgs = re.findall(r'<img src="(data:image/jpeg;base64,[^"]+)"', worst)
    assert len(imgs) == len(with_image)
    for uri in imgs:
        image = cv2.imdecode(np.frombuffer(base64.b64decode(uri.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
        # 48 px high (the model's input height), or narrowed to the widest thumbnail allowed
        assert image is not None and (image.shape[0] == THUMB_HEIGHT or image.shape[1] == THUMB_MAX_WIDTH)
    assert worst.count("image not found") == len(wrong) - len(with_image)
    assert len(checker.imgs) >= len(imgs)
    # "22/06/1980" read as "22/06/198O": the 0 -> O column is marked as a substitution.
    assert '<span class="c s"><span>0</span><span>O</span></span>' in worst
    # "KIM HAEUN" read as "KIMHAEUN": the space is marked as dropped.
    assert '<span class="c d"><span>␣</span><span>·</span></span>' in worst
    # Furthest from the ground truth first (edits over length), ties by lower confidence.
    order = re.findall(r'<span class="path">(img/\d+\.png)</span>', worst)
    assert order == ["img/012.png", "img/010.png", "img/006.png", "img/007.png", "img/004.png", "img/003.png"]


def test_report_without_mrz_has_no_mrz_section(tmp_path):
    html = write_report(make_report_dir(tmp_path, mrz=False)).read_text(encoding="utf-8")
    assert "ICAO 9303" not in html


def test_report_from_predictions_alone_and_with_another_data_dir(tmp_path):
    report_dir = make_report_dir(tmp_path, with_metrics=False)
    html = write_report(report_dir).read_text(encoding="utf-8")
    parse(html)
    assert "recomputed from predictions.jsonl" in html
    # Without metrics.json the images are looked for beside the report; point at the data instead.
    assert "data:image/jpeg" not in html
    html = write_report(report_dir, data_dir=tmp_path / "data").read_text(encoding="utf-8")
    assert "data:image/jpeg" in html


def test_missing_or_broken_inputs_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="predictions file"):
        write_report(tmp_path)
    report_dir = make_report_dir(tmp_path)
    (report_dir / "metrics.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(UserError, match="metrics.json is not valid JSON"):
        write_report(report_dir)


def test_one_engine_per_width_names_every_engine(report_dir):
    path = report_dir / "metrics.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["run"]["models"] = [{"path": "/e/rec_320.engine", "sha256": "aa", "widths": [320]},
                            {"path": "/e/rec_640.engine", "sha256": "bb", "widths": [640]}]
    doc["run"]["time_steps"] = {"320": 40, "640": 80}
    doc["timing"]["latency_scope"] = "one batch: model + CTC decode"
    path.write_text(json.dumps(doc), encoding="utf-8")
    text = " ".join(parse(write_report(report_dir).read_text(encoding="utf-8")).text)
    assert "augkit eval · rec_320.engine, rec_640.engine" in text
    assert "model, width 320" in text and "/e/rec_640.engine (sha256 bb)" in text
    assert "width 320: 40, width 640: 80" in text and "one batch: model + CTC decode" in text


def test_metrics_json_is_recomputed_exactly_from_the_predictions(report_dir):
    doc = json.loads((report_dir / "metrics.json").read_text(encoding="utf-8"))
    assert recompute(report_dir, mrz=True) == doc["metrics"]
    relaxed = recompute(report_dir, mrz=True, ignore_space=True)
    assert relaxed["correct"] == doc["metrics"]["correct"] + 1          # "KIMHAEUN" becomes right
