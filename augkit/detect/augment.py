"""`augkit generate --task det`: augmented whole pages whose polygons move exactly with the pixels.

Input: page annotations in any format `augkit crop` reads (PaddleOCR det labels, ICDAR 2015,
SROIE), parsed by the same code. Every page gets N strong + M weak variants by the same recipes,
seeds and streams as `generate` (a page's variant v draws what a crop on the same line would),
written as JPEGs with PaddleOCR det labels in generate's layout (images_NNNNN/, train.txt and
val.txt split by page, rejects.tsv, augkit_run.json, manifests), resumable and independent of
workers and backend (the same runner).

Rules, each recorded:
- Relative lengths (blur, pixelate cell, glare kernel) are fractions of the page's *text*
  height, the median height of its regions, not of the page: a blur meant for a 48-pixel line
  stays that strong on a 2,000-pixel scan. The warp bends the page as it bends a crop (its
  shift is a fraction of the image it bends).
- Points move by the stages' own formulas (augkit.detect.geometry): the canvas grows, so no
  point leaves it; photometric stages leave points alone; glare sections lie on the page.
- A recipe step that cannot move points (an albumentations transform) is refused for pages.
- `###` regions (and regions whose text cannot be a label: empty, a tab, control characters)
  move like the others and are written as `###`, PaddleOCR's don't-care mark: their pixels are
  text, so they must be neither taught as text nor as background.
- A region whose *points* are unusable (too few, not numbers) rejects its whole page: training
  on it would teach that text as background. So does a page with no region.
- Points outside the page (annotation jitter) are clamped to it; a region wholly outside is
  dropped. A region that collapses (area under one pixel or a side under one pixel), before or
  after moving, is dropped. Each drop and clamp is in the variant's manifest record.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from augkit.codec import encode_jpeg, read_source_image, single_threaded_opencv
from augkit.config import MAX_VARIANTS, library_versions, settings_fingerprint
from augkit.crop.formats import DONT_CARE, FORMATS, Region, RegionReject
from augkit.crop.quad import signed_area
from augkit.crop.worker import CropShard, shard_pages
from augkit.detect.geometry import MOVING, STILL, move_points
from augkit.errors import SampleRejected, UserError
from augkit.recipe import VariantPlan, parse_recipe
from augkit.split import in_validation
from augkit.stages.base import VariantContext
from augkit.writer import finish_shard, image_relpath, reject_row, write_image

POINT_SAFE = MOVING + STILL


@dataclass(frozen=True)
class DetGenerateConfig:
    """Everything that decides what `augkit generate --task det` writes."""

    out: str
    format: str
    label_files: tuple[str, ...]
    images_dir: str
    label_identities: tuple[tuple[str, int, str], ...]
    recipe_strong: dict[str, Any]
    recipe_weak: dict[str, Any]
    n_strong: int = 7
    n_weak: int = 3
    seed: int = 0
    shard_size: int = 50
    max_per_folder: int = 500_000
    jpeg_quality: int = 95
    val_fraction: float = 0.0
    task: str = field(default="det", init=False)

    def __post_init__(self):
        _check(self.format in FORMATS, f"--format must be one of {', '.join(FORMATS)}")
        _check(self.n_strong >= 0 and self.n_weak >= 0 and 0 < self.n_strong + self.n_weak <= MAX_VARIANTS,
               f"--strong and --weak must be >= 0 and make 1..{MAX_VARIANTS} variants per page")
        _check(self.shard_size >= 1, "--shard-size must be at least 1")
        _check(self.max_per_folder >= 1, "--max-per-folder must be at least 1")
        _check(1 <= self.jpeg_quality <= 100, "--jpeg-quality must be within 1..100")
        _check(0.0 <= self.val_fraction < 1.0, "--val-fraction must be in [0, 1)")
        for role, data in (("strong", self.recipe_strong), ("weak", self.recipe_weak)):
            unsafe = [s.get("stage") or f"albumentations: {s.get('albumentations')}" for s in data.get("steps", [])
                      if s.get("stage") not in POINT_SAFE]
            _check(not unsafe, f"the {role} recipe's step {unsafe[0] if unsafe else ''!r} cannot move polygons; "
                               f"recipes for pages take augkit's own stages ({', '.join(POINT_SAFE)})")

    @property
    def per_page_files(self) -> bool:
        return self.format != "paddle-det"

    @property
    def n_variants(self) -> int:
        return self.n_strong + self.n_weak

    def output_settings(self) -> dict[str, Any]:
        settings = asdict(self)
        for key in ("out", "label_files", "images_dir"):
            settings.pop(key)
        settings["label_identities"] = [list(i) for i in self.label_identities]
        settings["versions"] = library_versions()
        return settings

    @cached_property
    def _fingerprint(self) -> str:
        return settings_fingerprint(self.output_settings())

    def fingerprint(self) -> str:
        return self._fingerprint


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(message)


_PLANS: dict[str, VariantPlan] = {}


def variant_plan(config: DetGenerateConfig) -> VariantPlan:
    key = config.fingerprint()
    if key not in _PLANS:
        _PLANS[key] = VariantPlan(parse_recipe(config.recipe_strong, "strong recipe"),
                                  parse_recipe(config.recipe_weak, "weak recipe"), config.n_strong, config.n_weak)
    return _PLANS[key]


def collapsed(points: np.ndarray) -> bool:
    """Whether a polygon has no area to speak of (under one pixel) or a side under one pixel."""
    sides = np.linalg.norm(points - np.roll(points, -1, axis=0), axis=1)
    return abs(signed_area(points)) < 1.0 or float(sides.min()) < 1.0


def page_regions(page, width: int, height: int) -> tuple[list[dict], list[dict], str | None]:
    """The regions to move (points as float arrays, transcription or ###), the notes on clamped or
    dropped ones, and why the page cannot be used (None when it can)."""
    regions, notes = [], []
    for region in page.regions:
        if isinstance(region, RegionReject) and region.points is None:
            return [], [], f"region {region.number}: {region.reason}" + (f" ({region.detail})" if region.detail else "")
        text = region.text if isinstance(region, Region) else DONT_CARE
        points = np.array(region.points, np.float64)
        inside = np.clip(points, [0, 0], [width - 1, height - 1])
        if (points[:, 0].max() < 0 or points[:, 1].max() < 0 or points[:, 0].min() > width - 1
                or points[:, 1].min() > height - 1):
            notes.append({"region": region.number, "status": "dropped: outside the page"})
            continue
        clamped = bool(np.abs(inside - points).max() > 0)
        if collapsed(inside):
            notes.append({"region": region.number, "status": "dropped: collapsed"})
            continue
        if clamped:
            notes.append({"region": region.number, "status": "clamped to the page"})
        regions.append({"number": region.number, "text": text, "points": inside,
                        "dont_care": text == DONT_CARE})
    if not regions:
        return [], notes, "no usable region on the page"
    return regions, notes, None


def text_height(regions: list[dict]) -> int:
    """The median height of the page's regions (their shorter side): what relative lengths are of."""
    heights = []
    for r in regions:
        p = r["points"]
        sides = np.linalg.norm(p - np.roll(p, -1, axis=0), axis=1)
        heights.append(float(min(sides[1::2].mean() if len(p) == 4 else sides.min(), sides.max())))
    return max(1, int(round(float(np.median(heights)))))


def det_shard(config: DetGenerateConfig, shard: CropShard) -> dict:
    with single_threaded_opencv():
        return _det_shard(config, shard)


def _det_shard(config: DetGenerateConfig, shard: CropShard) -> dict:
    started = time.perf_counter()
    plan = variant_plan(config)
    out = Path(config.out)
    timing = {"read": 0.0, "augment": 0.0, "encode": 0.0, "write": 0.0}
    labels, rejects, manifest = [], [], []
    counts = {"lines": shard.n_lines, "sources": 0, "images": 0, "rejects": 0, "val_sources": 0, "excused": 0}
    made_folders: set[str] = set()
    for number, page in shard_pages(config, shard):
        if isinstance(page, RegionReject):
            rejects.append(reject_row(number, page.where, page.reason, page.detail))
            continue
        t0 = time.perf_counter()
        try:
            image = read_source_image(config.images_dir, page.image)
        except SampleRejected as exc:
            rejects.append(reject_row(number, page.image, exc.reason, exc.detail))
            continue
        timing["read"] += time.perf_counter() - t0
        h, w = image.shape[:2]
        regions, notes, problem = page_regions(page, w, h)
        if problem:
            rejects.append(reject_row(number, page.where, "unusable page", problem))
            continue
        for region in page.regions:   # kept as don't-care: listed, not counted against --max-error-rate
            if isinstance(region, RegionReject) and region.points is not None and not region.excused:
                rejects.append(reject_row(number, region.where, region.reason, "kept as ### (don't care)"))
                counts["rejects"] += 1
                counts["excused"] += 1
        lines = _write_variants(config, plan, number, page.image, image, regions, notes, out, made_folders,
                                manifest, timing)
        split = "v" if in_validation(config.seed, f"page:{page.image}", config.val_fraction) else "t"
        counts["sources"] += 1
        counts["val_sources"] += split == "v"
        counts["images"] += len(lines)
        labels.extend(f"{split}\t{line}" for line in lines)
    return finish_shard(out, shard.index, shard.start_line, config.fingerprint(), labels, rejects, manifest, counts,
                        timing, started)


@dataclass
class PageVariant:
    """One augmented page: its image, its moved regions as det annotations, and how it was made."""

    variant: int
    recipe: str
    image: np.ndarray
    annotations: list[dict]
    applied: list[dict]
    notes: list[dict]
    bend: float
    text_height: int


def augment_page(plan: VariantPlan, seed: int, number: int, image: np.ndarray, regions: list[dict],
                 notes: list[dict]):
    """Every variant of one page (page number `number` of the run), one at a time."""
    polygons = [r["points"] for r in regions]
    height = text_height(regions)
    for recipe, ctx in plan:
        variant, applied = recipe.apply(image, seed, number, VariantContext(ctx.variant, ctx.index, height))
        moved, bend = move_points(polygons, (image.shape[1], image.shape[0]), applied)
        annotations, variant_notes = [], list(notes)
        for region, points in zip(regions, moved):
            if collapsed(points):
                variant_notes.append({"region": region["number"], "status": "dropped: collapsed after moving"})
                continue
            annotations.append({"transcription": region["text"], "points": np.round(points, 2).tolist()})
        yield PageVariant(ctx.variant, recipe.name, variant, annotations, applied, variant_notes, bend, height)


def _write_variants(config, plan, number, source, image, regions, notes, out, made_folders, manifest, timing):
    lines = []
    t0 = time.perf_counter()
    for v in augment_page(plan, config.seed, number, image, regions, notes):
        t1 = time.perf_counter()
        data = encode_jpeg(v.image, config.jpeg_quality)
        t2 = time.perf_counter()
        rel = image_relpath(number, v.variant, config.n_variants, config.max_per_folder)
        write_image(out, rel, data, made_folders)
        timing["augment"] += t1 - t0
        timing["encode"] += t2 - t1
        timing["write"] += time.perf_counter() - t2
        manifest.append(json.dumps({"image": rel, "line": number, "source": source, "variant": v.variant,
                                    "recipe": v.recipe, "size": [v.image.shape[1], v.image.shape[0]],
                                    "text_height": v.text_height, "steps": v.applied, "edge_bend_px": round(v.bend, 4),
                                    "regions": len(v.annotations), "notes": v.notes},
                                   ensure_ascii=False, separators=(",", ":"), default=_json_default))
        lines.append(f"{rel}\t{json.dumps(v.annotations, ensure_ascii=False)}")
        t0 = time.perf_counter()
    return lines


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value).__name__)


