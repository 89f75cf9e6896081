"""Two prediction files of the same samples (two models, two precisions, two engines): what got
better and what got worse, sample by sample (`augkit eval --compare A B`)."""

from __future__ import annotations

from pathlib import Path

from augkit.errors import UserError
from augkit.eval.console import num, pct
from augkit.eval.metrics import Scored, read_predictions, score, totals
from augkit.eval.normalise import Normalisation

OUTCOMES = ("both_right", "fixed", "broken", "both_wrong_same", "changed_still_wrong")


def _predictions_file(path: Path | str) -> Path:
    """A predictions.jsonl, or the report directory holding one."""
    path = Path(path)
    return path / "predictions.jsonl" if path.is_dir() else path


def _keyed(rows: list[dict], path: Path) -> dict[tuple, dict]:
    out: dict[tuple, dict] = {}
    for row in rows:
        key = (row["id"], row["path"])
        if key in out:
            raise UserError(f"{path}: sample #{row['id']} {row['path']} appears twice; a predictions file lists each sample once")
        out[key] = row
    return out


def _describe(keys: list[tuple]) -> str:
    first = ", ".join(f"#{i} {p}" for i, p in keys[:3])
    return f"{len(keys)} ({first}{', ...' if len(keys) > 3 else ''})"


def _sample(key: tuple, a: Scored, b: Scored, change: str) -> dict:
    return {"id": key[0], "path": key[1], "gt": a.row["gt"], "a": a.row["prediction"], "b": b.row["prediction"],
            "a_edits": a.distance, "b_edits": b.distance, "change": change}


def compare_predictions(a: Path | str, b: Path | str, *, ignore_space: bool = False, ignore_case: bool = False) -> dict:
    """Join two prediction files by sample (id and path) and classify every sample: right in both,
    fixed (wrong in A, right in B), broken (right in A, wrong in B), wrong in both with the same
    text, or changed but still wrong (closer, further or as far as before). JSON-ready.

    The files must hold the same samples with the same ground truth, or a UserError says how they differ.
    """
    path_a, path_b = _predictions_file(a), _predictions_file(b)
    rows_a, rows_b = read_predictions(path_a), read_predictions(path_b)
    keyed_a, keyed_b = _keyed(rows_a, path_a), _keyed(rows_b, path_b)
    only_a = [k for k in keyed_a if k not in keyed_b]
    only_b = [k for k in keyed_b if k not in keyed_a]
    if only_a or only_b:
        parts = ([f"only in A: {_describe(only_a)}"] if only_a else []) + ([f"only in B: {_describe(only_b)}"] if only_b else [])
        raise UserError(f"{path_a} and {path_b} do not hold the same samples ({'; '.join(parts)}); "
                        "compare predictions made from the same label file")
    keys = list(keyed_a)
    differ = [k for k in keys if keyed_a[k]["gt"] != keyed_b[k]["gt"]]
    if differ:
        raise UserError(f"{path_a} and {path_b} give different ground truth for {_describe(differ)}; "
                        "compare predictions made from the same label file")
    norm = Normalisation(ignore_space=ignore_space, ignore_case=ignore_case)
    scored_a = score([keyed_a[k] for k in keys], norm)
    scored_b = score([keyed_b[k] for k in keys], norm)
    counts = dict.fromkeys(OUTCOMES, 0)
    counts.update(closer=0, further=0, as_far=0)
    better, worse = [], []
    for key, sa, sb in zip(keys, scored_a, scored_b):
        if sa.correct and sb.correct:
            counts["both_right"] += 1
        elif sb.correct:
            counts["fixed"] += 1
            better.append(_sample(key, sa, sb, "fixed"))
        elif sa.correct:
            counts["broken"] += 1
            worse.append(_sample(key, sa, sb, "broken"))
        elif sa.prediction == sb.prediction:
            counts["both_wrong_same"] += 1
        else:
            counts["changed_still_wrong"] += 1
            if sb.distance < sa.distance:
                counts["closer"] += 1
                better.append(_sample(key, sa, sb, "closer"))
            elif sb.distance > sa.distance:
                counts["further"] += 1
                worse.append(_sample(key, sa, sb, "further"))
            else:
                counts["as_far"] += 1
    ta, tb = totals(scored_a), totals(scored_b)
    delta = {k: (tb[k] - ta[k] if ta[k] is not None and tb[k] is not None else None)
             for k in ("accuracy", "cer", "wer", "norm_edit_dis")}
    keep = ("n", "correct", "accuracy", "cer", "wer", "norm_edit_dis")
    return {"a": str(path_a), "b": str(path_b), "normalisation": norm.describe(), "n": len(keys),
            "metrics_a": {k: ta[k] for k in keep}, "metrics_b": {k: tb[k] for k in keep}, "delta": delta,
            "counts": counts, "better": better, "worse": worse}


def _signed_pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:+.2f} pts"


def format_compare_table(result: dict, limit: int = 20) -> str:
    """The comparison as text: metrics side by side, outcome counts, and the samples that changed."""
    ma, mb, d, c = result["metrics_a"], result["metrics_b"], result["delta"], result["counts"]
    lines = [f"A  {result['a']}", f"B  {result['b']}",
             f"{num(result['n'])} samples, normalised: {', '.join(result['normalisation']['applied'])}", "",
             f"  {'':14}{'A':>10}{'B':>10}{'B - A':>14}",
             f"  {'accuracy':14}{pct(ma['accuracy']):>10}{pct(mb['accuracy']):>10}{_signed_pct(d['accuracy']):>14}",
             f"  {'CER':14}{pct(ma['cer']):>10}{pct(mb['cer']):>10}{_signed_pct(d['cer']):>14}",
             f"  {'WER':14}{pct(ma['wer']):>10}{pct(mb['wer']):>10}{_signed_pct(d['wer']):>14}", "",
             f"  fixed (wrong in A, right in B)   {num(c['fixed'])}",
             f"  broken (right in A, wrong in B)  {num(c['broken'])}",
             f"  right in both                    {num(c['both_right'])}",
             f"  wrong in both, same text         {num(c['both_wrong_same'])}",
             f"  changed, still wrong             {num(c['changed_still_wrong'])}"
             f" (closer {num(c['closer'])}, further {num(c['further'])}, as far {num(c['as_far'])})"]
    for title, rows in (("better in B", result["better"]), ("worse in B", result["worse"])):
        if not rows:
            continue
        lines += ["", f"{title} ({num(len(rows))}{', first ' + str(limit) if len(rows) > limit else ''}):"]
        for r in rows[:limit]:
            lines.append(f"  #{r['id']} {r['path']}  [{r['change']}]")
            lines.append(f"      gt {r['gt']}")
            lines.append(f"      A  {r['a']}  ({r['a_edits']} edits)")
            lines.append(f"      B  {r['b']}  ({r['b_edits']} edits)")
    return "\n".join(lines)
