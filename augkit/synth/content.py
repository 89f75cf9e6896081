"""What a synthesized item says: the lines of one built-in kind's item, and the characters a
kind can write (to check fonts before a run).

An item is one MRZ (two or three lines), one BZ field, or one Korean name (with its romanised
line when asked for); each line is (text, script, field). `--kind text` items come from the
corpus instead (augkit.synth.corpus).
"""

from __future__ import annotations

import datetime as dt
import string
from functools import lru_cache

import numpy as np

from augkit.synth.bz import MONTHS, MONTHS_FR, bz_field, fold
from augkit.synth.korean import given_names, korean_name, surnames
from augkit.synth.mrz_doc import mrz_document
from augkit.synth.people import codes, states

Line = tuple[str, str, str]  # text, script (ocr, latin, hangul), field


def make_item(kind: str, rng: np.random.Generator, mrz_layouts: tuple[str, ...], romanised: bool) -> tuple[list[Line], dict]:
    """The lines of one item of a built-in kind and the JSON record of how they were made."""
    if kind == "mrz":
        return mrz_document(rng, mrz_layouts)
    if kind == "bz":
        return bz_field(rng)
    if kind == "korean-name":
        return korean_name(rng, romanised)
    raise ValueError(f"{kind!r} is not a built-in kind")


@lru_cache(maxsize=None)
def kind_alphabets(kind: str, romanised: bool = False) -> dict[str, str]:
    """script -> every character a built-in kind can write in it."""
    if kind == "mrz":
        return {"ocr": string.digits + string.ascii_uppercase + "<"}
    if kind == "bz":
        return {"latin": "".join(sorted(_bz_characters()))}
    if kind == "page":
        from augkit.synth.page import FIELDS

        captions = "".join(c for c, _, _, _ in FIELDS) + "PASSPORT / PASSEPORT"
        return {"ocr": string.digits + string.ascii_uppercase + "<",
                "latin": "".join(sorted(_bz_characters() | set(captions)))}
    if kind == "korean-name":
        hangul = {c for s in surnames()[0] for c in s.hangul} | {c for n, _ in given_names()[0] for c in n}
        scripts = {"hangul": "".join(sorted(hangul))}
        if romanised:
            scripts["latin"] = string.ascii_letters + "- "
        return scripts
    return {}


def _bz_characters() -> set[str]:
    """Characters of every string a BZ field can be made from, after folding."""
    texts = [name for _, name in sum(codes().values(), [])] + list(MONTHS) + list(MONTHS_FR)
    for pool in states().values():
        for key in ("surnames", "given_m", "given_f", "places", "authority", "nationality", "number"):
            texts.extend(pool[key])
    chars = set(fold("".join(texts))) | set(string.ascii_letters + string.digits + " ,./-")
    chars.update(str(dt.date(2000, 1, 1)))
    return chars
