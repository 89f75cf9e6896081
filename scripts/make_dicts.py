"""Generate the PaddleOCR character dictionaries in ``labels/`` from rules, not copies.

* ``mrz_dict.txt``: the ICAO Doc 9303 MRZ character set: digits, A-Z, then the filler ``<`` (37 lines).
* ``en_dict.txt``: the 95 printable ASCII characters in the order of PaddleOCR's ``ppocr/utils/en_dict.txt``:
  0x30-0x7E (``0`` to ``~``), then 0x21-0x2F (``!`` to ``/``), then a space line (95 lines).
* ``korean_dict.txt``: the 11,172 Hangul syllables U+AC00..U+D7A3 in code-point order, digits, and the
  punctuation in ``KOREAN_PUNCTUATION``.

One character per line, UTF-8 without BOM, ``\\n`` endings; two runs write byte-identical files.
Usage: python scripts/make_dicts.py [--out DIR]
"""

from __future__ import annotations

import argparse
import string
from pathlib import Path

HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3  # Unicode Hangul Syllables block: 19 x 21 x 28 = 11,172
KOREAN_PUNCTUATION = "()-.,·"  # U+00B7 MIDDLE DOT joins transliterated foreign given and family names


def chars(first: str, last: str) -> list[str]:
    """Every character from ``first`` to ``last`` inclusive, in code-point order."""
    return [chr(c) for c in range(ord(first), ord(last) + 1)]


def mrz_chars() -> list[str]:
    return list(string.digits) + list(string.ascii_uppercase) + ["<"]


def en_chars() -> list[str]:
    return chars("0", "~") + chars("!", "/") + [" "]


def korean_chars() -> list[str]:
    return [chr(c) for c in range(HANGUL_FIRST, HANGUL_LAST + 1)] + list(string.digits) + list(KOREAN_PUNCTUATION)


DICTS = {"mrz_dict.txt": mrz_chars, "en_dict.txt": en_chars, "korean_dict.txt": korean_chars}


def write_dict(path: Path, characters: list[str]) -> None:
    assert len(set(characters)) == len(characters), f"duplicate characters in {path.name}"
    path.write_bytes("".join(c + "\n" for c in characters).encode("utf-8"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("labels"), help="output folder (default: labels/)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rule in DICTS.items():
        characters = rule()
        write_dict(args.out / name, characters)
        print(f"{args.out / name}: {len(characters)} characters")


if __name__ == "__main__":
    main()
