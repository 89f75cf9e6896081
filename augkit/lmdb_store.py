"""LMDB output and input: the layout PaddleOCR's `LMDBDataSet` trains from.

`--output-format lmdb` (generate, synth, crop) writes the very images the folder layout would,
with the same bytes and in the same order, but into LMDB databases instead of loose files:

OUT/lmdb/train/images_00001/shard_000000/data.mdb   training samples of shard 0 in folder 1
OUT/lmdb/val/images_00001/shard_000000/data.mdb     its validation samples (with --val-fraction)

Each database holds the keys PaddleOCR's LMDBDataSet (and deep-text-recognition-benchmark)
read: `num-samples`, and from index 1 `image-%09d` (the encoded JPEG bytes) and `label-%09d`
(UTF-8); augkit adds `name-%09d`, the image's name in the folder layout (what the manifest,
shards/*.jsonl.gz, calls it), so every sample traces back to its source line and stage
parameters. PaddleOCR walks `data_dir` and opens every leaf folder as one database, so
OUT/lmdb/train is the Train dataset's `data_dir` and OUT/lmdb/val the Eval one's.

One database per shard and `images_NNNNN` folder: a folder never gathers more than
`--max-per-folder` samples, and resume stays per shard. A shard's samples are gathered in memory
(the shard's images, `--shard-size` lines' worth) and written, when the shard ends, into a
temporary folder beside `lmdb/train`; each database is then renamed into place, and only after
that is the shard's done-marker written. A shard killed before its marker is redone whole (its
databases replaced); temporaries of a killed run are removed when it resumes.

Reading (`augkit eval --labels`, `augkit labels check`, `augkit config --data`): any folder whose
leaf folders are LMDB databases in that key layout, in sorted folder order and index order.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from augkit.errors import SampleRejected, UserError
from augkit.writer import write_image

LMDB_DIR = "lmdb"
OUTPUT_FORMATS = ("files", "lmdb")
SPLIT_DIRS = {"t": "train", "v": "val"}
# PaddleOCR's LMDBDataSet keeps every database open at once (one file descriptor each); past
# this many, say so (a typical limit is 1,024 descriptors per process).
MANY_DATABASES = 900
_PAGE = 4096


def require_lmdb():
    """The `lmdb` module, or a UserError saying how to install it."""
    try:
        import lmdb
    except ImportError:
        raise UserError("--output-format lmdb and LMDB input need the lmdb package: pip install 'augkit[lmdb]'") from None
    return lmdb


class FolderImages:
    """Images written as loose files (the folder layout), as they are made."""

    def __init__(self, out: str | Path):
        self.out = str(out)
        self.made_folders: set[str] = set()

    def put(self, rel: str, data: bytes) -> None:
        write_image(self.out, rel, data, self.made_folders)

    def commit(self, shard_index: int, labels: list[str]) -> None:
        """Nothing left to do: every image is already in place."""


class LmdbImages:
    """A shard's images gathered in memory, written as its LMDB databases when the shard ends."""

    def __init__(self, out: str | Path):
        require_lmdb()
        self.out = Path(out)
        self.images: dict[str, bytes] = {}

    def put(self, rel: str, data: bytes) -> None:
        self.images[rel] = data

    def commit(self, shard_index: int, labels: list[str]) -> None:
        """Write one database per split and folder of the shard's `split<TAB>name<TAB>label` lines,
        in their order, then rename each into place."""
        groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for row in labels:
            split, rel, label = row.split("\t", 2)
            groups.setdefault((SPLIT_DIRS.get(split, "train"), rel[:rel.index("/")]), []).append((rel, label))
        unlisted = set(self.images) - {rel for rows in groups.values() for rel, _ in rows}
        if unlisted:  # a worker wrote an image it did not list: a bug, never silent loss
            raise RuntimeError(f"shard {shard_index}: {len(unlisted)} image(s) without a label line, "
                               f"e.g. {min(unlisted)}")
        name = f"shard_{shard_index:06d}"
        root = self.out / LMDB_DIR
        tmp = root / f".{name}.{uuid.uuid4().hex[:12]}.tmp"
        try:
            for (split, folder), rows in sorted(groups.items()):
                write_database(tmp / split / folder, [(self.images[rel], label, rel) for rel, label in rows])
            for (split, folder) in sorted(groups):
                target = root / split / folder / name
                if target.exists():  # left by a run killed before this shard's done-marker
                    shutil.rmtree(target)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp / split / folder, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.images.clear()


def image_sink(out: str | Path, output_format: str):
    """Where a shard worker puts its images: loose files or the shard's LMDB databases."""
    return LmdbImages(out) if output_format == "lmdb" else FolderImages(out)


