"""Fonts for `augkit synth`: found once at the edge, identified by content, checked for glyphs.

Each line of a synthesized item is written in one script (`ocr` for MRZ lines, `latin`, or
`hangul`) and takes a font of that script. OCR-B ships with augkit (public domain, see
font_files/README.md); Latin and Hangul fonts come from the system's font folders, or from `--font`.
A `FontRef` records a font's file name, face index and SHA-256, so the run's fingerprint
changes when a font file does, and the manifest names the font every crop used.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from augkit.errors import UserError

SCRIPTS = ("ocr", "latin", "hangul")

# File name -> face index (TrueType collections hold several faces; 1 is the Korean one of
# Noto CJK's collections). Listed by preference; every one present is used.
SYSTEM_FONTS: dict[str, dict[str, int]] = {
    "latin": {"DejaVuSans.ttf": 0, "DejaVuSerif.ttf": 0, "DejaVuSansMono.ttf": 0, "DejaVuSansCondensed.ttf": 0,
              "DejaVuSerifCondensed.ttf": 0, "DejaVuSans-Bold.ttf": 0, "LiberationSans-Regular.ttf": 0,
              "LiberationSerif-Regular.ttf": 0, "LiberationMono-Regular.ttf": 0,
              "LiberationSansNarrow-Regular.ttf": 0, "LiberationSans-Bold.ttf": 0, "FreeSans.ttf": 0,
              "FreeSerif.ttf": 0, "FreeMono.ttf": 0},
    "hangul": {"NanumGothic.ttf": 0, "NanumMyeongjo.ttf": 0, "NanumBarunGothic.ttf": 0, "NanumSquareR.ttf": 0,
               "NanumGothicBold.ttf": 0, "NotoSansCJK-Regular.ttc": 1, "NotoSerifCJK-Regular.ttc": 1},
}
DEBIAN_PACKAGES = {"latin": "fonts-dejavu-core (or fonts-liberation)", "hangul": "fonts-nanum (or fonts-noto-cjk)",
                   "ocr": "fonts-ocr-b"}
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")


@dataclass(frozen=True)
class FontRef:
    """One font face: where it is on this machine and what it is (name, face, content hash)."""

    script: str
    path: str
    name: str
    face: int
    sha256: str

    def identity(self) -> dict:
        """What the fingerprint and manifest record (not the path: machines differ there)."""
        return {"script": self.script, "name": self.name, "face": self.face, "sha256": self.sha256}


def bundled_ocr_b() -> Path:
    """The OCR-B font shipped with augkit."""
    return Path(str(resources.files("augkit.synth").joinpath("font_files", "OCRB.otf")))


def font_ref(script: str, path: str | Path, face: int = 0) -> FontRef:
    """A FontRef for `path`, refused with a clear message when FreeType cannot open it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"font {path} does not exist; pass --font a .ttf, .otf or .ttc file")
    try:
        load_font(str(path), face, 32)
    except OSError as exc:
        raise UserError(f"cannot open font {path} ({exc}); pass --font a .ttf, .otf or .ttc file") from None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return FontRef(script, str(path.resolve()), path.name, face, digest)


def system_fonts(script: str) -> list[FontRef]:
    """The fonts of `script` available here: OCR-B from augkit itself, the others from the
    system's font folders; a UserError naming the Debian package when there are none."""
    if script == "ocr":
        return [font_ref("ocr", bundled_ocr_b())]
    found = _font_index()
    refs = [font_ref(script, found[name], face) for name, face in SYSTEM_FONTS[script].items() if name in found]
    if not refs:
        raise UserError(f"no {script} font found in {', '.join(FONT_DIRS)}: install the Debian package "
                        f"{DEBIAN_PACKAGES[script]} (apt-get install ...) or pass --font FILE")
    return refs


@lru_cache(maxsize=1)
def _font_index() -> dict[str, str]:
    """Font file name -> path, over the font folders (first folder wins; sorted walk)."""
    index: dict[str, str] = {}
    for folder in FONT_DIRS:
        root = os.path.expanduser(folder)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                index.setdefault(name, os.path.join(dirpath, name))
    return index


@lru_cache(maxsize=256)
def load_font(path: str, face: int, size: int):
    """A FreeType font object (cached per process: opening a font costs milliseconds)."""
    from PIL import ImageFont

    return ImageFont.truetype(path, size, index=face, layout_engine=ImageFont.Layout.BASIC)


# Glyph checks run at a small size; the answer does not depend on it.
_PROBE_SIZE = 24
_MISSING = "\U0010fffd"  # a private-use code point no font maps: it draws the font's .notdef


@lru_cache(maxsize=None)
def _notdef(path: str, face: int) -> bytes:
    font = load_font(path, face, _PROBE_SIZE)
    return _mask_bytes(font, _MISSING)


def _mask_bytes(font, ch: str) -> bytes:
    mask = font.getmask(ch)
    return bytes(mask.size) + bytes(mask)


@lru_cache(maxsize=None)
def has_glyph(path: str, face: int, ch: str) -> bool:
    """Whether the font draws `ch` with a glyph of its own (not its .notdef box)."""
    if ch.isspace():
        return True
    font = load_font(path, face, _PROBE_SIZE)
    drawn = _mask_bytes(font, ch)
    return drawn != _notdef(path, face) and any(bytes(font.getmask(ch)))


def covers(font: FontRef, text: str) -> bool:
    """Whether `font` has a glyph for every character of `text`."""
    return all(has_glyph(font.path, font.face, ch) for ch in set(text))


def missing(fonts: list[FontRef], chars: str) -> str:
    """The characters of `chars` that none of `fonts` can draw, sorted."""
    return "".join(sorted(c for c in set(chars) if not any(has_glyph(f.path, f.face, c) for f in fonts)))
