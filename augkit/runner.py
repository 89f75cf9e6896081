"""Running a planned list of shards into an output root: the part `generate` and `synth` share.

A command resolves its config and plans its shards; the runner refuses a foreign or different
output root, reports a finished run as such, skips shards whose done-marker matches the config,
checks capacity, distributes the rest with one progress bar, enforces the reject budget and
merges the label files in shard order. The command writes its own run manifest from the
result, starting from `summary_core`.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from augkit.config import RunConfig
from augkit.distribute import distribute
from augkit.errors import RunFailed, UserError
from augkit.lmdb_store import MANY_DATABASES, count_databases
from augkit.merge import count_lmdb_labels, merge_labels, merge_rejects
from augkit.plan import Shard
from augkit.preflight import check_capacity, check_output_root, claim_output_root
from augkit.writer import read_done, remove_stray_temporaries

log = logging.getLogger("augkit")
RUN_MANIFEST = "augkit_run.json"


@dataclass
class ShardRun:
    """What the runner reports back: every shard's done-marker, label-file counts, rejects."""

    shards: list[Shard]
    done: dict[int, dict]
    label_counts: dict[str, int]
    n_rejects: int


def check_execution(workers: int, max_error_rate: float) -> None:
    """Validate the settings that shape how a run executes (not what it writes)."""
    if not 0.0 <= max_error_rate <= 1.0:
        raise UserError("--max-error-rate must be in [0, 1]")
    if workers < 1:
        raise UserError("--workers must be at least 1")


def finished_run(config: RunConfig) -> dict | None:
    """Check the output root (nothing is written); the run manifest when it already holds this
    finished run, marked `already_complete`, else None."""
    if not check_output_root(config):
        return None
    out = Path(config.out)
    try:
        summary = json.loads((out / RUN_MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if summary.get("fingerprint") != config.fingerprint() or summary.get("status") != "complete":
        return None
    log.debug("nothing to do: %s already holds this finished run (%d images, %d rejects)",
              out, summary["counts"]["images"], summary["counts"]["rejects"])
    return {**summary, "already_complete": True}


def run_shards(config: RunConfig, shards: list[Shard], shard_fn: Callable[[Any, Shard], dict], *,
               units_per_line: int, unit: str, images_per_line: float, bytes_per_image: Callable[[], float],
               usable_lines: int, workers: int = 1, backend: str = "loky", address: str | None = None,
               max_error_rate: float = 0.01, progress: bool = True, desc: str = "run") -> ShardRun:
    """Run `shard_fn(config, shard)` over the shards not yet done, then merge the label files.

    The progress bar counts `units_per_line` `unit`s per shard line; capacity is checked for
    `images_per_line` images of `bytes_per_image()` bytes per line still to do. More rejects than
    `max_error_rate` of `usable_lines` fail the run (resumably), early where possible.
    """
    out = Path(config.out)
    done = {s.index: d for s in shards if (d := read_done(out, s.index)) and d.get("fingerprint") == config.fingerprint()}
    todo = [s for s in shards if s.index not in done]
    lines_todo = sum(s.n_lines for s in todo)
    check_capacity(out, int(lines_todo * images_per_line), bytes_per_image() if todo else 0.0, len(todo))
    claim_output_root(config)
    removed = remove_stray_temporaries(out)
    if done:
        log.info("resuming: %d of %d shards already done%s", len(done), len(shards),
                 f", {removed} temporary file(s) of the interrupted run removed" if removed else "")

    rejects = sum(_budgeted(d) for d in done.values())
    images = sum(d["images"] for d in done.values())
    reject_budget = max_error_rate * usable_lines
    bar = _progress_bar(lines_todo * units_per_line, progress, unit, desc)
    try:
        for result in distribute(shard_fn, config, todo, backend, workers, address):
            done[result["shard"]] = result
            rejects += _budgeted(result)
            images += result["images"]
            bar.update(result["lines"] * units_per_line)
            bar.set_postfix(images=images, rejects=rejects, refresh=False)
            if rejects > reject_budget:
                # Stop early: the final rate can only be higher. Leave the rejects found so far.
                merge_rejects(out, [s for s in shards if s.index in done])
                raise RunFailed(_too_many_rejects(rejects, usable_lines, max_error_rate, out,
                                                  partial=len(done) < len(shards)))
    finally:
        bar.close()

    n_rejects = merge_rejects(out, shards)
    # rejects.tsv's rows are the count of record; the excused ones among them do not count.
    counted = n_rejects - sum(d.get("excused", 0) for d in done.values())
    if counted > reject_budget:
        raise RunFailed(_too_many_rejects(counted, usable_lines, max_error_rate, out, partial=False))
    if getattr(config, "output_format", "files") == "lmdb":
        label_counts = count_lmdb_labels(out, shards, with_val=config.val_fraction > 0)
        databases = count_databases(out)
        if databases > MANY_DATABASES:
            log.warning("%s/lmdb holds %d databases; PaddleOCR's LMDBDataSet opens them all at once (a file "
                        "descriptor each): raise --shard-size for fewer, larger ones", out, databases)
    else:
        label_counts = merge_labels(out, shards, with_val=config.val_fraction > 0,
                                    with_rec=bool(getattr(config, "rec_crops", False)))
    return ShardRun(shards, done, label_counts, n_rejects)


def _budgeted(marker: dict) -> int:
    """The rejects of a shard that count against --max-error-rate: all but those it excuses
    (`excused`: crop's don't-care regions, deliberate marks rather than bad input), which are
    still listed in rejects.tsv."""
    return marker["rejects"] - marker.get("excused", 0)


def summary_core(config: RunConfig, run: ShardRun, wall: float, workers: int, backend: str,
                 max_error_rate: float) -> dict[str, Any]:
    """The run-manifest fields every command shares: status, fingerprint, seed, versions, settings,
    counts, timings and execution."""
    timing: dict[str, float] = {}
    for d in run.done.values():
        for k, v in d["timing"].items():
            timing[k] = timing.get(k, 0.0) + v
    settings = config.output_settings()
    total = lambda key: sum(d[key] for d in run.done.values())  # noqa: E731
    return {
        "status": "complete",
        "fingerprint": config.fingerprint(),
        "seed": config.seed,
        "versions": settings["versions"],
        "config": settings,
        "counts": {"lines": sum(s.n_lines for s in run.shards), "sources": total("sources"),
                   "val_sources": total("val_sources"), "images": total("images"), "rejects": run.n_rejects,
                   "shards": len(run.shards), **run.label_counts},
        "timings": {"wall_seconds_this_invocation": round(wall, 3),
                    "shard_seconds": round(total("seconds"), 3),
                    **{f"{k}_seconds": round(v, 3) for k, v in sorted(timing.items())}},
        "execution": {"workers": workers, "backend": backend, "max_error_rate": max_error_rate},
    }


def _too_many_rejects(n: int, lines: int, rate: float, out: Path, partial: bool) -> str:
    so_far = " so far" if partial else ""
    return (f"{n:,} of {lines:,} lines rejected{so_far} ({n / max(lines, 1):.1%}), above --max-error-rate {rate:g}; "
            f"see {out}/rejects.tsv, fix the input or raise --max-error-rate, then run the same command again "
            "to resume")


def _progress_bar(total: int, enabled: bool, unit: str, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, unit_scale=True, dynamic_ncols=True, disable=not enabled or total == 0,
                file=sys.stderr, desc=desc, smoothing=0.1)
