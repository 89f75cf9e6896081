"""report.html of `augkit eval --task det`: the figures, and the worst pages drawn with their
annotations and detections. One self-contained page (styles and images inline)."""

from __future__ import annotations

from html import escape
from pathlib import Path

import cv2
import numpy as np

from augkit.detect.protocol import FALSE, IGNORED, MATCHED, MISSED
from augkit.eval.report import CSS, _card, _table

WORST = 12
PAGE_HEIGHT = 900
# BGR. Annotations: found green, missed red, don't-care grey. Detections: right blue, false orange.
GT_COLOURS = {MATCHED: (60, 160, 40), MISSED: (40, 40, 220), IGNORED: (150, 150, 150)}
DET_COLOURS = {MATCHED: (200, 110, 20), FALSE: (0, 140, 255), IGNORED: (150, 150, 150)}

EXTRA_CSS = """
.pages{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:14px}
.pages figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px;background:#fff}
.pages img{max-width:100%;display:block}.pages figcaption{font-size:13px;margin-top:6px}
table.reads{margin-top:6px;font-size:12px}table.reads td{padding:1px 6px;font-family:ui-monospace,Menlo,Consolas,monospace}
.key span{display:inline-block;margin-right:14px}.key i{display:inline-block;width:22px;height:4px;vertical-align:middle;margin-right:5px}
"""


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def draw_page(image: np.ndarray, row: dict) -> np.ndarray:
    """The page with its annotations (thick) and detections (thin) drawn by status."""
    canvas = image.copy()
    scale = max(1, round(max(image.shape[:2]) / 800))
    for a in row["annotations"]:
        colour = GT_COLOURS.get(a["status"])
        if colour:
            pts = np.round(np.array(a["points"], np.float64)).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(canvas, [pts], True, colour, 3 * scale if a["status"] == MISSED else 2 * scale)
    for d in row["detections"]:
        colour = DET_COLOURS.get(d["status"])
        if colour:
            pts = np.array(d["points"], np.int32).reshape(-1, 1, 2)
            cv2.polylines(canvas, [pts], True, colour, scale)
    return canvas


def text_area(image: np.ndarray, row: dict, margin: int = 24) -> np.ndarray:
    """The part of the page holding its annotations and detections (scans often carry wide empty
    borders that would shrink the text in a thumbnail)."""
    points = [p for a in row["annotations"] for p in a["points"]] + [p for d in row["detections"] for p in d["points"]]
    if not points:
        return image
    xy = np.array(points, np.float64)
    h, w = image.shape[:2]
    x0, y0 = (max(0, int(v) - margin) for v in xy.min(axis=0))
    x1, y1 = (int(v) + margin for v in xy.max(axis=0))
    return image[y0:min(h, y1), x0:min(w, x1)] if x1 > x0 and y1 > y0 else image


def worst_pages(rows: list[dict], limit: int = WORST, e2e=None) -> list[dict]:
    """Lowest H-mean first (end to end when `e2e` gives a row's figures), then most missed and
    false boxes."""
    def errors(r):
        return sum(a["status"] == MISSED for a in r["annotations"]) + sum(d["status"] == FALSE for d in r["detections"])
    return sorted(rows, key=lambda r: (e2e(r)["hmean"] if e2e else r["hmean"], -errors(r), r["id"]))[:limit]


def _readings(row: dict, normalise) -> str:
    """The page's misread and missed lines: annotated text beside what was read."""
    items = []
    for gi, dj, _ in row["pairs"]:
        truth, reading = row["annotations"][gi]["text"], row["detections"][dj].get("text", "")
        if normalise(truth) != normalise(reading):
            items.append(f"<tr><td class='l'>{escape(truth)}</td><td class='l'>{escape(reading) or '<i>nothing</i>'}</td></tr>")
    for a in row["annotations"]:
        if a["status"] == MISSED:
            items.append(f"<tr><td class='l'>{escape(a['text'])}</td><td class='l'><i>not detected</i></td></tr>")
    if not items:
        return ""
    return ("<table class='reads'><thead><tr><th class='l'>annotated</th><th class='l'>read</th></tr></thead>"
            f"<tbody>{''.join(items[:14])}</tbody></table>" + (f"<p class='note'>and {len(items) - 14} more</p>"
                                                              if len(items) > 14 else ""))


