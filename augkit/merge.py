"""Merging: assemble the final label files and rejects from the shard parts, in source order.

Everything is streamed through temporary files and renamed into place, so the final files
appear whole or not at all, and merging again after a crash gives the same bytes.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Iterable

from augkit.plan import Shard
from augkit.writer import AtomicTextFile, shard_path

REJECTS_HEADER = "line\tpath\treason\tdetail\n"


def merge_rejects(out: Path, shards: Iterable[Shard]) -> int:
    """Write OUT/rejects.tsv; returns the number of rejected lines."""
    n = 0
    with AtomicTextFile(out / "rejects.tsv") as f:
        f.write(REJECTS_HEADER)
        for shard in shards:
            with open(shard_path(out, shard.index, "rejects.tsv"), encoding="utf-8") as part:
                for row in part:
                    f.write(row)
                    n += 1
    return n


def merge_labels(out: Path, shards: Iterable[Shard], with_val: bool) -> dict[str, int]:
    """Write OUT/train.txt (and OUT/val.txt); returns line counts per file."""
    counts = {"train.txt": 0, "val.txt": 0}
    with ExitStack() as stack:
        train = stack.enter_context(AtomicTextFile(out / "train.txt"))
        val = stack.enter_context(AtomicTextFile(out / "val.txt")) if with_val else None
        for shard in shards:
            with open(shard_path(out, shard.index, "labels"), encoding="utf-8") as part:
                for row in part:
                    split, line = row[0], row[2:]
                    if split == "v" and val is not None:
                        val.write(line)
                        counts["val.txt"] += 1
                    else:
                        train.write(line)
                        counts["train.txt"] += 1
    return counts
