"""MRZ scoring (`augkit eval --mrz`): ICAO 9303 check-digit validity and per-field accuracy.

Each crop is one MRZ line. Its layout and line index (TD1, TD2, TD3) come from the ground truth
(`augkit.mrz.identify`), and the prediction is read at the same fixed positions, as a passport
reader would. Texts are compared after NFC only: MRZ characters are upper case and fillers are
`<`, so case folding and space removal would not describe what the reader sees.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

from augkit import mrz


def _line_key(layout: str, index: int) -> str:
    return f"{layout} line {index + 1}"


def mrz_metrics(predictions: list[dict]) -> dict:
    """Check-digit validity of predictions (and, as a sanity count, of the ground truth) and
    per-field accuracy, over the records whose ground truth is an MRZ line.

    "caught" counts wrong predictions that a check digit (or the line length) exposes;
    "uncaught" counts wrong predictions that pass every check digit of their line, the errors a
    reader would accept.
    """
    lines: Counter = Counter()
    lines_right: Counter = Counter()
    fields_n: Counter = Counter()
    fields_right: Counter = Counter()
    checks_n: Counter = Counter()
    checks_gt: Counter = Counter()
    checks_pred: Counter = Counter()
    cd = Counter()
    not_mrz = 0
    for row in predictions:
        gt = unicodedata.normalize("NFC", row["gt"])
        pred = unicodedata.normalize("NFC", row["prediction"])
        where = mrz.identify(gt)
        if where is None:
            not_mrz += 1
            continue
        layout, index = where
        lines[where] += 1
        lines_right[where] += gt == pred
        gt_fields = mrz.line_fields(gt, layout, index)
        pred_fields = gt_fields if pred == gt else mrz.line_fields(pred, layout, index)
        for name, value in gt_fields.items():
            fields_n[(layout, index, name)] += 1
            fields_right[(layout, index, name)] += pred_fields[name] == value
        gt_checks = mrz.check_line(gt, layout, index)
        if not gt_checks:
            continue
        right_length = len(pred) == mrz.LAYOUTS[layout][1]
        pred_checks = gt_checks if pred == gt else mrz.check_line(pred, layout, index)
        for name, ok in gt_checks.items():
            checks_n[(layout, index, name)] += 1
            checks_gt[(layout, index, name)] += ok
            checks_pred[(layout, index, name)] += right_length and pred_checks[name]
        gt_valid = all(gt_checks.values())
        pred_valid = right_length and all(pred_checks.values())
        cd["lines"] += 1
        cd["gt_valid"] += gt_valid
        cd["prediction_valid"] += pred_valid
        cd["prediction_wrong_length"] += not right_length
        if gt_valid and pred != gt:
            cd["wrong"] += 1
            cd["caught"] += not pred_valid
            cd["uncaught"] += pred_valid
    order = {name: i for i, name in enumerate(mrz.LAYOUTS)}

    def sort_key(key):
        return (order[key[0]], key[1])

    return {
        "text": "NFC only; layout and line from the ground truth, prediction read at the same positions",
        "lines": sum(lines.values()),
        "not_mrz": not_mrz,
        "by_line": [{"layout": layout, "line": index + 1, "name": _line_key(layout, index), "n": n,
                     "correct": lines_right[(layout, index)], "accuracy": lines_right[(layout, index)] / n}
                    for (layout, index), n in sorted(lines.items(), key=lambda kv: sort_key(kv[0]))],
        "check_digits": {
            "lines": cd["lines"], "gt_valid": cd["gt_valid"], "prediction_valid": cd["prediction_valid"],
            "prediction_wrong_length": cd["prediction_wrong_length"],
            "wrong": cd["wrong"], "caught": cd["caught"], "uncaught": cd["uncaught"],
            "by_check": [{"layout": layout, "line": index + 1, "check": name, "n": n,
                          "gt_valid": checks_gt[(layout, index, name)],
                          "prediction_valid": checks_pred[(layout, index, name)]}
                         for (layout, index, name), n in sorted(checks_n.items(), key=lambda kv: sort_key(kv[0]))],
        },
        "fields": [{"layout": layout, "line": index + 1, "field": name, "n": n,
                    "correct": fields_right[(layout, index, name)], "accuracy": fields_right[(layout, index, name)] / n}
                   for (layout, index, name), n in sorted(fields_n.items(), key=lambda kv: sort_key(kv[0]))],
    }
