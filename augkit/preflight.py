"""Checks before any work: the output root is ours and writable, and the disk can hold the run."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from augkit.config import RunConfig
from augkit.errors import UserError
from augkit.writer import RUN_CONFIG, SHARDS_DIR, atomic_write_json

# Besides the JPEG itself, each image costs a label line and a manifest record.
OVERHEAD_PER_IMAGE = 400


def check_output_root(config: RunConfig) -> bool:
    """Refuse an output root that is not a folder, not writable, or holds something else.

    Returns True when it holds an earlier run of this same configuration (a resume).
    Nothing is written.
    """
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder")
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"--out {out} cannot be created: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"--out {out} is not writable ({probe} denies writing); choose another folder")
    if not out.exists():
        return False
    saved = out / SHARDS_DIR / RUN_CONFIG
    if saved.is_file():
        try:
            earlier = json.loads(saved.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            raise UserError(f"{saved} is damaged; delete --out {out} or choose another folder") from None
        if earlier.get("fingerprint") != config.fingerprint():
            changed = _differences(earlier.get("settings", {}), config.output_settings())
            raise UserError(f"--out {out} holds a run with a different configuration (differs in: {changed}); "
                            "rerun with the same options to resume, or choose another --out")
        return True
    if any(out.iterdir()) and not _only_skeleton(out):
        raise UserError(f"--out {out} is not empty and holds no augkit run; choose an empty or new folder")
    return False


def _only_skeleton(out: Path) -> bool:
    """True when `out` holds nothing but the folders and temporaries a run creates before it
    records its configuration (a run killed in that instant is still ours to restart)."""
    for entry in out.iterdir():
        if entry.name != SHARDS_DIR or not entry.is_dir():
            return False
        for inner in entry.iterdir():
            if not inner.name.endswith(".tmp"):
                return False
    return True


def _differences(old: dict, new: dict) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(keys) or "unknown settings"


def check_capacity(out: Path, images: int, bytes_per_image: float, shards: int) -> None:
    """Refuse when the free space or free inodes cannot hold `images` more images."""
    probe = out
    while not probe.exists():
        probe = probe.parent
    need = int(images * (bytes_per_image + OVERHEAD_PER_IMAGE) * 1.1)
    free = shutil.disk_usage(probe).free
    if need > free:
        raise UserError(f"--out {out} needs about {_gb(need)} for {images:,} images but only {_gb(free)} is free; "
                        "free some space or choose another --out")
    stat = os.statvfs(probe)
    inodes = images + 4 * shards + images // 100_000 + 16
    if stat.f_files and inodes > stat.f_favail:
        raise UserError(f"--out {out} needs about {inodes:,} files but the file system has room for only "
                        f"{stat.f_favail:,} more; choose another --out")


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB"


def claim_output_root(config: RunConfig) -> None:
    """Create the output root and record this run's configuration in it."""
    out = Path(config.out)
    try:
        (out / SHARDS_DIR).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise UserError(f"cannot write to --out {out}: {exc.strerror}; choose another folder") from None
    saved = out / SHARDS_DIR / RUN_CONFIG
    if not saved.exists():
        atomic_write_json(saved, {"fingerprint": config.fingerprint(), "settings": config.output_settings()})
