"""The crop shard worker: read a shard's pages, cut their regions out, write the crops.

`crop_shard(config, shard)` is the unit of parallel work, like generate's `run_shard`: a plain
function of two small picklable values, callable directly in a test, the same under loky, Ray
and Dask, returning the shard's done-marker. A crop's bytes depend only on its page, its
region and the config, so output is independent of workers, backend and shard boundaries.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from augkit.codec import encode_jpeg, read_source_image, single_threaded_opencv
from augkit.crop.config import CropConfig
from augkit.crop.formats import Page, RegionReject, page_image_for, parse_paddle_det_line, read_box_page
from augkit.crop.quad import cut_region
from augkit.errors import SampleRejected
from augkit.plan import Shard
from augkit.reader import Reject, decode_line, iter_lines
from augkit.split import in_validation
from augkit.lmdb_store import image_sink
from augkit.writer import finish_shard, image_relpath, reject_row

_PAGE_REASONS = {"missing image": "missing page image", "undecodable image": "undecodable page image"}


@dataclass(frozen=True)
class CropShard(Shard):
    """Pages start_line .. start_line + n_lines - 1. For a paddle-det label file, they are the
    lines from `file_line` on (at `start_byte`) of annotation file `file`; for per-page formats
    page p is annotation file p - 1 (and `file`, `file_line` are unused)."""

    file: int = 0
    file_line: int = 1


def crop_shard(config: CropConfig, shard: CropShard) -> dict:
    """Cut every region of the shard's pages; write crops and parts, then the done-marker."""
    with single_threaded_opencv():
        return _crop_shard(config, shard)


def _crop_shard(config: CropConfig, shard: CropShard) -> dict:
    started = time.perf_counter()
    out = Path(config.out)
    timing = {"parse": 0.0, "read": 0.0, "cut": 0.0, "encode": 0.0, "write": 0.0}
    labels, rejects, manifest = [], [], []
    counts = {"lines": shard.n_lines, "sources": 0, "images": 0, "val_sources": 0, "excused": 0}
    images = image_sink(out, config.output_format)
    t = time.perf_counter()
    for number, page in shard_pages(config, shard):
        timing["parse"] += time.perf_counter() - t
        if isinstance(page, RegionReject):
            rejects.append(reject_row(number, page.where, page.reason, page.detail))
            t = time.perf_counter()
            continue
        regions = []
        for region in page.regions:
            if isinstance(region, RegionReject):
                rejects.append(reject_row(number, region.where, region.reason, region.detail))
                counts["excused"] += region.excused
            else:
                regions.append(region)
        if not regions:
            t = time.perf_counter()
            continue
        t0 = time.perf_counter()
        try:
            image = read_source_image(config.images_dir, page.image)
        except SampleRejected as exc:
            reason = _PAGE_REASONS.get(exc.reason, f"unreadable page image ({exc.reason})")
            rejects.extend(reject_row(number, r.where, reason, page.image) for r in regions)
            t = time.perf_counter()
            continue
        timing["read"] += time.perf_counter() - t0
        split = "v" if in_validation(config.seed, f"page:{page.image}", config.val_fraction) else "t"
        written = 0
        for region in regions:
            t0 = time.perf_counter()
            try:
                crop, cut = cut_region(image, region.points, region.text, config.height)
            except SampleRejected as exc:
                rejects.append(reject_row(number, region.where, exc.reason, exc.detail))
                continue
            t1 = time.perf_counter()
            data = encode_jpeg(crop, config.jpeg_quality)
            t2 = time.perf_counter()
            rel = image_relpath(number, region.number, config.slots, config.max_per_folder)
            images.put(rel, data)
            timing["cut"] += t1 - t0
            timing["encode"] += t2 - t1
            timing["write"] += time.perf_counter() - t2
            manifest.append(json.dumps({"image": rel, "page": number, "page_image": page.image, "where": region.where,
                                        "region": region.number, "label": region.text,
                                        "points": [list(p) for p in region.points], "quad": cut.quad,
                                        "clamped": cut.clamped, "rotated": cut.rotated,
                                        "size": [crop.shape[1], crop.shape[0]]},
                                       ensure_ascii=False, separators=(",", ":")))
            labels.append(f"{split}\t{rel}\t{region.text}")
            written += 1
        if written:
            counts["sources"] += 1
            counts["val_sources"] += split == "v"
            counts["images"] += written
        t = time.perf_counter()
    return finish_shard(out, shard.index, shard.start_line, config.fingerprint(), labels, rejects, manifest, counts,
                        timing, started, images)


def shard_pages(config: CropConfig, shard: CropShard) -> Iterator[tuple[int, Page | RegionReject]]:
    """(page number, page or whole-page reject) for every page of the shard, in order."""
    if config.per_page_files:
        images = Path(config.images_dir)
        for number in range(shard.start_line, shard.start_line + shard.n_lines):
            path = Path(config.label_files[number - 1])
            yield number, read_box_page(path, page_image_for(path, config.format, images))
        return
    path = Path(config.label_files[shard.file])
    for line, raw in iter_lines(path, shard.start_byte, shard.file_line):
        if line >= shard.file_line + shard.n_lines:
            return
        number = shard.start_line + (line - shard.file_line)
        where = f"{path.name}:{line}"
        text = decode_line(raw, line)
        if isinstance(text, Reject):
            yield number, RegionReject(0, where, text.reason, text.detail)
            continue
        if text.strip():
            yield number, parse_paddle_det_line(text, where)
