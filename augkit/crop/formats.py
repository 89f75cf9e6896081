"""Reading page annotations: PaddleOCR det labels, ICDAR 2015 `gt_*.txt`, SROIE 2019 box files.

Each format becomes the same thing: pages, each naming its page image (relative to `--images`)
and holding regions (points and text) or per-region rejects with their reason. Parsing never
raises for bad input: a malformed region, or a whole malformed paddle-det line, is a `RegionReject`.

- `paddle-det`: one page per line, `path<TAB>[{"transcription": ..., "points": [[x, y], ...]}]`
  (PPOCRLabel's Label.txt); the path is relative to `--images`.
- `icdar2015`: one page per `gt_<name>.txt` file, lines `x1,y1,...,x4,y4,text` (the text may hold
  commas; a UTF-8 BOM is tolerated); the page image is `<name>` with an image extension.
- `sroie`: one page per `<name>.csv` box file, the same line shape; the page image is `<name>.jpg`.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

FORMATS = ("paddle-det", "icdar2015", "sroie")
DONT_CARE = "###"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# The files a folder named on the command line contributes, per per-page format.
PAGE_FILE_PATTERNS = {"icdar2015": "gt_*.txt", "sroie": "*.csv"}


@dataclass(frozen=True)
class Region:
    """One annotated text region: its number within the page (the label line or list index),
    where it was written, its points as given, and its text (ends stripped of spaces)."""

    number: int
    where: str
    points: tuple[tuple[float, float], ...]
    text: str


@dataclass(frozen=True)
class RegionReject:
    """A region (or label line) that cannot become a crop, with its reason."""

    number: int
    where: str
    reason: str
    detail: str = ""
    excused: bool = False  # a deliberate don't-care mark: recorded, not counted against --max-error-rate
    points: tuple[tuple[float, float], ...] | None = None  # where the region is, when only its text is unusable


@dataclass
class Page:
    """A page: its image (relative to --images) and its regions in label order."""

    image: str
    where: str
    regions: list[Region | RegionReject] = field(default_factory=list)


def region_text_problem(text: str) -> tuple[str, str, bool] | None:
    """Why a transcription cannot be a PaddleOCR label (reason, detail, excused), or None."""
    if text == DONT_CARE:
        return "don't-care region (###)", "", True
    if not text:
        return "empty transcription", "", False
    if "\t" in text:
        return "label contains a tab", repr(text), False
    if "\n" in text or "\r" in text:
        return "label contains a line break", repr(text), False
    control = sorted({c for c in text if unicodedata.category(c) in ("Cc", "Cf")})
    if control:
        return "label contains control characters", repr("".join(control)), False
    return None


def _region(number: int, where: str, points, text) -> Region | RegionReject:
    """Validate the pieces of one region as read from any format. A region whose text is the
    problem (a `###` don't-care mark, an empty or unusable transcription) keeps its points, when
    they are valid, on the reject: a detector is scored against where text is, whatever it says."""
    if not isinstance(text, str):
        return RegionReject(number, where, "transcription is not a string", repr(text)[:80])
    text = text.strip(" ")
    parsed = _points(number, where, points)
    problem = region_text_problem(text)
    if problem is not None:
        return RegionReject(number, where, *problem, points=parsed if isinstance(parsed, tuple) else None)
    if isinstance(parsed, RegionReject):
        return parsed
    return Region(number, where, parsed, text)


def _points(number: int, where: str, points) -> tuple[tuple[float, float], ...] | RegionReject:
    """A region's points as float pairs, or why they are not usable."""
    if not isinstance(points, (list, tuple)) or not all(isinstance(p, (list, tuple)) for p in points):
        return RegionReject(number, where, "malformed points", repr(points)[:80])
    if any(len(p) != 2 for p in points):
        return RegionReject(number, where, "malformed points", "every point must be [x, y]")
    if len(points) < 4:
        return RegionReject(number, where, "wrong number of points", f"{len(points)} points, at least 4 needed")
    coords = []
    for x, y in points:
        if isinstance(x, bool) or isinstance(y, bool) or not isinstance(x, (int, float)) or not isinstance(y, (int, float)):
            return RegionReject(number, where, "non-numeric coordinate", repr([x, y])[:80])
        if not (math.isfinite(x) and math.isfinite(y)):
            return RegionReject(number, where, "non-numeric coordinate", repr([x, y]))
        coords.append((float(x), float(y)))
    return tuple(coords)


def _number(field_text: str) -> float | None:
    try:
        value = float(field_text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_box_line(number: int, where: str, line: str) -> Region | RegionReject:
    """One `x1,y1,...,x4,y4,text` line (ICDAR 2015 and SROIE): eight numbers, then the text,
    which may itself hold commas."""
    fields = line.split(",", 8)
    leading = 0
    for f in fields[:8]:
        if _number(f) is None:
            break
        leading += 1
    if leading < 8:
        rest = line.split(",")[leading + 1:8]
        if len(fields) < 9 and leading == len(fields):
            return RegionReject(number, where, "malformed line", f"{len(fields)} numbers and no text: {line[:80]!r}")
        if leading >= 2 and leading % 2 == 0 and not any(_number(f) is not None for f in rest):
            return RegionReject(number, where, "wrong number of points",
                                f"{leading // 2} points before the text, 4 needed: {line[:80]!r}")
        if leading == 0 and not rest:
            return RegionReject(number, where, "malformed line", f"x1,y1,...,x4,y4,text expected: {line[:80]!r}")
        return RegionReject(number, where, "non-numeric coordinate", f"field {leading + 1}: {fields[leading][:40]!r}")
    values = [_number(f) for f in fields[:8]]
    points = [(values[i], values[i + 1]) for i in range(0, 8, 2)]
    return _region(number, where, points, fields[8])


def read_box_page(path: Path, image: str) -> Page:
    """A per-page box file (ICDAR 2015 or SROIE) as a page; unreadable lines become rejects."""
    page = Page(image=image, where=path.name)
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for number, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        where = f"{path.name}:{number}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            page.regions.append(RegionReject(number, where, "line is not UTF-8", f"byte 0x{raw[exc.start]:02x}"))
            continue
        if not line.strip():
            continue
        page.regions.append(parse_box_line(number, where, line))
    return page


def parse_paddle_det_line(line: str, where: str) -> Page | RegionReject:
    """One PaddleOCR det label line as a page, or a reject of the whole line."""
    path, tab, rest = line.partition("\t")
    if not tab:
        return RegionReject(0, where, "malformed line", "no tab between page path and annotations")
    problem = page_path_problem(path)
    if problem:
        return RegionReject(0, where, problem, path)
    try:
        annotations = json.loads(rest)
    except json.JSONDecodeError as exc:
        return RegionReject(0, where, "malformed line", f"annotations are not JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(annotations, list):
        return RegionReject(0, where, "malformed line", "annotations must be a JSON list")
    page = Page(image=path, where=where)
    for number, entry in enumerate(annotations, start=1):
        region_where = f"{where}#{number}"
        if not isinstance(entry, dict) or "points" not in entry or "transcription" not in entry:
            page.regions.append(RegionReject(number, region_where, "malformed annotation",
                                             "each needs \"transcription\" and \"points\""))
            continue
        page.regions.append(_region(number, region_where, entry["points"], entry["transcription"]))
    return page


def page_path_problem(path: str) -> str | None:
    """Why a page path from a label file cannot be read under --images, or None."""
    if not path:
        return "empty page path"
    if os.path.isabs(path) or posixpath.isabs(path.replace("\\", "/")):
        return "absolute page path"
    normal = posixpath.normpath(path.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        return "page path escapes --images"
    return None


def page_image_for(label_file: Path, fmt: str, images_dir: Path) -> str:
    """The page image of a per-page box file, relative to --images: the file's stem (ICDAR's
    `gt_` prefix dropped) with the first image extension found there (`.jpg` when none is)."""
    stem = label_file.stem
    if fmt == "icdar2015" and stem.startswith("gt_"):
        stem = stem[3:]
    for ext in IMAGE_EXTENSIONS:
        for candidate in (stem + ext, stem + ext.upper()):
            if (images_dir / candidate).is_file():
                return candidate
    return stem + ".jpg"


def iter_pages(fmt: str, files: list[Path], images_dir: Path):
    """(page number, page or whole-line reject) of every page in `files` (from
    `find_label_files`), in order: one per box file, or one per paddle-det line (blank lines
    skipped, numbered by line across the files)."""
    from augkit.reader import Reject, decode_line, iter_lines

    if fmt != "paddle-det":
        for number, path in enumerate(files, start=1):
            yield number, read_box_page(path, page_image_for(path, fmt, images_dir))
        return
    base = 0
    for path in files:
        last = 0
        for line, raw in iter_lines(path):
            last = line
            where = f"{path.name}:{line}"
            text = decode_line(raw, line)
            if isinstance(text, Reject):
                yield base + line, RegionReject(0, where, text.reason, text.detail)
            elif text.strip():
                yield base + line, parse_paddle_det_line(text, where)
        base += last
