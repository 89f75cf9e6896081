"""Text normalisation before scoring: Unicode NFC always, then optional case folding and space removal.

Every metric states the normalisation it was computed under (`Normalisation.describe()`), so two
numbers are only ever compared when they were made the same way.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Normalisation:
    """How ground truth and prediction are made comparable.

    NFC is always applied: a label typed with decomposed Hangul jamo or a combining accent and a
    prediction decoded to precomposed characters are the same text. `ignore_case` case-folds
    (`str.casefold`, so "ß" equals "SS"); `ignore_space` removes every whitespace character.
    """

    ignore_space: bool = False
    ignore_case: bool = False

    def apply(self, text: str) -> str:
        """`text` normalised for comparison."""
        text = unicodedata.normalize("NFC", text)
        if self.ignore_case:
            # Case folding can leave combining marks (e.g. U+0130 -> i + dot above): recompose.
            text = unicodedata.normalize("NFC", text.casefold())
        if self.ignore_space:
            text = "".join(c for c in text if not c.isspace())
        return text

    def words(self, text: str) -> list[str]:
        """The words of `text` for WER: NFC (and case folding) applied, split on whitespace.

        Space removal is not applied here, since it would leave one word per line.
        """
        return Normalisation(ignore_case=self.ignore_case).apply(text).split()

    def steps(self) -> list[str]:
        """The steps `apply` performs, in order, in words."""
        steps = ["unicode NFC"]
        if self.ignore_case:
            steps.append("case folded (str.casefold)")
        if self.ignore_space:
            steps.append("whitespace removed")
        return steps

    def describe(self) -> dict:
        """JSON record of what was applied (stored in metrics.json)."""
        return {"unicode": "NFC", "ignore_space": self.ignore_space, "ignore_case": self.ignore_case,
                "applied": self.steps(),
                "wer_words": "split on whitespace after NFC" + (" and case folding" if self.ignore_case else "")}
