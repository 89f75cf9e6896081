"""Levenshtein edit distance (unit costs) and the alignment behind it, over any two sequences.

Strings align character by character (CER, per-character breakdowns, highlighted differences in
the report); lists of words align word by word (WER). Most predictions are right or nearly right,
so the common prefix and suffix are matched first and the quadratic table only covers the part in
between; removing a common prefix or suffix never changes the distance.
"""

from __future__ import annotations

from collections.abc import Sequence

MATCH, SUB, DEL, INS = "=", "s", "d", "i"
"""Alignment steps: ground-truth item kept, replaced, dropped; an item the prediction added."""

Op = tuple[str, object, object]
"""One alignment step: (kind, ground-truth item or None, predicted item or None)."""


def _trim(ref: Sequence, hyp: Sequence) -> tuple[int, int]:
    """Lengths of the common prefix and of the common suffix (not overlapping the prefix)."""
    n = min(len(ref), len(hyp))
    p = 0
    while p < n and ref[p] == hyp[p]:
        p += 1
    s = 0
    while s < n - p and ref[len(ref) - 1 - s] == hyp[len(hyp) - 1 - s]:
        s += 1
    return p, s


def distance(ref: Sequence, hyp: Sequence) -> int:
    """Edit distance: the fewest substitutions, deletions and insertions turning `ref` into `hyp`."""
    p, s = _trim(ref, hyp)
    a, b = ref[p:len(ref) - s], hyp[p:len(hyp) - s]
    if not a or not b:
        return len(a) + len(b)
    if len(a) < len(b):
        a, b = b, a
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev_diag, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            cur = min(row[j] + 1, row[j - 1] + 1, prev_diag + (x != y))
            prev_diag, row[j] = row[j], cur
    return row[-1]


def normalized_distance(ref: Sequence, hyp: Sequence) -> float:
    """Edit distance divided by the longer length; 0.0 for two empty sequences.

    This is the per-sample quantity PaddleOCR's RecMetric averages (its rapidfuzz
    `Levenshtein.normalized_distance` with unit weights).
    """
    longest = max(len(ref), len(hyp))
    return distance(ref, hyp) / longest if longest else 0.0


def align(ref: Sequence, hyp: Sequence) -> list[Op]:
    """An optimal alignment of `ref` (ground truth) to `hyp` (prediction), in order.

    Its edits number `distance(ref, hyp)`. Among such alignments it keeps the most items matched;
    remaining ties go the same way every time: a diagonal step (match or substitution) before a
    deletion before an insertion, walking back from the end.
    """
    p, s = _trim(ref, hyp)
    a, b = ref[p:len(ref) - s], hyp[p:len(hyp) - s]
    head = [(MATCH, x, x) for x in ref[:p]]
    tail = [(MATCH, x, x) for x in ref[len(ref) - s:]]
    if not a or not b:
        middle = [(DEL, x, None) for x in a] + [(INS, None, y) for y in b]
        return head + middle + tail
    n, m = len(a), len(b)
    # Cost = edits * w - matches: fewest edits first, then, among those, the most characters kept
    # (so "lo w" -> "o  W" reads as a dropped "l" and an added space, not a chain of substitutions).
    w = n + m + 2
    table = [[j * w for j in range(m + 1)]]
    for i in range(1, n + 1):
        prev, row = table[-1], [i * w] + [0] * m
        x = a[i - 1]
        for j in range(1, m + 1):
            row[j] = min(prev[j] + w, row[j - 1] + w, prev[j - 1] + (w if x != b[j - 1] else -1))
        table.append(row)
    middle: list[Op] = []
    i, j = n, m
    while i or j:
        if i and j and table[i][j] == table[i - 1][j - 1] + (w if a[i - 1] != b[j - 1] else -1):
            middle.append((MATCH if a[i - 1] == b[j - 1] else SUB, a[i - 1], b[j - 1]))
            i, j = i - 1, j - 1
        elif i and table[i][j] == table[i - 1][j] + w:
            middle.append((DEL, a[i - 1], None))
            i -= 1
        else:
            middle.append((INS, None, b[j - 1]))
            j -= 1
    middle.reverse()
    return head + middle + tail


def ops_distance(ops: list[Op]) -> int:
    """The edit distance an alignment stands for (its steps other than matches)."""
    return sum(1 for kind, _, _ in ops if kind != MATCH)
