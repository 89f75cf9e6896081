"""Planning: cut the label file into shards of consecutive lines by streaming it once.

A shard is a tiny picklable description (where its lines start in the file and how many
there are); workers read their own lines. Memory stays flat in the file's length.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from augkit.reader import open_labels


@dataclass(frozen=True)
class Shard:
    """Lines start_line .. start_line + n_lines - 1 of the label file, beginning at start_byte."""

    index: int
    start_byte: int
    start_line: int
    n_lines: int


def plan_shards(label_file: str | Path, shard_size: int) -> tuple[list[Shard], int]:
    """Shards of `shard_size` physical lines in file order (the last may be shorter), and the
    number of non-blank lines, from one streaming pass."""
    shards: list[Shard] = []
    start_byte = start_line = offset = line = n = nonblank = 0
    start_line = 1
    with open_labels(label_file) as f:
        for raw in f:
            line += 1
            n += 1
            offset += len(raw)
            nonblank += bool(raw.strip())
            if n == shard_size:
                shards.append(Shard(len(shards), start_byte, start_line, n))
                start_byte, start_line, n = offset, line + 1, 0
    if n:
        shards.append(Shard(len(shards), start_byte, start_line, n))
    return shards, nonblank


def plan_items(count: int, shard_size: int, start_bytes: list[int] | None = None) -> list[Shard]:
    """Shards of `shard_size` items numbered 1..count (the last may be shorter), for work that
    makes its own items (`augkit synth`); an item number plays the part of a line number.

    `start_bytes[i]`, when given, is where shard i's input begins in a file it streams from.
    """
    starts = range(1, count + 1, shard_size)
    return [Shard(i, start_bytes[i] if start_bytes else 0, first, min(shard_size, count - first + 1))
            for i, first in enumerate(starts)]
