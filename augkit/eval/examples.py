"""Sample-level views for the report and the notebook: which samples to show, their image as an
embedded thumbnail, and ground truth over prediction with the differing characters marked."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

import cv2

from augkit.codec import decode_image, encode_jpeg
from augkit.errors import SampleRejected
from augkit.eval.align import DEL, INS, MATCH, SUB
from augkit.eval.console import show_char
from augkit.eval.metrics import Scored

THUMB_HEIGHT = 48
THUMB_MAX_WIDTH = 900
WIDE = 24
"""Samples whose alignment has more columns than this get a whole row in the report's grid."""


def worst(scored: list[Scored], limit: int) -> list[Scored]:
    """Wrong predictions, furthest from their ground truth first (normalised edit distance, then
    edits, then lowest confidence)."""
    wrong = [s for s in scored if not s.correct]
    wrong.sort(key=lambda s: (-s.norm_distance, -s.distance, float(s.row.get("confidence", 0.0)), s.row["id"]))
    return wrong[:limit]


def confident_mistakes(scored: list[Scored], limit: int) -> list[Scored]:
    """Wrong predictions the model was surest of: the ones a confidence threshold lets through."""
    wrong = [s for s in scored if not s.correct]
    wrong.sort(key=lambda s: (-float(s.row.get("confidence", 0.0)), s.row["id"]))
    return wrong[:limit]


def thumbnail_uri(data_dir: Path, rel_path: str, height: int = THUMB_HEIGHT) -> str | None:
    """The crop at `data_dir/rel_path` scaled to `height` pixels as a JPEG data URI, or None when
    it cannot be read."""
    try:
        data = data_dir.read(rel_path) if hasattr(data_dir, "read") else (Path(data_dir) / rel_path).read_bytes()
        image = decode_image(data)
    except (OSError, SampleRejected):
        return None
    return image_uri(image, height)


def image_uri(image, height: int = THUMB_HEIGHT) -> str:
    """A BGR image scaled to `height` pixels (and at most THUMB_MAX_WIDTH wide) as a JPEG data URI."""
    h, w = image.shape[:2]
    scale = min(height / h, THUMB_MAX_WIDTH / w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    return "data:image/jpeg;base64," + base64.b64encode(encode_jpeg(image, quality=88)).decode("ascii")


def diff_html(s: Scored) -> str:
    """Ground truth over prediction, one column per alignment step: substitutions, dropped and added
    characters marked, gaps shown as a dot."""
    cols = []
    for kind, g, p in s.ops:
        gt = escape(show_char(g)) if g is not None else "·"
        pr = escape(show_char(p)) if p is not None else "·"
        cls = {MATCH: "m", SUB: "s", DEL: "d", INS: "i"}[kind]
        cols.append(f'<span class="c {cls}"><span>{gt}</span><span>{pr}</span></span>')
    return f'<div class="diff"><span class="c lab"><span>gt</span><span>pred</span></span>{"".join(cols)}</div>'


def example_html(s: Scored, data_dir: Path | None) -> str:
    """One sample as an HTML block: thumbnail, aligned texts, and its id, path, confidence and flags."""
    uri = thumbnail_uri(data_dir, s.row["path"]) if data_dir is not None else None
    image = (f'<img src="{uri}" alt="{escape(s.row["path"])}">' if uri
             else f'<div class="noimg">image not found: {escape(str(s.row["path"]))}</div>')
    flags = "".join(f'<span class="flag">{escape(f)}</span>' for f in s.flags)
    conf = s.row.get("confidence")
    meta = (f'<span>#{escape(str(s.row["id"]))}</span><span class="path">{escape(str(s.row["path"]))}</span>'
            f'<span>{s.distance} edit{"s" if s.distance != 1 else ""}</span>'
            + (f'<span>confidence {float(conf):.3f}</span>' if conf is not None else "") + flags)
    wide = " wide" if len(s.ops) > WIDE else ""
    return f'<div class="ex{wide}"><div class="img">{image}</div>{diff_html(s)}<div class="meta">{meta}</div></div>'
