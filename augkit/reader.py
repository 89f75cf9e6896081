"""Reading sources: stream a PaddleOCR label file line by line, checking each label.

The file is never loaded whole. Each non-blank line becomes a `Source` (usable) or a
`Reject` (with its reason); line numbers are 1-based physical lines, so every output can
be traced back to the exact line that made it.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from augkit.errors import UserError

DELIMITERS = ("tab", "space")
SPACE_DETAIL = "--no-space: the model has no space class"


@dataclass(frozen=True)
class Source:
    """One usable input line."""

    line: int
    path: str
    label: str


@dataclass(frozen=True)
class Reject:
    """One input line not used, and why."""

    line: int
    path: str
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class LabelRules:
    """What a label must satisfy: a character dictionary, a maximum length, and whether it may
    hold a space (PaddleOCR silently drops over-long labels and skips unknown characters, so
    all three are checked here).

    `allow_space` mirrors PaddleOCR's `use_space_char`: True adds a space class to any
    dictionary; False leaves only the dictionary's own space line, if it has one.
    """

    charset: frozenset[str] | None = None
    max_length: int | None = None
    allow_space: bool = True

    @property
    def space_ok(self) -> bool:
        """Whether a space in a label can be learnt: allowed, or a line of the dictionary."""
        return self.allow_space or (self.charset is not None and " " in self.charset)

    def unknown(self, label: str) -> list[str]:
        """The characters of `label` outside the dictionary (the space is judged by `space_ok`)."""
        if self.charset is None:
            return []
        return sorted({c for c in label if c not in self.charset and c != " "})

    def check(self, label: str) -> tuple[str, str] | None:
        """(reason, detail) when `label` breaks a rule, else None."""
        if self.max_length is not None and len(label) > self.max_length:
            return "label too long", f"{len(label)} characters > --max-text-length {self.max_length}"
        bad = self.unknown(label)
        if bad:
            return "characters outside the dictionary", "".join(bad)
        if " " in label and not self.space_ok:
            return "label contains a space", SPACE_DETAIL
        return None


def load_dictionary(path: str | Path) -> frozenset[str]:
    """A PaddleOCR character dictionary: one character per line, UTF-8."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"dictionary {path} does not exist; pass --dict a PaddleOCR character file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read dictionary {path} ({exc.__class__.__name__}); it must be UTF-8 text") from None
    chars = [line.rstrip("\r\n") for line in text.split("\n")]
    chars = [c for c in chars if c]
    if not chars:
        raise UserError(f"dictionary {path} is empty")
    long = [c for c in chars if len(c) != 1]
    if long:
        raise UserError(f"dictionary {path} must hold one character per line; found {long[0]!r}")
    return frozenset(chars)


def open_labels(path: str | Path) -> BinaryIO:
    """Open a label file for streaming, with a clear error when it is missing or not a file."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"label file {path} does not exist; pass --input a PaddleOCR label file (path<TAB>label)")
    if not path.is_file():
        raise UserError(f"label file {path} is not a file")
    try:
        return open(path, "rb")
    except OSError as exc:
        raise UserError(f"cannot open label file {path}: {exc.strerror}") from None


def check_encoding(path: str | Path, sample_bytes: int = 1 << 20) -> None:
    """Refuse a label file whose first megabyte is not UTF-8 (a whole file in another encoding).

    A stray bad line further on is rejected on its own instead.
    """
    with open_labels(path) as f:
        head = f.read(sample_bytes)
    cut = head.rfind(b"\n") + 1 if len(head) == sample_bytes else len(head)
    try:
        head[:cut].decode("utf-8")
    except UnicodeDecodeError as exc:
        line = head[: exc.start].count(b"\n") + 1
        raise UserError(f"label file {path} is not UTF-8 (line {line}, byte 0x{head[exc.start]:02x}); "
                        "convert it, e.g. iconv -f cp949 -t utf-8") from None


def decode_line(raw: bytes, line: int) -> str | Reject:
    """One raw physical line (without its newline) as text: a BOM on line 1 and a CR before the
    newline dropped; a line that is not UTF-8 becomes a Reject naming the offending byte."""
    if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Reject(line, "", "line is not UTF-8", f"byte 0x{raw[exc.start]:02x} at column {exc.start + 1}")


def parse_line(raw: bytes, line: int, delimiter: str, rules: LabelRules | None) -> Source | Reject | None:
    """Parse one raw line (without its newline); None for a blank line."""
    text = decode_line(raw, line)
    if isinstance(text, Reject):
        return text
    if not text.strip():
        return None
    if delimiter == "tab":
        path, tab, label = text.partition("\t")
        if not tab:
            return Reject(line, text, "no tab between path and label")
        if "\t" in label:
            return Reject(line, path, "label contains a tab", repr(label))
    else:
        parts = text.strip().split(None, 1)
        path, label = parts[0], (parts[1].strip() if len(parts) > 1 else "")
    if "\r" in label:
        return Reject(line, path, "label contains a carriage return", repr(label))
    if not label or not label.strip():
        return Reject(line, path, "empty label")
    if not path:
        return Reject(line, path, "empty path")
    if os.path.isabs(path) or posixpath.isabs(path.replace("\\", "/")):
        return Reject(line, path, "absolute path", "paths must be relative to the data root")
    normal = posixpath.normpath(path.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        return Reject(line, path, "path escapes the data root")
    if rules is not None:
        broken = rules.check(label)
        if broken:
            return Reject(line, path, *broken)
    return Source(line, path, label)


def iter_lines(path: str | Path, start_byte: int = 0, start_line: int = 1) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line without newline) from `start_byte` on, streamed."""
    with open_labels(path) as f:
        f.seek(start_byte)
        for n, raw in enumerate(f, start=start_line):
            yield n, raw.rstrip(b"\n")


def read_sources(path: str | Path, delimiter: str = "tab", rules: LabelRules | None = None,
                 start_byte: int = 0, start_line: int = 1, count: int | None = None) -> Iterator[Source | Reject]:
    """Sources and rejects of `count` physical lines (all, by default) from `start_byte`."""
    if delimiter not in DELIMITERS:
        raise UserError(f"--delimiter must be one of {', '.join(DELIMITERS)}, got {delimiter!r}")
    for n, raw in iter_lines(path, start_byte, start_line):
        if count is not None and n >= start_line + count:
            return
        item = parse_line(raw, n, delimiter, rules)
        if item is not None:
            yield item