def write_database(path: Path, samples: list[tuple[bytes, str, str]]) -> None:
    """One LMDB database at `path` of (image bytes, label, name) samples, indexed from 1."""
    lmdb = require_lmdb()
    path.mkdir(parents=True, exist_ok=True)
    # Values larger than a page go to overflow pages of their own, so size each sample in whole
    # pages; twice that and a margin leaves room for the B-tree. The file grows only as used.
    need = sum((len(data) + len(label.encode()) + len(name) + 3 * 64) // _PAGE + 3 for data, label, name in samples)
    map_size = 2 * need * _PAGE + (1 << 20)
    while True:
        env = lmdb.open(str(path), map_size=map_size, subdir=True, lock=False, sync=True, metasync=True)
        try:
            with env.begin(write=True) as txn:
                for i, (data, label, name) in enumerate(samples, start=1):
                    txn.put(b"image-%09d" % i, data)
                    txn.put(b"label-%09d" % i, label.encode("utf-8"))
                    txn.put(b"name-%09d" % i, name.encode("utf-8"))
                txn.put(b"num-samples", str(len(samples)).encode())
            env.sync(True)
            return
        except lmdb.MapFullError:
            map_size *= 2
        finally:
            env.close()
        shutil.rmtree(path)
        path.mkdir(parents=True)


def remove_stray_databases(out: str | Path) -> int:
    """Delete the temporary database folders of a killed run (augkit's own `.shard_*.tmp`)."""
    root = Path(out) / LMDB_DIR
    removed = 0
    if root.is_dir():
        for tmp in root.glob(".shard_*.tmp"):
            shutil.rmtree(tmp, ignore_errors=True)
            removed += 1
    return removed


def count_databases(out: str | Path) -> int:
    root = Path(out) / LMDB_DIR
    return len(find_databases(root)) if root.is_dir() else 0


# ---- reading --------------------------------------------------------------------------------


def find_databases(root: str | Path) -> list[Path]:
    """The LMDB databases under `root` as PaddleOCR finds them (leaf folders), sorted; hidden
    folders (augkit's temporaries) are skipped."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if not dirnames and "data.mdb" in filenames:
            found.append(Path(dirpath))
    return sorted(found)


def is_lmdb_input(path: str | Path) -> bool:
    """Whether `path` names LMDB input: a folder (of databases) rather than a label file."""
    return Path(path).is_dir()


@dataclass(frozen=True)
class LmdbSample:
    """Where one sample lies: database number and index (from 1)."""

    database: int
    index: int


class LmdbStore:
    """Every sample of the LMDB databases under a folder: names, labels and image bytes.

    A sample's name is its `name-%09d` (augkit's databases: the folder layout's image name),
    else `<database folder>/<index>`. Images are read with one short read transaction each,
    so reader threads can share the store.
    """

    def __init__(self, root: str | Path):
        lmdb = require_lmdb()
        self.root = Path(root)
        self.paths = find_databases(self.root)
        if not self.paths:
            raise UserError(f"{self.root} holds no LMDB database (a leaf folder with data.mdb); pass a folder such "
                            "as OUT/lmdb/val")
        self.envs = []
        for path in self.paths:
            try:
                self.envs.append(lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False,
                                           max_readers=64))
            except lmdb.Error as exc:
                raise UserError(f"{path} is not a readable LMDB database: {exc}") from None
        self.where: dict[str, LmdbSample] = {}

    def entries(self) -> Iterator[tuple[int, str, bytes | None, bool, str | None]]:
        """(running number from 1, name, raw label or None, whether the image key exists, what is
        wrong with the database) of every sample, database by database in folder order; a database
        without a readable `num-samples` is one entry, named by its folder, saying so."""
        number = 0
        for d, (path, env) in enumerate(zip(self.paths, self.envs)):
            rel = path.relative_to(self.root).as_posix()
            with env.begin(buffers=False) as txn:
                raw = txn.get(b"num-samples")
                try:
                    count = int(raw) if raw is not None else -1
                except ValueError:
                    count = -1
                if count < 0:
                    number += 1
                    yield number, rel, None, False, f"no readable num-samples key ({raw!r})"
                    continue
                for i in range(1, count + 1):
                    number += 1
                    name = txn.get(b"name-%09d" % i)
                    name = name.decode("utf-8", "replace") if name is not None else f"{rel}/{i}"
                    self.where[name] = LmdbSample(d, i)
                    yield number, name, txn.get(b"label-%09d" % i), txn.get(b"image-%09d" % i) is not None, None

    def read(self, name: str) -> bytes:
        """The encoded image bytes of sample `name` (as `entries` names it)."""
        if not self.where:
            for _ in self.entries():
                pass
        at = self.where.get(name)
        if at is None:
            raise SampleRejected("missing image", name)
        with self.envs[at.database].begin(buffers=False) as txn:
            data = txn.get(b"image-%09d" % at.index)
        if data is None:
            raise SampleRejected("missing image", f"{name}: no image-{at.index:09d} key")
        return data

    def close(self) -> None:
        """Close every database (py-lmdb opens a database once per process at a time)."""
        for env in self.envs:
            env.close()
        self.envs = []

    def __enter__(self) -> "LmdbStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_items(store: LmdbStore, rules=None) -> Iterator:
    """Every sample of the store as a `Source` (name, label) or a `Reject`, the way the label-file
    reader judges lines: labels must be UTF-8 without tabs or line breaks, non-empty, and meet
    `rules`; a sample without its image is rejected as a missing image."""
    from augkit.reader import Reject, Source

    for number, name, raw, has_image, broken_database in store.entries():
        if broken_database:
            yield Reject(number, name, "not an LMDB sample database", broken_database)
            continue
        if raw is None:
            yield Reject(number, name, "missing label", "no label key")
            continue
        try:
            label = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield Reject(number, name, "label not UTF-8", repr(raw[:40]))
            continue
        if not label.strip():
            yield Reject(number, name, "empty label")
            continue
        if any(c in label for c in "\t\r\n"):
            yield Reject(number, name, "label contains a tab or line break", repr(label[:40]))
            continue
        if not has_image:
            yield Reject(number, name, "missing image", "no image key")
            continue
        broken = rules.check(label) if rules is not None else None
        if broken:
            yield Reject(number, name, *broken)
            continue
        yield Source(number, name, label)
