"""`augkit generate --task det`: whole pages augmented, polygons moved exactly with the pixels.

The point maps are checked the way the pixels are made: a bright marker rendered at a point is
found (its intensity centroid) after the real stage, within half a pixel of where the map puts
the point. Then the whole run: labels, rules for don't-care, clamped, dropped and bad regions,
determinism across workers, refusals, PaddleOCR's det loader on the output (paddle tier), and
the real detector still finding the lines on augmented pages."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from augkit.cli import cli
from augkit.crop.formats import Page, parse_paddle_det_line
from augkit.detect.geometry import edge_bend, move_points
from augkit.stages.geometry import CylindricalWarp, Rotate

REPO = Path(__file__).resolve().parents[1]


def _marker_image(width: int, height: int, points: list[tuple[float, float]], sigma: float = 1.2) -> np.ndarray:
    """A dark page with a Gaussian spot centred exactly at each (sub-pixel) point."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    image = np.zeros((height, width), np.float64)
    for x, y in points:
        image += np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma ** 2))
    return np.repeat((np.clip(image, 0, 1) * 250).astype(np.uint8)[:, :, None], 3, axis=2)


def _centroid(image: np.ndarray, near: np.ndarray, radius: int = 6) -> np.ndarray:
    g = image[:, :, 0].astype(np.float64)
    x0, y0 = (int(round(v)) for v in near)
    ys, xs = np.mgrid[max(0, y0 - radius):y0 + radius + 1, max(0, x0 - radius):x0 + radius + 1]
    w = g[ys, xs]
    return np.array([(w * xs).sum() / w.sum(), (w * ys).sum() / w.sum()])


POINTS = [(40.3, 30.7), (250.5, 41.2), (160.0, 100.0), (30.8, 170.4), (270.2, 160.6)]


@pytest.mark.parametrize("steps", [
    [("rotate", {"angle": 2.7})], [("rotate", {"angle": -3.0})], [("rotate", {"angle": 11.0})],
    [("cylindrical_warp", {"k": 3.2})], [("cylindrical_warp", {"k": 15.0})],
    [("rotate", {"angle": -2.2}), ("cylindrical_warp", {"k": 4.5})],
])
def test_points_land_where_the_pixels_go(steps):
    image = _marker_image(300, 200, POINTS)
    stages = {"rotate": Rotate(), "cylindrical_warp": CylindricalWarp()}
    out = image
    for name, params in steps:
        out = stages[name].apply(out, params)
    applied = [{"stage": name, "params": params} for name, params in steps]
    (moved,), _ = move_points([np.array(POINTS)], (300, 200), applied)
    for point in moved:
        assert np.abs(_centroid(out, point) - point).max() < 0.5, (steps, point)
    assert out.shape[1] >= moved[:, 0].max() and out.shape[0] >= moved[:, 1].max()


def test_photometric_stages_leave_points_alone_and_others_are_refused():
    pts = [np.array(POINTS)]
    applied = [{"stage": s, "params": {}} for s in ("brightness_contrast", "gaussian_noise", "motion_blur",
                                                     "pixelate", "sectioned_glare")]
    (moved,), bend = move_points(pts, (300, 200), applied)
    assert np.array_equal(moved, pts[0]) and bend == 0
    with pytest.raises(ValueError, match="cannot move polygons"):
        move_points(pts, (300, 200), [{"stage": "GridDistortion", "params": {}}])


def test_warp_edge_bend_is_small_at_page_scale():
    # A 40-pixel line on a 704-pixel page at the strong recipe's largest shift (0.07 of the height).
    from augkit.stages.geometry import k_for_shift

    line = np.array([[100, 500], [600, 500], [600, 540], [100, 540]], float)
    assert edge_bend(line, 704, k_for_shift(0.07)) < 0.2


# ---------------------------------------------------------------- the run

