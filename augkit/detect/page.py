"""`augkit eval --task page`: detect, cut, read, and score whole pages end to end.

Each page goes through the detector and the ICDAR 2015 matching exactly as in `--task det`
(augkit.detect.evaluate.PageLoop); every detection that counts (not on a don't-care region) is
cut out with `augkit crop`'s rectification (the same perspective warp; a box 1.5 times as high
as wide is turned to read left to right) and read by the recognition model through `augkit
eval`'s own preprocessing, runner and CTC decode (augkit.eval.Recognizer). Then:

- an annotated line is *read* when a detection matched to it reads its text exactly (after the
  normalisation chosen: NFC, optionally case and space);
- end-to-end recall = lines read / annotated lines; precision = lines read / detections
  counted; H-mean their harmonic mean (sums over all pages first);
- CER over matched lines: edit distance of reading to text, over the matched lines' characters;
- missed lines (no detection matched them) and spurious detections (matched nothing) are
  counted, and the detection figures are the same as `--task det`'s.

A detection that cannot be cut (a degenerate box) reads as empty text, marked `cut_error`.
A page holds lines of every length, so a recogniser of dynamic width reads in buckets of
PAGE_WIDTHS (unless --width is given): PaddleOCR's own pipeline widens each batch to its longest
line, and one fixed width of 320 squashes a long line past reading.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from augkit import __version__
from augkit.crop.quad import cut_region
from augkit.detect.evaluate import DetEvalConfig, PageLoop, page_row, row_score, write_outputs
from augkit.detect.protocol import FALSE, MATCHED, totals
from augkit.errors import SampleRejected
from augkit.eval.align import distance
from augkit.eval.normalise import Normalisation

PAGE_WIDTHS = (320, 640, 960, 1280)
READ_AHEAD = 512   # crops gathered (over pages) before the recogniser reads them


@dataclass(frozen=True)
class PageEvalConfig:
    det: DetEvalConfig
    rec_model: Path
    dict_file: Path | None = None
    space: bool | None = None
    rec_height: int = 48
    rec_widths: tuple[int, ...] = ()
    batch: int = 16
    backend: str = "auto"
    ignore_space: bool = False
    ignore_case: bool = False


def end_to_end(rows: list[dict], normalisation: Normalisation) -> dict:
    """The end-to-end figures of predictions.jsonl rows (each detection with its `text`)."""
    read = matched = edits = chars = missed = spurious = annotated = counted = 0
    for row in rows:
        dets = row["detections"]
        for gi, dj, _ in row["pairs"]:
            truth = normalisation.apply(row["annotations"][gi]["text"])
            reading = normalisation.apply(dets[dj].get("text", ""))
            matched += 1
            read += truth == reading
            edits += distance(truth, reading)
            chars += len(truth)
        missed += sum(a["status"] == "missed" for a in row["annotations"])
        spurious += sum(d["status"] == FALSE for d in dets)
        annotated += sum(a["status"] in (MATCHED, "missed") for a in row["annotations"])
        counted += sum(d["status"] in (MATCHED, FALSE) for d in dets)
    recall = read / annotated if annotated else 0.0
    precision = read / counted if counted else 0.0
    return {"lines_read": read, "annotated": annotated, "detected": counted, "matched": matched,
            "recall": recall, "precision": precision,
            "hmean": 0.0 if recall + precision == 0 else 2 * recall * precision / (recall + precision),
            "matched_accuracy": read / matched if matched else None,
            "matched_cer": edits / chars if chars else None, "missed": missed, "spurious": spurious,
            "normalisation": normalisation.describe()}


def evaluate_page(config: PageEvalConfig, progress: bool = False) -> dict:
    from augkit.eval.recognizer import Recognizer

    started = time.perf_counter()
    normalisation = Normalisation(config.ignore_space, config.ignore_case)
    loop = PageLoop(config.det, progress, what="eval page")
    rows: list[dict] = []
    cut_seconds = read_seconds = 0.0
    pending: list[tuple[dict, int]] = []   # (row, detection index) of crops waiting to be read
    crops: list = []

    def read_pending(rec) -> float:
        t = time.perf_counter()
        for (row, i), (text, confidence) in zip(pending, rec.read(crops) if crops else []):
            row["detections"][i].update(text=text, confidence=round(float(confidence), 6))
        pending.clear()
        crops.clear()
        return time.perf_counter() - t

    with Recognizer(config.rec_model, dict_file=config.dict_file, space=config.space, height=config.rec_height,
                    widths=config.rec_widths, batch=config.batch, backend=config.backend,
                    dynamic_widths=PAGE_WIDTHS) as rec:
        for s in loop:
            row = page_row(s.number, s.page, s.image.shape, s.input_shape, s.gt, s.boxes, s.result)
            t0 = time.perf_counter()
            for i, d in enumerate(row["detections"]):
                d["text"] = ""
                if d["status"] not in (MATCHED, FALSE):
                    continue
                try:
                    crop, cut = cut_region(s.image, tuple(map(tuple, d["points"])), None)
                except SampleRejected as exc:
                    d.update(confidence=0.0, cut_error=exc.reason)
                    continue
                d["turned"] = cut.rotated
                crops.append(crop)
                pending.append((row, i))
            cut_seconds += time.perf_counter() - t0
            rows.append(row)
            # Crops of several pages are read together, so the width buckets' batches run full
            # (a reading never depends on its neighbours: batches are always run at full size).
            if len(crops) >= READ_AHEAD:
                read_seconds += read_pending(rec)
        read_seconds += read_pending(rec)
        rec_info = rec.describe()
    wall = time.perf_counter() - started
    if not rows:
        raise loop.no_pages()
    document = {
        "augkit_version": __version__, "task": "page",
        "run": {**loop.run_info(), "rec": rec_info, "rec_model": str(config.rec_model)},
        "counts": loop.counts(len(rows)),
        "metrics": totals([row_score(r) for r in rows]),
        "end_to_end": end_to_end(rows, normalisation),
        "timing": {"wall_seconds": round(wall, 3), "pages_per_second": round(len(rows) / wall, 2) if wall else None,
                   **{f"{k}_seconds": round(v, 3) for k, v in loop.seconds.items()},
                   "cut_seconds": round(cut_seconds, 3), "recognise_seconds": round(read_seconds, 3)},
    }
    write_outputs(Path(config.det.out), rows, loop.rejects, document, Path(config.det.images))
    return document


def recompute_page(report_dir: str | Path, ignore_space: bool = False, ignore_case: bool = False) -> dict:
    """metrics.json's end-to-end figures from predictions.jsonl alone."""
    from augkit.detect.evaluate import read_predictions

    return end_to_end(read_predictions(report_dir), Normalisation(ignore_space, ignore_case))
