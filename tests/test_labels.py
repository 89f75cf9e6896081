"""augkit labels check|stats|split."""

from __future__ import annotations

import json

from click.testing import CliRunner

from augkit.cli import cli
from augkit.labels import check_labels
from augkit.reader import LabelRules
from augkit.split import source_key

from helpers import make_crops


def _invoke(*args):
    return CliRunner().invoke(cli, ["labels", *args], catch_exceptions=False)


def test_check_finds_each_kind_of_problem(tmp_path):
    labels = make_crops(tmp_path, 3)  # img/c0000.png .. c0002.png, labels "LINE 000i KIM"
    bad = tmp_path / "bad.txt"
    bad.write_text(
        "img/c0000.png\tLINE 0000 KIM\n"      # 1 fine
        "img/c0000.png\tLINE 0000 KIM\n"      # 2 duplicate of 1
        "img/c0000.png\tLINE 0000 KIN\n"      # 3 same image, another label
        "img/missing.png\tLINE\n"             # 4 missing image
        "img/c0001.png\tline 1\n"             # 5 lower case: outside the dictionary
        "img/c0002.png\tLINE 0002 KIM KIM\n"  # 6 too long
        "img/c0002.png\t\n"                   # 7 empty label
        "\n", encoding="utf-8")
    dict_file = tmp_path / "dict.txt"
    dict_file.write_text("\n".join("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") + "\n", encoding="utf-8")
    out = tmp_path / "report.json"
    result = _invoke("check", str(bad), "--dict", str(dict_file), "--max-text-length", "14", "--json", str(out))
    assert result.exit_code == 1
    report = json.loads(out.read_text())
    assert report["lines"] == 7 and report["usable"] == 4
    assert report["duplicates"] == 1 and report["duplicate_examples"] == [[1, 2]]
    assert report["image_label_mismatches"] == 1 and report["mismatch_examples"] == [["img/c0000.png", 1, 3]]
    assert report["missing_images"] == 1 and report["missing_examples"] == [[4, "img/missing.png"]]
    assert report["rejects"] == {"characters outside the dictionary": 1, "label too long": 1, "empty label": 1}
    assert report["unknown_chars"] == {"i": 1, "l": 1, "n": 1, "e": 1}
    assert "duplicate lines: 1" in result.output and "missing images: 1" in result.output
    assert _invoke("check", str(labels)).exit_code == 0


def test_check_library_counts_lengths_and_characters(tmp_path):
    labels = make_crops(tmp_path, 4)
    report = check_labels(labels, rules=LabelRules())
    assert report.usable == 4 and report.problems == 0
    assert report.lengths == {13: 4}
    # "LINE 0000 KIM", "LINE 0001 KIM", "LINE 0002 KIM", "LINE 0003 KIM"
    assert report.chars["L"] == 4 and report.chars["0"] == 4 + 3 + 3 + 3 and report.chars[" "] == 8


def test_stats_prints_a_histogram(tmp_path):
    labels = make_crops(tmp_path, 5)
    result = _invoke("stats", str(labels))
    assert result.exit_code == 0
    assert "5 usable labels" in result.output and "  13          5 " in result.output


def test_split_keeps_every_variant_of_a_source_together(tmp_path):
    labels = make_crops(tmp_path / "src", 30)
    out = tmp_path / "gen"
    generated = CliRunner().invoke(cli, ["generate", "--quiet", "--input", str(labels), "--out", str(out),
                                         "--strong", "3", "--weak", "1"])
    assert generated.exit_code == 0, generated.output
    train, val = tmp_path / "t.txt", tmp_path / "v.txt"
    result = _invoke("split", str(out / "train.txt"), "--val-fraction", "0.3", "--seed", "2",
                     "--train-out", str(train), "--val-out", str(val))
    assert result.exit_code == 0, result.output
    train_rows = train.read_text(encoding="utf-8").splitlines()
    val_rows = val.read_text(encoding="utf-8").splitlines()
    assert len(train_rows) + len(val_rows) == 120 and val_rows
    keys = lambda rows: {source_key(r.split("\t")[0]) for r in rows}  # noqa: E731
    assert keys(train_rows).isdisjoint(keys(val_rows))
    assert len(keys(train_rows) | keys(val_rows)) == 30
    # the same split again gives the same files
    again_t, again_v = tmp_path / "t2.txt", tmp_path / "v2.txt"
    _invoke("split", str(out / "train.txt"), "--val-fraction", "0.3", "--seed", "2",
            "--train-out", str(again_t), "--val-out", str(again_v))
    assert again_t.read_bytes() == train.read_bytes() and again_v.read_bytes() == val.read_bytes()


def test_source_key():
    assert source_key("images_00003/0000000042_07.jpg") == "line:42"
    assert source_key("out/images_00003/0000000042_07.jpg") == "line:42"
    assert source_key("crops/a.jpg") == "crops/a.jpg"


def test_missing_label_file_is_a_user_error(tmp_path):
    for command in (["check"], ["stats"]):
        result = CliRunner().invoke(cli, ["labels", *command, str(tmp_path / "nope.txt")])
        assert result.exit_code == 2 and "does not exist" in result.output
