"""The plain-text summary of an evaluation that `augkit eval` prints (and `metrics.format_console_table`)."""

from __future__ import annotations

import unicodedata


def show_char(c: str) -> str:
    """A character as a person can read it in a table: space as ␣, nothing as ∅, controls escaped."""
    if c == "":
        return "∅"
    if c == " ":
        return "␣"
    if c.isspace() or unicodedata.category(c)[0] in ("C", "Z") or unicodedata.combining(c):
        return f"U+{ord(c):04X}"
    return c


def pct(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f} %"


def num(x: float | None, fmt: str = ",") -> str:
    return "—" if x is None else format(x, fmt)


def confusion_text(c: dict) -> str:
    if c["kind"] == "deletion":
        return f"{show_char(c['gt'])} dropped"
    if c["kind"] == "insertion":
        return f"{show_char(c['pred'])} added"
    return f"{show_char(c['gt'])}→{show_char(c['pred'])}"


def _run_lines(doc: dict) -> list[str]:
    run, counts = doc.get("run") or {}, doc.get("counts") or {}
    lines = []
    if counts:
        rejected = counts.get("rejected", 0)
        lines.append(f"augkit eval: {num(counts.get('scored'))} samples scored, {num(rejected)} rejected"
                     f"{' (see rejects.tsv)' if rejected else ''}, of {num(counts.get('lines'))} lines")
    if run:
        lines.append(f"  model     {run.get('model', '?')}")
        lines.append(f"  dict      {run.get('dict', '?')}{' + space' if run.get('space') else ''}")
        backend = ", ".join(x for x in (" ".join(str(run[k]) for k in ("backend", "backend_version") if run.get(k)),
                                         run.get("provider"), run.get("precision")) if x)
        lines.append(f"  backend   {backend}   on {run.get('device', '?')}")
        widths = "/".join(str(w) for w in run.get("widths") or [])
        lines.append(f"  input     height {run.get('height', '?')}, width {widths or '?'}, batch {run.get('batch', '?')}")
    return lines


def _table(header: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def fmt(r):
        return indent + "  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(r, widths)))

    return [fmt(header), *(fmt(r) for r in rows)]


def _mrz_lines(m: dict) -> list[str]:
    cd = m["check_digits"]
    lines = ["", f"MRZ ({num(m['lines'])} lines; {num(m['not_mrz'])} ground truths not MRZ)"]
    lines += _table(["line", "n", "accuracy"], [[b["name"], num(b["n"]), pct(b["accuracy"])] for b in m["by_line"]])
    if cd["lines"]:
        lines.append(f"  check digits   predictions valid {num(cd['prediction_valid'])} / {num(cd['lines'])} lines"
                     f" (ground truth valid {num(cd['gt_valid'])}; wrong length {num(cd['prediction_wrong_length'])})")
        lines.append(f"  wrong readings caught by a check digit {num(cd['caught'])} of {num(cd['wrong'])};"
                     f" passed every check {num(cd['uncaught'])}")
    worst = sorted((f for f in m["fields"] if f["accuracy"] < 1), key=lambda f: (f["accuracy"], f["layout"], f["line"]))[:8]
    if worst:
        lines.append("  weakest fields  " + ", ".join(
            f"{f['layout']} L{f['line']} {f['field']} {pct(f['accuracy'], 1)}" for f in worst))
    return lines


def _timing_lines(t: dict) -> list[str]:
    lat = t.get("latency_ms") or {}
    lines = ["", f"timing  {num(t.get('images_per_s'), ',.1f')} images/s end to end"
                 + (f", model only {num(t['model_only_images_per_s'], ',.1f')} images/s"
                    if t.get("model_only_images_per_s") else "")
                 + f"  ({num(t.get('batches'))} batches after {num(t.get('warmup_batches'))} warm-up)"]
    if lat:
        lines.append("  batch latency  " + "  ".join(f"{k} {num(v, '.2f')} ms" for k, v in lat.items()))
    stages = t.get("stages_ms") or {}
    if stages:
        lines.append("  per batch      " + "  ".join(
            f"{k} {'n/a' if v is None else format(v, '.2f') + ' ms'}" for k, v in stages.items()))
    return lines


def console_table(doc: dict) -> str:
    """Summary text of a metrics.json document (or of compute_metrics' output alone)."""
    m = doc.get("metrics", doc)
    lines = _run_lines(doc)
    lines.append(f"  normalised  {', '.join(m['normalisation']['applied'])}")
    lines.append("")
    lines += _table(["metric", "value", ""], [
        ["accuracy", pct(m["accuracy"]), f"{num(m['correct'])} / {num(m['n'])} exact"],
        ["CER", pct(m["cer"]), f"{num(m['edit_distance'])} edits / {num(m['gt_chars'])} characters"],
        ["WER", pct(m["wer"]), f"{num(m['word_edit_distance'])} edits / {num(m['gt_words'])} words"],
        ["norm_edit_dis", num(m["norm_edit_dis"], ".5f"), "PaddleOCR RecMetric formula"],
    ])
    if m["by_length"]:
        lines.append("")
        lines += _table(["length", "n", "accuracy", "CER"],
                        [[b["bucket"], num(b["n"]), pct(b["accuracy"], 1), pct(b["cer"], 2)] for b in m["by_length"]])
    flags = m["flags"]
    lines.append("")
    lines.append("  flags       " + "   ".join(
        f"{k} {num(v)}" + (f" (accuracy {pct(m['by_flag'][k]['accuracy'], 1)})" if v else "") for k, v in flags.items())
        + f"   unflagged accuracy {pct(m['by_flag']['unflagged']['accuracy'], 1)}")
    if m["confusions"]:
        lines.append("  confusions  " + ", ".join(f"{confusion_text(c)} ×{c['count']}" for c in m["confusions"][:10]))
    weak = [c for c in m["by_character"] if c["count"] and c["recall"] is not None and c["recall"] < 1][:10]
    if weak:
        lines.append("  weakest characters  " + ", ".join(
            f"{show_char(c['char'])} {pct(c['recall'], 1)} of {num(c['count'])}" for c in weak))
    if "mrz" in m:
        lines += _mrz_lines(m["mrz"])
    if doc.get("timing"):
        lines += _timing_lines(doc["timing"])
    return "\n".join(lines)
