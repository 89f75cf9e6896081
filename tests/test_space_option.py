"""`--space/--no-space` (PaddleOCR's use_space_char) through the real CLI of `augkit generate`
and `augkit labels check`: every case ends in an exact reject reason or an accepted line."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
from click.testing import CliRunner

from augkit.cli import cli
from augkit.generate import make_config
from augkit.reader import LabelRules
from augkit.sample_set import sample_labels

from conftest import text_line

FAST = ["--strong", "1", "--weak", "1", "--quiet", "--max-error-rate", "1"]
SPACE = ("label contains a space", "--no-space: the model has no space class")


def run(tmp_path: Path, lines: list[str], *options: str, out: str = "out"):
    """`augkit generate` on one crop listed under `lines`; returns (exit code, output, OUT)."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    assert cv2.imwrite(str(data / "img.png"), text_line(96, 24, "AB 12"))
    (data / "labels.txt").write_text("".join(f"img.png\t{x}\n" for x in lines), encoding="utf-8")
    result = CliRunner().invoke(cli, ["generate", "--input", str(data / "labels.txt"), "--out", str(tmp_path / out),
                                      *FAST, *options])
    return result.exit_code, result.output, tmp_path / out


def rejects(out: Path) -> dict[int, tuple[str, str, str]]:
    rows = (out / "rejects.tsv").read_text(encoding="utf-8").split("\n")[1:-1]
    return {int(r.split("\t")[0]): tuple(r.split("\t")[1:]) for r in rows}


def labels(out: Path) -> list[str]:
    return [row.split("\t")[1] for row in (out / "train.txt").read_text(encoding="utf-8").splitlines()]


def dictionary(tmp_path: Path, chars: str) -> str:
    path = tmp_path / f"dict_{len(chars)}.txt"
    path.write_text("".join(f"{c}\n" for c in chars), encoding="utf-8")
    return str(path)


def test_no_space_rejects_a_space_the_dictionary_lacks(tmp_path):
    code, output, out = run(tmp_path, ["AB12", "AB 12"], "--dict", dictionary(tmp_path, "AB12"), "--no-space")
    assert code == 0, output
    assert rejects(out) == {2: ("img.png", *SPACE)}
    assert labels(out) == ["AB12", "AB12"]


def test_no_space_without_a_dictionary_rejects_every_space(tmp_path):
    code, output, out = run(tmp_path, ["AB 12", "AB12", "A B"], "--no-space")
    assert code == 0, output
    assert rejects(out) == {1: ("img.png", *SPACE), 3: ("img.png", *SPACE)}
    assert labels(out) == ["AB12", "AB12"]


def test_no_space_keeps_a_space_the_dictionary_lists(tmp_path):
    # As in PaddleOCR: with use_space_char false, a dictionary's own space line is still a class
    # (labels/en_dict.txt has one).
    code, output, out = run(tmp_path, ["AB 12"], "--dict", dictionary(tmp_path, "AB12 "), "--no-space")
    assert code == 0, output
    assert rejects(out) == {} and labels(out) == ["AB 12", "AB 12"]


def test_space_is_the_default(tmp_path):
    code, output, out = run(tmp_path, ["AB 12"], "--dict", dictionary(tmp_path, "AB12"))
    assert code == 0, output
    assert rejects(out) == {} and labels(out) == ["AB 12", "AB 12"]
    code, output, out = run(tmp_path, ["AB 12"], "--dict", dictionary(tmp_path, "AB12"), "--space", out="out2")
    assert code == 0 and labels(out) == ["AB 12", "AB 12"]


def test_outside_characters_come_before_the_space(tmp_path):
    code, output, out = run(tmp_path, ["AB 1x"], "--dict", dictionary(tmp_path, "AB12"), "--no-space")
    assert code == 0, output
    assert rejects(out) == {1: ("img.png", "characters outside the dictionary", "x")}


def test_no_space_is_part_of_the_configuration(tmp_path):
    code, _, out = run(tmp_path, ["AB12"])
    assert code == 0
    settings = json.loads((out / "augkit_run.json").read_text(encoding="utf-8"))["config"]
    assert "allow_space" not in settings  # the default leaves the fingerprint of older runs as it was
    code, output, _ = run(tmp_path, ["AB12"], "--no-space")
    assert code == 2 and "different configuration" in output and "allow_space" in output
    code, output, _ = run(tmp_path, ["AB12"])
    assert code == 0 and "already complete" in output


def test_fingerprint_changes_only_with_no_space(tmp_path):
    labels_file = sample_labels()
    base = make_config(labels_file, labels_file.parent, tmp_path / "a")
    same = make_config(labels_file, labels_file.parent, tmp_path / "a", allow_space=True)
    other = make_config(labels_file, labels_file.parent, tmp_path / "a", allow_space=False)
    assert base.fingerprint() == same.fingerprint() != other.fingerprint()
    assert other.output_settings()["allow_space"] is False
    assert base.rules() is None and other.rules() == LabelRules(allow_space=False)


def test_labels_check_no_space(tmp_path):
    label_file = tmp_path / "labels.txt"
    label_file.write_text("a.png\tAB12\nb.png\tAB 12\n", encoding="utf-8")
    args = ["labels", "check", str(label_file), "--no-images", "--dict", dictionary(tmp_path, "AB12")]
    report = tmp_path / "report.json"
    result = CliRunner().invoke(cli, [*args, "--no-space", "--json", str(report)])
    assert result.exit_code == 1, result.output
    found = json.loads(report.read_text(encoding="utf-8"))
    assert found["usable"] == 1 and found["rejects"] == {"label contains a space": 1}
    assert found["reject_examples"] == {"label contains a space": [2]}
    assert "rejected: label contains a space: 1 (lines 2)" in result.output
    result = CliRunner().invoke(cli, [*args, "--json", str(report)])
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text(encoding="utf-8"))["usable"] == 2
