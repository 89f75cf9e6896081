"""Korean names for `augkit synth --kind korean-name`: drawn by frequency, optionally romanised.

Surnames are weighted by their number of bearers (Statistics Korea, 2015 census;
data/korean_surnames.tsv), given names by popularity grade (data/korean_given_names.tsv).
The romanised line follows the Revised Romanization of Korean (Ministry of Culture and Tourism
notice 2000-8) as it applies to personal names: each syllable is transcribed on its own, with no
sound changes between syllables (the rules' article for names), given-name syllables written
together or with a hyphen; surnames take their customary passport spelling most of the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

# Hangul syllables U+AC00..U+D7A3 are (initial * 21 + medial) * 28 + final + 0xAC00.
_FIRST, _LAST = 0xAC00, 0xD7A3
INITIALS = ("g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h")
MEDIALS = ("a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi",
           "yu", "eu", "ui", "i")
# A final consonant is written as the sound it makes at the end of a syllable (RR article 1,
# note 2: g, d, b are k, t, p before a consonant or at the end; r is l).
FINALS = ("", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p", "t", "t",
          "ng", "t", "t", "k", "t", "p", "t")


def decompose(syllable: str) -> tuple[int, int, int]:
    """(initial, medial, final) indices of one precomposed Hangul syllable (final 0: none)."""
    code = ord(syllable) - _FIRST
    if not 0 <= code <= _LAST - _FIRST:
        raise ValueError(f"{syllable!r} is not a precomposed Hangul syllable")
    return code // 588, (code % 588) // 28, code % 28


def romanise_syllable(syllable: str) -> str:
    """One syllable in Revised Romanization, lower case, as written in names."""
    initial, medial, final = decompose(syllable)
    return INITIALS[initial] + MEDIALS[medial] + FINALS[final]


def romanise_name(hangul: str, hyphen: bool = False) -> str:
    """A name part (surname or given name) syllable by syllable, capitalised: 홍빛나 -> Hongbitna;
    with `hyphen`, given-name syllables are joined by hyphens (빛나 -> Bit-na)."""
    parts = [romanise_syllable(s) for s in hangul]
    text = ("-" if hyphen else "").join(parts)
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Surname:
    hangul: str
    count: int
    spellings: tuple[str, ...]


@lru_cache(maxsize=1)
def surnames() -> tuple[list[Surname], np.ndarray]:
    """Surnames (rows of one hangul spelling summed) and their sampling probabilities."""
    merged: dict[str, Surname] = {}
    for cells in _rows("korean_surnames.tsv"):
        hangul, _hanja, count, _precision, spellings = cells
        old = merged.get(hangul)
        merged[hangul] = Surname(hangul, int(count) + (old.count if old else 0),
                                 old.spellings if old else tuple(spellings.split("/")))
    names = list(merged.values())
    weights = np.array([s.count for s in names], dtype=np.float64)
    return names, weights / weights.sum()


@lru_cache(maxsize=1)
def given_names() -> tuple[list[tuple[str, str]], np.ndarray]:
    """(hangul, sex) given names and their sampling probabilities."""
    rows = [(name, sex, float(weight)) for name, sex, weight in _rows("korean_given_names.tsv")]
    weights = np.array([w for _, _, w in rows])
    return [(n, s) for n, s, _ in rows], weights / weights.sum()


def _rows(name: str) -> list[list[str]]:
    text = resources.files("augkit.synth").joinpath("data", name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


def korean_name(rng: np.random.Generator, romanised: bool) -> tuple[list[tuple[str, str, str]], dict]:
    """One person's name: [(text, script, field)] lines (the Hangul name, then the romanised
    name when asked for) and the JSON record of how it was made."""
    names, p = surnames()
    surname = names[int(rng.choice(len(names), p=p))]
    givens, q = given_names()
    given, sex = givens[int(rng.choice(len(givens), p=q))]
    spaced = bool(rng.random() < 0.2)
    lines = [(surname.hangul + (" " if spaced else "") + given, "hangul", "name")]
    record = {"surname": surname.hangul, "given": given, "sex": sex, "spaced": spaced}
    if romanised:
        roll = rng.random()
        # Passports mostly carry the family's customary spelling; some use the plain RR form.
        if roll < 0.6:
            latin_surname = surname.spellings[0]
        elif roll < 0.8 and len(surname.spellings) > 1:
            latin_surname = surname.spellings[int(rng.integers(1, len(surname.spellings)))]
        else:
            latin_surname = romanise_name(surname.hangul).upper()
        style = ("joined", "hyphen", "spaced")[int(rng.choice(3, p=[0.6, 0.2, 0.2]))]
        if style == "spaced":
            latin_given = " ".join(romanise_name(s) for s in given)
        else:
            latin_given = romanise_name(given, hyphen=style == "hyphen")
        text = f"{latin_surname} {latin_given}"
        upper = bool(rng.random() < 0.85)
        text = text.upper() if upper else " ".join(w.capitalize() if w.isupper() else w for w in text.split(" "))
        lines.append((text, "latin", "romanised name"))
        record.update(romanised=text, given_style=style)
    return lines, record
