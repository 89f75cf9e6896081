"""Metrics from predictions alone (no model): accuracy, CER, WER, PaddleOCR's norm_edit_dis, and
where the errors are (by label length, by character, top confusions, flags, MRZ check digits and
fields). `augkit eval` writes predictions.jsonl; everything here can be recomputed from it.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from augkit.errors import UserError
from augkit.eval.align import DEL, INS, MATCH, SUB, Op, align, distance
from augkit.eval.normalise import Normalisation

EPS = 1e-5
"""PaddleOCR's RecMetric adds this to the sample count in its averages; norm_edit_dis keeps it."""

FLAGS = ("squashed", "too_long")
REQUIRED_KEYS = ("id", "path", "gt", "prediction")
TOP_CONFUSIONS = 50
MAX_LENGTH_BUCKETS = 12


def read_predictions(path: Path | str) -> list[dict]:
    """The records of a predictions.jsonl file, in file order; a malformed line is a UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"predictions file {path} not found; give the predictions.jsonl an `augkit eval` run wrote")
    rows = []
    with open(path, encoding="utf-8-sig") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}:{number}: not JSON ({exc.msg}); predictions files hold one JSON object per line") from None
            missing = [k for k in REQUIRED_KEYS if not isinstance(row, dict) or k not in row]
            if missing:
                raise UserError(f"{path}:{number}: a prediction record needs {', '.join(REQUIRED_KEYS)}; missing {', '.join(missing)}")
            if not isinstance(row["gt"], str) or not isinstance(row["prediction"], str):
                raise UserError(f"{path}:{number}: gt and prediction must be strings")
            rows.append(row)
    return rows


@dataclass
class Scored:
    """One prediction compared with its ground truth under a normalisation."""

    row: dict
    gt: str
    prediction: str
    word_distance: int
    gt_words: int
    _ops: list[Op] | None = field(default=None, repr=False)

    @property
    def correct(self) -> bool:
        return self.gt == self.prediction

    @property
    def ops(self) -> list[Op]:
        """The alignment of ground truth to prediction (made when first asked for)."""
        if self._ops is None:
            self._ops = align(self.gt, self.prediction)
        return self._ops

    @property
    def distance(self) -> int:
        return 0 if self.correct else sum(k != MATCH for k, _, _ in self.ops)

    @property
    def norm_distance(self) -> float:
        """Edit distance over the longer of the two texts (PaddleOCR's per-sample quantity)."""
        longest = max(len(self.gt), len(self.prediction))
        return self.distance / longest if longest else 0.0

    @property
    def flags(self) -> list[str]:
        return list(self.row.get("flags") or [])


def score(predictions: Iterable[dict], normalisation: Normalisation) -> list[Scored]:
    """Every prediction normalised and compared with its ground truth."""
    out = []
    for row in predictions:
        gt, pred = normalisation.apply(row["gt"]), normalisation.apply(row["prediction"])
        gt_words = normalisation.words(row["gt"])
        word_distance = 0 if row["gt"] == row["prediction"] else distance(gt_words, normalisation.words(row["prediction"]))
        out.append(Scored(row, gt, pred, word_distance, len(gt_words)))
    return out


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def totals(scored: list[Scored]) -> dict:
    """Accuracy, CER, WER and norm_edit_dis of a set of scored predictions (None where undefined)."""
    n = len(scored)
    correct = sum(s.correct for s in scored)
    edits = sum(s.distance for s in scored)
    chars = sum(len(s.gt) for s in scored)
    word_edits = sum(s.word_distance for s in scored)
    words = sum(s.gt_words for s in scored)
    return {
        "n": n, "correct": correct, "accuracy": _ratio(correct, n),
        "edit_distance": edits, "gt_chars": chars, "cer": _ratio(edits, chars),
        "word_edit_distance": word_edits, "gt_words": words, "wer": _ratio(word_edits, words),
        # PaddleOCR RecMetric: 1 - sum(normalized_distance) / (count + 1e-5).
        "norm_edit_dis": 1 - sum(s.norm_distance for s in scored) / (n + EPS) if n else None,
    }


def _subset(scored: list[Scored]) -> dict:
    t = totals(scored)
    return {k: t[k] for k in ("n", "correct", "accuracy", "cer")}


def _length_buckets(lengths: list[int]) -> list[tuple[int, int]]:
    """(low, high) inclusive ranges: one per length when there are few, else equal round widths."""
    distinct = sorted(set(lengths))
    if len(distinct) <= MAX_LENGTH_BUCKETS:
        return [(x, x) for x in distinct]
    lo, hi = distinct[0], distinct[-1]
    width = next(w for w in (2, 5, 10, 20, 50, 100, 200, 500, 1000, 10**9)
                 if hi // w - lo // w + 1 <= MAX_LENGTH_BUCKETS)
    present = sorted({x // width for x in distinct})
    return [(k * width, k * width + width - 1) for k in present]


def by_length(scored: list[Scored]) -> list[dict]:
    """Accuracy and CER by ground-truth length (after normalisation), in length order."""
    if not scored:
        return []
    out = []
    for lo, hi in _length_buckets([len(s.gt) for s in scored]):
        group = [s for s in scored if lo <= len(s.gt) <= hi]
        if group:
            out.append({"bucket": str(lo) if lo == hi else f"{lo}-{hi}", "min": lo, "max": hi, **_subset(group)})
    return out


def by_character(scored: list[Scored]) -> tuple[list[dict], Counter]:
    """Per character, from the alignments: how often it was in the ground truth and read right
    (recall), replaced or dropped, and how often it was predicted and right (precision), or added.
    Sorted by errors, most first. Also returns the (ground truth, prediction) confusion counter,
    with "" standing for nothing (a deletion or an insertion)."""
    stats: dict[str, Counter] = defaultdict(Counter)
    confusions: Counter = Counter()
    read_right: Counter = Counter()    # characters of exactly right predictions: all matched
    for s in scored:
        if s.correct:
            read_right.update(s.gt)
            continue
        for kind, g, p in s.ops:
            if g is not None:
                stats[g]["count"] += 1
            if p is not None:
                stats[p]["predicted"] += 1
            if kind == MATCH:
                stats[g]["correct"] += 1
                continue
            if kind == SUB:
                stats[g]["substituted"] += 1
            elif kind == DEL:
                stats[g]["deleted"] += 1
            elif kind == INS:
                stats[p]["inserted"] += 1
            confusions[(g or "", p or "")] += 1
    for char, n in read_right.items():
        stats[char].update(count=n, correct=n, predicted=n)
    rows = []
    for char, c in stats.items():
        rows.append({"char": char, "count": c["count"], "correct": c["correct"], "substituted": c["substituted"],
                     "deleted": c["deleted"], "recall": _ratio(c["correct"], c["count"]),
                     "predicted": c["predicted"], "inserted": c["inserted"],
                     "precision": _ratio(c["correct"], c["predicted"])})
    rows.sort(key=lambda r: (-(r["substituted"] + r["deleted"] + r["inserted"]), -r["count"], r["char"]))
    return rows, confusions


def top_confusions(confusions: Counter, limit: int = TOP_CONFUSIONS) -> list[dict]:
    """The most frequent (ground truth -> prediction) errors; "" is nothing."""
    ranked = sorted(confusions.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    kinds = {(True, True): "substitution", (True, False): "deletion", (False, True): "insertion"}
    return [{"gt": g, "pred": p, "kind": kinds[(bool(g), bool(p))], "count": n} for (g, p), n in ranked]


def by_flag(scored: list[Scored]) -> tuple[dict, dict]:
    """Flag counts, and accuracy/CER within each flag and among unflagged samples."""
    counts = {flag: sum(flag in s.flags for s in scored) for flag in FLAGS}
    groups = {flag: _subset([s for s in scored if flag in s.flags]) for flag in FLAGS}
    groups["unflagged"] = _subset([s for s in scored if not s.flags])
    return counts, groups


def compute_metrics(predictions: list[dict], *, ignore_space: bool = False, ignore_case: bool = False,
                    mrz: bool = False, confusion_limit: int = TOP_CONFUSIONS) -> dict:
    """Every metric of a list of prediction records, JSON-ready (the "metrics" of metrics.json)."""
    normalisation = Normalisation(ignore_space=ignore_space, ignore_case=ignore_case)
    scored = score(predictions, normalisation)
    chars, confusions = by_character(scored)
    errors = dict.fromkeys(("substitutions", "deletions", "insertions"), 0)
    for (g, p), n in confusions.items():
        errors["substitutions" if g and p else "deletions" if g else "insertions"] += n
    flag_counts, flag_groups = by_flag(scored)
    right = [float(s.row.get("confidence", 0.0)) for s in scored if s.correct]
    wrong = [float(s.row.get("confidence", 0.0)) for s in scored if not s.correct]
    out = {
        "normalisation": normalisation.describe(),
        **totals(scored),
        "errors": errors,
        "confidence": {"mean_correct": _ratio(sum(right), len(right)), "mean_wrong": _ratio(sum(wrong), len(wrong))},
        "by_length": by_length(scored),
        "by_character": chars,
        "confusions": top_confusions(confusions, confusion_limit),
        "flags": flag_counts,
        "by_flag": flag_groups,
    }
    if mrz:
        from augkit.eval.mrz_score import mrz_metrics

        out["mrz"] = mrz_metrics(predictions)
    return out


def recompute(report_dir: Path | str, **options) -> dict:
    """compute_metrics over a report directory's predictions.jsonl (other normalisation, say)."""
    return compute_metrics(read_predictions(Path(report_dir) / "predictions.jsonl"), **options)


def format_console_table(metrics_json: dict) -> str:
    """The human summary `augkit eval` prints: a whole metrics.json, or compute_metrics' output."""
    from augkit.eval.console import console_table

    return console_table(metrics_json)
