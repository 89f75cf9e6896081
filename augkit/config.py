"""The resolved configuration of a generate run, validated once at the edge.

`GenerateConfig` is what a shard worker needs (small and picklable); its `fingerprint`
covers everything that shapes output bytes, so a different config is never mixed into an
existing output root, while workers, backend and progress settings stay free to change.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import asdict, dataclass, field
from functools import cached_property, lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from augkit import __version__
from augkit.errors import UserError
from augkit.reader import DELIMITERS, LabelRules

MAX_VARIANTS = 999


class RunConfig(Protocol):
    """What the shared run machinery (preflight, runner, merge) needs of a command's config."""

    out: str
    seed: int
    val_fraction: float

    def fingerprint(self) -> str: ...

    def output_settings(self) -> dict[str, Any]: ...


def settings_fingerprint(settings: dict[str, Any]) -> str:
    """SHA-256 of a config's output settings (canonical JSON)."""
    blob = json.dumps(settings, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class GenerateConfig:
    """Everything that decides what `augkit generate` writes."""

    label_file: str
    data_root: str
    out: str
    recipe_strong: dict[str, Any]
    recipe_weak: dict[str, Any]
    n_strong: int = 7
    n_weak: int = 3
    seed: int = 0
    delimiter: str = "tab"
    shard_size: int = 1000
    max_per_folder: int = 500_000
    jpeg_quality: int = 95
    val_fraction: float = 0.0
    group_variants: bool = False
    charset: tuple[str, ...] | None = None
    max_text_length: int | None = None
    allow_space: bool = True  # False: --no-space, for models without use_space_char
    keep_source: bool = False  # --keep-source: the source itself as variant 0, listed with its variants
    output_format: str = "files"  # --output-format lmdb: the same images in LMDB databases (lmdb_store)
    label_file_identity: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        _check(self.n_strong >= 0 and self.n_weak >= 0 and 0 < self.n_strong + self.n_weak <= MAX_VARIANTS,
               f"--strong and --weak must be >= 0 and make 1..{MAX_VARIANTS} variants per source")
        _check(self.delimiter in DELIMITERS, f"--delimiter must be one of {', '.join(DELIMITERS)}")
        _check(self.shard_size >= 1, "--shard-size must be at least 1")
        _check(self.max_per_folder >= 1, "--max-per-folder must be at least 1")
        _check(1 <= self.jpeg_quality <= 100, "--jpeg-quality must be within 1..100")
        _check(0.0 <= self.val_fraction < 1.0, "--val-fraction must be in [0, 1)")
        _check(self.max_text_length is None or self.max_text_length >= 1, "--max-text-length must be at least 1")
        check_output_format(self.output_format, group_variants=self.group_variants)

    @property
    def n_variants(self) -> int:
        return self.n_strong + self.n_weak

    def rules(self) -> LabelRules | None:
        """The label checks this run applies at read time."""
        if self.charset is None and self.max_text_length is None and self.allow_space:
            return None
        return LabelRules(charset=frozenset(self.charset) if self.charset is not None else None,
                          max_length=self.max_text_length, allow_space=self.allow_space)

    def output_settings(self) -> dict[str, Any]:
        """What shapes the output bytes (the fingerprint's content)."""
        settings = asdict(self)
        for key in ("out", "label_file", "data_root"):
            settings.pop(key)
        settings["charset"] = "".join(sorted(self.charset)) if self.charset is not None else None
        if self.allow_space:
            # The default is left out, so runs made before --no-space existed keep their
            # fingerprint and resume; only --no-space runs carry the key.
            del settings["allow_space"]
        if not self.keep_source:
            del settings["keep_source"]   # likewise for --keep-source
        if self.output_format == "files":
            del settings["output_format"]   # likewise for --output-format: only LMDB runs carry it
        settings["versions"] = library_versions()
        return settings

    @cached_property
    def _fingerprint(self) -> str:
        return settings_fingerprint(self.output_settings())

    def fingerprint(self) -> str:
        """SHA-256 of the output settings: equal fingerprints make equal outputs."""
        return self._fingerprint



def check_output_format(output_format: str, group_variants: bool = False, refuse: str | None = None) -> None:
    """Validate --output-format; `refuse` names a mode of the command that LMDB cannot hold."""
    from augkit.lmdb_store import OUTPUT_FORMATS, require_lmdb

    _check(output_format in OUTPUT_FORMATS, f"--output-format must be one of {', '.join(OUTPUT_FORMATS)}")
    if output_format == "lmdb":
        _check(not group_variants, "--group-variants lists several images per label line, which an LMDB sample "
                                   "cannot hold; use --output-format files")
        _check(refuse is None, f"--output-format lmdb holds recognition samples (one image, one label); {refuse} "
                               "writes files only")
        require_lmdb()


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(message)


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """Versions of everything that shapes output bytes."""
    import cv2
    import numpy

    # Read from the installed metadata: importing albumentations costs every worker process
    # about a second, and recipes without albumentations steps never need it.
    try:
        albumentations = metadata.version("albumentations")
    except metadata.PackageNotFoundError:
        albumentations = "not installed"
    return {"augkit": __version__, "numpy": numpy.__version__, "opencv": cv2.__version__,
            "albumentations": albumentations, "python": platform.python_version()}


def label_file_identity(path: Path) -> dict[str, Any]:
    """Cheap identity of a (possibly huge) label file: size plus hashes of its head and tail."""
    size = path.stat().st_size
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read(1 << 20))
        if size > 2 << 20:
            f.seek(size - (1 << 20))
            h.update(f.read())
    return {"size": size, "sha256_head_tail": h.hexdigest()}
