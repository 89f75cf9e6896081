"""The character dictionaries in labels/: well-formed, the expected sets and orders, reproducible."""

from __future__ import annotations

import os
import string
import subprocess
import sys
from pathlib import Path

import pytest

from augkit.reader import load_dictionary

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "labels"
SCRIPT = ROOT / "scripts" / "make_dicts.py"
NAMES = ["mrz_dict.txt", "en_dict.txt", "korean_dict.txt"]
HANGUL = [chr(c) for c in range(0xAC00, 0xD7A4)]
KOREAN_EXTRAS = list(string.digits) + list("()-.,·")
COUNTS = {"mrz_dict.txt": 37, "en_dict.txt": 95, "korean_dict.txt": 11_172 + len(KOREAN_EXTRAS)}


def lines(name: str) -> list[str]:
    return (LABELS / name).read_bytes().decode("utf-8").split("\n")[:-1]


@pytest.mark.parametrize("name", NAMES)
def test_well_formed(name: str) -> None:
    data = (LABELS / name).read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf"), "no BOM"
    assert b"\r" not in data and data.endswith(b"\n") and not data.endswith(b"\n\n")
    chars = lines(name)
    assert all(len(c) == 1 for c in chars), "one character per line, no blank lines"
    assert len(set(chars)) == len(chars), "no duplicates"
    assert len(chars) == COUNTS[name]


def test_mrz_order() -> None:
    assert lines("mrz_dict.txt") == list(string.digits + string.ascii_uppercase + "<")


def test_en_matches_paddleocr_order() -> None:
    chars = lines("en_dict.txt")
    # PaddleOCR ppocr/utils/en_dict.txt: '0'..'~' (0x30-0x7E), '!'..'/' (0x21-0x2F), then a space line
    assert "".join(chars[:79]) == "".join(chr(c) for c in range(0x30, 0x7F))
    assert "".join(chars[79:94]) == "!\"#$%&'()*+,-./"
    assert chars[94] == " "
    assert set(chars) == set(string.printable[:95])  # all 95 printable ASCII characters, space included
    assert chars[:10] == list(string.digits) and chars.index("A") == 17 and chars.index("a") == 49
    # PP-OCRv4 English rec model: blank + 95 dict lines + space appended by use_space_char = 97 classes
    assert 1 + len(chars) + 1 == 97


def test_en_equals_the_checkout_file() -> None:
    """Where a PaddleOCR checkout is at hand (PADDLEOCR_HOME), our generated en_dict.txt must equal
    its ppocr/utils/en_dict.txt line for line (release/2.10 checked: identical)."""
    upstream = Path(os.environ.get("PADDLEOCR_HOME", "/nonexistent")) / "ppocr" / "utils" / "en_dict.txt"
    if not upstream.is_file():
        pytest.skip("set PADDLEOCR_HOME to a PaddleOCR checkout to compare with its ppocr/utils/en_dict.txt")
    # PaddleOCR reads a dictionary line by line, stripping only the line end
    theirs = [line.rstrip("\r\n") for line in upstream.read_text(encoding="utf-8").splitlines(keepends=True)]
    assert lines("en_dict.txt") == theirs


def test_korean_content_and_order() -> None:
    chars = lines("korean_dict.txt")
    assert chars[:11_172] == HANGUL  # every precomposed syllable, in code-point order
    assert chars[11_172:] == KOREAN_EXTRAS
    assert " " not in chars  # space comes from use_space_char, not from the file


@pytest.mark.parametrize("name", NAMES)
def test_load_dictionary(name: str) -> None:
    charset = load_dictionary(LABELS / name)
    assert isinstance(charset, frozenset)
    assert charset == frozenset(lines(name))


def test_script_reproduces_committed_files(tmp_path: Path) -> None:
    for run in range(2):
        subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True, capture_output=True)
        for name in NAMES:
            assert (tmp_path / name).read_bytes() == (LABELS / name).read_bytes(), f"{name} (run {run + 1})"