def _figure(row: dict, images: Path, normalise=None, e2e=None) -> str:
    from augkit.eval.examples import image_uri
    from augkit.eval.load import read_image

    missed = sum(a["status"] == MISSED for a in row["annotations"])
    false = sum(d["status"] == FALSE for d in row["detections"])
    caption = (f'<b>{escape(row["image"])}</b> H-mean {_pct(row["hmean"])}%, precision {_pct(row["precision"])}%, '
               f'recall {_pct(row["recall"])}%: {missed} missed, {false} false')
    if e2e is not None:
        f = e2e(row)
        caption += (f'; end to end H-mean {_pct(f["hmean"])}%, {f["lines_read"]} of {f["annotated"]} lines read'
                    + _readings(row, normalise))
    try:
        image = read_image(images, row["image"])
    except Exception:  # the page was readable when scored; a report must not fail on a moved file
        return f'<figure><div class="noimg">page not found</div><figcaption>{caption}</figcaption></figure>'
    uri = image_uri(text_area(draw_page(image, row), row), PAGE_HEIGHT)
    return f'<figure><img src="{uri}" alt="{escape(row["image"])}"><figcaption>{caption}</figcaption></figure>'


def render(document: dict, rows: list[dict], images: Path, n_worst: int = WORST) -> str:
    m, run, t = document["metrics"], document["run"], document["timing"]
    cards = [_card("H-mean", f"{_pct(m['hmean'])}%", f"{m['pages']} pages", "main"),
             _card("precision", f"{_pct(m['precision'])}%", f"{m['matched']:,} of {m['detected']:,} detections"),
             _card("recall", f"{_pct(m['recall'])}%", f"{m['matched']:,} of {m['annotated']:,} lines"),
             _card("speed", f"{t['pages_per_second']}", "pages per second, reading to scoring")]
    db = run["db"]
    settings = [["model", escape(run["model"])], ["backend", escape(f"{run['backend']} {run['backend_version']}, "
                                                                    f"{run['provider']} on {run['device']}")],
                ["pages", escape(f"{run['format']}: {', '.join(run['labels'])}; images in {run['images']}")],
                ["input", escape(f"limit_side_len {run['limit_side_len']} ({run['limit_type']}), sides rounded to 32")],
                ["DB", escape(", ".join(f"{k} {v}" for k, v in db.items()))],
                ["protocol", escape(f"ICDAR 2015: one-to-one at IoU > {run['iou']}; don't-care regions ignored "
                                    f"({m['dont_care_annotations']} annotated, {m['dont_care_detections']} detections on them)")]]
    timing = [[k.replace("_seconds", ""), f"{v:.1f} s"] for k, v in t.items() if k.endswith("_seconds")]
    key = ("<p class='key'>" + "".join(f"<span><i style='background:rgb{tuple(reversed(c))}'></i>{escape(n)}</span>" for n, c in
           (("line found", GT_COLOURS[MATCHED]), ("line missed", GT_COLOURS[MISSED]), ("don't care", GT_COLOURS[IGNORED]),
            ("detection right", DET_COLOURS[MATCHED]), ("detection false", DET_COLOURS[FALSE]))) + "</p>")
    e2e = normalise = None
    if document.get("task") == "page":
        from augkit.detect.page import end_to_end
        from augkit.eval.normalise import Normalisation

        z = document["end_to_end"]["normalisation"]
        norm = Normalisation(z["ignore_space"], z["ignore_case"])
        normalise = norm.apply
        e2e = lambda r: end_to_end([r], norm)  # noqa: E731
        z = document["end_to_end"]
        cards = [_card("end to end H-mean", f"{_pct(z['hmean'])}%", f"{z['lines_read']:,} of {z['annotated']:,} lines read",
                       "main"),
                 _card("read right when found", f"{_pct(z['matched_accuracy'])}%",
                       f"CER {_pct(z['matched_cer'])}% over {z['matched']:,} matched lines"),
                 _card("missed / spurious", f"{z['missed']:,} / {z['spurious']:,}", "lines not found / boxes on no line"),
                 ] + cards
        rec = run["rec"]
        settings.append(["recogniser", escape(f"{run['rec_model']} at {rec['height']} x {rec['widths']}, "
                                              f"{rec['classes']} classes; scored after {', '.join(z['normalisation']['applied'])}")])
    figures = "".join(_figure(r, images, normalise, e2e) for r in worst_pages(rows, n_worst, e2e))
    rejects = document["counts"]["rejects"]
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>augkit eval --task det</title>
<style>{CSS}{EXTRA_CSS}</style></head><body><main>
<h1>{"Pages end to end" if e2e else "Detection"}: {escape(Path(run["model"]).name)}</h1>
<div class="sub">{document["counts"]["scored"]} of {document["counts"]["pages"]} pages scored; {rejects} rejects in rejects.tsv.
augkit {escape(document["augkit_version"])}.</div>
<div class="cards">{"".join(cards)}</div>
<div class="panel"><h3>Run</h3>{_table(["", ""], settings)}</div>
<div class="panel"><h3>Timing</h3>{_table(["part", "seconds"], timing)}</div>
<h2>Worst pages</h2>{key}<div class="pages">{figures}</div>
</main></body></html>
"""


def write_report(out: Path, document: dict, rows: list[dict], images: Path) -> Path:
    from augkit.writer import AtomicTextFile

    path = Path(out) / "report.html"
    with AtomicTextFile(path) as f:
        f.write(render(document, rows, images))
    return path
