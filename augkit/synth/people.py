"""Fictitious passport holders: who they are, who issued their document, and how their names
look in a machine-readable zone.

A `Person` is drawn from one item's generator: an issuing state (25 with their own names,
places and wording in data/people.yaml; now and then any ISO 3166-1 state or an ICAO code such
as UNO, XXA or the specimen state UTO), a name as printed in the visual zone (diacritics and
all), sex, dates (birth before issue, expiry after) and a document number in the state's style.
`mrz_name` turns the printed name into the MRZ name field the ICAO way.
"""

from __future__ import annotations

import datetime as dt
import string
import unicodedata
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import yaml

# ICAO Doc 9303 part 3, section 6 (transliteration of Latin letters with diacritics); letters
# not listed lose their diacritic (É -> E). Where the table offers two, the first is used.
_TRANSLITERATION = {"Ä": "AE", "Å": "AA", "Æ": "AE", "Ö": "OE", "Ø": "OE", "Ü": "UE", "ß": "SS", "Þ": "TH",
                    "Œ": "OE", "Ð": "D", "Đ": "D", "Ł": "L", "Ħ": "H", "İ": "I", "Ŀ": "L", "Ŋ": "N", "Ŧ": "T",
                    "IJ": "IJ"}


@lru_cache(maxsize=1)
def states() -> dict[str, dict]:
    """The issuing states with their own names, places and wording."""
    text = resources.files("augkit.synth").joinpath("data", "people.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@lru_cache(maxsize=1)
def codes() -> dict[str, list[tuple[str, str]]]:
    """(code, name) of every issuer/nationality code by kind: iso, icao, icao-nationality, specimen."""
    text = resources.files("augkit.synth").joinpath("data", "countries.tsv").read_text(encoding="utf-8")
    out: dict[str, list[tuple[str, str]]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, name, kind = line.split("\t")
            out.setdefault(kind, []).append((code, name))
    return out


@dataclass(frozen=True)
class Person:
    """One fictitious holder and document (dates as ISO strings, names as printed)."""

    state: str          # key of the name pool the person was drawn from
    issuer: str         # MRZ code of the issuing state or organisation
    nationality: str    # MRZ code of the holder's nationality
    surname: str
    given_names: str
    sex: str            # M, F or < (unspecified)
    birth: str
    issue: str
    expiry: str
    number: str
    place_of_birth: str
    authority: str
    nationality_text: str

    def record(self) -> dict:
        return asdict(self)


def _mrz_code(code: str) -> str:
    """The code an MRZ carries for an ISO 3166-1 alpha-3 code: Germany is D, not DEU."""
    return "D" if code == "DEU" else code


def pick(rng: np.random.Generator, options: list):
    """One of `options`, uniformly."""
    return options[int(rng.integers(len(options)))]


def make_person(rng: np.random.Generator) -> Person:
    """A random holder; 80% from a state with its own name pool, the rest issued by any state
    or organisation with names from a random pool (as for residents and refugees)."""
    pools = states()
    state = pick(rng, sorted(pools))
    pool = pools[state]
    issuer = nationality = pick(rng, pool["codes"])
    nationality_text = pick(rng, pool["nationality"])
    roll = rng.random()
    if roll > 0.8:
        issuer = _mrz_code(pick(rng, codes()["iso"] + codes()["icao"] + codes()["specimen"])[0])
        nationality = issuer if roll < 0.9 else _mrz_code(pick(rng, codes()["icao-nationality"] + codes()["iso"])[0])
        nationality_text = dict(sum(codes().values(), []))[nationality]
    sex = "<" if rng.random() < 0.03 else pick(rng, ["M", "F"])
    given_pool = pool["given_m"] if sex == "M" else pool["given_f"] if sex == "F" else pool["given_m"] + pool["given_f"]
    given = pick(rng, given_pool)
    if rng.random() < 0.15:  # a second given name
        given = f"{given} {pick(rng, given_pool)}"
    birth, issue, expiry = _dates(rng)
    return Person(state=state, issuer=issuer, nationality=nationality, surname=pick(rng, pool["surnames"]),
                  given_names=given, sex=sex, birth=birth.isoformat(), issue=issue.isoformat(),
                  expiry=expiry.isoformat(), number=document_number(rng, pick(rng, pool["number"])),
                  place_of_birth=pick(rng, pool["places"]), authority=pick(rng, pool["authority"]),
                  nationality_text=nationality_text)


# Readers resolve two-digit birth years with a 100-year window; nobody is born before 1931, so
# a birth year like 25 always means 2025 and never collides with a centenarian's 1925.
_EARLIEST_BIRTH = dt.date(1931, 1, 1)


def _dates(rng: np.random.Generator) -> tuple[dt.date, dt.date, dt.date]:
    """Birth, issue and expiry: issued 2012-2026 to someone born 30 days to 85 years before
    (not before 1931), valid 5 years (minors, and some adults) or 10, ending the day before
    the anniversary."""
    issue = dt.date(2012, 1, 1) + dt.timedelta(days=int(rng.integers(0, 15 * 365)))
    age_days = min(int(rng.integers(30, 85 * 365)), (issue - _EARLIEST_BIRTH).days)
    birth = issue - dt.timedelta(days=age_days)
    years = 5 if age_days < 18 * 365 or rng.random() < 0.2 else 10
    try:
        expiry = issue.replace(year=issue.year + years) - dt.timedelta(days=1)
    except ValueError:  # 29 February
        expiry = issue.replace(year=issue.year + years, day=28)
    return birth, issue, expiry


def document_number(rng: np.random.Generator, pattern: str) -> str:
    """A number in the pattern's style: A a letter, 9 a digit, X a letter or digit."""
    alnum = string.digits + string.ascii_uppercase
    out = []
    for c in pattern:
        if c == "A":
            out.append(pick(rng, string.ascii_uppercase))
        elif c == "9":
            out.append(pick(rng, string.digits))
        elif c == "X":
            out.append(pick(rng, alnum))
        else:
            out.append(c)
    return "".join(out)


def transliterate(name: str) -> str:
    """A printed name in MRZ characters: ICAO transliteration of letters with diacritics,
    apostrophes dropped, spaces, hyphens and other punctuation as the filler `<`."""
    out = []
    for c in name.upper():
        if c in _TRANSLITERATION:
            out.append(_TRANSLITERATION[c])
            continue
        base = "".join(ch for ch in unicodedata.normalize("NFD", c) if not unicodedata.combining(ch))
        if "A" <= base <= "Z" and len(base) == 1:
            out.append(base)
        elif c in "'’`":
            continue
        else:
            out.append("<")
    text = "".join(out)
    while "<<" in text:
        text = text.replace("<<", "<")
    return text.strip("<")


def mrz_name(surname: str, given_names: str, width: int) -> tuple[str, str, bool]:
    """(primary, secondary) identifiers that fit a name field of `width`, and whether they were
    truncated. ICAO truncation: given names lose characters from the end first, then the
    surname, keeping `SURNAME<<X` at least; a truncated field ends in a letter (no filler), which
    is how a reader sees that it was cut."""
    primary, secondary = transliterate(surname), transliterate(given_names)
    full = primary + ("<<" + secondary if secondary else "")
    if len(full) <= width:
        return primary, secondary, False
    if secondary and len(primary) + 3 <= width:
        return primary, _cut(secondary, width - len(primary) - 2), True
    primary = _cut(primary, width - 3 if secondary else width)
    secondary = _cut(secondary, width - len(primary) - 2) if secondary else ""
    return primary, secondary, True


def _cut(part: str, room: int) -> str:
    """`part` cut to `room` characters, ending in a letter: when the cut lands on a filler, the
    name before it gives up a letter so that the next name's initial fits (ANNA<MARIA, 6 ->
    ANN<M)."""
    if len(part) <= room:
        return part
    cut = part[:room]
    if cut.endswith("<") and room >= 3 and cut[-2] != "<":
        cut = cut[:-2] + "<" + part[room]
    return cut.rstrip("<")
