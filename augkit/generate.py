"""`augkit generate`: read sources, plan shards, augment and write them, distribute, merge.

This module wires the steps together and owns progress and logging; each step lives in
its own module (reader, plan, worker, writer, distribute, merge, preflight).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from augkit.codec import encode_jpeg, read_source_image
from augkit.config import GenerateConfig, label_file_identity, library_versions
from augkit.distribute import distribute
from augkit.errors import RunFailed, SampleRejected, UserError
from augkit.merge import merge_labels, merge_rejects
from augkit.plan import Shard, plan_shards
from augkit.preflight import check_capacity, check_output_root, claim_output_root
from augkit.reader import Source, check_encoding, read_sources
from augkit.recipe import load_recipe_data
from augkit.worker import variant_plan, run_shard
from augkit.writer import atomic_write_json, read_done, remove_stray_temporaries

log = logging.getLogger("augkit")
RUN_MANIFEST = "augkit_run.json"
DEFAULT_BYTES_PER_IMAGE = 30_000


def make_config(label_file: Path, data_root: Path, out: Path, recipe_strong: str = "strong", recipe_weak: str = "weak",
                charset: frozenset[str] | None = None, **options: Any) -> GenerateConfig:
    """Resolve user inputs (paths, recipe names or files, dictionary) into a GenerateConfig."""
    label_file = Path(label_file)
    if not label_file.is_file():
        raise UserError(f"label file {label_file} does not exist; pass --input a PaddleOCR label file (path<TAB>label)")
    if not Path(data_root).is_dir():
        raise UserError(f"data dir {data_root} is not a folder; pass --data-dir the folder image paths are relative to")
    strong, _ = load_recipe_data(recipe_strong)
    weak, _ = load_recipe_data(recipe_weak)
    return GenerateConfig(label_file=str(label_file.resolve()), data_root=str(Path(data_root).resolve()),
                          out=str(Path(out).resolve()), recipe_strong=strong, recipe_weak=weak,
                          charset=tuple(sorted(charset)) if charset is not None else None,
                          label_file_identity=label_file_identity(label_file), **options)


def generate(config: GenerateConfig, workers: int = 1, backend: str = "loky", address: str | None = None,
             max_error_rate: float = 0.01, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) generation; returns the run summary written to augkit_run.json."""
    if not 0.0 <= max_error_rate <= 1.0:
        raise UserError("--max-error-rate must be in [0, 1]")
    if workers < 1:
        raise UserError("--workers must be at least 1")
    started = time.perf_counter()
    out = Path(config.out)
    check_encoding(config.label_file)
    resuming = check_output_root(config)
    if resuming:
        finished = _finished_run(out, config)
        if finished is not None:
            log.debug("nothing to do: %s already holds this finished run (%d images, %d rejects)",
                     out, finished["counts"]["images"], finished["counts"]["rejects"])
            return {**finished, "already_complete": True}

    shards, usable_lines = plan_shards(config.label_file, config.shard_size)
    done = {s.index: d for s in shards if (d := read_done(out, s.index)) and d.get("fingerprint") == config.fingerprint()}
    todo = [s for s in shards if s.index not in done]
    planned = sum(s.n_lines for s in todo) * config.n_variants
    check_capacity(out, planned, _bytes_per_image(config), len(todo))
    claim_output_root(config)
    removed = remove_stray_temporaries(out)
    if done:
        log.info("resuming: %d of %d shards already done%s", len(done), len(shards),
                 f", {removed} temporary file(s) of the interrupted run removed" if removed else "")

    rejects = sum(d["rejects"] for d in done.values())
    images = sum(d["images"] for d in done.values())
    reject_budget = max_error_rate * usable_lines
    bar = _progress_bar(planned, progress)
    try:
        for result in distribute(run_shard, config, todo, backend, workers, address):
            done[result["shard"]] = result
            rejects += result["rejects"]
            images += result["images"]
            bar.update(result["lines"] * config.n_variants)
            bar.set_postfix(images=images, rejects=rejects, refresh=False)
            if rejects > reject_budget:
                # Stop early: the final rate can only be higher. Leave the rejects found so far.
                merge_rejects(out, [s for s in shards if s.index in done])
                raise RunFailed(_too_many_rejects(rejects, usable_lines, max_error_rate, out,
                                                  partial=len(done) < len(shards)))
    finally:
        bar.close()

    n_rejects = merge_rejects(out, shards)
    if n_rejects > reject_budget:
        raise RunFailed(_too_many_rejects(n_rejects, usable_lines, max_error_rate, out, partial=False))
    label_counts = merge_labels(out, shards, with_val=config.val_fraction > 0)
    summary = _summary(config, shards, done, label_counts, n_rejects, time.perf_counter() - started,
                       workers, backend, max_error_rate)
    atomic_write_json(out / RUN_MANIFEST, summary)
    return summary


def _finished_run(out: Path, config: GenerateConfig) -> dict | None:
    try:
        summary = json.loads((out / RUN_MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return summary if summary.get("fingerprint") == config.fingerprint() and summary.get("status") == "complete" else None


def _too_many_rejects(n: int, lines: int, rate: float, out: Path, partial: bool) -> str:
    so_far = " so far" if partial else ""
    return (f"{n:,} of {lines:,} lines rejected{so_far} ({n / max(lines, 1):.1%}), above --max-error-rate {rate:g}; "
            f"see {out}/rejects.tsv, fix the input or raise --max-error-rate, then run the same command again "
            "to resume")


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


def _progress_bar(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="img", unit_scale=True, dynamic_ncols=True, disable=not enabled or total == 0,
                file=sys.stderr, desc="generate", smoothing=0.1)


def _summary(config: GenerateConfig, shards: list[Shard], done: dict, label_counts: dict, n_rejects: int,
             wall: float, workers: int, backend: str, max_error_rate: float) -> dict[str, Any]:
    timing = {}
    for d in done.values():
        for k, v in d["timing"].items():
            timing[k] = timing.get(k, 0.0) + v
    images = sum(d["images"] for d in done.values())
    return {
        "status": "complete",
        "fingerprint": config.fingerprint(),
        "seed": config.seed,
        "versions": library_versions(),
        "inputs": {"label_file": config.label_file, "data_root": config.data_root, "out": config.out},
        "config": config.output_settings(),
        "recipes": {"strong": variant_plan(config).strong.describe(), "weak": variant_plan(config).weak.describe()},
        "counts": {"lines": sum(s.n_lines for s in shards), "sources": sum(d["sources"] for d in done.values()),
                   "val_sources": sum(d["val_sources"] for d in done.values()), "images": images,
                   "rejects": n_rejects, "shards": len(shards), **label_counts},
        "timings": {"wall_seconds_this_invocation": round(wall, 3),
                    "shard_seconds": round(sum(d["seconds"] for d in done.values()), 3),
                    **{f"{k}_seconds": round(v, 3) for k, v in sorted(timing.items())}},
        "execution": {"workers": workers, "backend": backend, "max_error_rate": max_error_rate},
        "layout": {"images": "images_NNNNN/LLLLLLLLLL_VV.jpg (L: label-file line, V: variant)",
                   "manifest": "shards/shard_NNNNNN.jsonl.gz: per image, its source line and stage parameters"},
    }
