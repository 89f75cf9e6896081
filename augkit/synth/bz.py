"""Visual-zone ("BZ") fields for `augkit synth --kind bz`: one field of a passport data page.

A field is a name, a date in one of the formats passports print, a document number, a place
of birth, an issuing authority, a nationality or a sex marker, taken from a fictitious person
(augkit.synth.people). The text stays within the English PaddleOCR dictionary that the BZ
recognition config uses (SPEC section 5): printed names lose their diacritics here (MÜLLER ->
MULLER), as they do on many data pages.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

import numpy as np

from augkit.synth.people import Person, make_person, pick

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
# Bilingual pages print the French abbreviation after the English one (27 SEP/SEPT 91).
MONTHS_FR = ("JAN", "FEV", "MARS", "AVR", "MAI", "JUIN", "JUIL", "AOUT", "SEPT", "OCT", "NOV", "DEC")
_FOLD = {"ß": "SS", "Ø": "O", "ø": "o", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ł": "L", "ł": "l", "Đ": "D",
         "đ": "d", "Ð": "D", "ð": "d", "Þ": "TH", "þ": "th", "İ": "I", "ı": "i"}

# field -> weight: names and dates are most of a data page's text.
FIELDS = {"surname": 3, "given_names": 3, "full_name": 2, "birth": 2, "issue": 2, "expiry": 2, "number": 2,
          "place_of_birth": 2, "authority": 1, "nationality": 1, "sex": 0.4}


def date_formats(day: dt.date) -> list[str]:
    """The ways passports print one date."""
    d, m, y = day.day, day.month, day.year
    mon = MONTHS[m - 1]
    return [f"{d:02d} {mon} {y}", f"{d:02d} {mon} {y % 100:02d}", f"{d:02d} {mon}/{MONTHS_FR[m - 1]} {y % 100:02d}",
            f"{d:02d} {mon}/{MONTHS_FR[m - 1]} {y}", f"{d:02d}.{m:02d}.{y}", f"{d:02d}/{m:02d}/{y}",
            f"{d:02d} {m:02d} {y}", f"{d:02d}-{m:02d}-{y}", f"{y}.{m:02d}.{d:02d}", f"{d:02d} {mon.capitalize()} {y}",
            f"{d} {mon} {y}"]


def fold(text: str) -> str:
    """Printed text without diacritics (MÜLLER -> MULLER, ŁÓDŹ -> LODZ)."""
    out = []
    for c in text:
        if c in _FOLD:
            out.append(_FOLD[c])
        else:
            out.append("".join(ch for ch in unicodedata.normalize("NFD", c) if not unicodedata.combining(ch)))
    return "".join(out)


def bz_field(rng: np.random.Generator) -> tuple[list[tuple[str, str, str]], dict]:
    """One field: [(text, "latin", field name)] and the JSON record of the person and format."""
    person = make_person(rng)
    names, weights = zip(*FIELDS.items())
    p = np.array(weights) / sum(weights)
    field = names[int(rng.choice(len(names), p=p))]
    text, style = _field_text(rng, person, field)
    text = fold(text)
    if field in ("place_of_birth", "authority", "surname", "given_names", "full_name") and rng.random() < 0.15:
        text, style = _title_case(text), f"{style} title-case"
    return [(text, "latin", field)], {"field": field, "style": style, "person": person.record()}


def _field_text(rng: np.random.Generator, person: Person, field: str) -> tuple[str, str]:
    if field == "surname":
        return person.surname, "as printed"
    if field == "given_names":
        return person.given_names, "as printed"
    if field == "full_name":
        i = int(rng.integers(3))
        forms = (f"{person.surname}, {person.given_names}", f"{person.given_names} {person.surname}",
                 f"{person.surname} {person.given_names}")
        return forms[i], ("surname, given", "given surname", "surname given")[i]
    if field in ("birth", "issue", "expiry"):
        formats = date_formats(dt.date.fromisoformat(getattr(person, field)))
        i = int(rng.integers(len(formats)))
        return formats[i], f"date format {i}"
    if field == "number":
        return person.number, "as printed"
    if field == "place_of_birth":
        return person.place_of_birth, "as printed"
    if field == "authority":
        return person.authority, "as printed"
    if field == "nationality":
        return person.nationality_text, "as printed"
    sex = {"<": "X"}.get(person.sex, person.sex)
    return (pick(rng, [sex, f"{sex}/{sex}"]), "sex")


def _title_case(text: str) -> str:
    return " ".join(w[:1] + w[1:].lower() if w.isalpha() else w for w in text.split(" "))
