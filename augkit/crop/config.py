"""The resolved configuration of a crop run, validated once at the edge.

`CropConfig` is what a shard worker needs: the format, the annotation files (in page order),
the page image folder and every setting that shapes output bytes. Its fingerprint covers the
annotation files' identities (not their paths), the settings, the shard size (shard numbers name
the done-markers) and the library versions, so a different run is never mixed into an output root.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from augkit.config import MAX_VARIANTS, check_output_format, label_file_identity, library_versions, settings_fingerprint
from augkit.crop.formats import FORMATS, PAGE_FILE_PATTERNS
from augkit.errors import UserError


@dataclass(frozen=True)
class CropConfig:
    """Everything that decides what `augkit crop` writes."""

    out: str
    format: str
    label_files: tuple[str, ...]
    images_dir: str
    label_identities: tuple[tuple[str, int, str], ...]
    slots: int = 1
    seed: int = 0
    height: int | None = None
    shard_size: int = 50
    max_per_folder: int = 500_000
    jpeg_quality: int = 95
    val_fraction: float = 0.0
    output_format: str = "files"  # --output-format lmdb: the crops in LMDB databases (lmdb_store)

    def __post_init__(self):
        _check(self.format in FORMATS, f"--format must be one of {', '.join(FORMATS)}")
        _check(self.height is None or 8 <= self.height <= 512, "--height must be within 8..512 pixels")
        _check(self.shard_size >= 1, "--shard-size must be at least 1")
        _check(self.max_per_folder >= 1, "--max-per-folder must be at least 1")
        _check(1 <= self.jpeg_quality <= 100, "--jpeg-quality must be within 1..100")
        _check(0.0 <= self.val_fraction < 1.0, "--val-fraction must be in [0, 1)")
        _check(1 <= self.slots <= MAX_VARIANTS ** 2, "too many regions on one page")
        check_output_format(self.output_format)

    @property
    def per_page_files(self) -> bool:
        """Whether every annotation file is one page (ICDAR 2015, SROIE) or holds one page a line."""
        return self.format != "paddle-det"

    def output_settings(self) -> dict[str, Any]:
        """What shapes the output bytes (the fingerprint's content)."""
        return {"format": self.format, "labels": [list(i) for i in self.label_identities], "slots": self.slots,
                "seed": self.seed, "height": self.height, "shard_size": self.shard_size,
                "max_per_folder": self.max_per_folder, "jpeg_quality": self.jpeg_quality,
                "val_fraction": self.val_fraction,
                **({"output_format": self.output_format} if self.output_format != "files" else {}),
                "versions": library_versions()}

    @cached_property
    def _fingerprint(self) -> str:
        return settings_fingerprint(self.output_settings())

    def fingerprint(self) -> str:
        """SHA-256 of the output settings: equal fingerprints make equal outputs."""
        return self._fingerprint


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(message)


def find_label_files(fmt: str, labels: list[str | Path]) -> list[Path]:
    """The annotation files named on the command line, folders expanded (ICDAR 2015: `gt_*.txt`,
    SROIE: `*.csv`, sorted by name), in the order given; refused when missing or empty."""
    if fmt not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}")
    if not labels:
        raise UserError("name the annotation files (or, for icdar2015/sroie, their folder) to crop from")
    files: list[Path] = []
    for label in labels:
        path = Path(label)
        if path.is_dir():
            if fmt == "paddle-det":
                raise UserError(f"{path} is a folder; --format paddle-det takes label files (path<TAB>[...])")
            found = sorted(path.glob(PAGE_FILE_PATTERNS[fmt]))
            if not found:
                raise UserError(f"{path} holds no {PAGE_FILE_PATTERNS[fmt]} files for --format {fmt}")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise UserError(f"annotation file {path} does not exist")
    names = [f.name for f in files]
    if fmt != "paddle-det" and len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise UserError(f"two annotation files are named {dup}: their pages would share one image name; "
                        "crop them in separate runs")
    return [f.resolve() for f in files]


def file_identity(path: Path, whole: bool) -> tuple[str, int, str]:
    """(name, size, SHA-256) of an annotation file; a large one-page-per-line file by head and tail."""
    if not whole:
        ident = label_file_identity(path)
        return path.name, ident["size"], ident["sha256_head_tail"]
    data = path.read_bytes()
    return path.name, len(data), hashlib.sha256(data).hexdigest()
