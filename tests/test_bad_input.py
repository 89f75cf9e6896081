"""Bad input, through the real CLI: every case ends in an exact reject reason or a clean user error.

SPEC section 4: a per-sample problem puts its line in OUT/rejects.tsv with its reason and the
run goes on; a user error is one line on stderr, exit code 2, and nothing written to --out.
Every accepted case also checks the label files the run wrote (SPEC section 1).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from augkit.cli import cli
from augkit.codec import decode_image

from conftest import text_line

# Two variants per source, no progress bar, and rejects never fail the run.
FAST = ["--strong", "1", "--weak", "1", "--quiet", "--max-error-rate", "1"]
N_VARIANTS = 2
BOM = b"\xef\xbb\xbf"


def crop(width: int = 64, height: int = 16, seed: int = 0) -> np.ndarray:
    return text_line(width, height, "AB12", seed)


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click 8.1
    except TypeError:
        return CliRunner()  # click >= 8.2 keeps stderr apart by default


def write_images(root: Path, images: dict[str, np.ndarray | bytes]) -> None:
    for name, image in images.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(image, bytes):
            path.write_bytes(image)
        else:
            assert cv2.imwrite(str(path), image)


def write_labels(path: Path, lines: list[str] | bytes) -> Path:
    path.write_bytes(lines if isinstance(lines, bytes) else "".join(f"{x}\n" for x in lines).encode("utf-8"))
    return path


def generate(tmp_path: Path, lines: list[str] | bytes, images: dict | None = None, *options: str,
             fast: bool = True, out: str = "out"):
    """Run `augkit generate` on a label file in tmp_path/data; returns (click result, OUT)."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    write_images(data, images or {})
    labels = write_labels(data / "labels.txt", lines)
    out_dir = tmp_path / out
    args = ["generate", "--input", str(labels), "--out", str(out_dir), *(FAST if fast else []), *options]
    return _runner().invoke(cli, args, catch_exceptions=True), out_dir


def ok(result) -> None:
    """The run finished with exit code 0 and no traceback."""
    assert result.exception is None or (isinstance(result.exception, SystemExit) and result.exit_code == 0), \
        f"exit {result.exit_code}: {result.exception!r}\n{result.stderr}"
    assert result.exit_code == 0, result.stderr


def assert_user_error(result, out: Path, *words: str) -> str:
    """Exit code 2, one line on stderr naming the problem, nothing written to --out."""
    assert result.exit_code == 2, f"exit {result.exit_code}: {result.exception!r}\n{result.stderr}"
    assert isinstance(result.exception, SystemExit)
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message, message
    assert message.startswith("augkit: error: "), message
    for word in words:
        assert word in message, message
    assert not out.exists() or (out.is_dir() and not any(out.iterdir())), sorted(out.rglob("*"))
    return message


def read_rejects(out: Path) -> dict[int, tuple[str, str, str]]:
    """rejects.tsv as {line: (path, reason, detail)}; every rejected line appears exactly once."""
    data = (out / "rejects.tsv").read_bytes()
    assert not data.startswith(BOM) and b"\r" not in data
    rows = data.decode("utf-8").split("\n")
    assert rows[0] == "line\tpath\treason\tdetail" and rows[-1] == ""
    found = {}
    for row in rows[1:-1]:
        cells = row.split("\t")
        assert len(cells) == 4, row
        line = int(cells[0])
        assert line not in found, f"line {line} rejected twice"
        found[line] = tuple(cells[1:])
    return found


def reasons(out: Path) -> dict[int, str]:
    return {line: reason for line, (_, reason, _) in read_rejects(out).items()}


