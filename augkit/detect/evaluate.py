"""`augkit eval --task det`: a DB detection model scored on annotated pages.

Pages come from any format `augkit crop` reads (PaddleOCR det labels, ICDAR 2015, SROIE), read
by the same parser, so a region is what crop would cut. Every page is decoded as PaddleOCR does
(cv2, BGR), prepared and post-processed as PaddleOCR's inference does (augkit.detect.preprocess,
.postprocess) and scored by the ICDAR 2015 protocol (.protocol).

What is not scored is recorded in rejects.tsv, never dropped: whole label lines that cannot be
read, pages whose image is missing or undecodable (their regions are not scored either), and
regions whose points are unusable (they take no part; a detection there counts as false).
Regions whose *text* is unusable (empty, a tab, control characters) keep their place as
don't-care regions and are listed too; `###` regions are don't-care by definition and are
counted in metrics.json, not listed.

Writes predictions.jsonl (one row per scored page: every detection and annotation with its
status, the matched pairs, the page's figures and timings), detections.txt (the detections as
a PaddleOCR det label file, for PPOCRLabel or a second look), rejects.tsv, metrics.json (every
figure is recomputable from predictions.jsonl: `recompute`) and report.html.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from augkit import __version__
from augkit.crop.config import find_label_files
from augkit.crop.formats import FORMATS, Page, Region, RegionReject, iter_pages
from augkit.detect.model import DetModel
from augkit.detect.postprocess import DBParams, db_boxes
from augkit.detect.preprocess import LIMIT_TYPES, det_input
from augkit.detect.protocol import IOU, PageScore, score_page, totals
from augkit.errors import SampleRejected, UserError
from augkit.reader import Reject


@dataclass(frozen=True)
class DetEvalConfig:
    model: Path
    labels: tuple[Path, ...]
    format: str
    images: Path
    out: Path
    limit_side_len: int = 960
    limit_type: str = "max"
    db: DBParams = field(default_factory=DBParams)
    iou: float = IOU
    threads: int | None = None
    limit: int | None = None      # score only the first N pages

    def __post_init__(self):
        if self.format not in FORMATS:
            raise UserError(f"--format must be one of {', '.join(FORMATS)}")
        if self.limit_type not in LIMIT_TYPES:
            raise UserError(f"--limit-type must be one of {', '.join(LIMIT_TYPES)}")
        if not 0 < self.iou < 1:
            raise UserError("--iou must lie between 0 and 1")
        if not Path(self.images).is_dir():
            raise UserError(f"--data-dir {self.images} is not a folder; pass the folder the page images are in")


def _page_image(images: Path, page: Page):
    """The page as PaddleOCR decodes it; SampleRejected (missing, undecodable) when it cannot be."""
    from augkit.crop.formats import page_path_problem
    from augkit.eval.load import read_image

    problem = page_path_problem(page.image)
    if problem:
        raise SampleRejected(problem, page.image)
    return read_image(images, page.image)


def ground_truth(page: Page, number: int, size: tuple[int, int] | None = None) -> tuple[list[dict], list[Reject]]:
    """The page's annotations as scored (points, text, don't-care) and the regions recorded as
    rejects (unusable points, or wholly outside the page of `size` (width, height): not scored;
    unusable text: scored as don't-care). A region partly outside the page is scored as given."""
    gt, rejects = [], []
    for region in page.regions:
        points = getattr(region, "points", None)
        if size is not None and points is not None and _outside(points, size):
            rejects.append(Reject(number, region.where, "region outside the page",
                                  f"{[list(p) for p in points]} on a {size[0]}x{size[1]} page; region not scored"))
            continue
        if isinstance(region, Region):
            gt.append({"points": [list(p) for p in region.points], "text": region.text, "dont_care": False})
        elif region.points is not None:
            gt.append({"points": [list(p) for p in region.points], "text": "", "dont_care": True})
            if not region.excused:
                rejects.append(Reject(number, region.where, region.reason,
                                      (region.detail + "; " if region.detail else "") + "scored as don't-care"))
        else:
            rejects.append(Reject(number, region.where, region.reason,
                                  (region.detail + "; " if region.detail else "") + "region not scored"))
    return gt, rejects


@dataclass
class Scored:
    """One page detected and scored: what `augkit eval --task det` writes a row from, and what
    the page flow reads the detections of."""

    number: int
    page: Page
    image: object
    input_shape: tuple
    gt: list[dict]
    boxes: list
    result: PageScore


def _outside(points, size: tuple[int, int]) -> bool:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return max(xs) <= 0 or max(ys) <= 0 or min(xs) >= size[0] or min(ys) >= size[1]


class PageLoop:
    """Reads every page of the labels, detects and scores it; collects rejects and timings."""

    def __init__(self, config: DetEvalConfig, progress: bool = False, what: str = "eval det"):
        self.config = config
        self.files = find_label_files(config.format, list(config.labels))
        self.model = DetModel(config.model, threads=config.threads)
        self.rejects: list[Reject] = []
        self.rejected_pages = 0
        self.seconds = {"read": 0.0, "preprocess": 0.0, "model": 0.0, "postprocess": 0.0, "score": 0.0}
        self.pages = list(iter_pages(config.format, self.files, Path(config.images)))
        if config.limit is not None:
            self.pages = self.pages[:config.limit]
        self.progress, self.what = progress, what

    def __iter__(self):
        config, model = self.config, self.model
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(total=len(self.pages), unit="page", desc=self.what)
        for number, page in self.pages:
            if bar is not None:
                bar.update(1)
            if isinstance(page, RegionReject):
                self.rejects.append(Reject(number, page.where, page.reason, page.detail))
                self.rejected_pages += 1
                continue
            t0 = time.perf_counter()
            try:
                image = _page_image(Path(config.images), page)
            except SampleRejected as exc:
                self.rejects.append(Reject(number, page.image, exc.reason, exc.detail))
                self.rejected_pages += 1
                continue
            t1 = time.perf_counter()
            x = det_input(image, config.limit_side_len, config.limit_type)
            t2 = time.perf_counter()
            model_before = model.seconds
            prob = model.probability(x)
            t3 = time.perf_counter()
            boxes = db_boxes(prob, image.shape[:2], config.db)
            t4 = time.perf_counter()
            gt, page_rejects = ground_truth(page, number, (image.shape[1], image.shape[0]))
            self.rejects.extend(page_rejects)
            result = score_page([(g["points"], g["dont_care"]) for g in gt], [list(b.points) for b in boxes],
                                config.iou)
            t5 = time.perf_counter()
            for key, value in zip(self.seconds, (t1 - t0, t2 - t1, model.seconds - model_before, t4 - t3, t5 - t4)):
                self.seconds[key] += value
            yield Scored(number, page, image, x.shape, gt, boxes, result)
        if bar is not None:
            bar.close()

    def run_info(self) -> dict:
        c = self.config
        return {**self.model.info(), "labels": [str(f) for f in c.labels], "format": c.format,
                "images": str(Path(c.images).resolve()), "limit_side_len": c.limit_side_len,
                "limit_type": c.limit_type, "db": c.db.as_dict(), "iou": c.iou}

    def counts(self, scored: int) -> dict:
        return {"pages": len(self.pages), "scored": scored, "rejected_pages": self.rejected_pages,
                "rejects": len(self.rejects)}

    def no_pages(self) -> UserError:
        reasons = sorted({r.reason for r in self.rejects})
        return UserError(f"no page could be scored ({len(self.rejects)} rejected: {', '.join(reasons) or 'no pages'})")


def evaluate_det(config: DetEvalConfig, progress: bool = False) -> dict:
    started = time.perf_counter()
    loop = PageLoop(config, progress)
    rows = [page_row(s.number, s.page, s.image.shape, s.input_shape, s.gt, s.boxes, s.result) for s in loop]
    wall = time.perf_counter() - started
    if not rows:
        raise loop.no_pages()
    document = {
        "augkit_version": __version__, "task": "det", "run": loop.run_info(), "counts": loop.counts(len(rows)),
        "metrics": totals([row_score(r) for r in rows]),
        "timing": {"wall_seconds": round(wall, 3), "pages_per_second": round(len(rows) / wall, 2) if wall else None,
                   **{f"{k}_seconds": round(v, 3) for k, v in loop.seconds.items()}},
    }
    write_outputs(Path(config.out), rows, loop.rejects, document, Path(config.images))
    return document


def page_row(number: int, page: Page, shape, input_shape, gt: list[dict], boxes, result: PageScore) -> dict:
    return {"id": number, "image": page.image, "where": page.where, "size": [int(shape[1]), int(shape[0])],
            "input": [int(input_shape[3]), int(input_shape[2])],
            "detections": [{"points": [list(p) for p in b.points], "score": b.score, "status": s}
                           for b, s in zip(boxes, result.det)],
            "annotations": [{**g, "status": s} for g, s in zip(gt, result.gt)],
            "pairs": [list(p) for p in result.pairs],
            "precision": round(result.precision, 6), "recall": round(result.recall, 6), "hmean": round(result.hmean, 6)}


def row_score(row: dict) -> PageScore:
    """A predictions.jsonl row back as the page's PageScore."""
    return PageScore(gt=[a["status"] for a in row["annotations"]], det=[d["status"] for d in row["detections"]],
                     pairs=[tuple(p) for p in row["pairs"]])


def read_predictions(report_dir: str | Path) -> list[dict]:
    path = Path(report_dir) / "predictions.jsonl"
    if not path.is_file():
        raise UserError(f"{report_dir} holds no predictions.jsonl; is it an augkit eval --task det report?")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def recompute(report_dir: str | Path) -> dict:
    """metrics.json's figures from predictions.jsonl alone."""
    return totals([row_score(r) for r in read_predictions(report_dir)])


def write_outputs(out: Path, rows: list[dict], rejects: list[Reject], document: dict, images: Path) -> None:
    from augkit.detect.report import write_report
    from augkit.worker import reject_row
    from augkit.writer import AtomicTextFile

    out.mkdir(parents=True, exist_ok=True)
    with AtomicTextFile(out / "predictions.jsonl") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with AtomicTextFile(out / "detections.txt") as f:
        for r in rows:
            boxes = [{"transcription": d.get("text", ""), "points": d["points"], "score": d["score"]}
                     for d in r["detections"]]
            f.write(f"{r['image']}\t{json.dumps(boxes, ensure_ascii=False)}\n")
    with AtomicTextFile(out / "rejects.tsv") as f:
        for r in sorted(rejects, key=lambda r: r.line):
            f.write(reject_row(r) + "\n")
    with AtomicTextFile(out / "metrics.json") as f:
        f.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    write_report(out, document, rows, images)
