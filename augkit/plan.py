"""Planning: cut the label file into shards of consecutive lines by streaming it once.

A shard is a tiny picklable description (where its lines start in the file and how many
there are); workers read their own lines. Memory stays flat in the file's length.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from augkit.reader import open_labels


@dataclass(frozen=True)
class Shard:
    """Lines start_line .. start_line + n_lines - 1 of the label file, beginning at start_byte."""

    index: int
    start_byte: int
    start_line: int
    n_lines: int


def iter_shards(label_file: str | Path, shard_size: int) -> Iterator[Shard]:
    """Shards of `shard_size` physical lines, in file order (the last may be shorter)."""
    index, start_byte, start_line, n, offset, line = 0, 0, 1, 0, 0, 0
    with open_labels(label_file) as f:
        for raw in f:
            line += 1
            n += 1
            offset += len(raw)
            if n == shard_size:
                yield Shard(index, start_byte, start_line, n)
                index, start_byte, start_line, n = index + 1, offset, line + 1, 0
    if n:
        yield Shard(index, start_byte, start_line, n)


def count_lines(label_file: str | Path) -> tuple[int, int]:
    """(physical lines, non-blank lines) of a label file, streamed in blocks."""
    total = blank = 0
    with open_labels(label_file) as f:
        for raw in f:
            total += 1
            if not raw.strip():
                blank += 1
    return total, total - blank
