"""report.html: one self-contained page (inline CSS, SVG charts, embedded thumbnails) that says at a
glance how good a model is, what it was run on, and where and how it fails."""

from __future__ import annotations

import csv
import json
from collections import Counter
from html import escape
from pathlib import Path

from augkit.errors import UserError
from augkit.eval import charts
from augkit.eval.console import confusion_text, num, pct, show_char
from augkit.eval.examples import confident_mistakes, example_html, worst
from augkit.eval.metrics import compute_metrics, read_predictions, score
from augkit.eval.normalise import Normalisation
from augkit.writer import AtomicTextFile

WORST = 40
CONFIDENT = 12
CHARACTERS = 25
CONFUSIONS = 20

CSS = """
:root{--ink:#263238;--muted:#607d8b;--line:#e0e4e8;--good:#2e7d32;--bad:#c62828;--mid:#ef6c00;--bg:#f5f7f9}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK KR",sans-serif;color:var(--ink);background:var(--bg)}
main{max-width:1240px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:22px;margin:0 0 2px}h2{font-size:17px;margin:34px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:14px;margin:16px 0 6px}
.sub{color:var(--muted)}nav{margin:8px 0 0;font-size:13px}nav a{color:#1565c0;margin-right:14px;text-decoration:none}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0 18px}
.card{flex:1 1 0;background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:140px}
.card .v{font-size:28px;font-weight:700;line-height:1.2;white-space:nowrap}.card .k{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.card .d{font-size:12px;color:var(--muted)}.card.main{flex-grow:1.5;min-width:200px}.card.main .v{font-size:38px}
.good{color:var(--good)}.bad{color:var(--bad)}.mid{color:var(--mid)}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:18px 28px}
.panel{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 16px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{color:var(--muted);font-weight:600;font-size:12px}th:first-child,td:first-child{text-align:left}
td.l,th.l{text-align:left}td.ch{font:15px/1.2 ui-monospace,Menlo,Consolas,monospace;text-align:center}
.bar{display:inline-block;height:9px;border-radius:2px;vertical-align:middle;margin-left:6px}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0;font-size:13px}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;word-break:break-all}
.examples{display:grid;grid-template-columns:repeat(auto-fill,minmax(370px,1fr));grid-auto-flow:row dense;gap:10px}
.ex{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px 12px;min-width:0}.ex.wide{grid-column:1/-1}
.ex .img img{display:block;max-width:100%;border:1px solid var(--line);image-rendering:auto}
.noimg{color:var(--bad);font-size:12px;padding:6px 0}
.diff{display:flex;flex-wrap:wrap;margin:6px 0 4px;font:17px/1.25 ui-monospace,Menlo,Consolas,"Noto Sans Mono CJK KR",monospace}
.diff .c{display:inline-flex;flex-direction:column;align-items:center;min-width:.62em;padding:0 1px}
.diff .c span{display:block;min-height:1.25em}.diff .c.lab{color:var(--muted);font:11px/1.7 sans-serif;align-items:flex-start;padding-right:8px}
.diff .s span{background:#ffe0b2;color:#bf360c;font-weight:700}
.diff .d span:first-child{background:#ffcdd2;color:var(--bad);font-weight:700}.diff .d span:last-child{color:#b0bec5}
.diff .i span:last-child{background:#c8e6c9;color:#1b5e20;font-weight:700}.diff .i span:first-child{color:#b0bec5}
.meta{font-size:12px;color:var(--muted);display:flex;flex-wrap:wrap;gap:4px 14px}.meta .path{font-family:ui-monospace,monospace}
.flag{background:#fff3e0;color:#e65100;border-radius:3px;padding:0 5px}
.legend span{margin-right:12px}.note{font-size:12px;color:var(--muted)}
"""


def _read_metrics_doc(report_dir: Path, predictions: list[dict]) -> dict:
    path = report_dir / "metrics.json"
    if not path.is_file():
        # predictions alone still make a report; say the numbers were recomputed.
        return {"metrics": compute_metrics(predictions), "recomputed": True}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc.msg}); re-run `augkit eval` to rewrite it") from None
    if "metrics" not in doc:
        raise UserError(f"{path} has no \"metrics\" section; is it an `augkit eval` metrics.json?")
    return doc


