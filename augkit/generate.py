"""`augkit generate`: read sources, plan shards, augment and write them, distribute, merge.

This module wires the steps together and writes the run manifest; each step lives in its own
module (reader, plan, worker, writer, distribute, merge, preflight), and the shard-running
part it shares with `augkit synth` (resume, progress, reject budget, merge) in runner.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from augkit.codec import encode_jpeg, read_source_image
from augkit.config import GenerateConfig, label_file_identity
from augkit.errors import SampleRejected, UserError
from augkit.plan import plan_shards
from augkit.reader import Source, check_encoding, read_sources
from augkit.recipe import load_recipe_data
from augkit.runner import RUN_MANIFEST, ShardRun, check_execution, finished_run, run_shards, summary_core
from augkit.worker import variant_plan, run_shard
from augkit.writer import atomic_write_json

DEFAULT_BYTES_PER_IMAGE = 30_000


def make_config(label_file: Path, data_root: Path, out: Path, recipe_strong: str = "strong", recipe_weak: str = "weak",
                charset: frozenset[str] | None = None, **options: Any) -> GenerateConfig:
    """Resolve user inputs (paths, recipe names or files, dictionary) into a GenerateConfig."""
    label_file = Path(label_file)
    if not label_file.is_file():
        raise UserError(f"label file {label_file} does not exist; pass --input a PaddleOCR label file (path<TAB>label)")
    if not Path(data_root).is_dir():
        raise UserError(f"data dir {data_root} is not a folder; pass --data-dir the folder image paths are relative to")
    strong, _ = load_recipe_data(recipe_strong, "strong")
    weak, _ = load_recipe_data(recipe_weak, "weak")
    return GenerateConfig(label_file=str(label_file.resolve()), data_root=str(Path(data_root).resolve()),
                          out=str(Path(out).resolve()), recipe_strong=strong, recipe_weak=weak,
                          charset=tuple(sorted(charset)) if charset is not None else None,
                          label_file_identity=label_file_identity(label_file), **options)


def generate(config: GenerateConfig, workers: int = 1, backend: str = "loky", address: str | None = None,
             max_error_rate: float = 0.01, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) generation; returns the run summary written to augkit_run.json."""
    check_execution(workers, max_error_rate)
    started = time.perf_counter()
    check_encoding(config.label_file)
    finished = finished_run(config)
    if finished is not None:
        return finished
    shards, usable_lines = plan_shards(config.label_file, config.shard_size)
    per_line = config.n_variants + config.keep_source
    run = run_shards(config, shards, run_shard, units_per_line=per_line, unit="img",
                     images_per_line=per_line, bytes_per_image=lambda: _bytes_per_image(config),
                     usable_lines=usable_lines, workers=workers, backend=backend, address=address,
                     max_error_rate=max_error_rate, progress=progress, desc="generate")
    summary = _summary(config, run, time.perf_counter() - started, workers, backend, max_error_rate)
    atomic_write_json(Path(config.out) / RUN_MANIFEST, summary)
    return summary


def _bytes_per_image(config: GenerateConfig, samples: int = 6) -> float:
    """Mean JPEG size of one variant of the first few decodable sources (for the disk check)."""
    plan = variant_plan(config)
    recipe, ctx = next(iter(plan))
    sizes = []
    for item in read_sources(config.label_file, config.delimiter, config.rules(), count=200):
        if isinstance(item, Source):
            try:
                image = read_source_image(config.data_root, item.path)
            except SampleRejected:
                continue
            sizes.append(len(encode_jpeg(recipe.apply(image, config.seed, item.line, ctx)[0], config.jpeg_quality)))
            if len(sizes) >= samples:
                break
    return sum(sizes) / len(sizes) if sizes else DEFAULT_BYTES_PER_IMAGE


def _summary(config: GenerateConfig, run: ShardRun, wall: float, workers: int, backend: str,
             max_error_rate: float) -> dict[str, Any]:
    plan = variant_plan(config)
    return {
        **summary_core(config, run, wall, workers, backend, max_error_rate),
        "inputs": {"label_file": config.label_file, "data_root": config.data_root, "out": config.out},
        "recipes": {"strong": plan.strong.describe(), "weak": plan.weak.describe()},
        "layout": {"images": "images_NNNNN/LLLLLLLLLL_VV.jpg (L: label-file line, V: variant; 00 the source "
                             "itself with --keep-source)",
                   "manifest": "shards/shard_NNNNNN.jsonl.gz: per image, its source line and stage parameters"},
    }
