"""augkit crop: rectified line crops from annotated pages in the three formats, every kind of bad
input recorded as a reject, generate's output layout (which generate, config and eval take
unchanged), the split by page, determinism across workers and shard sizes, and resume."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from augkit.cli import cli
from augkit.crop.formats import parse_box_line, parse_paddle_det_line, Region, RegionReject
from augkit.crop.quad import cut_region, order_quad
from augkit.crop.run import crop, make_crop_config
from augkit.writer import read_manifest
from augkit.errors import SampleRejected
from augkit.split import source_key

from conftest import text_line
from helpers import read_labels, tree_digest

SROIE = Path(os.environ.get("AUGKIT_SROIE", "/work/sroie"))
PAGE_W, PAGE_H = 640, 480


def place(page: np.ndarray, crop: np.ndarray, quad) -> None:
    """Warp `crop` into `page` so that its corners land on `quad` (clockwise from top-left)."""
    h, w = crop.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    m = cv2.getPerspectiveTransform(src, np.float32(quad))
    warped = cv2.warpPerspective(crop, m, (page.shape[1], page.shape[0]), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (page.shape[1], page.shape[0]))
    page[mask > 128] = warped[mask > 128]


# Lines of a test page: text, and the quad it is printed in (clockwise from the text's top-left).
LINES = [
    ("TAN WOON YANN", [[40, 30], [360, 30], [360, 78], [40, 78]]),                # axis-aligned
    ("TOTAL 12.50", [[60, 150], [300, 120], [306, 168], [66, 198]]),              # rotated about 7 degrees
    ("SLANTED, LINE", [[380, 240], [600, 240], [590, 288], [370, 288]]),          # slanted (a parallelogram)
]


def make_page(seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A pale page with the LINES printed in their quads, and each line's clean crop."""
    rng = np.random.default_rng(seed)
    page = np.full((PAGE_H, PAGE_W, 3), 240, np.uint8)
    page -= rng.integers(0, 8, page.shape, dtype=np.uint8)
    crops = {}
    for i, (text, quad) in enumerate(LINES):
        q = np.float32(quad)
        w = int(round(max(np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[3]))))
        h = int(round(max(np.linalg.norm(q[3] - q[0]), np.linalg.norm(q[2] - q[1]))))
        crops[text] = text_line(w, h, text, seed=i)
        place(page, crops[text], quad)
    return page, crops


def box_line(quad, text: str) -> str:
    return ",".join(str(int(v)) for p in quad for v in p) + "," + text


@pytest.fixture
def pages(tmp_path):
    """Three pages in every format: img/page_{1,2,3}.jpg with SROIE csv, ICDAR gt and a paddle-det file."""
    img = tmp_path / "img"
    img.mkdir()
    for fmt in ("sroie", "icdar"):
        (tmp_path / fmt).mkdir()
    det_lines = []
    for n in (1, 2, 3):
        page, _ = make_page(n)
        cv2.imwrite(str(img / f"page_{n}.jpg"), page, [cv2.IMWRITE_JPEG_QUALITY, 98])
        (tmp_path / "sroie" / f"page_{n}.csv").write_text("\n".join(box_line(q, t) for t, q in LINES) + "\n")
        # ICDAR 2015 files as they ship: a BOM, CRLF line ends.
        (tmp_path / "icdar" / f"gt_page_{n}.txt").write_bytes(
            b"\xef\xbb\xbf" + "\r\n".join(box_line(q, t) for t, q in LINES).encode() + b"\r\n")
        det_lines.append(f"img/page_{n}.jpg\t" + json.dumps(
            [{"transcription": t, "points": q, "difficult": False} for t, q in LINES], ensure_ascii=False))
    (tmp_path / "Label.txt").write_text("\n".join(det_lines) + "\n")
    return tmp_path


