"""Metrics from predictions: hand-computed edit distances, CER/WER, PaddleOCR's norm_edit_dis,
normalisation, breakdowns, and MRZ check digits against the ICAO 9303 specimens (and the `mrz`
package as an oracle where it is installed)."""

from __future__ import annotations

import json
import random

import pytest

from augkit import mrz
from augkit.errors import UserError
from augkit.eval.align import DEL, INS, MATCH, SUB, align, distance, normalized_distance
from augkit.eval.metrics import EPS, compute_metrics, format_console_table, read_predictions
from augkit.eval.mrz_score import mrz_metrics
from augkit.eval.normalise import Normalisation

# ICAO Doc 9303 specimens: TD3 (part 4), TD1 (part 5), TD2 (part 6).
TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
TD1 = ["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"]
TD2 = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"]
MRZ_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"


def rec(gt, pred, i=1, flags=(), confidence=0.9):
    return {"id": i, "path": f"img/{i}.png", "gt": gt, "prediction": pred, "confidence": confidence, "flags": list(flags)}


def naive_distance(a, b):
    """Textbook full-table Levenshtein, independent of augkit's trimmed version."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return d[-1][-1]


# ---- edit distance and alignment ---------------------------------------------------------------

@pytest.mark.parametrize("a,b,d", [("kitten", "sitting", 3), ("", "abc", 3), ("abc", "", 3), ("", "", 0),
                                   ("flaw", "lawn", 2), ("intention", "execution", 5), ("ab", "ba", 2),
                                   ("P<UTO", "P<UTO", 0), ("<<<<<", "<<<<", 1)])
def test_distance_hand_computed(a, b, d):
    assert distance(a, b) == d == distance(b, a)
    assert sum(k != MATCH for k, _, _ in align(a, b)) == d


def test_alignment_of_kitten_and_sitting():
    assert align("kitten", "sitting") == [(SUB, "k", "s"), (MATCH, "i", "i"), (MATCH, "t", "t"), (MATCH, "t", "t"),
                                          (SUB, "e", "i"), (MATCH, "n", "n"), (INS, None, "g")]


def test_alignment_keeps_most_characters_among_equal_edit_counts():
    # "lo w" -> "o  W" costs 3 either way; a dropped l and an added space keep "o" and " " matched.
    ops = align("Hello world", "Helo  World")
    assert [op for op in ops if op[0] != MATCH] == [(DEL, "l", None), (INS, None, " "), (SUB, "w", "W")]


def test_distance_and_alignment_agree_with_a_textbook_table_on_random_strings():
    rng = random.Random(5)
    for _ in range(3000):
        a = "".join(rng.choice("AB<0") for _ in range(rng.randint(0, 12)))
        b = "".join(rng.choice("AB<0") for _ in range(rng.randint(0, 12)))
        ops = align(a, b)
        assert distance(a, b) == naive_distance(a, b)
        assert sum(k != MATCH for k, _, _ in ops) == naive_distance(a, b)
        assert "".join(g for _, g, _ in ops if g is not None) == a
        assert "".join(p for _, _, p in ops if p is not None) == b


def test_word_sequences_align_like_strings():
    assert distance("the cat sat".split(), "the bat sat down".split()) == 2


def test_normalized_distance_matches_rapidfuzz_where_installed():
    Levenshtein = pytest.importorskip("rapidfuzz.distance").Levenshtein
    rng = random.Random(1)
    for _ in range(2000):
        a = "".join(rng.choice("ab가<") for _ in range(rng.randint(0, 10)))
        b = "".join(rng.choice("ab가<") for _ in range(rng.randint(0, 10)))
        assert distance(a, b) == Levenshtein.distance(a, b)
        assert normalized_distance(a, b) == pytest.approx(Levenshtein.normalized_distance(b, a), abs=1e-12)


# ---- accuracy, CER, WER, norm_edit_dis ------------------------------------------------------------

def test_accuracy_cer_wer_by_hand():
    preds = [rec("abc", "abd", 1), rec("hello", "helo", 2), rec("the cat sat", "the bat sat down", 3), rec("x", "x", 4)]
    m = compute_metrics(preds)
    assert m["n"] == 4 and m["correct"] == 1 and m["accuracy"] == 0.25
    # edits 1 + 1 + (c->b, + " down" = 6) + 0 = 8 over 3 + 5 + 11 + 1 = 20 characters
    assert (m["edit_distance"], m["gt_chars"]) == (8, 20) and m["cer"] == pytest.approx(0.4)
    # words: 1 + 1 + 2 + 0 over 1 + 1 + 3 + 1
    assert (m["word_edit_distance"], m["gt_words"]) == (4, 6) and m["wer"] == pytest.approx(4 / 6)
    assert m["errors"] == {"substitutions": 2, "deletions": 1, "insertions": 5}   # d, b; l; " down"


def test_norm_edit_dis_is_paddleocr_recmetric():
    preds = [rec("abc", "abd"), rec("hello", "helo"), rec("x", "x"), rec("ab", "")]
    per_sample = [1 / 3, 1 / 5, 0.0, 1.0]   # edits over the longer text
    m = compute_metrics(preds)
    assert m["norm_edit_dis"] == pytest.approx(1 - sum(per_sample) / (4 + EPS), abs=1e-15)
    try:
        from rapidfuzz.distance import Levenshtein
    except ImportError:
        return
    # RecMetric: norm_edit_dis += Levenshtein.normalized_distance(pred, target); 1 - sum / (n + 1e-5)
    paddle = 1 - sum(Levenshtein.normalized_distance(p["prediction"], p["gt"]) for p in preds) / (len(preds) + 1e-5)
    assert m["norm_edit_dis"] == pytest.approx(paddle, abs=1e-15)


def test_empty_predictions_give_undefined_numbers_not_errors():
    m = compute_metrics([])
    assert m["n"] == 0 and m["accuracy"] is None and m["cer"] is None and m["norm_edit_dis"] is None
    assert "accuracy" in format_console_table(m)


# ---- normalisation -------------------------------------------------------------------------------

def test_nfc_always_makes_decomposed_hangul_and_accents_equal():
    decomposed_ga = "\u1100\u1161"            # HANGUL CHOSEONG KIYEOK + JUNGSEONG A
    assert Normalisation().apply(decomposed_ga) == "\uac00"
    m = compute_metrics([rec("\uac00\ub098", decomposed_ga + "\ub098", 1), rec("Jose\u0301", "Jos\u00e9", 2)])
    assert m["accuracy"] == 1.0 and m["cer"] == 0.0
    assert [b["bucket"] for b in m["by_length"]] == ["2", "4"]     # counted in composed characters
    assert m["normalisation"]["applied"] == ["unicode NFC"]


def test_ignore_space_and_ignore_case_are_explicit_and_recorded():
    preds = [rec("KIM HAEUN", "KIMHAEUN", 1), rec("Seoul", "SEOUL", 2), rec("Straße", "STRASSE", 3)]
    plain = compute_metrics(preds)
    assert plain["accuracy"] == 0.0
    assert plain["normalisation"] == {"unicode": "NFC", "ignore_space": False, "ignore_case": False,
                                      "applied": ["unicode NFC"], "wer_words": "split on whitespace after NFC"}
    spaces = compute_metrics(preds, ignore_space=True)
    assert spaces["correct"] == 1 and spaces["gt_chars"] == 8 + 5 + 6
    both = compute_metrics(preds, ignore_space=True, ignore_case=True)
    assert both["accuracy"] == 1.0                   # casefold: "straße" == "strasse"
    assert both["normalisation"]["applied"] == ["unicode NFC", "case folded (str.casefold)", "whitespace removed"]
    assert both["normalisation"]["ignore_space"] and both["normalisation"]["ignore_case"]
    # WER keeps word boundaries: "KIM HAEUN" is two words even when spaces are ignored for CER.
    assert both["gt_words"] == 4


# ---- breakdowns ----------------------------------------------------------------------------------

def test_by_length_one_bucket_per_length_when_few():
    m = compute_metrics([rec("abc", "abc"), rec("abd", "abx"), rec("hello", "hello")])
    assert [(b["bucket"], b["n"], b["correct"], b["accuracy"]) for b in m["by_length"]] == [("3", 2, 1, 0.5), ("5", 1, 1, 1.0)]
    assert m["by_length"][0]["cer"] == pytest.approx(1 / 6)


def test_by_length_round_buckets_when_many_lengths():
    preds = [rec("a" * n, "a" * n if n % 2 else "b" * n, n) for n in range(1, 31)]
    buckets = compute_metrics(preds)["by_length"]
    assert [b["bucket"] for b in buckets] == ["0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34"]
    assert [b["n"] for b in buckets] == [4, 5, 5, 5, 5, 5, 1]
    assert buckets[0]["correct"] == 2                 # lengths 1 and 3
    assert sum(b["n"] for b in buckets) == 30


def test_per_character_and_confusions_from_the_alignment():
    preds = [rec("AAB", "AB", 1), rec("O1O", "010", 2), rec("K<", "K<I", 3), rec("OK", "0K", 4)]
    m = compute_metrics(preds)
    chars = {c["char"]: c for c in m["by_character"]}
    assert (chars["A"]["count"], chars["A"]["correct"], chars["A"]["deleted"], chars["A"]["recall"]) == (2, 1, 1, 0.5)
    assert (chars["O"]["count"], chars["O"]["substituted"], chars["O"]["recall"]) == (3, 3, 0.0)
    assert (chars["0"]["count"], chars["0"]["predicted"], chars["0"]["precision"]) == (0, 3, 0.0)
    assert (chars["I"]["inserted"], chars["K"]["recall"], chars["K"]["precision"]) == (1, 1.0, 1.0)
    assert m["by_character"][0]["char"] == "O"        # most errors first
    assert m["confusions"][0] == {"gt": "O", "pred": "0", "kind": "substitution", "count": 3}
    rest = {(c["gt"], c["pred"], c["kind"], c["count"]) for c in m["confusions"][1:]}
    assert rest == {("A", "", "deletion", 1), ("", "I", "insertion", 1)}


def test_flag_counts_and_accuracy_within_flags():
    preds = [rec("abc", "abc", 1, ["squashed"]), rec("abc", "abx", 2, ["squashed"]), rec("abc", "abc", 3),
             rec("abcdef", "abc", 4, ["too_long", "squashed"])]
    m = compute_metrics(preds)
    assert m["flags"] == {"squashed": 3, "too_long": 1}
    assert m["by_flag"]["squashed"]["n"] == 3 and m["by_flag"]["squashed"]["accuracy"] == pytest.approx(1 / 3)
    assert m["by_flag"]["too_long"]["accuracy"] == 0.0
    assert m["by_flag"]["unflagged"] == {"n": 1, "correct": 1, "accuracy": 1.0, "cer": 0.0}


def test_metrics_are_json_ready_and_the_console_table_shows_them():
    preds = [rec("KIM HAEUN", "KIM HAEUN", 1), rec("22/06/1980", "22/06/198O", 2, ["squashed"])]
    m = compute_metrics(preds, mrz=True)
    assert json.loads(json.dumps(m)) == m
    text = format_console_table({"run": {"model": "m.onnx", "backend": "onnxruntime"}, "counts": {"lines": 3, "scored": 2, "rejected": 1},
                                 "metrics": m, "timing": {"images_per_s": 123.4, "latency_ms": {"p50": 1.5}}})
    assert "50.00 %" in text and "1 / 2 exact" in text and "0→O ×1" in text and "1 rejected" in text
    assert "123.4 images/s" in text and "squashed 1" in text


# ---- reading prediction files --------------------------------------------------------------------

def test_read_predictions_round_trip_and_clear_errors(tmp_path):
    good = tmp_path / "p.jsonl"
    good.write_text(json.dumps(rec("a", "b")) + "\n\n" + json.dumps(rec("c", "c", 2)) + "\n", encoding="utf-8")
    assert [r["id"] for r in read_predictions(good)] == [1, 2]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rec("a", "b")) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"bad.jsonl:2: not JSON"):
        read_predictions(bad)
    bad.write_text('{"id": 1, "path": "x.png", "gt": "a"}\n', encoding="utf-8")
    with pytest.raises(UserError, match="missing prediction"):
        read_predictions(bad)
    with pytest.raises(UserError, match="not found"):
        read_predictions(tmp_path / "absent.jsonl")


# ---- MRZ ---------------------------------------------------------------------------------------

def test_icao_specimen_check_digits():
    assert mrz.check_digit("L898902C3") == "6" and mrz.check_digit("740812") == "2"
    assert mrz.check_digit("120415") == "9" and mrz.check_digit("ZE184226B<<<<<") == "1"
    assert mrz.check_digit("D23145890") == "7"
    for lines, layout in ((TD3, "TD3"), (TD2, "TD2"), (TD1, "TD1")):
        for i, line in enumerate(lines):
            assert mrz.identify(line) == (layout, i)
            assert all(mrz.check_line(line, layout, i).values())


def test_mrz_metrics_on_the_specimens_read_right():
    lines = TD3 + TD2 + TD1
    m = compute_metrics([rec(x, x, i) for i, x in enumerate(lines, 1)], mrz=True)["mrz"]
    assert m["lines"] == 7 and m["not_mrz"] == 0
    assert [b["name"] for b in m["by_line"]] == ["TD1 line 1", "TD1 line 2", "TD1 line 3", "TD2 line 1", "TD2 line 2",
                                                 "TD3 line 1", "TD3 line 2"]
    cd = m["check_digits"]
    # Lines holding check digits: TD1 lines 1 and 2, TD2 line 2, TD3 line 2.
    assert (cd["lines"], cd["gt_valid"], cd["prediction_valid"], cd["wrong"]) == (4, 4, 4, 0)
    assert {(c["layout"], c["line"], c["check"]) for c in cd["by_check"]} >= {
        ("TD3", 2, "number"), ("TD3", 2, "birth"), ("TD3", 2, "expiry"), ("TD3", 2, "optional"), ("TD3", 2, "composite"),
        ("TD2", 2, "composite"), ("TD1", 1, "number"), ("TD1", 2, "birth")}
    assert all(f["accuracy"] == 1.0 for f in m["fields"])


def test_mrz_misreads_caught_and_uncaught_by_check_digits():
    line2 = TD3[1]
    number_misread = line2[:4] + "8" + line2[5:]            # L898902C3 -> L898802C3: number check fails
    sex_misread = line2[:20] + "M" + line2[21:]             # sex is under no check digit
    dropped = line2[:5] + line2[6:]                          # 43 characters
    preds = [rec(TD3[0], TD3[0].replace("ANNA", "ANMA"), 1), rec(line2, number_misread, 2),
             rec(line2, sex_misread, 3), rec(line2, dropped, 4), rec("KIM HAEUN", "KIM HAEUN", 5)]
    m = mrz_metrics(preds)
    assert m["lines"] == 4 and m["not_mrz"] == 1
    cd = m["check_digits"]
    assert (cd["lines"], cd["gt_valid"], cd["prediction_valid"], cd["prediction_wrong_length"]) == (3, 3, 1, 1)
    assert (cd["wrong"], cd["caught"], cd["uncaught"]) == (3, 2, 1)
    checks = {c["check"]: c for c in cd["by_check"]}
    assert checks["number"]["prediction_valid"] == 1 and checks["composite"]["prediction_valid"] == 1
    assert checks["birth"]["prediction_valid"] == 2    # the wrong-length line fails every check
    fields = {(f["line"], f["field"]): f for f in m["fields"]}
    assert fields[(1, "name")]["accuracy"] == 0.0 and fields[(1, "issuer")]["accuracy"] == 1.0
    assert fields[(2, "number")]["correct"] == 1       # the sex misread keeps the number; the drop shifts it
    assert fields[(2, "sex")]["correct"] == 1           # only the number misread keeps F in place
    assert fields[(2, "nationality")]["correct"] == 2


# ---- the `mrz` package (GPL, test-only) as an oracle ---------------------------------------------

def _corrupt(line: str, rng: random.Random) -> str:
    chars = list(line)
    for _ in range(rng.randint(1, 2)):
        chars[rng.randrange(len(chars))] = rng.choice(MRZ_CHARS)
    return "".join(chars)


def test_check_digits_agree_with_the_mrz_package():
    functions = pytest.importorskip("mrz.base.functions", reason="the `mrz` package (test-only oracle) is not installed")
    rng = random.Random(9)
    for _ in range(500):
        s = "".join(rng.choice(MRZ_CHARS) for _ in range(rng.randint(1, 39)))
        assert mrz.check_digit(s) == functions.hash_string(s)


@pytest.mark.parametrize("layout", ["TD3", "TD2", "TD1"])
def test_prediction_validity_agrees_with_the_mrz_package(layout):
    checker = pytest.importorskip(f"mrz.checker.{layout.lower()}", reason="the `mrz` package (test-only oracle) is not installed")
    lines = {"TD3": TD3, "TD2": TD2, "TD1": TD1}[layout]
    cls = getattr(checker, f"{layout}CodeChecker")
    # The oracle's per-check properties, named as augkit names the checks of each line.
    oracle_checks = {"TD3": {1: {"number": "document_number_hash", "birth": "birth_date_hash", "expiry": "expiry_date_hash",
                                 "optional": "optional_data_hash", "composite": "final_hash"}},
                     "TD2": {1: {"number": "document_number_hash", "birth": "birth_date_hash", "expiry": "expiry_date_hash",
                                 "composite": "final_hash"}},
                     "TD1": {0: {"number": "document_number_hash"},
                             1: {"birth": "birth_date_hash", "expiry": "expiry_date_hash"}}}[layout]
    rng = random.Random(len(layout) + ord(layout[-1]))
    tried = 0
    for index, names in oracle_checks.items():
        for _ in range(150):
            pred = _corrupt(lines[index], rng)
            doc = list(lines)
            doc[index] = pred
            try:
                oracle = cls("\n".join(doc))
            except Exception:           # the oracle refuses some field contents outright; skip those
                continue
            ours = mrz_metrics([rec(lines[index], pred)])["check_digits"]
            by_check = {c["check"]: c["prediction_valid"] == 1 for c in ours["by_check"]}
            for our_name, oracle_name in names.items():
                assert by_check[our_name] == bool(getattr(oracle, oracle_name)), (pred, our_name)
            assert (ours["prediction_valid"] == 1) == all(getattr(oracle, n) for n in names.values())
            tried += 1
    assert tried > 100
