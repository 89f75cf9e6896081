"""MRZ documents for `augkit synth --kind mrz`: one fictitious person's zone, one crop per line.

The lines are composed by `augkit.mrz.compose` (the one check-digit module synth and eval
share), so every check digit, the composite included, is right by construction. This module
decides what goes in: layout, document code, ICAO-transliterated and truncated names, dates
as YYMMDD, document numbers of at most nine characters (common MRZ readers do not implement
the overflow of longer TD1/TD2 numbers into the optional data, so none are made) and optional
data.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from augkit import mrz
from augkit.synth.people import make_person, mrz_name, pick, states

# Document codes by layout: P passports (TD3), I/A/C identity and other official documents.
# ("AC", crew member certificates, is left out: common MRZ readers refuse it on TD1 and TD2.)
_CODES = {"TD2": ["I<", "I<", "ID", "IR", "IP", "A<", "C<"], "TD1": ["I<", "I<", "ID", "IR", "IP", "C<", "A<"]}


def yymmdd(iso: str) -> str:
    return dt.date.fromisoformat(iso).strftime("%y%m%d")


def mrz_document(rng: np.random.Generator, layouts: tuple[str, ...]) -> tuple[list[tuple[str, str, str]], dict]:
    """One machine-readable zone: [(line, "ocr", "mrz line N")] and the JSON record of its fields."""
    layout = pick(rng, list(layouts))
    person = make_person(rng)
    code = pick(rng, states()[person.state]["td3_codes"]) if layout == "TD3" else pick(rng, _CODES[layout])
    width = mrz.LAYOUTS[layout][1] - (0 if layout == "TD1" else 5)
    primary, secondary, truncated = mrz_name(person.surname, person.given_names, width)
    number = person.number
    optional1, optional2 = _optional_data(rng, layout)
    fields = {"layout": layout, "document_code": code, "issuer": person.issuer, "surname": primary,
              "given_names": secondary, "number": number, "nationality": person.nationality,
              "birth": yymmdd(person.birth), "sex": person.sex, "expiry": yymmdd(person.expiry),
              "optional1": optional1, "optional2": optional2}
    lines = mrz.compose(layout, **{k: v for k, v in fields.items() if k != "layout"})
    record = {**fields, "truncated": truncated, "person": person.record()}
    return [(line, "ocr", f"mrz line {i + 1}") for i, line in enumerate(lines)], record


def _optional_data(rng: np.random.Generator, layout: str) -> tuple[str, str]:
    """Optional data as issuers use it: mostly empty, sometimes a personal or file number."""
    digits = "0123456789"
    if layout == "TD3":
        roll = rng.random()
        if roll < 0.5:
            return "", ""
        n = int(rng.integers(7, 15))
        alphabet = digits if roll < 0.85 else digits + "ABCDEFGHJKLMNPRSTUVWXYZ"
        return "".join(pick(rng, list(alphabet)) for _ in range(n)), ""
    room = 15 if layout == "TD1" else 7
    optional1 = ""
    if room >= 4 and rng.random() < 0.3:
        optional1 = "".join(pick(rng, list(digits)) for _ in range(int(rng.integers(3, room))))
    optional2 = ""
    if layout == "TD1" and rng.random() < 0.3:
        optional2 = "".join(pick(rng, list(digits)) for _ in range(int(rng.integers(4, 12))))
    return optional1, optional2
