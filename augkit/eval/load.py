"""Loading: a validation label file (or a folder of LMDB databases) → samples to score, and the
lines that cannot be scored.

Lines are read by augkit's own reader (the same parsing and per-line checks as `generate`);
images are decoded as PaddleOCR's DecodeImage does in eval (`cv2.imdecode(buf, IMREAD_COLOR)`,
BGR), not by augkit's own decoder, because alpha and 16-bit images come out differently and the
score must be the one the deployed model sees. Nothing is dropped silently: every line that is
not scored becomes a `Reject`, written to REPORT_DIR/rejects.tsv.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import cv2
import numpy as np

from augkit.codec import read_image_bytes
from augkit.errors import SampleRejected, UserError
from augkit.lmdb_store import LmdbStore, is_lmdb_input, read_items
from augkit.reader import Reject, Source, check_encoding, read_sources


def read_samples(labels: str | Path, delimiter: str = "tab",
                 store: LmdbStore | None = None) -> tuple[list[Source], list[Reject]]:
    """Every usable line of the label file (in file order) and every unusable one; for a folder,
    every sample of its LMDB databases (in folder and index order), named as `LmdbStore` names
    them (from `store`, the folder's open store, where given)."""
    labels = Path(labels)
    if is_lmdb_input(labels):
        sources, rejects = [], []
        with LmdbStore(labels) if store is None else nullcontext(store) as opened:
            for item in read_items(opened):
                (sources if isinstance(item, Source) else rejects).append(item)
        return sources, rejects
    if not labels.is_file():
        raise UserError(f"label file {labels} does not exist; pass --labels a PaddleOCR label file (path<TAB>label)")
    check_encoding(labels)
    sources: list[Source] = []
    rejects: list[Reject] = []
    for item in read_sources(labels, delimiter):
        (sources if isinstance(item, Source) else rejects).append(item)
    return sources, rejects


def data_dir_for(labels: str | Path, data_dir: str | Path | None) -> Path | LmdbStore:
    """The folder a label file's image paths are relative to: `data_dir`, else the label file's own;
    for LMDB input, the databases themselves, opened (the caller closes the store)."""
    if is_lmdb_input(labels):
        if data_dir is not None:
            raise UserError("--data-dir does not apply to LMDB input: the images are in the databases")
        return LmdbStore(labels)
    folder = Path(data_dir) if data_dir is not None else Path(labels).parent
    if not folder.is_dir():
        raise UserError(f"data dir {folder} is not a folder; pass --data-dir the folder image paths are relative to")
    return folder


def read_image(data_dir: str | Path | LmdbStore, rel_path: str) -> np.ndarray:
    """The crop at `rel_path` as PaddleOCR's eval loader decodes it (uint8 BGR, EXIF applied)."""
    if isinstance(data_dir, LmdbStore):
        data = data_dir.read(rel_path)
    else:
        data = read_image_bytes(data_dir, rel_path)  # the path the reader checked, as generate reads it
    if not data:
        raise SampleRejected("empty image file", rel_path)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise SampleRejected("undecodable image", f"{rel_path}: not a readable JPEG/PNG/BMP/TIFF/WebP, or truncated")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise SampleRejected("image of zero size", rel_path)
    return image

