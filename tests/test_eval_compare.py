"""`augkit eval --compare A B`: two prediction files joined by sample, every sample classified."""

from __future__ import annotations

import json

import pytest

from augkit.errors import UserError
from augkit.eval.compare import compare_predictions, format_compare_table

GT = ["P<UTOERIKSSON", "L898902C36", "KIM HAEUN", "OSAKA", "SEOUL", "MANCHESTER", "22/06/1980", "Seoul"]
A = ["P<UTOERIKSSON", "L898902C36", "KIMHAEUN", "0SAKA", "SE0UL", "MNCHSTR", "22/06/198O", "SEOUL"]
B = ["P<UTOERIKSSON", "L898902C3G", "KIM HAEUN", "0SAKA", "S30UL", "MANCHESTE", "22/O6/1980", "SEOUL"]
#     both right       broken        fixed        same wrong  further   closer       as far        same wrong (case)


def write(path, preds, gts=GT, ids=None):
    ids = ids or list(range(1, len(preds) + 1))
    path.write_text("".join(json.dumps({"id": i, "path": f"img/{i}.png", "gt": g, "prediction": p, "confidence": 0.9})
                            + "\n" for i, g, p in zip(ids, gts, preds)), encoding="utf-8")
    return path


def test_every_sample_is_classified(tmp_path):
    r = compare_predictions(write(tmp_path / "a.jsonl", A), write(tmp_path / "b.jsonl", B))
    assert r["n"] == 8
    assert r["counts"] == {"both_right": 1, "fixed": 1, "broken": 1, "both_wrong_same": 2, "changed_still_wrong": 3,
                           "closer": 1, "further": 1, "as_far": 1}
    assert [(s["id"], s["change"]) for s in r["better"]] == [(3, "fixed"), (6, "closer")]
    assert [(s["id"], s["change"]) for s in r["worse"]] == [(2, "broken"), (5, "further")]
    assert r["worse"][1] == {"id": 5, "path": "img/5.png", "gt": "SEOUL", "a": "SE0UL", "b": "S30UL",
                             "a_edits": 1, "b_edits": 2, "change": "further"}
    # A and B: 2 right of 8 each. 67 characters; A: 1+1+1+3+1+4 = 11 edits, B: 1+1+2+1+1+4 = 10.
    assert r["metrics_a"]["accuracy"] == r["metrics_b"]["accuracy"] == 0.25 and r["delta"]["accuracy"] == 0.0
    assert r["metrics_a"]["cer"] == pytest.approx(11 / 67) and r["metrics_b"]["cer"] == pytest.approx(10 / 67)
    assert r["delta"]["cer"] == pytest.approx(-1 / 67)
    assert json.loads(json.dumps(r)) == r


def test_normalisation_applies_to_both_sides(tmp_path):
    r = compare_predictions(write(tmp_path / "a.jsonl", A), write(tmp_path / "b.jsonl", B), ignore_case=True, ignore_space=True)
    assert r["counts"]["both_right"] == 3            # "Seoul" == "SEOUL", "KIMHAEUN" == "KIM HAEUN"
    assert r["counts"]["fixed"] == 0
    assert r["normalisation"]["applied"] == ["unicode NFC", "case folded (str.casefold)", "whitespace removed"]


def test_report_directories_are_accepted(tmp_path):
    (tmp_path / "ra").mkdir()
    (tmp_path / "rb").mkdir()
    write(tmp_path / "ra" / "predictions.jsonl", A)
    write(tmp_path / "rb" / "predictions.jsonl", B)
    assert compare_predictions(tmp_path / "ra", tmp_path / "rb")["counts"]["fixed"] == 1


def test_different_sample_sets_are_refused_with_what_differs(tmp_path):
    a = write(tmp_path / "a.jsonl", A)
    b = write(tmp_path / "b.jsonl", B[:6] + ["X", "Y"], ids=[1, 2, 3, 4, 5, 6, 9, 10])
    with pytest.raises(UserError, match=r"only in A: 2 \(#7 img/7.png, #8 img/8.png\); only in B: 2 \(#9 img/9.png"):
        compare_predictions(a, b)


def test_different_ground_truth_or_duplicates_are_refused(tmp_path):
    a = write(tmp_path / "a.jsonl", A)
    b = write(tmp_path / "b.jsonl", B, gts=GT[:7] + ["BUSAN"])
    with pytest.raises(UserError, match=r"different ground truth for 1 \(#8 img/8.png\)"):
        compare_predictions(a, b)
    dup = write(tmp_path / "dup.jsonl", A[:2], gts=GT[:2], ids=[1, 1])
    with pytest.raises(UserError, match="appears twice"):
        compare_predictions(dup, dup)


def test_table_names_the_changes(tmp_path):
    r = compare_predictions(write(tmp_path / "a.jsonl", A), write(tmp_path / "b.jsonl", B))
    text = format_compare_table(r)
    assert "fixed (wrong in A, right in B)   1" in text and "broken (right in A, wrong in B)  1" in text
    assert "(closer 1, further 1, as far 1)" in text
    assert "-1.49 pts" in text                        # CER 16.42 % -> 14.93 %
    assert "#2 img/2.png  [broken]" in text and "B  L898902C3G  (1 edits)" in text
    assert format_compare_table(r, limit=1).count("[") == 2     # one sample per list
