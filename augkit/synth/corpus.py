"""Reading texts for `augkit synth --kind text`: a UTF-8 corpus, one text per line, streamed.

The corpus is planned into shards of lines exactly as `augkit generate` plans a label file
(augkit.plan.plan_shards), so each item is a corpus line, named by its line number, and a
worker reads only its own lines. Blank lines are skipped; lines that cannot be a label
(not UTF-8, a tab or control character inside) are rejected with the reason.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

from augkit.reader import Reject, decode_line, iter_lines

_HANGUL = ((0xAC00, 0xD7A3), (0x1100, 0x11FF), (0x3130, 0x318F))


@dataclass(frozen=True)
class Text:
    """One usable corpus line: its number and its text (ends stripped of spaces)."""

    line: int
    text: str


def read_texts(corpus: str | Path, start_byte: int, start_line: int, count: int) -> Iterator[Text | Reject]:
    """Texts and rejects of `count` physical lines from `start_byte` on."""
    name = Path(corpus).name
    for n, raw in iter_lines(corpus, start_byte, start_line):
        if n >= start_line + count:
            return
        text = decode_line(raw, n)
        if isinstance(text, Reject):
            yield replace(text, path=name)
            continue
        text = text.strip(" ")
        if not text.strip():
            continue
        if "\t" in text:
            yield Reject(n, name, "text contains a tab", repr(text))
            continue
        control = sorted({c for c in text if unicodedata.category(c) in ("Cc", "Cf")})
        if control:
            yield Reject(n, name, "text contains control characters", repr("".join(control)))
            continue
        yield Text(n, text)


def script_of(text: str) -> str:
    """`hangul` when the text holds Hangul, else `latin` (which sets the reference glyphs)."""
    return "hangul" if any(lo <= ord(c) <= hi for c in text for lo, hi in _HANGUL) else "latin"