def read_rejects(path: Path) -> list[dict]:
    """Rows of a rejects.tsv (line, path, reason, detail); [] when there is none."""
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if rows and rows[0][:1] == ["line"]:
        rows = rows[1:]
    return [dict(zip(("line", "path", "reason", "detail"), r)) for r in rows if r]


def _card(key: str, value: str, detail: str = "", cls: str = "") -> str:
    return (f'<div class="card {cls}"><div class="k">{escape(key)}</div><div class="v">{value}</div>'
            f'<div class="d">{escape(detail)}</div></div>')


def _tone(acc: float | None) -> str:
    return "" if acc is None else "good" if acc >= 0.98 else "mid" if acc >= 0.9 else "bad"


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    th = "".join(f'<th class="{"l" if i < left else ""}">{escape(h)}</th>' for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{c}</td>' for i, c in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _bar(x: float | None, colour: str | None = None, scale: float = 90) -> str:
    if x is None:
        return ""
    colour = colour or charts.accuracy_colour(x)
    return f'<span class="bar" style="width:{max(scale * x, 1):.0f}px;background:{colour}"></span>'


def _headline(doc: dict) -> str:
    m, counts, timing = doc["metrics"], doc.get("counts") or {}, doc.get("timing") or {}
    cards = [_card("accuracy", f'<span class="{_tone(m["accuracy"])}">{pct(m["accuracy"])}</span>',
                   f'{num(m["correct"])} of {num(m["n"])} exactly right', "main"),
             _card("CER", pct(m["cer"]), f'{num(m["edit_distance"])} edits / {num(m["gt_chars"])} chars'),
             _card("WER", pct(m["wer"]), f'{num(m["word_edit_distance"])} edits / {num(m["gt_words"])} words'),
             _card("norm_edit_dis", num(m["norm_edit_dis"], ".4f"), "PaddleOCR RecMetric formula")]
    if counts:
        cards.append(_card("samples", num(counts.get("scored")),
                           f'{num(counts.get("rejected", 0))} rejected of {num(counts.get("lines"))} lines'))
    if timing.get("images_per_s"):
        cards.append(_card("images / s", num(timing["images_per_s"], ",.0f"),
                           f'batch p50 {num((timing.get("latency_ms") or {}).get("p50"), ".1f")} ms'))
    if "mrz" in m and m["mrz"]["check_digits"]["lines"]:
        cd = m["mrz"]["check_digits"]
        cards.append(_card("MRZ check digits", pct(cd["prediction_valid"] / cd["lines"], 1),
                           f'of {num(cd["lines"])} lines valid; {num(cd["uncaught"])} wrong passed'))
    return f'<div class="cards">{"".join(cards)}</div>'


def _run_info(doc: dict) -> str:
    run, m = doc.get("run") or {}, doc["metrics"]
    models = run.get("models") or []
    if len(models) > 1:   # one engine per width
        model_rows = [(f"model, width {'/'.join(map(str, m.get('widths') or []))}", f'{m.get("path")} (sha256 {m.get("sha256")})')
                      for m in models]
    else:
        model_rows = [("model", run.get("model")), ("model sha256", run.get("model_sha256"))]
    steps = run.get("time_steps") or {}
    rows = [*model_rows,
            ("dictionary", (f'{run["dict"]}{" + space class" if run.get("space") else ""}' if run.get("dict") else None)),
            ("labels", run.get("labels")), ("data dir", run.get("data_dir")),
            ("input", (f'height {run.get("height")} × width {"/".join(map(str, run.get("widths") or []))}, batch {run.get("batch")}'
                       if run.get("height") else None)),
            ("classes", run.get("classes")),
            ("CTC time steps", ", ".join(f"width {w}: {n}" for w, n in steps.items()) or None),
            ("backend", " ".join(str(run[k]) for k in ("backend", "backend_version") if run.get(k)) or None),
            ("provider", run.get("provider")), ("precision", run.get("precision")), ("device", run.get("device")),
            ("normalisation", ", ".join(m["normalisation"]["applied"])),
            ("augkit", doc.get("augkit_version"))]
    if doc.get("recomputed"):
        rows.append(("note", "no metrics.json: numbers recomputed from predictions.jsonl with default normalisation"))
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows if v not in (None, ""))
    return f'<div class="panel"><h3>Run</h3><dl class="kv">{items}</dl></div>'


