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


# A label part's first letter says which file its line goes to: `t`/`v` train and validation;
# `r`/`s` the same for a second, recognition label set beside a detection one (synth --kind page
# --rec-crops).
SPLIT_FILES = {"t": "train.txt", "v": "val.txt", "r": "rec_train.txt", "s": "rec_val.txt"}


def merge_labels(out: Path, shards: Iterable[Shard], with_val: bool, with_rec: bool = False) -> dict[str, int]:
    """Write OUT/train.txt (and val.txt; rec_train.txt and rec_val.txt with `with_rec`); returns
    line counts per file. Without `with_val`, validation lines go to the training file."""
    names = ["train.txt"] + (["val.txt"] if with_val else []) + (["rec_train.txt"] if with_rec else []) + \
        (["rec_val.txt"] if with_rec and with_val else [])
    counts = {"train.txt": 0, "val.txt": 0, **({"rec_train.txt": 0, "rec_val.txt": 0} if with_rec else {})}
    fallback = {"val.txt": "train.txt", "rec_val.txt": "rec_train.txt"}
    with ExitStack() as stack:
        files = {name: stack.enter_context(AtomicTextFile(out / name)) for name in names}
        for shard in shards:
            with open(shard_path(out, shard.index, "labels"), encoding="utf-8") as part:
                for row in part:
                    name = SPLIT_FILES.get(row[0], "train.txt")
                    if name not in files:
                        name = fallback.get(name, "train.txt")
                    files[name].write(row[2:])
                    counts[name] += 1
    return counts


def count_lmdb_labels(out: Path, shards: Iterable[Shard], with_val: bool) -> dict[str, int]:
    """`--output-format lmdb`: the samples of OUT/lmdb/train and OUT/lmdb/val (the databases,
    committed by each shard, are the label files; no train.txt or val.txt is written)."""
    counts = {"lmdb/train": 0, "lmdb/val": 0}
    for shard in shards:
        with open(shard_path(out, shard.index, "labels"), encoding="utf-8") as part:
            for row in part:
                counts["lmdb/val" if row[0] == "v" and with_val else "lmdb/train"] += 1
    return counts
