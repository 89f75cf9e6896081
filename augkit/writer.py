"""The output layout: image names and folders, per-shard parts, atomic writes, done-markers.

OUT/images_00001/0000000042_03.jpg    variant 3 of label-file line 42
OUT/shards/shard_000000.labels        the shard's label lines (with their split), in line order
OUT/shards/shard_000000.rejects.tsv   the shard's rejected lines
OUT/shards/shard_000000.jsonl.gz      every output's source and the exact stage parameters
OUT/shards/shard_000000.done.json     counts and timings; written last, so its presence means done

Label parts, rejects, manifests and markers appear whole or not at all (written under
dot-names and renamed). Images are written in place: a shard that did not finish has no
done-marker, so a resumed run redoes it whole and rewrites the same bytes over any partial
image. Temporaries of a killed run are removed when it resumes.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import time
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

SHARDS_DIR = "shards"
RUN_CONFIG = "config.json"


def variant_digits(n_variants: int) -> int:
    """Width of the variant number in file names (at least 2: `_03`)."""
    return max(2, len(str(n_variants)))


def image_relpath(line: int, variant: int, n_variants: int, max_per_folder: int, first: int = 1) -> str:
    """Output path of one variant, relative to OUT.

    The folder comes from the variant's planned slot ((line - 1) * slots + variant - first, with
    variants numbered first..n_variants), not from a running count, so it is the same whichever
    worker writes it and never holds more than `max_per_folder` images (rejected and blank lines
    just leave gaps). `first=0` numbers the source itself 0 (`generate --keep-source`).
    """
    slots = n_variants + 1 - first
    folder = ((line - 1) * slots + (variant - first)) // max_per_folder + 1
    return _name_format(n_variants) % (folder, line, variant)


@lru_cache(maxsize=16)
def _name_format(n_variants: int) -> str:
    return f"images_%05d/%010d_%0{variant_digits(n_variants)}d.jpg"


def shard_path(out: str | Path, index: int, suffix: str) -> Path:
    return Path(out) / SHARDS_DIR / f"shard_{index:06d}.{suffix}"


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one, never part."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write(path, (json.dumps(obj, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))


def gzip_bytes(text: str) -> bytes:
    """Deterministic gzip (no timestamp, no file name)."""
    buf = io.BytesIO()
    # Level 1: a shard's manifest is written once and read rarely; level 6 took a few
    # microseconds per image for a fifth less size.
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="", compresslevel=1) as gz:
        gz.write(text.encode("utf-8"))
    return buf.getvalue()


def escape_cell(text: str) -> str:
    """A TSV cell: backslash, tab, newline and carriage return escaped."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def reject_row(line: int, path: str, reason: str, detail: str = "") -> str:
    """One rejects.tsv row: line, path, reason, detail."""
    return "\t".join(escape_cell(c) for c in (str(line), path, reason, detail))


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def write_image(out: str | Path, rel: str, data: bytes, made_folders: set[str]) -> None:
    """Write one output image at OUT/rel, creating its images_NNNNN folder once per shard.

    Written in place, one file creation per image: a shard killed mid-write is not done, so it
    is redone whole and rewrites the same bytes over any partial image. (A temporary name plus
    rename doubled the directory operations, which is what stops many workers writing into one
    folder from scaling.)
    """
    folder = rel[:rel.index("/")]
    if folder not in made_folders:
        os.makedirs(os.path.join(out, folder), exist_ok=True)
        made_folders.add(folder)
    # Plain descriptor calls on a string path: a Python file object (buffer, context manager)
    # and a pathlib join per image cost about as much as the write itself.
    fd = os.open(f"{out}/{rel}", _CREATE, 0o666)
    try:
        done = os.write(fd, data)
        while done < len(data):  # a regular file takes the whole write; this is for the rare short one
            done += os.write(fd, memoryview(data)[done:])
    finally:
        os.close(fd)


def finish_shard(out: Path, shard_index: int, start_line: int, fingerprint: str, labels: list[str],
                 rejects: list[str], manifest: list[str], counts: dict[str, int], timing: dict[str, float],
                 started: float, images=None) -> dict[str, Any]:
    """Write a shard's label part, rejects, manifest and, last, its done-marker; return the marker.

    `labels` are `split<TAB>rest` lines (split `t` or `v`), `manifest` JSON lines; `started`
    is the shard's `time.perf_counter()` start. `images` is the shard's image sink
    (`lmdb_store.image_sink`): LMDB output commits its databases here, before the marker.
    """
    if images is not None:
        t = time.perf_counter()
        images.commit(shard_index, labels)
        timing["write"] = timing.get("write", 0.0) + time.perf_counter() - t
    atomic_write(shard_path(out, shard_index, "labels"), "".join(f"{x}\n" for x in labels).encode("utf-8"))
    atomic_write(shard_path(out, shard_index, "rejects.tsv"), "".join(f"{x}\n" for x in rejects).encode("utf-8"))
    atomic_write(shard_path(out, shard_index, "jsonl.gz"), gzip_bytes("".join(f"{x}\n" for x in manifest)))
    done = {"shard": shard_index, "start_line": start_line, "fingerprint": fingerprint, **counts,
            "rejects": len(rejects), "seconds": round(time.perf_counter() - started, 4),
            "timing": {k: round(v, 4) for k, v in timing.items()}, "pid": os.getpid()}
    atomic_write_json(shard_path(out, shard_index, "done.json"), done)
    return done


def read_done(out: str | Path, index: int) -> dict[str, Any] | None:
    """The shard's done-marker, or None when the shard has not finished."""
    try:
        return json.loads(shard_path(out, index, "done.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def remove_stray_temporaries(out: str | Path) -> int:
    """Delete temporary files (and LMDB database folders) left by a killed run (only augkit's own
    `.*.tmp` names)."""
    from augkit.lmdb_store import remove_stray_databases

    removed = remove_stray_databases(out)
    for folder in (Path(out), Path(out) / SHARDS_DIR):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
                removed += 1
    return removed


class AtomicTextFile:
    """A UTF-8 text file (`\\n` line ends) written under a temporary name and renamed into place
    when the `with` block succeeds; removed when it fails."""

    def __init__(self, path: Path):
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")

    def __enter__(self):
        self.file = open(self.tmp, "w", encoding="utf-8", newline="\n")
        return self.file

    def __exit__(self, kind, value, tb):
        self.file.close()
        if kind is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def read_manifest(out: str | Path) -> list[dict]:
    """Every output's manifest record of a finished run (generate, synth or crop), in shard order."""
    records = []
    for part in sorted((Path(out) / "shards").glob("shard_*.jsonl.gz")):
        with gzip.open(part, "rt", encoding="utf-8") as f:
            records.extend(json.loads(line) for line in f if line.strip())
    return records