def read_label_file(out: Path, name: str = "train.txt") -> list[tuple[str, str]]:
    """A written label file, checked against SPEC section 1; every image in it exists and decodes."""
    data = (out / name).read_bytes()
    assert not data.startswith(BOM), f"{name} starts with a BOM"
    assert b"\r" not in data, f"{name} has CR characters"
    text = data.decode("utf-8")
    assert text == "" or text.endswith("\n")
    rows = []
    for row in text.split("\n")[:-1]:
        assert row, f"blank line in {name}"
        assert row.count("\t") == 1, f"not exactly one tab: {row!r}"
        path, label = row.split("\t")
        assert label and "\n" not in label
        image = cv2.imread(str(out / path), cv2.IMREAD_UNCHANGED)
        assert image is not None, f"{path} missing or undecodable"
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and min(image.shape[:2]) >= 1
        rows.append((path, label))
    return rows


def source_line(path: str) -> int:
    """The label-file line an output came from (images_NNNNN/LLLLLLLLLL_VV.jpg)."""
    return int(Path(path).stem.split("_")[0])


def by_line(rows: list[tuple[str, str]]) -> dict[int, list[tuple[str, str]]]:
    grouped: dict[int, list[tuple[str, str]]] = {}
    for path, label in rows:
        grouped.setdefault(source_line(path), []).append((path, label))
    return grouped


def counts(out: Path) -> dict:
    return json.loads((out / "augkit_run.json").read_text(encoding="utf-8"))["counts"]


def accepted_alone(result, out: Path, label: str, line: int = 1) -> list[Path]:
    """The run made exactly the variants of `line`, with `label`, and rejected nothing."""
    ok(result)
    assert read_rejects(out) == {}
    rows = read_label_file(out)
    assert by_line(rows) == {line: [(p, label) for p, _ in rows]} and len(rows) == N_VARIANTS
    return [out / p for p, _ in rows]


def rejected_alone(result, out: Path, reason: str, line: int = 1) -> tuple[str, str, str]:
    """The run went on, wrote no images for `line` and rejected it with exactly `reason`."""
    ok(result)
    found = read_rejects(out)
    assert reasons(out) == {line: reason}
    assert read_label_file(out) == []
    assert not list(out.glob("images_*/*.jpg"))
    return found[line]


# ---- per-sample problems: the image ---------------------------------------------------------------

def test_missing_image(tmp_path):
    result, out = generate(tmp_path, ["nowhere.jpg\tABC"])
    assert rejected_alone(result, out, "missing image") == ("nowhere.jpg", "missing image", "nowhere.jpg")


def test_corrupt_jpeg(tmp_path):
    junk = np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    result, out = generate(tmp_path, ["junk.jpg\tABC"], {"junk.jpg": junk})
    rejected_alone(result, out, "undecodable image")