@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("det") / "pages"
    result = CliRunner().invoke(cli, ["synth", "--kind", "page", "--count", "4", "--seed", "2", "--out", str(out),
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def _generate(args: list[str]):
    return CliRunner().invoke(cli, ["generate", "--task", "det", *args, "--quiet"])


def _digest(out: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.suffix in (".jpg", ".txt"):
            h.update(path.relative_to(out).as_posix().encode() + path.read_bytes())
    return h.hexdigest()


def test_generate_det_moves_every_polygon_with_its_page(pages, tmp_path):
    out = tmp_path / "out"
    result = _generate(["--input", str(pages / "train.txt"), "--data-dir", str(pages), "--out", str(out),
                        "--strong", "2", "--weak", "1", "--val-fraction", "0.25", "--seed", "9"])
    assert result.exit_code == 0, result.output
    sources = {p.image: p for p in (parse_paddle_det_line(x, "s") for x in (pages / "train.txt").read_text().splitlines())}
    lines = (out / "train.txt").read_text().splitlines() + (out / "val.txt").read_text().splitlines()
    assert len(lines) == 4 * 3
    import gzip

    manifest = {}
    for part in sorted((out / "shards").glob("*.jsonl.gz")):
        for row in gzip.decompress(part.read_bytes()).decode().splitlines():
            manifest[json.loads(row)["image"]] = json.loads(row)
    for line in lines:
        page = parse_paddle_det_line(line, "out")
        assert isinstance(page, Page)
        record = manifest[page.image]
        source = sources[record["source"]]
        image = cv2.imread(str(out / page.image))
        assert [image.shape[1], image.shape[0]] == record["size"]
        assert [r.text for r in page.regions] == [r.text for r in source.regions]
        # The labels are the map of the source points by the recorded steps (to 0.01 px).
        (expected,) = [move_points([np.array(r.points) for r in source.regions], (1000, 704), record["steps"])[0]]
        for region, want in zip(page.regions, expected):
            assert np.abs(np.array(region.points) - want).max() <= 0.006
            xs, ys = [p[0] for p in region.points], [p[1] for p in region.points]
            assert 0 <= min(xs) and max(xs) <= image.shape[1] and 0 <= min(ys) and max(ys) <= image.shape[0]
        # Relative lengths follow the page's text, not the page: a blur kernel of a few pixels.
        assert 10 <= record["text_height"] <= 40
        blur = [s["params"]["kernel"] for s in record["steps"] if s["stage"] == "motion_blur"]
        assert all(k <= 7 for k in blur)
    # The same page's variants sit on one side of the split.
    val_pages = {manifest[x.split("\t")[0]]["source"] for x in (out / "val.txt").read_text().splitlines()}
    train_pages = {manifest[x.split("\t")[0]]["source"] for x in (out / "train.txt").read_text().splitlines()}
    assert val_pages and not val_pages & train_pages

    again = tmp_path / "again"
    result = _generate(["--input", str(pages / "train.txt"), "--data-dir", str(pages), "--out", str(again),
                        "--strong", "2", "--weak", "1", "--val-fraction", "0.25", "--seed", "9", "--workers", "2",
                        "--shard-size", "1"])
    assert result.exit_code == 0, result.output
    assert _digest(again) == _digest(out)
    result = _generate(["--input", str(pages / "train.txt"), "--data-dir", str(pages), "--out", str(out),
                        "--strong", "2", "--weak", "1", "--val-fraction", "0.25", "--seed", "9"])
    assert result.exit_code == 0 and "already complete" in result.output


def test_generate_det_rules_for_bad_and_odd_regions(pages, tmp_path):
    first, second, third, fourth = (pages / "train.txt").read_text().splitlines()
    path, rest = first.split("\t")
    entries = json.loads(rest)
    entries[0]["transcription"] = "###"                                            # don't care: kept
    entries[1]["transcription"] = ""                                               # empty: kept as ###
    entries[2]["points"] = [[p[0] + 1200, p[1]] for p in entries[2]["points"]]     # wholly outside: dropped
    entries[3]["points"] = [[-4, y] if i in (0, 3) else [x, y] for i, (x, y) in enumerate(entries[3]["points"])]
    entries[4]["points"] = [[1, 1], [1, 1], [1, 1], [1, 1]]                        # collapsed: dropped
    bad_path, bad_rest = second.split("\t")
    bad = json.loads(bad_rest)
    bad[0]["points"] = bad[0]["points"][:3]                                        # 3 points: page rejected
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join([f"{path}\t{json.dumps(entries)}", f"{bad_path}\t{json.dumps(bad)}",
                                 "images_00001/none.jpg\t[]", "x.jpg\t{broken", third, fourth]) + "\n")
    out = tmp_path / "out"
    result = _generate(["--input", str(labels), "--data-dir", str(pages), "--out", str(out), "--strong", "1",
                        "--weak", "0", "--max-error-rate", "0.9"])
    assert result.exit_code == 0, result.output
    rows = [x.split("\t") for x in (out / "rejects.tsv").read_text().splitlines()[1:]]
    reasons = sorted(r[2] for r in rows)
    assert reasons == sorted(["empty transcription", "unusable page", "missing image", "malformed line"])
    assert any("wrong number of points" in r[3] for r in rows if r[2] == "unusable page")
    lines = (out / "train.txt").read_text().splitlines()
    assert len(lines) == 3
    page = parse_paddle_det_line(lines[0], "out")
    texts = [r.text if hasattr(r, "text") else r.reason for r in page.regions]
    assert len(page.regions) == len(entries) - 2
    assert texts[:2] == ["don't-care region (###)", "don't-care region (###)"]
    import gzip

    record = json.loads(gzip.decompress(sorted((out / "shards").glob("*.jsonl.gz"))[0].read_bytes()).decode()
                        .splitlines()[0])
    statuses = {n["region"]: n["status"] for n in record["notes"]}
    assert statuses == {3: "dropped: outside the page", 4: "clamped to the page", 5: "dropped: collapsed"}


def test_generate_det_refuses_recipes_that_cannot_move_points(pages, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: distort\nsteps:\n  - albumentations: GridDistortion\n    p: 1.0\n")
    result = _generate(["--input", str(pages / "train.txt"), "--data-dir", str(pages), "--out", str(tmp_path / "o"),
                        "--recipe-strong", str(recipe)])
    assert result.exit_code != 0 and "cannot move polygons" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["generate", "--task", "det", "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and "--input" in result.output


def test_preview_det_draws_the_pages(pages, tmp_path):
    out = tmp_path / "sheet.png"
    result = CliRunner().invoke(cli, ["preview", "--task", "det", "--input", str(pages / "train.txt"), "--data-dir",
                                      str(pages), "--strong", "1", "--weak", "1", "--count", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    sheet = cv2.imread(str(out))
    green = (sheet[:, :, 1] > 150) & (sheet[:, :, 0] < 90) & (sheet[:, :, 2] < 90)
    assert sheet.shape[1] > 1000 and green.sum() > 2000   # the polygons are drawn


def test_paddleocr_det_loader_and_a_real_detector_read_augmented_pages(pages, tmp_path):
    out = tmp_path / "out"
    result = _generate(["--input", str(pages / "train.txt"), "--data-dir", str(pages), "--out", str(out),
                        "--strong", "1", "--weak", "1", "--seed", "4"])
    assert result.exit_code == 0, result.output
    from eval_models import det_model

    ev = tmp_path / "eval"
    result = CliRunner().invoke(cli, ["eval", "--task", "det", "--model", str(det_model()), "--labels",
                                      str(out / "train.txt"), "--data-dir", str(out), "--out", str(ev), "--quiet"])
    assert result.exit_code == 0, result.output
    m = json.loads((ev / "metrics.json").read_text())["metrics"]
    assert m["recall"] > 0.75 and m["precision"] > 0.75, m    # the moved boxes are where the text is

    from paddle_det import det_samples

    assert sum(1 for _ in det_samples(out, out / "train.txt")) == 2 * 4 * 2