# ---------------------------------------------------------------- the run

def make_det_config(fmt: str, labels: list[str | Path], images: str | Path, out: str | Path,
                    recipe_strong: dict, recipe_weak: dict, **options: Any) -> tuple[DetGenerateConfig, list[CropShard], int]:
    """Resolve the inputs into a validated config, its shards and the number of pages."""
    from augkit.crop.config import file_identity, find_label_files
    from augkit.crop.run import plan_pages

    files = find_label_files(fmt, labels)
    images_dir = Path(images)
    if not images_dir.is_dir():
        raise UserError(f"--data-dir {images_dir} is not a folder; pass the folder the page images are in")
    shards, _, _ = plan_pages(fmt, files, images_dir, options.get("shard_size", 50))
    identities = tuple(file_identity(f, whole=fmt != "paddle-det") for f in files)
    config = DetGenerateConfig(out=str(Path(out).resolve()), format=fmt, label_files=tuple(str(f) for f in files),
                               images_dir=str(images_dir.resolve()), label_identities=identities,
                               recipe_strong=recipe_strong, recipe_weak=recipe_weak, **options)
    return config, shards, sum(s.n_lines for s in shards)


def generate_det(config: DetGenerateConfig, shards: list[CropShard], pages: int, workers: int = 1,
                 backend: str = "loky", address: str | None = None, max_error_rate: float = 0.01,
                 progress: bool = True) -> dict[str, Any]:
    """Run (or resume) page augmentation; returns the run summary written to augkit_run.json."""
    from augkit.runner import RUN_MANIFEST, check_execution, finished_run, run_shards, summary_core
    from augkit.writer import atomic_write_json

    check_execution(workers, max_error_rate)
    started = time.perf_counter()
    finished = finished_run(config)
    if finished is not None:
        return finished
    run = run_shards(config, shards, det_shard, units_per_line=config.n_variants, unit="img",
                     images_per_line=config.n_variants, bytes_per_image=lambda: 150_000, usable_lines=pages,
                     workers=workers, backend=backend, address=address, max_error_rate=max_error_rate,
                     progress=progress, desc="generate det")
    core = summary_core(config, run, time.perf_counter() - started, workers, backend, max_error_rate)
    core["counts"]["pages"] = core["counts"].pop("lines")
    summary = {**core, "inputs": {"task": "det", "format": config.format, "labels": list(config.label_files),
                                  "images": config.images_dir, "out": config.out},
               "recipes": {"strong": config.recipe_strong, "weak": config.recipe_weak},
               "layout": {"images": "images_NNNNN/PPPPPPPPPP_VV.jpg (P: page, V: variant)",
                          "labels": "train.txt / val.txt: PaddleOCR det labels, path<TAB>[{transcription, points}]",
                          "manifest": "shards/shard_NNNNNN.jsonl.gz: per image, its page, variant, recipe, steps "
                                      "with parameters, text height, edge bend and the regions clamped or dropped"}}
    atomic_write_json(Path(config.out) / RUN_MANIFEST, summary)
    return summary