def _timing(doc: dict) -> str:
    t = doc.get("timing")
    if not t:
        return '<div class="panel"><h3>Timing</h3><p class="note">No timing recorded.</p></div>'
    lat = t.get("latency_ms") or {}
    rows = [["end to end", f'{num(t.get("images_per_s"), ",.1f")} images/s']]
    if t.get("model_only_images_per_s"):
        share = t["images_per_s"] / t["model_only_images_per_s"] if t.get("images_per_s") else None
        rows.append(["model only", f'{num(t["model_only_images_per_s"], ",.1f")} images/s'])
        rows.append(["end to end / model only", pct(share, 1)])
    rows += [[f"batch latency {k}", f"{num(v, '.2f')} ms"] for k, v in lat.items()]
    rows.append(["batches timed", f'{num(t.get("batches"))} (after {num(t.get("warmup_batches"))} warm-up)'])
    stages = t.get("stages_ms") or {}
    rows += [[f"per batch: {k}", "not measured by this backend" if v is None else f"{v:.3f} ms"] for k, v in stages.items()]
    chart = charts.stacked_bar([(k, v) for k, v in stages.items() if v], label="time per batch by stage") if stages else ""
    notes = "".join(f'<p class="note">{escape(t[k])}</p>' for k in ("latency_scope", "stages_scope") if t.get(k))
    return (f'<div class="panel"><h3>Timing</h3>{_table(["", ""], rows)}<div style="margin-top:10px">{chart}</div>'
            f'{notes}</div>')


def _by_length(m: dict) -> str:
    buckets = m["by_length"]
    if not buckets:
        return ""
    chart = charts.bar_chart([(b["bucket"], b["accuracy"], f'n={b["n"]:,}') for b in buckets],
                             label="accuracy by ground-truth length", width=600)
    rows = [[escape(b["bucket"]), num(b["n"]), pct(b["accuracy"], 1) + _bar(b["accuracy"]), pct(b["cer"])] for b in buckets]
    return (f'<div class="panel"><h3>Accuracy by label length (characters)</h3>{chart}'
            f'{_table(["length", "n", "accuracy", "CER"], rows)}</div>')


def _confidence(scored) -> str:
    right = [float(s.row.get("confidence", 0.0)) for s in scored if s.correct]
    wrong = [float(s.row.get("confidence", 0.0)) for s in scored if not s.correct]
    chart = charts.histogram_rows([("right", charts.GOOD, right), ("wrong", charts.BAD, wrong)],
                                  label="confidence of right and wrong predictions", width=600)
    return (f'<div class="panel"><h3>Confidence of right and wrong predictions</h3>{chart}'
            '<p class="note">Each row is scaled to its own tallest bin. Wrong predictions at high confidence are '
            'the ones a confidence threshold does not catch.</p></div>')


