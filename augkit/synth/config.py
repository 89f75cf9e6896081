"""The resolved configuration of a synth run, validated once at the edge.

`SynthConfig` is what a shard worker needs (small, picklable). Its fingerprint covers every
setting that shapes output bytes, the identity (name, face, SHA-256) of every font and of the
corpus, the library versions, and the shard size (shard numbers name the done-markers, so a
run is resumed with the shard size it started with), so a different configuration is never
mixed into an existing output root, while workers stay free to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

from augkit.config import MAX_VARIANTS, check_output_format, label_file_identity, library_versions, settings_fingerprint
from augkit.errors import UserError
from augkit.mrz import LAYOUTS
from augkit.synth.fonts import FontRef, font_ref, missing, system_fonts

KINDS = ("mrz", "bz", "korean-name", "text", "page")
# The scripts each kind writes, and (for built-in kinds) the characters it can write in them.
KIND_SCRIPTS = {"mrz": ("ocr",), "bz": ("latin",), "korean-name": ("hangul", "latin"), "text": ("latin", "hangul"),
                "page": ("ocr", "latin", "hangul")}
# Scripts a kind can do without (a page without a Hangul font has no Korean name line).
OPTIONAL_SCRIPTS = {"page": ("hangul",)}


@dataclass(frozen=True)
class SynthConfig:
    """Everything that decides what `augkit synth` writes."""

    out: str
    kind: str
    count: int
    fonts: tuple[FontRef, ...]
    seed: int = 0
    height: int = 48
    shard_size: int = 1000
    max_per_folder: int = 500_000
    jpeg_quality: int = 95
    val_fraction: float = 0.0
    mrz_layouts: tuple[str, ...] = ("TD1", "TD2", "TD3")
    romanised: bool = False
    corpus: str | None = None
    corpus_identity: dict[str, Any] = field(default_factory=dict)
    rec_crops: bool = False   # --kind page: also each line's rectified crop, in rec_train.txt / rec_val.txt
    output_format: str = "files"  # --output-format lmdb: the crops in LMDB databases (lmdb_store)

    def __post_init__(self):
        _check(self.kind in KINDS, f"--kind must be one of {', '.join(KINDS)}")
        _check(self.count >= 1, "--count must be at least 1")
        _check(self.kind != "text" or self.count <= MAX_VARIANTS,
               f"--count with --kind text is the number of crops per corpus line: 1..{MAX_VARIANTS}")
        _check(16 <= self.height <= 512, "--height must be within 16..512 pixels")
        _check(self.shard_size >= 1, "--shard-size must be at least 1")
        _check(self.max_per_folder >= 1, "--max-per-folder must be at least 1")
        _check(1 <= self.jpeg_quality <= 100, "--jpeg-quality must be within 1..100")
        _check(0.0 <= self.val_fraction < 1.0, "--val-fraction must be in [0, 1)")
        _check(bool(self.mrz_layouts) and set(self.mrz_layouts) <= set(LAYOUTS),
               f"--mrz-layout must be among {', '.join(LAYOUTS)}")
        _check((self.kind == "text") == (self.corpus is not None),
               "--corpus FILE is required with --kind text, and only there")
        _check(not self.rec_crops or self.kind == "page", "--rec-crops goes with --kind page")
        check_output_format(self.output_format, refuse="--kind page (pages with det labels)" if self.kind == "page"
                            else None)

    @property
    def crops_per_item(self) -> int:
        """The most crops one item makes (the width of its slot in the image folders)."""
        if self.kind == "mrz":
            return max(LAYOUTS[layout][0] for layout in self.mrz_layouts)
        if self.kind == "korean-name":
            return 2 if self.romanised else 1
        if self.kind == "text":
            return self.count
        if self.kind == "page":
            from augkit.synth.page import MAX_LINES

            return 1 + MAX_LINES if self.rec_crops else 1
        return 1

    def fonts_for(self, script: str) -> list[FontRef]:
        """The fonts a line in `script` may take (user fonts serve every script they cover)."""
        return [f for f in self.fonts if f.script in (script, "any")]

    def output_settings(self) -> dict[str, Any]:
        """What shapes the output bytes (the fingerprint's content)."""
        return {"kind": self.kind, "count": self.count, "seed": self.seed, "height": self.height,
                "shard_size": self.shard_size, "max_per_folder": self.max_per_folder, "jpeg_quality": self.jpeg_quality,
                "val_fraction": self.val_fraction,
                "mrz_layouts": list(self.mrz_layouts) if self.kind == "mrz" else None,
                "romanised": self.romanised if self.kind == "korean-name" else None,
                "rec_crops": self.rec_crops if self.kind == "page" else None,
                "fonts": [f.identity() for f in self.fonts], "corpus": self.corpus_identity or None,
                **({"output_format": self.output_format} if self.output_format != "files" else {}),
                "versions": synth_versions()}

    @cached_property
    def _fingerprint(self) -> str:
        return settings_fingerprint(self.output_settings())

    def fingerprint(self) -> str:
        """SHA-256 of the output settings: equal fingerprints make equal outputs."""
        return self._fingerprint


def synth_versions() -> dict[str, str]:
    """Versions of everything that shapes synthesized pixels: generate's, plus Pillow and FreeType."""
    from PIL import features

    return {**library_versions(), "pillow": metadata.version("pillow"),
            "freetype": features.version("freetype2") or "unknown"}


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(message)


def resolve_fonts(kind: str, user_fonts: list[str | Path] | None) -> tuple[FontRef, ...]:
    """The fonts of the run: `--font` files when given (each may serve any script it covers),
    else the kind's default fonts found on this machine. Refuses fonts that cannot draw what
    the kind writes, naming the missing characters."""
    if kind not in KINDS:
        raise UserError(f"--kind must be one of {', '.join(KINDS)}")
    if user_fonts:
        return tuple(font_ref("any", path) for path in user_fonts)
    if kind != "text":
        refs = []
        for script in KIND_SCRIPTS[kind]:
            try:
                refs.extend(system_fonts(script))
            except UserError:
                if script not in OPTIONAL_SCRIPTS.get(kind, ()):
                    raise
        return tuple(refs)
    # A corpus may be in any script: take what this machine has; each text finds its fonts.
    refs: list[FontRef] = []
    for script in KIND_SCRIPTS[kind]:
        try:
            refs.extend(system_fonts(script))
        except UserError:
            continue
    if not refs:
        raise UserError("no Latin or Hangul font found: install the Debian package fonts-dejavu-core or "
                        "fonts-nanum, or pass --font FILE")
    return tuple(refs)


def check_fonts(kind: str, fonts: tuple[FontRef, ...], romanised: bool) -> None:
    """Refuse fonts that cannot write what a built-in kind writes, naming what is missing."""
    from augkit.synth.content import kind_alphabets

    for script, chars in kind_alphabets(kind, romanised).items():
        usable = [f for f in fonts if f.script in (script, "any")]
        lacking = missing(usable, chars) if usable else chars
        if lacking:
            names = ", ".join(f.name for f in usable) or "none"
            shown = lacking if len(lacking) <= 20 else lacking[:20] + f"... ({len(lacking)} characters)"
            raise UserError(f"--kind {kind}: no font ({names}) draws {shown!r}; pass --font files that do")


def make_synth_config(kind: str, count: int, out: str | Path, fonts: list[str | Path] | None = None,
                      corpus: str | Path | None = None, **options: Any) -> SynthConfig:
    """Resolve user inputs (fonts, corpus) into a validated SynthConfig."""
    corpus_path = None
    identity: dict[str, Any] = {}
    if corpus is not None:
        corpus_path = Path(corpus)
        if not corpus_path.is_file():
            raise UserError(f"corpus {corpus_path} does not exist; pass --corpus a UTF-8 text file, one text per line")
        identity = label_file_identity(corpus_path)
        corpus_path = corpus_path.resolve()
    refs = resolve_fonts(kind, fonts)
    config = SynthConfig(out=str(Path(out).resolve()), kind=kind, count=count, fonts=refs,
                         corpus=str(corpus_path) if corpus_path else None, corpus_identity=identity, **options)
    if kind != "text":
        check_fonts(kind, refs, config.romanised)
    return config