def run_crop(fmt: str, labels, images: Path, out: Path, **options):
    kwargs = {k: options.pop(k) for k in ("workers", "backend", "max_error_rate") if k in options}
    config, shards, regions = make_crop_config(fmt, [str(x) for x in labels], images, out, **options)
    return crop(config, shards, regions, progress=False, **kwargs)


def rejects(out: Path) -> list[list[str]]:
    rows = (out / "rejects.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "line\tpath\treason\tdetail"
    return [r.split("\t") for r in rows[1:]]


# ---- geometry --------------------------------------------------------------------------------


def test_rectified_crops_match_what_was_printed():
    """Axis-aligned, rotated and slanted quads all come back as the upright line that was printed."""
    page, crops = make_page()
    for text, quad in LINES:
        got, cut = cut_region(page, tuple(map(tuple, quad)), text)
        want = crops[text]
        assert abs(got.shape[0] - want.shape[0]) <= 1 and abs(got.shape[1] - want.shape[1]) <= 1
        got = cv2.resize(got, (want.shape[1], want.shape[0]))
        diff = np.abs(got.astype(int) - want.astype(int))[3:-3, 3:-3]
        assert diff.mean() < 12, (text, diff.mean())
        assert not cut.rotated and not cut.clamped


def test_counter_clockwise_quads_and_polygons_give_the_same_crop():
    page, _ = make_page()
    text, quad = LINES[1]
    clockwise, _ = cut_region(page, tuple(map(tuple, quad)), text)
    ccw = [quad[0], quad[3], quad[2], quad[1]]
    again, _ = cut_region(page, tuple(map(tuple, ccw)), text)
    assert np.array_equal(clockwise, again)
    # A 6-point polygon along the same line: its minimum-area rectangle, read from the first point.
    q = np.float64(quad)
    poly = [q[0], (q[0] + q[1]) / 2, q[1], q[2], (q[2] + q[3]) / 2, q[3]]
    rect = order_quad(tuple(map(tuple, poly)))
    assert np.abs(rect - order_quad(tuple(map(tuple, quad)))).max() < 4
    crop_poly, _ = cut_region(page, tuple(map(tuple, poly)), text)
    assert abs(crop_poly.shape[1] - clockwise.shape[1]) <= 6 and crop_poly.shape[1] > crop_poly.shape[0] * 3


def test_vertical_lines_are_turned_to_read_left_to_right_but_single_characters_are_not():
    line = text_line(200, 40, "ABCDE")
    page = np.full((300, 200, 3), 240, np.uint8)
    # The line printed top to bottom: its top-left corner at the page's top right.
    upright = np.ascontiguousarray(np.rot90(line, -1))  # 200 high, 40 wide
    page[50:250, 80:120] = upright
    quad = ((80, 50), (120, 50), (120, 250), (80, 250))
    got, cut = cut_region(page, quad, "ABCDE")
    assert cut.rotated and got.shape[:2] == (40, 200)
    one, cut_one = cut_region(page, quad, "A")
    assert not cut_one.rotated and one.shape[:2] == (200, 40)


def test_height_option_scales_keeping_the_aspect_ratio():
    page, _ = make_page()
    text, quad = LINES[0]
    got, _ = cut_region(page, tuple(map(tuple, quad)), text, height=32)
    assert got.shape[0] == 32 and abs(got.shape[1] - round(320 * 32 / 48)) <= 1


@pytest.mark.parametrize("quad, reason", [
    (((10, 10), (100, 10), (10, 40), (100, 40)), "self-intersecting quad"),
    (((10, 10), (10.5, 10), (10.5, 10.4), (10, 10.4)), "degenerate quad"),
    (((10, 10), (100, 10), (100, 10), (10, 10)), "degenerate quad"),
    (((10, 10), (100, 10), (40, 20), (10, 60)), "quad not convex"),
    (((700, 10), (800, 10), (800, 40), (700, 40)), "quad outside the page"),
    (((600, 10), (700, 10), (700, 40), (600, 40)), "quad partly outside the page"),
    (((1, 2), (3, 4), (5, 6)), "wrong number of points"),
])
def test_unusable_quads_are_refused_with_their_reason(quad, reason):
    page = np.full((PAGE_H, PAGE_W, 3), 200, np.uint8)
    with pytest.raises(SampleRejected) as exc:
        cut_region(page, quad, "TEXT")
    assert exc.value.reason == reason


def test_a_small_overhang_is_clamped_to_the_page():
    page, _ = make_page()
    got, cut = cut_region(page, ((-2, 30), (360, 30), (360, 78), (-2, 78)), "TAN WOON YANN")
    assert cut.clamped and cut.quad[0][0] == 0 and got.shape[0] == 48


# ---- formats ---------------------------------------------------------------------------------


def test_box_lines_keep_commas_in_the_text_and_name_what_is_wrong():
    ok = parse_box_line(1, "f:1", "1,2,30,2,30,20,1,20,NO.53 55,57 & 59, JALAN SAGU 18,")
    assert isinstance(ok, Region) and ok.text == "NO.53 55,57 & 59, JALAN SAGU 18,"
    assert parse_box_line(1, "f:1", " 1.5, 2,30,2,30,20,1,20, TOTAL ").text == "TOTAL"
    cases = {"1,2,x,2,30,20,1,20,T": "non-numeric coordinate", "1,2,3,4,5,6,HELLO": "wrong number of points",
             "1,2,3,4": "malformed line", "1,2,30,2,30,20,1,20,###": "don't-care region (###)",
             "1,2,30,2,30,20,1,20,  ": "empty transcription", "garbage": "malformed line",
             "1,2,30,2,30,20,1,nan,T": "non-numeric coordinate"}
    for line, reason in cases.items():
        got = parse_box_line(1, "f:1", line)
        assert isinstance(got, RegionReject) and got.reason == reason, (line, got)
    assert parse_box_line(1, "f:1", "1,2,30,2,30,20,1,20,###").excused


def test_paddle_det_lines_name_what_is_wrong():
    page = parse_paddle_det_line('a.jpg\t[{"transcription": "A\\tB", "points": [[0,0],[9,0],[9,9],[0,9]]},'
                                 '{"transcription": "ok", "points": [[0,0],[9,0]]},'
                                 '{"transcription": "ok", "points": [[0,"x"],[9,0],[9,9],[0,9]]},'
                                 '{"points": [[0,0]]}]', "L:1")
    assert [r.reason for r in page.regions] == ["label contains a tab", "wrong number of points",
                                                "non-numeric coordinate", "malformed annotation"]
    assert parse_paddle_det_line("a.jpg [..]", "L:2").reason == "malformed line"
    assert parse_paddle_det_line("a.jpg\t[{]", "L:3").reason == "malformed line"
    assert parse_paddle_det_line("../a.jpg\t[]", "L:4").reason == "page path escapes --images"


# ---- runs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, labels", [("sroie", ["sroie"]), ("icdar2015", ["icdar"]), ("paddle-det", ["Label.txt"])])
def test_every_format_gives_the_same_crops_in_generates_layout(pages, fmt, labels):
    images = pages / "img" if fmt != "paddle-det" else pages
    out = pages / f"out_{fmt}"
    summary = run_crop(fmt, [pages / x for x in labels], images, out)
    assert summary["counts"]["images"] == 9 and summary["counts"]["rejects"] == 0
    rows = read_labels(out / "train.txt")
    assert [label for _, label in rows] == [t for _ in range(3) for t, _ in LINES]
    assert rows[0][0] == "images_00001/0000000001_01.jpg"
    for rel, label in rows:
        img = cv2.imread(str(out / rel))
        assert img is not None and img.shape[1] > 3 * img.shape[0]
    records = read_manifest(out)
    assert [r["image"] for r in records] == [rel for rel, _ in rows]
    assert records[1]["page_image"].endswith("page_1.jpg") and records[1]["label"] == "TOTAL 12.50"
    run_manifest = json.loads((out / "augkit_run.json").read_text())
    assert run_manifest["counts"]["pages"] == 3 and run_manifest["counts"]["regions"] == 9


def test_formats_cut_identical_bytes(pages):
    digests = []
    for fmt, labels, images in [("sroie", "sroie", pages / "img"), ("icdar2015", "icdar", pages / "img"),
                                ("paddle-det", "Label.txt", pages)]:
        out = pages / f"same_{fmt}"
        run_crop(fmt, [pages / labels], images, out)
        digests.append({k: v for k, v in tree_digest(out).items() if k.endswith(".jpg")})
    assert digests[0] == digests[1] == digests[2] and len(digests[0]) == 9


def test_bad_input_is_recorded_and_the_run_goes_on(pages):
    box = pages / "sroie"
    good = box_line(LINES[0][1], LINES[0][0])
    (box / "page_1.csv").write_bytes("\n".join([
        good,
        "40,30,360,30,360,78,###",                          # three points before the text
        "40,30,360,30,abc,78,40,78,TEXT",                    # non-numeric coordinate
        "garbage",                                           # malformed
        "700,10,800,10,800,40,700,40,OUTSIDE",               # wholly outside the page
        "600,10,700,10,700,40,600,40,OVERHANG",              # partly outside
        "10,10,100,10,10,40,100,40,BOWTIE",                  # self-intersecting
        "10,10,10,10,10,10,10,10,POINT",                     # degenerate
        "40,30,360,30,360,78,40,78,",                        # empty text
        "40,30,360,30,360,78,40,78,###",                     # don't care
    ]).encode() + b"\n40,30,360,30,360,78,40,78,caf\xe9\n")   # not UTF-8
    (box / "page_4.csv").write_text(good + "\n")            # its page image is missing
    (pages / "img" / "page_5.jpg").write_bytes(b"not a jpeg")
    (box / "page_5.csv").write_text(good + "\n")            # an undecodable page
    out = pages / "out"
    summary = run_crop("sroie", [box], pages / "img", out, max_error_rate=1.0)
    got = {(r[1], r[2]) for r in rejects(out)}
    expected = {("page_1.csv:2", "wrong number of points"), ("page_1.csv:3", "non-numeric coordinate"),
                ("page_1.csv:4", "malformed line"), ("page_1.csv:5", "quad outside the page"),
                ("page_1.csv:6", "quad partly outside the page"), ("page_1.csv:7", "self-intersecting quad"),
                ("page_1.csv:8", "degenerate quad"), ("page_1.csv:9", "empty transcription"),
                ("page_1.csv:10", "don't-care region (###)"), ("page_1.csv:11", "line is not UTF-8"),
                ("page_4.csv:1", "missing page image"), ("page_5.csv:1", "undecodable page image")}
    assert got == expected
    assert summary["counts"]["images"] == 1 + 3 + 3 and summary["counts"]["dont_care"] == 1
    assert summary["counts"]["regions"] == summary["counts"]["images"] + len(expected)


def test_max_error_rate_fails_the_run_but_dont_care_regions_do_not_count(pages):
    box = pages / "sroie"
    lines = [box_line(q, t) for t, q in LINES]
    for n in (1, 2, 3):
        (box / f"page_{n}.csv").write_text("\n".join(lines + ["1,1,5,1,5,5,1,5,###"] * 3) + "\n")
    summary = run_crop("sroie", [box], pages / "img", pages / "ok", max_error_rate=0.0)
    assert summary["counts"]["dont_care"] == 9 and summary["counts"]["images"] == 9
    (box / "page_2.csv").write_text("\n".join(lines + ["garbage"]) + "\n")
    result = CliRunner().invoke(cli, ["crop", "--format", "sroie", str(box), "--images", str(pages / "img"),
                                      "--out", str(pages / "bad"), "--max-error-rate", "0", "--quiet"])
    assert result.exit_code == 1 and "above --max-error-rate" in result.output
    assert "garbage" not in result.output or "Traceback" not in result.output
    assert any(r[2] == "malformed line" for r in rejects(pages / "bad"))


def test_user_errors_are_one_line_with_exit_2(pages):
    runner = CliRunner()
    cases = [
        (["crop", "--format", "sroie", str(pages / "nope"), "--images", str(pages / "img"), "--out", str(pages / "o")],
         "does not exist"),
        (["crop", "--format", "sroie", str(pages / "sroie"), "--images", str(pages / "nope"), "--out", str(pages / "o")],
         "is not a folder"),
        (["crop", "--format", "paddle-det", str(pages / "sroie"), "--images", str(pages), "--out", str(pages / "o")],
         "takes label files"),
        (["crop", "--format", "icdar2015", str(pages / "sroie"), "--images", str(pages / "img"), "--out", str(pages / "o")],
         "holds no gt_*.txt"),
        (["crop", "--format", "sroie", "--images", str(pages / "img"), "--out", str(pages / "o")], "name the annotation"),
    ]
    for args, message in cases:
        result = runner.invoke(cli, args)
        assert result.exit_code == 2 and message in result.output, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1
    assert not (pages / "o").exists()


def test_split_by_page_and_the_output_feeds_generate_and_eval_labels(pages):
    out = pages / "split"
    for n in range(4, 13):
        (pages / "sroie" / f"page_{n}.csv").write_text((pages / "sroie" / "page_1.csv").read_text())
        (pages / "img" / f"page_{n}.jpg").write_bytes((pages / "img" / f"page_{n % 3 + 1}.jpg").read_bytes())
    run_crop("sroie", [pages / "sroie"], pages / "img", out, val_fraction=0.4, seed=3)
    train, val = read_labels(out / "train.txt"), read_labels(out / "val.txt")
    assert train and val and len(train) + len(val) == 36
    pages_of = lambda rows: {source_key(rel) for rel, _ in rows}  # noqa: E731
    assert not pages_of(train) & pages_of(val)
    again = pages / "split2"
    run_crop("sroie", [pages / "sroie"], pages / "img", again, val_fraction=0.4, seed=3)
    assert (again / "val.txt").read_bytes() == (out / "val.txt").read_bytes()
    result = CliRunner().invoke(cli, ["generate", "--input", str(out / "train.txt"), "--out", str(pages / "gen"),
                                      "--strong", "1", "--weak", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    assert len(read_labels(pages / "gen" / "train.txt")) == 2 * len(train)
    check = CliRunner().invoke(cli, ["labels", "check", str(out / "val.txt")])
    assert check.exit_code == 0, check.output


def _digest(out: Path) -> dict[str, str]:
    return {k: v for k, v in tree_digest(out).items() if not k.startswith("shards/") and k != "augkit_run.json"}


def test_bytes_identical_across_workers_and_shard_sizes_and_resume(pages):
    for n in range(4, 9):
        (pages / "sroie" / f"page_{n}.csv").write_text((pages / "sroie" / "page_2.csv").read_text())
        (pages / "img" / f"page_{n}.jpg").write_bytes((pages / "img" / f"page_{n % 3 + 1}.jpg").read_bytes())
    ref = pages / "ref"
    run_crop("sroie", [pages / "sroie"], pages / "img", ref, shard_size=2, val_fraction=0.3)
    reference = _digest(ref)
    assert len([k for k in reference if k.endswith(".jpg")]) == 24
    run_crop("sroie", [pages / "sroie"], pages / "img", pages / "w2", shard_size=2, val_fraction=0.3, workers=2)
    assert _digest(pages / "w2") == reference
    run_crop("sroie", [pages / "sroie"], pages / "img", pages / "s5", shard_size=5, val_fraction=0.3)
    assert _digest(pages / "s5") == reference
    # Interrupted: two shards without done-markers, one image cut short, no final files.
    for marker in sorted((ref / "shards").glob("*.done.json"))[1::2][:2]:
        marker.unlink()
    victim = sorted(ref.glob("images_*/0000000003_*.jpg"))[0]
    victim.write_bytes(victim.read_bytes()[:50])
    (ref / "train.txt").unlink()
    (ref / "augkit_run.json").unlink()
    run_crop("sroie", [pages / "sroie"], pages / "img", ref, shard_size=2, val_fraction=0.3)
    assert _digest(ref) == reference
    refused = CliRunner().invoke(cli, ["crop", "--format", "sroie", str(pages / "sroie"), "--images",
                                       str(pages / "img"), "--out", str(ref), "--shard-size", "2", "--height", "32"])
    assert refused.exit_code == 2 and "different configuration" in refused.output


@pytest.mark.slow
def test_bytes_identical_on_dask(pages):
    pytest.importorskip("dask.distributed")
    run_crop("sroie", [pages / "sroie"], pages / "img", pages / "loky", shard_size=1)
    run_crop("sroie", [pages / "sroie"], pages / "img", pages / "dask", shard_size=1, backend="dask", workers=2)
    assert _digest(pages / "dask") == _digest(pages / "loky")


# ---- real files ------------------------------------------------------------------------------


@pytest.mark.skipif(not (SROIE / "data" / "box").is_dir(), reason="set AUGKIT_SROIE to a SROIE 2019 checkout")
def test_real_sroie_receipts(tmp_path):
    """The first 40 SROIE receipts: every line becomes a crop or a reject, crops are upright lines."""
    box = tmp_path / "box"
    box.mkdir()
    for f in sorted((SROIE / "data" / "box").glob("*.csv"))[:40]:
        (box / f.name).write_bytes(f.read_bytes())
    out = tmp_path / "out"
    summary = run_crop("sroie", [box], SROIE / "data" / "img", out, workers=2, val_fraction=0.25)
    lines = sum(1 for f in box.glob("*.csv") for x in f.read_text(encoding="utf-8").splitlines() if x.strip())
    c = summary["counts"]
    assert c["regions"] == lines and c["images"] + c["rejects"] == lines and c["rejects"] <= lines * 0.01
    records = read_manifest(out)
    heights = np.array([r["size"][1] for r in records])
    widths = np.array([r["size"][0] for r in records])
    assert np.median(heights) > 12 and np.median(widths / heights) > 2
    with gzip.open(sorted((out / "shards").glob("*.jsonl.gz"))[0], "rt") as f:
        first = json.loads(f.readline())
    assert first["page_image"] == "000.jpg" and first["label"] == "TAN WOON YANN"


def test_crop_sheet_draws_each_page_beside_its_crops(pages):
    from PIL import Image

    out = pages / "sheet_run"
    run_crop("sroie", [pages / "sroie"], pages / "img", out)
    result = CliRunner().invoke(cli, ["crop-sheet", str(out), "--pages", "2", "--out", str(pages / "sheet.png")])
    assert result.exit_code == 0, result.output
    sheet = np.asarray(Image.open(pages / "sheet.png").convert("RGB"))
    scale = 900 / PAGE_H
    assert sheet.shape[0] == 2 * (900 + 12) and sheet.shape[1] > PAGE_W * scale
    # The first quad's right edge is drawn in red at its place on the scaled page.
    x, y = round(360 * scale), round(54 * scale)
    near = sheet[y - 2:y + 3, x - 2:x + 3].reshape(-1, 3)
    assert any(r > 180 and g < 80 and b < 80 for r, g, b in near)
    missing = CliRunner().invoke(cli, ["crop-sheet", str(pages / "nothing"), "--out", str(pages / "x.png")])
    assert missing.exit_code == 2 and "no finished crop run" in missing.output