def _errors(m: dict) -> str:
    conf = m["confusions"][:CONFUSIONS]
    top = conf[0]["count"] if conf else 1
    crow = [[f'<span class="ch">{escape(confusion_text(c))}</span>', escape(c["kind"]),
             num(c["count"]) + _bar(c["count"] / top, charts.BAD, 70)] for c in conf]
    chars = [c for c in m["by_character"] if c["substituted"] + c["deleted"] + c["inserted"]][:CHARACTERS]
    hrow = [[f'<span class="ch">{escape(show_char(c["char"]))}</span>', num(c["count"]),
             pct(c["recall"], 1) + _bar(c["recall"]), num(c["substituted"]), num(c["deleted"]), num(c["inserted"]),
             pct(c["precision"], 1)] for c in chars]
    e = m["errors"]
    summary = (f'<p class="note">{num(e["substitutions"])} substitutions, {num(e["deletions"])} dropped and '
               f'{num(e["insertions"])} added characters in all.</p>')
    return ('<div class="grid">'
            f'<div class="panel"><h3>Top confusions (ground truth → prediction)</h3>{summary}'
            + (_table(["error", "kind", "count"], crow) if crow else '<p class="note">No errors.</p>') + '</div>'
            '<div class="panel"><h3>Characters with errors</h3><p class="note">recall: share of the character\'s '
            'occurrences in the ground truth read right; precision: share of its predictions that were right.</p>'
            + (_table(["char", "in gt", "recall", "replaced", "dropped", "added", "precision"], hrow) if hrow
               else '<p class="note">No character errors.</p>') + '</div></div>')


def _flags(m: dict) -> str:
    rows = []
    for key, g in m["by_flag"].items():
        label = {"squashed": "squashed (narrowed below natural aspect)", "too_long": "too long for the model's time steps",
                 "unflagged": "no flag"}.get(key, key)
        rows.append([escape(label), num(g["n"]), pct(g["accuracy"], 1) + _bar(g["accuracy"]), pct(g["cer"])])
    return f'<div class="panel"><h3>Flags</h3>{_table(["samples", "n", "accuracy", "CER"], rows)}</div>'


def _rejects(rejects: list[dict]) -> str:
    if not rejects:
        return '<div class="panel"><h3>Rejected lines</h3><p class="note">None.</p></div>'
    by_reason = Counter(r.get("reason", "") for r in rejects)
    rows = [[escape(reason), num(n)] for reason, n in by_reason.most_common()]
    return (f'<div class="panel"><h3>Rejected lines ({num(len(rejects))}, not scored)</h3>'
            f'{_table(["reason", "lines"], rows)}<p class="note">Each with its line and detail in rejects.tsv.</p></div>')


def _mrz(m: dict) -> str:
    z = m.get("mrz")
    if not z:
        return ""
    cd = z["check_digits"]
    lines = [[escape(b["name"]), num(b["n"]), pct(b["accuracy"], 2) + _bar(b["accuracy"])] for b in z["by_line"]]
    checks = [[escape(f'{c["layout"]} line {c["line"]}: {c["check"]}'), num(c["n"]),
               pct(c["prediction_valid"] / c["n"], 2) + _bar(c["prediction_valid"] / c["n"]),
               pct(c["gt_valid"] / c["n"], 2)] for c in cd["by_check"]]
    fields = [[escape(f'{f["layout"]} line {f["line"]}'), escape(f["field"]), num(f["n"]),
               pct(f["accuracy"], 2) + _bar(f["accuracy"])] for f in z["fields"]]
    summary = (f'<p>{num(z["lines"])} MRZ lines ({num(z["not_mrz"])} ground truths are not MRZ lines). '
               f'Of {num(cd["lines"])} lines holding check digits, <b>{num(cd["prediction_valid"])}</b> predictions pass '
               f'every check digit ({num(cd["gt_valid"])} ground truths do; {num(cd["prediction_wrong_length"])} predictions '
               f'have the wrong length). Of {num(cd["wrong"])} wrong readings, <b class="good">{num(cd["caught"])}</b> are '
               f'caught by a check digit and <b class="bad">{num(cd["uncaught"])}</b> pass every check.</p>')
    return ('<h2 id="mrz">MRZ: ICAO 9303 check digits and fields</h2>' + summary + '<div class="grid">'
            f'<div class="panel"><h3>Lines</h3>{_table(["line", "n", "accuracy"], lines)}'
            f'<h3>Check digits valid</h3>{_table(["check digit", "n", "predictions", "ground truth"], checks)}</div>'
            f'<div class="panel"><h3>Fields</h3>{_table(["line", "field", "n", "accuracy"], fields, left=2)}</div></div>')


