"""`augkit synth`: plan items into shards, render and write them, distribute, merge.

This module wires the steps together and writes the run manifest. Everything after planning
is generate's machinery (augkit.runner: preflight, resume, progress, reject budget, merge;
augkit.writer: layout, atomic parts, done-markers), so a synth output root has generate's
layout and is resumed the same way.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from augkit.errors import SampleRejected
from augkit.mrz import LAYOUTS
from augkit.plan import plan_items, plan_shards
from augkit.reader import check_encoding
from augkit.runner import RUN_MANIFEST, ShardRun, check_execution, finished_run, run_shards, summary_core
from augkit.seeding import item_rng
from augkit.synth.config import SynthConfig
from augkit.synth.worker import render_item, synth_shard
from augkit.synth.content import make_item
from augkit.writer import atomic_write_json

DEFAULT_BYTES_PER_IMAGE = 8_000


def synth(config: SynthConfig, workers: int = 1, backend: str = "loky", address: str | None = None,
          max_error_rate: float = 0.01, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) synthesis; returns the run summary written to augkit_run.json."""
    check_execution(workers, max_error_rate)
    started = time.perf_counter()
    if config.kind == "text":
        check_encoding(config.corpus)
    finished = finished_run(config)
    if finished is not None:
        return finished
    if config.kind == "text":
        shards, usable = plan_shards(config.corpus, config.shard_size)
    else:
        shards, usable = plan_items(config.count, config.shard_size), config.count
    run = run_shards(config, shards, synth_shard, units_per_line=1, unit="item",
                     images_per_line=_images_per_item(config), bytes_per_image=lambda: _bytes_per_image(config),
                     usable_lines=usable, workers=workers, backend=backend, address=address,
                     max_error_rate=max_error_rate, progress=progress, desc=f"synth {config.kind}")
    summary = _summary(config, run, time.perf_counter() - started, workers, backend, max_error_rate)
    atomic_write_json(Path(config.out) / RUN_MANIFEST, summary)
    return summary


def _images_per_item(config: SynthConfig) -> float:
    if config.kind == "page":
        return 30.0 if config.rec_crops else 1.0   # a page and about 29 lines
    if config.kind == "mrz":
        return max(LAYOUTS[layout][0] for layout in config.mrz_layouts)
    return config.crops_per_item


def _bytes_per_image(config: SynthConfig, samples: int = 4) -> float:
    """Mean JPEG size of the first few items' crops (for the disk check)."""
    if config.kind == "text":
        return DEFAULT_BYTES_PER_IMAGE
    if config.kind == "page":
        from augkit.synth.worker import page_images

        images = page_images(config, 1, {"render": 0.0, "encode": 0.0})
        return sum(len(x[-1]) for x in images) / len(images)
    sizes = []
    for number in range(1, min(samples, config.count) + 1):
        lines, _ = make_item(config.kind, item_rng(config.seed, number, 0), config.mrz_layouts, config.romanised)
        try:
            sizes.extend(len(crop[-1]) for crop in render_item(config, number, lines, {"render": 0.0, "encode": 0.0}))
        except SampleRejected:
            continue
    return sum(sizes) / len(sizes) if sizes else DEFAULT_BYTES_PER_IMAGE


def _summary(config: SynthConfig, run: ShardRun, wall: float, workers: int, backend: str,
             max_error_rate: float) -> dict[str, Any]:
    core = summary_core(config, run, wall, workers, backend, max_error_rate)
    core["counts"]["items"] = core["counts"]["sources"]
    return {
        **core,
        "inputs": {"kind": config.kind, "corpus": config.corpus, "out": config.out,
                   "fonts": {f.name: f.path for f in config.fonts}},
        "layout": {"images": "images_NNNNN/IIIIIIIIII_CC.jpg (I: item, or corpus line for --kind text; C: crop "
                             "of the item: MRZ line, romanised line, or rendering)",
                   "manifest": "shards/shard_NNNNNN.jsonl.gz: per image, its item, label, font, style "
                               "parameters and the content record that made it"},
    }
