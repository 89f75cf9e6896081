"""Decoding: the class list a model was trained with, checked against the model, and greedy CTC.

The class list is PaddleOCR's: index 0 is the CTC blank, then one class per dictionary line, then
a space when the model was trained with `use_space_char: true`. A class list whose length differs
from the model's output is refused: decoding with it would shift every character after the first
difference and produce plausible-looking but wrong numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from augkit.errors import UserError

BLANK = 0
# No character class of any PaddleOCR dictionary is longer than a few code points (a conjunct,
# an emoji sequence); a longer "entry" means the text is not a dictionary at all.
MAX_ENTRY_LENGTH = 8


@dataclass(frozen=True)
class Classes:
    """The model's classes: `chars[0]` is the blank, `chars[i]` the text of class i."""

    chars: tuple[str, ...]
    space: bool
    source: str  # where the dictionary came from, for messages and the report

    def __len__(self) -> int:
        return len(self.chars)


def dictionary_entries(text: str) -> list[str]:
    """Dictionary lines as PaddleOCR reads them: every line a class, line ends stripped."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's final newline ends the last line; it starts no new one
    return [line.strip("\r\n") for line in lines]


def read_dictionary(path: str | Path) -> list[str]:
    """The entries of a PaddleOCR character dictionary file (one class per line, UTF-8)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise UserError(f"dictionary {path} does not exist; pass --dict the model's character file") from None
    except OSError as exc:
        raise UserError(f"cannot read dictionary {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"dictionary {path} is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    return dictionary_entries(text)


def check_entries(entries: list[str], source: str) -> None:
    """Refuse text that is not a character dictionary (an HTML page stored as model metadata, a
    label file passed as --dict), naming the first bad line."""
    if not entries:
        raise UserError(f"{source} is empty")
    for i, entry in enumerate(entries, start=1):
        if len(entry) > MAX_ENTRY_LENGTH:
            hint = " (it looks like an HTML page)" if "<" in entry and ">" in entry else ""
            raise UserError(f"{source} is not a character dictionary: line {i} is {entry[:60]!r}{hint}; "
                            "pass --dict the model's dictionary file (one character per line)")
    blanks = sum(1 for e in entries if e == "")
    if blanks > max(1, len(entries) // 20):
        raise UserError(f"{source} is not a character dictionary: {blanks} of its {len(entries)} lines are empty")


def make_classes(entries: list[str], model_classes: int | None, space: bool | None, source: str) -> Classes:
    """The checked class list: blank + entries (+ space), its length equal to the model's output.

    `space=None` takes the one setting that makes the lengths agree. `model_classes=None` (not
    known yet) skips the count check; call `check_count` once the model has run.
    """
    check_entries(entries, source)
    if space is None:
        if model_classes is None:
            raise UserError("cannot tell whether the model has a space class; pass --space or --no-space")
        if model_classes == len(entries) + 2:
            space = True
        elif model_classes == len(entries) + 1:
            space = False
        else:
            raise UserError(_mismatch(model_classes, len(entries), None, source))
    classes = Classes(("",) + tuple(entries) + ((" ",) if space else ()), space, source)
    if model_classes is not None:
        check_count(classes, model_classes, len(entries))
    return classes


def check_count(classes: Classes, model_classes: int, n_entries: int | None = None) -> None:
    """UserError unless the class list has exactly the model's number of output classes."""
    if len(classes) != model_classes:
        n = n_entries if n_entries is not None else len(classes) - 1 - int(classes.space)
        raise UserError(_mismatch(model_classes, n, classes.space, classes.source))


def _mismatch(model_classes: int, n_entries: int, space: bool | None, source: str) -> str:
    if space is None:
        ours = f"{n_entries + 1} ({n_entries} entries + blank) or {n_entries + 2} (with a space class)"
    else:
        ours = f"{n_entries + 1 + int(space)} ({n_entries} entries + blank{' + space' if space else ''})"
    hint = ""
    if space is not None and model_classes == n_entries + 1 + int(not space):
        hint = f"; the counts agree with {'--no-space' if space else '--space'}"
    return (f"the model outputs {model_classes} classes but {source} gives {ours}{hint}; "
            "this dictionary does not belong to this model, so nothing was scored")


def ctc_steps(text: str) -> int:
    """The fewest CTC time steps that can emit `text`: one per character, plus one blank
    between each pair of equal neighbours (greedy decoding would merge them otherwise)."""
    return len(text) + sum(1 for a, b in zip(text, text[1:]) if a == b)


def ctc_greedy(probs: np.ndarray, classes: Classes) -> list[tuple[str, float]]:
    """(text, confidence) for each row of `probs` (N, T, C), as PaddleOCR's CTCLabelDecode:
    best class per step, repeats merged, blanks dropped; confidence is the mean of the kept
    steps' best probabilities (0.0 when nothing is kept)."""
    if probs.ndim != 3 or probs.shape[2] != len(classes):
        raise UserError(f"model output of shape {tuple(probs.shape)} does not match {len(classes)} classes")
    best = probs.argmax(axis=2)
    best_prob = np.take_along_axis(probs, best[:, :, None], axis=2)[:, :, 0]
    keep = best != BLANK
    keep[:, 1:] &= best[:, 1:] != best[:, :-1]
    chars = classes.chars
    results = []
    for row, mask, prob in zip(best, keep, best_prob):
        kept = row[mask]
        text = "".join(chars[i] for i in kept.tolist())
        confidence = np.mean(prob[mask]).tolist() if kept.size else 0.0
        results.append((text, confidence))
    return results