def render(doc: dict, scored, rejects: list[dict], data_dir: Path | None, *, n_worst: int = WORST,
           n_confident: int = CONFIDENT) -> str:
    """The report page as an HTML string."""
    m, run = doc["metrics"], doc.get("run") or {}
    names = [Path(m["path"]).name for m in run.get("models") or [] if m.get("path")]
    model = ", ".join(names) or (Path(run["model"]).name if run.get("model") else "predictions")
    backend = ", ".join(x for x in (" ".join(str(run[k]) for k in ("backend", "backend_version") if run.get(k)),
                                     run.get("provider"), run.get("precision"), run.get("device")) if x)
    worst_html = "".join(example_html(s, data_dir) for s in worst(scored, n_worst)) or '<p class="note">No wrong predictions.</p>'
    confident_html = "".join(example_html(s, data_dir) for s in confident_mistakes(scored, n_confident))
    legend = ('<p class="note legend"><span style="background:#ffe0b2">replaced</span>'
              '<span style="background:#ffcdd2">dropped (in gt, missing in prediction)</span>'
              '<span style="background:#c8e6c9">added (in prediction only)</span>'
              f'Texts shown after normalisation ({escape(", ".join(m["normalisation"]["applied"]))}).</p>')
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in (("overview", "overview"), ("errors", "errors"),
                  *((("mrz", "MRZ"),) if "mrz" in m else ()), ("worst", "worst examples"), ("confident", "confident mistakes")))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>augkit eval: {escape(model)}</title><style>{CSS}</style></head>
<body><main>
<h1>augkit eval · {escape(model)}</h1>
<div class="sub">{escape(backend)}</div><nav>{nav}</nav>
<section id="overview">{_headline(doc)}
<div class="grid">{_run_info(doc)}{_timing(doc)}</div>
<h2>Where accuracy is lost</h2>
<div class="grid">{_by_length(m)}{_confidence(scored)}</div>
<div class="grid" style="margin-top:18px">{_flags(m)}{_rejects(rejects)}</div></section>
<section id="errors"><h2>Errors by character</h2>{_errors(m)}</section>
{_mrz(m)}
<section id="worst"><h2>Worst examples ({min(n_worst, m["n"] - m["correct"])} of {num(m["n"] - m["correct"])} wrong)</h2>
{legend}<div class="examples">{worst_html}</div></section>
<section id="confident"><h2>Confident mistakes</h2>
<p class="note">Wrong predictions with the highest confidence.</p><div class="examples">{confident_html or '<p class="note">None.</p>'}</div></section>
</main></body></html>
"""


def write_report(report_dir: Path | str, *, data_dir: Path | str | None = None, n_worst: int = WORST) -> Path:
    """Write REPORT_DIR/report.html from its metrics.json and predictions.jsonl (and rejects.tsv);
    crops are read from `data_dir`, by default the run's data dir. Returns the page's path."""
    report_dir = Path(report_dir)
    predictions = read_predictions(report_dir / "predictions.jsonl")
    doc = _read_metrics_doc(report_dir, predictions)
    norm = doc["metrics"]["normalisation"]
    scored = score(predictions, Normalisation(ignore_space=norm["ignore_space"], ignore_case=norm["ignore_case"]))
    run_dir = (doc.get("run") or {}).get("data_dir")
    images = Path(data_dir) if data_dir is not None else Path(run_dir) if run_dir else report_dir
    if (doc.get("run") or {}).get("input") == "lmdb" and images.is_dir():
        from augkit.lmdb_store import LmdbStore

        with LmdbStore(images) as store:
            page = render(doc, scored, read_rejects(report_dir / "rejects.tsv"), store, n_worst=n_worst)
    else:
        page = render(doc, scored, read_rejects(report_dir / "rejects.tsv"), images, n_worst=n_worst)
    out = report_dir / "report.html"
    with AtomicTextFile(out) as f:
        f.write(page)
    return out
