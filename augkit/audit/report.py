"""The audit's report.html: one self-contained page (styles and thumbnails inline), from audit.json alone."""

from __future__ import annotations

from html import escape
from pathlib import Path

from augkit.eval.report import CSS

EXTRA_CSS = """
td.acc{font-variant-numeric:tabular-nums}td.pass{color:var(--good)}td.fail{color:var(--bad);font-weight:700}
td.nj{color:#b0bec5}.pair img{display:block;max-width:100%;border:1px solid var(--line);margin:2px 0}
.txt{font:14px/1.3 ui-monospace,Menlo,Consolas,monospace}.txt .p{color:var(--bad)}
"""


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _cell(fig: dict | None, clean: float | None) -> str:
    if not fig or fig.get("accuracy") is None:
        return '<td class="nj">–</td>'
    acc = fig["accuracy"]
    drop = None if clean is None else clean - acc
    # colour by the drop from the clean crops of the same bucket
    cls = "" if drop is None else ("good" if drop <= 0.05 else "mid" if drop <= 0.2 else "bad")
    return (f'<td class="acc {cls}" title="n={fig["n"]}, CER {_pct(fig.get("cer"))}%">{_pct(acc)}'
            f'<span class="note"> ({fig["n"]})</span></td>')


def _conditions_table(doc: dict) -> str:
    buckets = doc["buckets"]
    clean = next(r for r in doc["conditions"] if r["kind"] == "clean")
    head = "".join(f"<th>{escape(b)} px</th>" for b in buckets)
    rows = []
    for row in doc["conditions"]:
        cells = "".join(_cell(row["by_height"].get(b), clean["by_height"].get(b, {}).get("accuracy")) for b in buckets)
        rows.append(f'<tr><td class="l">{escape(row["condition"])}</td>{_cell(row, clean["accuracy"])}'
                    f'<td>{_pct(row["cer"])}</td>{cells}</tr>')
    return ('<table><tr><th class="l">condition</th><th>exact %</th><th>CER %</th>' + head + "</tr>"
            + "".join(rows) + "</table>")


def _targets(doc: dict) -> str:
    """One row per target, one column per height bucket: what was read against what was needed."""
    judged = [t for t in doc["targets"] if t["status"] != "not judged"]
    failed = [t for t in judged if t["status"] == "fail"]
    buckets = doc["buckets"]
    by_target: dict[str, dict[str, dict]] = {}
    for t in doc["targets"]:
        by_target.setdefault(t["target"], {})[t["bucket"]] = t
    rows = []
    for target, cells in by_target.items():
        tds = []
        for b in buckets:
            t = cells.get(b)
            if t is None:
                tds.append('<td class="nj">–</td>')
                continue
            cls = {"pass": "pass", "fail": "fail"}.get(t["status"], "nj")
            tds.append(f'<td class="{cls}" title="needed {_pct(t["need"])}%, clean {_pct(t["clean"])}%, '
                       f'{t["n"]} crops">{_pct(t["value"])}<span class="note"> / {_pct(t["need"])}</span></td>')
        rows.append(f'<tr><td class="l">{escape(target)}</td>{"".join(tds)}</tr>')
    head = "".join(f"<th>{escape(b)} px</th>" for b in buckets)
    return (f'<p>{len(judged) - len(failed)} of {len(judged)} judged targets met'
            f'{"" if not failed else f", {len(failed)} missed (red)"}. Each cell: exact % read / % needed. Buckets '
            f'with fewer than 20 crops, or where the model reads no clean crop, are not judged (grey).</p>'
            f'<table><tr><th class="l">target</th>{head}</tr>{"".join(rows)}</table>')


def _params(doc: dict) -> str:
    if not doc["params"]:
        return "<p>No stage drew a varying parameter.</p>"
    rows = []
    for cond, parts in doc["params"].items():
        for p in parts:
            rows.append(f'<tr><td class="l">{escape(cond)}</td><td class="l">{escape(p["param"])}</td>'
                        f'<td>{p["low"]:g} – {p["high"]:g}</td><td>{p["n"]}</td><td>{_pct(p["accuracy"])}</td></tr>')
    return ('<table><tr><th class="l">condition</th><th class="l">drawn parameter</th><th>range</th><th>n</th>'
            '<th>exact %</th></tr>' + "".join(rows) + "</table>")


