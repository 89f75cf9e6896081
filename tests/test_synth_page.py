"""`augkit synth --kind page`: passport data pages with PaddleOCR det labels and, with --rec-crops,
the same lines as recognition crops. Checked by augkit's own det label parser, by `augkit crop`
cutting the same crops from the pages, by PaddleOCR's det data loader (paddle tier) and by the
real PP-OCRv4 detector finding the lines."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from augkit import mrz
from augkit.cli import cli
from augkit.crop.formats import Page, Region, parse_paddle_det_line

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("pages") / "out"
    result = CliRunner().invoke(cli, ["synth", "--kind", "page", "--count", "8", "--rec-crops", "--val-fraction", "0.4",
                                      "--height", "32", "--seed", "5", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def _pages(out: Path, name: str) -> list[Page]:
    parsed = [parse_paddle_det_line(line, f"{name}:{i}")
              for i, line in enumerate((out / name).read_text(encoding="utf-8").splitlines(), start=1)]
    assert all(isinstance(p, Page) for p in parsed)
    return parsed


def _digest(out: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.suffix in (".jpg", ".txt"):
            h.update(path.relative_to(out).as_posix().encode() + path.read_bytes())
    return h.hexdigest()


def test_pages_carry_every_line_inside_the_page_without_overlap(pages):
    from shapely.geometry import Polygon

    train, val = _pages(pages, "train.txt"), _pages(pages, "val.txt")
    assert len(train) + len(val) == 8 and val
    for page in train + val:
        image = cv2.imread(str(pages / page.image))
        assert image.shape == (704, 1000, 3)
        regions = [r for r in page.regions if isinstance(r, Region)]
        assert len(regions) == len(page.regions) >= 27      # header, 12 captions and values, 2 MRZ lines
        polys = []
        for r in regions:
            xs, ys = [p[0] for p in r.points], [p[1] for p in r.points]
            assert 0 <= min(xs) and max(xs) < 1000 and 0 <= min(ys) and max(ys) < 704, r
            assert all(float(v).is_integer() for v in xs + ys)
            poly = Polygon(r.points)
            assert all(poly.intersection(q).area == 0 for q in polys), r.text
            polys.append(poly)
            # Each quad holds ink (text), and the strip just below a line is not cut through it.
            x0, y0, x1, y1 = int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))
            assert image[y0:y1, x0:x1].min() < 120, r.text
        zone = [r.text for r in regions if len(r.text) == 44 and mrz.is_mrz_text(r.text)]
        assert len(zone) == 2 and mrz.is_valid(zone), zone
        # The visual zone agrees with the machine-readable one.
        texts = {r.text for r in regions}
        assert zone[1][:9].rstrip("<") in texts and zone[0][2:5].rstrip("<") in texts


def test_rec_crops_are_the_pages_lines_cut_as_augkit_crop_cuts_them(pages, tmp_path):
    train, val = _pages(pages, "train.txt"), _pages(pages, "val.txt")
    rec_train = (pages / "rec_train.txt").read_text(encoding="utf-8").splitlines()
    rec_val = (pages / "rec_val.txt").read_text(encoding="utf-8").splitlines()
    # Line for line: each page's crops follow it, on the same side of the split.
    for det, rec in ((train, rec_train), (val, rec_val)):
        assert [x.split("\t", 1)[1] for x in rec] == [r.text for p in det for r in p.regions]
        stems = [x.split("\t")[0].rsplit("_", 1)[0] for x in rec]
        assert stems == [p.image.rsplit("_", 1)[0] for p in det for _ in p.regions]
    # augkit crop of the det labels cuts the same crops: the same quads and warp, so the same
    # pixels up to JPEG (crop cuts from the written page, synth from the page before encoding).
    out = tmp_path / "crop"
    result = CliRunner().invoke(cli, ["crop", "--format", "paddle-det", str(pages / "train.txt"), "--images",
                                      str(pages), "--out", str(out), "--height", "32", "--quiet"])
    assert result.exit_code == 0, result.output
    cropped = (out / "train.txt").read_text(encoding="utf-8").splitlines()
    assert [x.split("\t", 1)[1] for x in cropped] == [x.split("\t", 1)[1] for x in rec_train]
    for a, b in zip(cropped[:60], rec_train[:60]):
        ia = cv2.imread(str(out / a.split("\t")[0])).astype(int)
        ib = cv2.imread(str(pages / b.split("\t")[0])).astype(int)
        assert ia.shape == ib.shape and ia.shape[0] == 32
        a_, b_ = ia.mean(axis=2).ravel(), ib.mean(axis=2).ravel()
        assert np.corrcoef(a_, b_)[0, 1] > 0.97 and np.abs(a_ - b_).mean() < 3   # one pixel off would fail


def test_pages_are_deterministic_across_workers(pages, tmp_path):
    out = tmp_path / "again"
    result = CliRunner().invoke(cli, ["synth", "--kind", "page", "--count", "8", "--rec-crops", "--val-fraction", "0.4",
                                      "--height", "32", "--seed", "5", "--out", str(out), "--workers", "2",
                                      "--shard-size", "3", "--quiet"])
    assert result.exit_code == 0, result.output
    assert _digest(out) == _digest(pages)
    manifest = json.loads((pages / "augkit_run.json").read_text())
    assert manifest["counts"]["rec_train.txt"] + manifest["counts"]["rec_val.txt"] == sum(
        1 for _ in (pages / "rec_train.txt").open()) + sum(1 for _ in (pages / "rec_val.txt").open())


def test_rec_crops_need_the_page_kind(tmp_path):
    r = CliRunner().invoke(cli, ["synth", "--kind", "bz", "--count", "2", "--rec-crops", "--out", str(tmp_path / "o")])
    assert r.exit_code != 0 and "--rec-crops goes with --kind page" in r.output


def test_paddleocr_det_loader_reads_every_page(pages):
    from paddle_det import det_samples

    seen = 0
    for mode, idx, outs, line in det_samples(pages, pages / "train.txt"):
        seen += 1
        if mode == "Train":
            image, threshold_map, threshold_mask, shrink_map, shrink_mask = outs
            assert image.shape == (3, 640, 640) and shrink_map.sum() > 0
        else:
            image, shape, polys, ignore = outs[:4]
            ours = parse_paddle_det_line(line, "train.txt")
            np.testing.assert_array_equal(polys, np.array([r.points for r in ours.regions], np.float32))
            assert not ignore.any()
    assert seen == 2 * len((pages / "train.txt").read_text().splitlines())


def test_a_real_detector_finds_the_lines(pages, tmp_path):
    from eval_models import det_model

    out = tmp_path / "det"
    result = CliRunner().invoke(cli, ["eval", "--task", "det", "--model", str(det_model()), "--labels",
                                      str(pages / "train.txt"), "--data-dir", str(pages), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    m = json.loads((out / "metrics.json").read_text())["metrics"]
    assert m["recall"] > 0.8 and m["precision"] > 0.8, m