def test_truncated_png(tmp_path):
    png = cv2.imencode(".png", crop())[1].tobytes()
    result, out = generate(tmp_path, ["cut.png\tABC"], {"cut.png": png[: len(png) // 2]})
    rejected_alone(result, out, "undecodable image")


def test_empty_image_file(tmp_path):
    result, out = generate(tmp_path, ["empty.jpg\tABC"], {"empty.jpg": b""})
    rejected_alone(result, out, "empty image file")


def test_16bit_png_is_accepted_and_scaled_to_8bit(tmp_path):
    # The conversion itself: full scale maps to full scale, and v * 257 back to v exactly.
    wide = np.array([[0, 257 * 128, 65535]], np.uint16)
    assert decode_image(cv2.imencode(".png", wide)[1].tobytes())[0].tolist() == [[0] * 3, [128] * 3, [255] * 3]
    # Through the CLI: the 16-bit copy of a crop gives the very same bytes as the 8-bit crop.
    image8 = crop()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    r8, out8 = generate(tmp_path / "a", ["crop.png\tABC"], {"crop.png": image8})
    r16, out16 = generate(tmp_path / "b", ["crop.png\tABC"], {"crop.png": image8.astype(np.uint16) * 257})
    assert cv2.imread(str(tmp_path / "b/data/crop.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    made8, made16 = accepted_alone(r8, out8, "ABC"), accepted_alone(r16, out16, "ABC")
    assert [p.read_bytes() for p in made16] == [p.read_bytes() for p in made8]


def test_grey_png_is_accepted_as_three_channels(tmp_path):
    grey = crop()[:, :, 0].copy()
    decoded = decode_image(cv2.imencode(".png", grey)[1].tobytes())
    assert decoded.shape == grey.shape + (3,)
    assert all(np.array_equal(decoded[:, :, c], grey) for c in range(3))
    result, out = generate(tmp_path, ["grey.png\tABC"], {"grey.png": grey})
    for path in accepted_alone(result, out, "ABC"):
        assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape[2] == 3


def test_rgba_png_is_composited_over_white(tmp_path):
    rgba = np.zeros((16, 64, 4), np.uint8)          # black everywhere...
    rgba[:, 32:, 3] = 255                            # ...opaque on the right half only
    decoded = decode_image(cv2.imencode(".png", rgba)[1].tobytes())
    assert decoded.shape == (16, 64, 3)
    assert (decoded[:, :32] == 255).all(), "a fully transparent pixel must become white"
    assert (decoded[:, 32:] == 0).all(), "an opaque pixel keeps its colour"
    # A fully transparent black crop comes out light (composited), not black.
    clear = np.zeros((16, 64, 4), np.uint8)
    result, out = generate(tmp_path, ["clear.png\tABC"], {"clear.png": clear})
    for path in accepted_alone(result, out, "ABC"):
        assert cv2.imread(str(path)).mean() > 128


def test_jpeg_exif_orientation_is_applied():
    # A phone crop stored sideways with EXIF orientation 6 ("rotate 90° clockwise to view"): it is
    # used as people and PaddleOCR's own loader (cv2.imdecode(buf, 1)) see it, upright.
    from PIL import Image

    stored = np.zeros((16, 64, 3), np.uint8)
    stored[:, :32] = 255
    pil = Image.fromarray(stored)
    exif = pil.getexif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    pil.save(buf, "JPEG", exif=exif.tobytes(), quality=100)
    decoded = decode_image(buf.getvalue())
    assert decoded.shape == (64, 16, 3)
    assert decoded[:32].mean() > 200 and decoded[32:].mean() < 50


def test_1x1_image_is_accepted(tmp_path):
    # Decided: a 1x1 crop is useless but not malformed; every stage handles it, so it is used.
    result, out = generate(tmp_path, ["dot.png\tA"], {"dot.png": np.full((1, 1, 3), 200, np.uint8)})
    for path in accepted_alone(result, out, "A"):
        assert min(cv2.imread(str(path)).shape[:2]) >= 1


def test_10000_pixel_wide_crop_is_accepted(tmp_path):
    result, out = generate(tmp_path, ["wide.png\tWIDE"], {"wide.png": text_line(10_000, 24)})
    for path in accepted_alone(result, out, "WIDE"):
        assert cv2.imread(str(path)).shape[1] >= 10_000


# ---- per-sample problems: the line ----------------------------------------------------------------

@pytest.mark.parametrize("label", ["", "   "])
def test_empty_label(tmp_path, label):
    result, out = generate(tmp_path, [f"img.png\t{label}"], {"img.png": crop()})
    rejected_alone(result, out, "empty label")


def test_label_containing_a_tab(tmp_path):
    result, out = generate(tmp_path, ["img.png\tA\tB"], {"img.png": crop()})
    assert rejected_alone(result, out, "label contains a tab")[0] == "img.png"


def test_line_without_a_tab(tmp_path):
    result, out = generate(tmp_path, ["img.png ABC"], {"img.png": crop()})
    rejected_alone(result, out, "no tab between path and label")


@pytest.mark.parametrize("path", ["../outside.png", "sub/../../outside.png", "sub\\..\\..\\outside.png"])
def test_path_escaping_the_data_root(tmp_path, path):
    # The escaping file exists, so only the check keeps it out.
    write_images(tmp_path, {"outside.png": crop()})
    result, out = generate(tmp_path, [f"{path}\tABC"], {"sub/x.png": crop()})
    rejected_alone(result, out, "path escapes the data root")


def test_dotdot_that_stays_inside_the_root_is_accepted(tmp_path):
    result, out = generate(tmp_path, ["sub/../img.png\tABC"], {"img.png": crop()})
    accepted_alone(result, out, "ABC")


def test_dotdot_through_a_symlink_does_not_leave_the_root(tmp_path):
    # data/link -> elsewhere/deep: the OS would resolve "link/../secret.png" to elsewhere/secret.png;
    # augkit reads the path it checked (data/secret.png, which does not exist).
    write_images(tmp_path, {"elsewhere/secret.png": crop(), "elsewhere/deep/x.png": crop()})
    (tmp_path / "data").mkdir()
    (tmp_path / "data/link").symlink_to(tmp_path / "elsewhere/deep", target_is_directory=True)
    result, out = generate(tmp_path, ["link/../secret.png\tABC", "link/x.png\tABC"])
    ok(result)
    assert reasons(out) == {1: "missing image"}
    assert set(by_line(read_label_file(out))) == {2}


def test_absolute_path(tmp_path):
    write_images(tmp_path, {"elsewhere/img.png": crop()})
    result, out = generate(tmp_path, [f"{tmp_path / 'elsewhere/img.png'}\tABC"])
    rejected_alone(result, out, "absolute path")


def test_path_with_spaces(tmp_path):
    result, out = generate(tmp_path, ["my crops/line one.png\tA B"], {"my crops/line one.png": crop()})
    accepted_alone(result, out, "A B")


def test_characters_outside_the_dictionary(tmp_path):
    (tmp_path / "dict.txt").write_text("A\nB\nC\n", encoding="utf-8")
    result, out = generate(tmp_path, ["img.png\tABC", "img.png\tABD"], {"img.png": crop()},
                           "--dict", str(tmp_path / "dict.txt"))
    ok(result)
    assert read_rejects(out) == {2: ("img.png", "characters outside the dictionary", "D")}
    assert set(by_line(read_label_file(out))) == {1}


def test_label_too_long(tmp_path):
    result, out = generate(tmp_path, ["img.png\tABC", "img.png\tABCD"], {"img.png": crop()},
                           "--max-text-length", "3")
    ok(result)
    assert reasons(out) == {2: "label too long"}
    assert {label for _, label in read_label_file(out)} == {"ABC"}


def test_duplicate_lines_are_separate_sources_on_the_same_side(tmp_path):
    # Decided: a repeated line is two sources (the file asked for it twice); each gets its own
    # names and its own random variants, and a split never separates the two.
    paths = [f"dup_{i}.png" for i in range(8)]
    lines = [f"{p}\tL{i}" for i, p in enumerate(paths) for _ in range(2)]
    result, out = generate(tmp_path, lines, {p: crop(seed=i) for i, p in enumerate(paths)}, "--val-fraction", "0.5")
    ok(result)
    assert read_rejects(out) == {}
    train, val = by_line(read_label_file(out)), by_line(read_label_file(out, "val.txt"))
    assert train and val, "expected both splits to be used with 8 sources at --val-fraction 0.5"
    assert set(train).isdisjoint(val) and set(train) | set(val) == set(range(1, 17))
    for first in range(1, 17, 2):
        side = train if first in train else val
        assert first + 1 in side, f"duplicate lines {first} and {first + 1} split apart"
        a, b = side[first], side[first + 1]
        assert {p for p, _ in a}.isdisjoint(p for p, _ in b)
        assert {lbl for _, lbl in a + b} == {f"L{first // 2}"}
        assert (out / a[0][0]).read_bytes() != (out / b[0][0]).read_bytes()


# ---- the label file's encoding and line structure -------------------------------------------------

def test_utf8_bom_is_tolerated(tmp_path):
    result, out = generate(tmp_path, BOM + "img.png\t김민준\n".encode("utf-8"), {"img.png": crop()})
    accepted_alone(result, out, "김민준")


def test_crlf_line_ends(tmp_path):
    data = "a.png\tABC\r\n\r\nb.png\t김민준\r\n".encode("utf-8")
    result, out = generate(tmp_path, data, {"a.png": crop(), "b.png": crop(seed=1)})
    ok(result)
    assert read_rejects(out) == {}
    rows = by_line(read_label_file(out))
    assert {line: {lbl for _, lbl in r} for line, r in rows.items()} == {1: {"ABC"}, 3: {"김민준"}}


def test_blank_lines_are_skipped_and_still_counted(tmp_path):
    lines = ["", "a.png\tA", "", "   ", "\t", "b.png\tB", ""]
    result, out = generate(tmp_path, lines, {"a.png": crop(), "b.png": crop(seed=1)})
    ok(result)
    assert read_rejects(out) == {}
    rows = by_line(read_label_file(out))
    assert {line: [lbl for _, lbl in r] for line, r in rows.items()} == {2: ["A", "A"], 6: ["B", "B"]}
    c = counts(out)
    assert (c["lines"], c["sources"], c["rejects"], c["images"]) == (7, 2, 0, 4)


def test_label_file_in_cp949_is_a_user_error(tmp_path):
    data = "img.png\t김민준\nimg.png\t이서연\n".encode("cp949")
    result, out = generate(tmp_path, data, {"img.png": crop()})
    assert_user_error(result, out, "not UTF-8", "labels.txt")


def test_one_bad_line_after_a_megabyte_is_a_per_line_reject(tmp_path):
    # Long labels make a >1 MB file of few lines (quick to augment); the bad line comes after it.
    good = [f"img.png\t{c * 100_000}".encode("utf-8") for c in "ABCDEFGHIJKL"]
    bad = "img.png\t김민준".encode("cp949")
    data = b"\n".join(good + [bad, b"img.png\tLAST"]) + b"\n"
    assert data.index(bad) > 1 << 20
    result, out = generate(tmp_path, data, {"img.png": crop()})
    ok(result)
    assert reasons(out) == {13: "line is not UTF-8"}
    rows = by_line(read_label_file(out))
    assert sorted(rows) == [*range(1, 13), 14]
    assert {lbl for _, lbl in rows[12]} == {"L" * 100_000} and {lbl for _, lbl in rows[14]} == {"LAST"}


# ---- user errors ----------------------------------------------------------------------------------

def test_missing_label_file(tmp_path):
    out = tmp_path / "out"
    result = _runner().invoke(cli, ["generate", "--input", str(tmp_path / "nope.txt"), "--out", str(out), *FAST])
    assert_user_error(result, out, "nope.txt", "does not exist")


def test_missing_dictionary(tmp_path):
    result, out = generate(tmp_path, ["img.png\tABC"], {"img.png": crop()}, "--dict", str(tmp_path / "nodict.txt"))
    assert_user_error(result, out, "nodict.txt", "does not exist")


def test_output_under_a_regular_file(tmp_path):
    # Fails for root too: nobody can make a folder inside a file.
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    result, _ = generate(tmp_path, ["img.png\tABC"], {"img.png": crop()}, out="blocker/out")
    assert_user_error(result, blocker / "out", "--out")
    assert blocker.read_text() == "not a folder"


def test_output_is_a_regular_file(tmp_path):
    (tmp_path / "out").write_text("mine")
    result, out = generate(tmp_path, ["img.png\tABC"], {"img.png": crop()})
    assert result.exit_code == 2 and "--out" in result.stderr and "Traceback" not in result.stderr
    assert out.read_text() == "mine"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into a 0o500 folder anyway; test_output_under_a_regular_file covers root")
def test_output_in_a_read_only_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result, _ = generate(tmp_path, ["img.png\tABC"], {"img.png": crop()}, out="locked/out")
        assert_user_error(result, locked / "out", "--out", "not writable")
    finally:
        locked.chmod(0o700)


def test_user_error_through_the_real_entry_point(tmp_path):
    labels = write_labels(tmp_path / "labels.txt", "img.png\t김민준\n".encode("cp949"))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "augkit", "generate", "--input", str(labels), "--out", str(out),
                           *FAST], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("augkit: error: ") and "\n" not in proc.stderr.strip()
    assert "UTF-8" in proc.stderr and not out.exists()


# ---- a mix of good and bad lines ------------------------------------------------------------------

MIX_IMAGES = {"a.png": crop(), "b.jpg": crop(seed=1), "sub dir/c.png": crop(seed=2),
              "corrupt.jpg": b"\xff\xd8junk" * 50}
MIX_LINES = [
    "a.png\tABC",            # 1 good
    "missing.jpg\tX",        # 2 missing image
    "",                      # 3 blank
    "b.jpg\t김민준",          # 4 good
    "corrupt.jpg\tX",        # 5 undecodable
    "a.png\t",               # 6 empty label
    "../a.png\tX",           # 7 escapes
    "sub dir/c.png\tC D",    # 8 good
    "a.png\tA\tB",           # 9 tab in label
    "   ",                   # 10 blank
    "/etc/hostname\tX",      # 11 absolute
    "a.png\tABC",            # 12 good (a duplicate of line 1)
    "a.png ABC",             # 13 no tab
]
MIX_GOOD = {1: "ABC", 4: "김민준", 8: "C D", 12: "ABC"}
MIX_BAD = {2: "missing image", 5: "undecodable image", 6: "empty label", 7: "path escapes the data root",
           9: "label contains a tab", 11: "absolute path", 13: "no tab between path and label"}
MIX_BLANK = {3, 10}


def test_mix_of_good_and_bad_lines(tmp_path):
    assert len(MIX_GOOD) + len(MIX_BAD) + len(MIX_BLANK) == len(MIX_LINES)
    result, out = generate(tmp_path, MIX_LINES, MIX_IMAGES)
    ok(result)
    assert reasons(out) == MIX_BAD
    rows = by_line(read_label_file(out))
    assert {line: sorted(lbl for _, lbl in r) for line, r in rows.items()} == \
        {line: [label] * N_VARIANTS for line, label in MIX_GOOD.items()}
    c = counts(out)
    assert (c["lines"], c["sources"], c["rejects"]) == (len(MIX_LINES), len(MIX_GOOD), len(MIX_BAD))
    assert c["images"] == c["train.txt"] == len(MIX_GOOD) * N_VARIANTS
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("images_*/*.jpg")) == \
        sorted(p for r in rows.values() for p, _ in r)


def _mix_with_default_error_rate(tmp_path):
    return generate(tmp_path, MIX_LINES, MIX_IMAGES, "--strong", "1", "--weak", "1", "--quiet", fast=False)


def test_mix_fails_the_default_max_error_rate(tmp_path):
    result, out = _mix_with_default_error_rate(tmp_path)
    assert result.exit_code == 1, f"{result.exception!r}\n{result.stderr}"
    message = result.stderr.strip()
    assert message.startswith("augkit: run failed: ") and "\n" not in message
    assert "--max-error-rate" in message and "7 of 11 lines rejected" in message
    assert not (out / "augkit_run.json").exists() and not (out / "train.txt").exists()


def test_mix_failed_run_still_writes_rejects(tmp_path):
    result, out = _mix_with_default_error_rate(tmp_path)
    assert result.exit_code == 1
    assert reasons(out) == MIX_BAD