def _examples(doc: dict) -> str:
    blocks = []
    for row in doc["conditions"]:
        if not row["worst"]:
            continue
        items = []
        for e in row["worst"]:
            steps = "; ".join(f'{s["stage"]} ' + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                                          for k, v in s["params"].items() if k != "noise_seed")
                              for s in e["steps"])
            items.append(f'<div class="ex"><div class="pair"><img src="{e["clean_image"]}" alt="clean">'
                         f'<img src="{e["image"]}" alt="{escape(row["condition"])}"></div>'
                         f'<div class="txt">{escape(e["label"])}<br><span class="p">{escape(e["prediction"])}</span></div>'
                         f'<div class="meta"><span>line {e["line"]}</span><span class="path">{escape(e["path"])}</span>'
                         f'<span>{e["height"]} px</span><span>CER {e["cer"]:.2f}</span><span>{escape(steps)}</span>'
                         f'</div></div>')
        blocks.append(f'<h3>{escape(row["condition"])}</h3><div class="examples">{"".join(items)}</div>')
    return "".join(blocks) or "<p>No crop that the model reads clean was misread under any condition.</p>"


def render(doc: dict) -> str:
    run = doc["run"]
    clean = doc["clean"]
    stages = [r for r in doc["conditions"] if r["kind"] == "stage" and r["accuracy"] is not None]
    worst_stage = min(stages, key=lambda r: r["accuracy"]) if stages else None
    cards = [f'<div class="card main"><div class="k">clean crops</div><div class="v">{_pct(clean["accuracy"])}%</div>'
             f'<div class="d">{clean["n"]} readings, CER {_pct(clean["cer"])}%</div></div>']
    for role in ("strong", "weak"):
        vs = [r for r in doc["conditions"] if r["kind"] == "variant" and r["role"] == role]
        n = sum(r["n"] for r in vs)
        if n:
            acc = sum(r["accuracy"] * r["n"] for r in vs) / n
            cards.append(f'<div class="card"><div class="k">{role} variants</div><div class="v">{_pct(acc)}%</div>'
                         f'<div class="d">{len(vs)} variants, {n} readings</div></div>')
    if worst_stage:
        cards.append(f'<div class="card"><div class="k">hardest stage alone</div>'
                     f'<div class="v">{_pct(worst_stage["accuracy"])}%</div>'
                     f'<div class="d">{escape(worst_stage["condition"])}</div></div>')
    heights = f"resampled to {', '.join(map(str, run['heights']))} px" if run["heights"] else "at their own heights"
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>augkit audit</title>
<style>{CSS}{EXTRA_CSS}</style></head><body><main>
<h1>How readable the augmentations keep the text</h1>
<div class="sub">{escape(str(run["model"]))} reading {run["sources"]} crops of {escape(str(run["labels"]))} {heights};
recipes {escape(doc["recipes"]["strong"]["name"])} ×{run["n_strong"]} and {escape(doc["recipes"]["weak"]["name"])} ×{run["n_weak"]},
seed {run["seed"]}; scored after {escape(", ".join(run["normalisation"]["applied"]))}. augkit {escape(doc["augkit_version"])}.</div>
<nav><a href="#targets">targets</a><a href="#conditions">by condition and height</a><a href="#params">by parameter</a><a href="#worst">worst examples</a></nav>
<div class="cards">{"".join(cards)}</div>
<h2 id="targets">Targets</h2>{_targets(doc)}
<h2 id="conditions">Exact accuracy by condition and crop height</h2>
<p class="note">Percent of crops read exactly (readings in brackets); green: within 5 points of the clean crops of the same
height, orange: within 20, red: more. Hover for the CER.</p>{_conditions_table(doc)}
<h2 id="params">Stages alone, by drawn parameter</h2>{_params(doc)}
<h2 id="worst">Worst examples</h2><p class="note">Crops the model reads correctly when clean (upper image) and misreads
under the condition (lower image, with its parameters), highest CER first.</p>{_examples(doc)}
</main></body></html>
"""


def write_report(out: Path | str, document: dict) -> Path:
    from augkit.writer import AtomicTextFile

    path = Path(out) / "report.html"
    with AtomicTextFile(path) as f:
        f.write(render(document))
    return path
