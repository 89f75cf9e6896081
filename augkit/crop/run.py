"""`augkit crop`: plan pages into shards, cut and write their crops, distribute, merge.

Planning reads the annotations once (cheap next to decoding pages) to count each page's
regions: the most regions on one page sets the width of a page's slot in the image names
(`images_NNNNN/<page>_<region>.jpg`), and the region count is what `--max-error-rate` is a
fraction of. Everything after planning is generate's machinery (augkit.runner), so a crop
output root has generate's layout and is resumed the same way.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from augkit.crop.config import CropConfig, file_identity, find_label_files
from augkit.crop.formats import Page, page_image_for, parse_paddle_det_line, read_box_page
from augkit.crop.worker import CropShard, crop_shard
from augkit.errors import UserError
from augkit.plan import plan_items
from augkit.reader import Reject, decode_line, iter_lines
from augkit.runner import RUN_MANIFEST, ShardRun, check_execution, finished_run, run_shards, summary_core
from augkit.writer import atomic_write_json

BYTES_PER_CROP = 6_000


def make_crop_config(fmt: str, labels: list[str | Path], images: str | Path, out: str | Path,
                     **options: Any) -> tuple[CropConfig, list[CropShard], int]:
    """Resolve the inputs into a validated CropConfig, its shards and the number of regions."""
    files = find_label_files(fmt, labels)
    images_dir = Path(images)
    if not images_dir.is_dir():
        raise UserError(f"--images {images_dir} is not a folder; pass the folder the page images are in")
    shard_size = options.get("shard_size", 50)
    if shard_size < 1:
        raise UserError("--shard-size must be at least 1")
    shards, slots, regions = plan_pages(fmt, files, images_dir, shard_size)
    identities = tuple(file_identity(f, whole=fmt != "paddle-det") for f in files)
    config = CropConfig(out=str(Path(out).resolve()), format=fmt, label_files=tuple(str(f) for f in files),
                        images_dir=str(images_dir.resolve()), label_identities=identities, slots=max(1, slots),
                        **options)
    return config, shards, regions


def plan_pages(fmt: str, files: list[Path], images: Path, shard_size: int) -> tuple[list[CropShard], int, int]:
    """Shards of the pages in `files`, the most regions on one page, and the number of regions
    (whole-line rejects count as one)."""
    if fmt == "paddle-det":
        return _plan_paddle_det(files, shard_size)
    return _plan_box_pages(fmt, files, images, shard_size)


def _plan_box_pages(fmt: str, files: list[Path], images: Path, shard_size: int) -> tuple[list[CropShard], int, int]:
    slots = regions = 0
    for path in files:
        page = read_box_page(path, page_image_for(path, fmt, images))
        regions += len(page.regions)
        slots = max([slots] + [r.number for r in page.regions])
    shards = [CropShard(s.index, s.start_byte, s.start_line, s.n_lines) for s in plan_items(len(files), shard_size)]
    return shards, slots, regions


def _plan_paddle_det(files: list[Path], shard_size: int) -> tuple[list[CropShard], int, int]:
    shards: list[CropShard] = []
    slots = regions = 0
    page_base = 0
    for index, path in enumerate(files):
        offset = start_byte = n = 0
        start_line = 1
        last = 0
        for line, raw in iter_lines(path):
            last = line
            if n == 0:
                start_byte, start_line = offset, line
            offset += len(raw) + 1
            n += 1
            text = decode_line(raw, line)
            if not isinstance(text, Reject) and text.strip():
                page = parse_paddle_det_line(text, "")
                count = len(page.regions) if isinstance(page, Page) else 1
                regions += count
                slots = max(slots, count)
            elif isinstance(text, Reject):
                regions += 1
            if n == shard_size:
                shards.append(CropShard(len(shards), start_byte, page_base + start_line, n, file=index,
                                        file_line=start_line))
                n = 0
        if n:
            shards.append(CropShard(len(shards), start_byte, page_base + start_line, n, file=index,
                                    file_line=start_line))
        page_base += last
    return shards, slots, regions


def crop(config: CropConfig, shards: list[CropShard], regions: int, workers: int = 1, backend: str = "loky",
         address: str | None = None, max_error_rate: float = 0.01, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) a crop run; returns the run summary written to augkit_run.json."""
    check_execution(workers, max_error_rate)
    started = time.perf_counter()
    finished = finished_run(config)
    if finished is not None:
        return finished
    run = run_shards(config, shards, crop_shard, units_per_line=1, unit="page",
                     images_per_line=regions / max(1, sum(s.n_lines for s in shards)),
                     bytes_per_image=lambda: BYTES_PER_CROP, usable_lines=regions, workers=workers,
                     backend=backend, address=address, max_error_rate=max_error_rate, progress=progress,
                     desc=f"crop {config.format}")
    summary = _summary(config, run, time.perf_counter() - started, workers, backend, max_error_rate, regions)
    atomic_write_json(Path(config.out) / RUN_MANIFEST, summary)
    return summary


def _summary(config: CropConfig, run: ShardRun, wall: float, workers: int, backend: str, max_error_rate: float,
             regions: int) -> dict[str, Any]:
    core = summary_core(config, run, wall, workers, backend, max_error_rate)
    core["counts"]["pages"] = core["counts"].pop("lines")
    core["counts"]["pages_with_crops"] = core["counts"]["sources"]
    core["counts"]["regions"] = regions
    core["counts"]["dont_care"] = sum(d.get("excused", 0) for d in run.done.values())
    return {
        **core,
        "inputs": {"format": config.format, "labels": list(config.label_files), "images": config.images_dir,
                   "out": config.out},
        "layout": {"images": "images_NNNNN/PPPPPPPPPP_RR.jpg (P: page in the order the annotation files were "
                             "given; R: region of the page, the label line for icdar2015/sroie, the annotation's "
                             "position for paddle-det)",
                   "manifest": "shards/shard_NNNNNN.jsonl.gz: per crop, its page image, annotation line, label, "
                               "the points given, the quad used, whether it was clamped or turned, its size"},
    }
