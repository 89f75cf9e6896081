"""Label-file tools (`augkit labels check|stats|split`): what PaddleOCR would silently drop,
alter or mix up, found before training.

Everything streams the label file once. Duplicate detection keeps one 8-byte digest per
line (about 100 bytes of memory per line: fine for a few million lines).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augkit.lmdb_store import LmdbStore, is_lmdb_input, read_items
from augkit.reader import LabelRules, Reject, Source, check_encoding, read_sources
from augkit.split import in_validation, source_key
from augkit.errors import UserError
from augkit.writer import AtomicTextFile

EXAMPLES = 5


@dataclass
class LabelReport:
    """What `check` found in one label file."""

    lines: int = 0
    usable: int = 0
    rejects: Counter = field(default_factory=Counter)
    reject_examples: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    unknown_chars: Counter = field(default_factory=Counter)
    unknown_examples: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    duplicates: int = 0
    duplicate_examples: list[tuple[int, int]] = field(default_factory=list)
    mismatches: int = 0
    mismatch_examples: list[tuple[str, int, int]] = field(default_factory=list)
    missing_images: int = 0
    missing_examples: list[tuple[int, str]] = field(default_factory=list)
    lengths: Counter = field(default_factory=Counter)
    chars: Counter = field(default_factory=Counter)

    @property
    def problems(self) -> int:
        """Lines PaddleOCR would drop, alter or mix up."""
        return sum(self.rejects.values()) + self.duplicates + self.mismatches + self.missing_images

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": self.lines, "usable": self.usable, "problems": self.problems,
            "rejects": dict(self.rejects), "reject_examples": {k: v for k, v in self.reject_examples.items()},
            "unknown_chars": dict(self.unknown_chars.most_common()),
            "unknown_examples": {k: v for k, v in self.unknown_examples.items()},
            "duplicates": self.duplicates, "duplicate_examples": self.duplicate_examples,
            "image_label_mismatches": self.mismatches, "mismatch_examples": self.mismatch_examples,
            "missing_images": self.missing_images, "missing_examples": self.missing_examples,
            "length_histogram": {str(k): v for k, v in sorted(self.lengths.items())},
            "characters": dict(self.chars.most_common()),
        }


def check_labels(label_file: Path, data_root: Path | None = None, rules: LabelRules | None = None,
                 delimiter: str = "tab", check_images: bool = True) -> LabelReport:
    """Stream `label_file` and collect rejects, out-of-dictionary characters, duplicate lines,
    images listed with two different labels, missing images, lengths and character counts.
    A folder is read as LMDB databases (`lmdb_store`): a sample without its image is a reject."""
    if is_lmdb_input(label_file):
        with LmdbStore(label_file) as store:
            # read_items rejects a sample whose image key is missing: no file to look for
            return _check_items(read_items(store), None, rules, False)
    check_encoding(label_file)
    root = data_root if data_root is not None else label_file.parent
    return _check_items(read_sources(label_file, delimiter), root, rules, check_images)


def _check_items(items, root: Path | None, rules: LabelRules | None, check_images: bool) -> LabelReport:
    report = LabelReport()
    first_of_line: dict[bytes, int] = {}
    label_of_path: dict[bytes, tuple[bytes, int]] = {}
    # Unknown characters are counted per character, so the length and dictionary rules are
    # applied here rather than as rejects in the reader.
    rules = rules if rules is not None else LabelRules()
    max_length = rules.max_length
    for item in items:
        report.lines = max(report.lines, item.line)
        if isinstance(item, Reject):
            _example(report.rejects, report.reject_examples, item.reason, item.line)
            continue
        bad = rules.unknown(item.label)
        if bad:
            _example(report.rejects, report.reject_examples, "characters outside the dictionary", item.line)
            for c in bad:
                _example(report.unknown_chars, report.unknown_examples, c, item.line)
            continue
        if " " in item.label and not rules.space_ok:
            _example(report.rejects, report.reject_examples, "label contains a space", item.line)
            continue
        if max_length is not None and len(item.label) > max_length:
            _example(report.rejects, report.reject_examples, "label too long", item.line)
            continue
        report.usable += 1
        report.lengths[len(item.label)] += 1
        report.chars.update(item.label)
        _check_repeats(report, item, first_of_line, label_of_path)
        if check_images and not os.path.isfile(os.path.join(root, os.path.normpath(item.path))):
            report.missing_images += 1
            if len(report.missing_examples) < EXAMPLES:
                report.missing_examples.append((item.line, item.path))
    return report


def _example(counter: Counter, examples: dict, key: str, line: int) -> None:
    counter[key] += 1
    if len(examples[key]) < EXAMPLES:
        examples[key].append(line)


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()


def _check_repeats(report: LabelReport, item: Source, first_of_line: dict, label_of_path: dict) -> None:
    line_key = _digest(f"{item.path}\t{item.label}")
    if line_key in first_of_line:
        report.duplicates += 1
        if len(report.duplicate_examples) < EXAMPLES:
            report.duplicate_examples.append((first_of_line[line_key], item.line))
        return
    first_of_line[line_key] = item.line
    path_key = _digest(item.path)
    label_key = _digest(item.label)
    earlier = label_of_path.setdefault(path_key, (label_key, item.line))
    if earlier[0] != label_key:
        report.mismatches += 1
        if len(report.mismatch_examples) < EXAMPLES:
            report.mismatch_examples.append((item.path, earlier[1], item.line))


def format_report(report: LabelReport, top: int = 10) -> str:
    """The report as a few lines for people."""
    out = [f"lines {report.lines:,}  usable {report.usable:,}  problems {report.problems:,}"]
    for reason, n in report.rejects.most_common():
        out.append(f"  rejected: {reason}: {n:,} (lines {_lines(report.reject_examples[reason])})")
    if report.unknown_chars:
        chars = ", ".join(f"{c!r} x{n:,} (lines {_lines(report.unknown_examples[c])})"
                          for c, n in report.unknown_chars.most_common(top))
        out.append(f"  characters outside the dictionary: {chars}")
    if report.duplicates:
        pairs = ", ".join(f"{a}={b}" for a, b in report.duplicate_examples)
        out.append(f"  duplicate lines: {report.duplicates:,} (e.g. lines {pairs})")
    if report.mismatches:
        ex = ", ".join(f"{p} (lines {a} and {b})" for p, a, b in report.mismatch_examples)
        out.append(f"  images listed with different labels: {report.mismatches:,}: {ex}")
    if report.missing_images:
        ex = ", ".join(f"{p} (line {n})" for n, p in report.missing_examples)
        out.append(f"  missing images: {report.missing_images:,}: {ex}")
    return "\n".join(out)


def _lines(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers))


def format_stats(report: LabelReport, width: int = 40) -> str:
    """Label-length histogram and the most frequent characters."""
    out = [f"{report.usable:,} usable labels; length histogram:"]
    peak = max(report.lengths.values(), default=1)
    for length, n in sorted(report.lengths.items()):
        out.append(f"  {length:4d} {n:10,d} {'#' * max(1, round(width * n / peak))}")
    out.append(f"{len(report.chars):,} distinct characters; most frequent: "
               + " ".join(f"{c!r}:{n:,}" for c, n in report.chars.most_common(20)))
    return "\n".join(out)


def split_labels(label_file: Path, train_out: Path, val_out: Path, val_fraction: float, seed: int = 0,
                 delimiter: str = "tab") -> dict[str, int]:
    """Split a label file into train and validation files by source (written path<TAB>label).

    Lines of one source (one image path, or all variants of one augkit source line) land on
    the same side. Rejected and blank lines are kept out of both and counted.
    """
    if not 0.0 < val_fraction < 1.0:
        raise UserError("--val-fraction must be between 0 and 1")
    counts = {"train": 0, "val": 0, "skipped": 0}
    with AtomicTextFile(Path(train_out)) as train, AtomicTextFile(Path(val_out)) as val:
        for item in read_sources(label_file, delimiter):
            if isinstance(item, Reject):
                counts["skipped"] += 1
                continue
            side = "val" if in_validation(seed, source_key(item.path), val_fraction) else "train"
            (val if side == "val" else train).write(f"{item.path}\t{item.label}\n")
            counts[side] += 1
    return counts


def report_json(report: LabelReport) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=1)
