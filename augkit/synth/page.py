"""Passport data pages for `augkit synth --kind page`: one page image per item with a PaddleOCR
det label (`path<TAB>[{"transcription", "points"}]`, as PPOCRLabel writes) naming every line,
and with `--rec-crops` the same lines cut out of the page as recognition crops.

A page is an ID-3 data page (125 x 88 mm, here 8 px/mm: 1000 x 704 px) of one fictitious person
(augkit.synth.people): a guilloche background, a photo area, the visual-zone fields with their
bilingual printed captions (each caption and each value its own line), optionally the holder's
name in Hangul, and a TD3 machine-readable zone at the bottom composed by augkit.mrz (so every
check digit is right and the BZ fields agree with it). Positions, sizes, fonts and inks are
drawn per page from the item's generator; the content from generator 0, the look from 1.

Points: each line's quad is its ink box as the font draws it (Pillow's text bounding box) grown
by one pixel, clockwise from the top-left; pages are upright (rotation and warps are
`augkit generate --task det`'s). Recognition crops are cut with `augkit crop`'s rectification
(augkit.crop.quad) and scaled to --height, so det and rec data agree line for line.
"""

from __future__ import annotations

import datetime as dt
import json

import cv2
import numpy as np
from PIL import Image, ImageDraw

from augkit.synth.bz import date_formats, fold
from augkit.synth.fonts import FontRef, covers, load_font
from augkit.synth.korean import korean_name
from augkit.synth.mrz_doc import mrz_document
from augkit.synth.people import pick

MM = 8.0                     # pixels per millimetre
PAGE_W, PAGE_H = 1000, 704   # ID-3: 125 x 88 mm
MAX_LINES = 40               # the most lines one page holds (the slot width of its crops)

# (caption, field, column in mm from the left edge, row): the data page's fields. A caption or
# value wider than its room (to the next column of its row, or the page's margin) is set
# smaller until it fits, so no line leaves the page or runs into another.
FIELDS = (
    ("Type", "type", 42, 0), ("Code", "issuer", 56, 0), ("Passport No. / No. du passeport", "number", 76, 0),
    ("Surname / Nom", "surname", 42, 1), ("Given names / Prenoms", "given_names", 42, 2),
    ("Nationality / Nationalite", "nationality_text", 42, 3),
    ("Date of birth / Date de naissance", "birth", 42, 4), ("Sex / Sexe", "sex", 100, 4),
    ("Place of birth / Lieu de naissance", "place_of_birth", 42, 5),
    ("Date of issue / Date de delivrance", "issue", 42, 6), ("Date of expiry / Date d'expiration", "expiry", 42, 7),
    ("Authority / Autorite", "authority", 42, 8),
)
RIGHT_MARGIN_MM = 4


def _room(col: float, row: int) -> float:
    """The right edge (mm) a field starting at `col` in `row` may reach."""
    later = [c for _, _, c, r in FIELDS if r == row and c > col]
    return (min(later) - 2) if later else PAGE_W / MM - RIGHT_MARGIN_MM


def page_content(rng: np.random.Generator, korean: bool) -> tuple[list[dict], dict]:
    """What one page says: its lines (text, script, field, role) and the JSON record."""
    lines, record = mrz_document(rng, ("TD3",))
    person = record["person"]
    date_style = int(rng.integers(len(date_formats(dt.date(2000, 1, 1)))))
    values = {"type": "P", "issuer": person["issuer"].replace("<", ""), "number": person["number"],
              "surname": person["surname"], "given_names": person["given_names"],
              "nationality_text": person["nationality_text"], "place_of_birth": person["place_of_birth"],
              "authority": person["authority"], "sex": {"<": "X"}.get(person["sex"], person["sex"])}
    for key in ("birth", "issue", "expiry"):
        values[key] = date_formats(dt.date.fromisoformat(person[key]))[date_style]
    out = [{"text": "PASSPORT / PASSEPORT", "script": "latin", "field": "header", "role": "header"}]
    for caption, field, _, _ in FIELDS:
        out.append({"text": caption, "script": "latin", "field": field, "role": "caption"})
        out.append({"text": fold(values[field]), "script": "latin", "field": field, "role": "value"})
    if korean:
        name_lines, name_record = korean_name(rng, False)
        out.append({"text": name_lines[0][0], "script": "hangul", "field": "korean_name", "role": "value"})
        record = {**record, "korean_name": name_record}
    for text, script, field in lines:
        out.append({"text": text, "script": script, "field": field, "role": "mrz"})
    return out, {**record, "date_style": date_style}


def sample_look(rng: np.random.Generator, fonts: dict[str, list[FontRef]], lines: list[dict]) -> dict:
    """The page's look as JSON values: fonts per role, sizes, inks, offsets, background."""
    def font_for(script: str, texts: list[str]) -> FontRef | None:
        usable = [f for f in fonts.get(script, []) if all(covers(f, t) for t in texts)]
        return usable[int(rng.integers(len(usable)))] if usable else None

    by_role: dict[str, dict] = {}
    for role, script in (("header", "latin"), ("caption", "latin"), ("value", "latin"), ("hangul", "hangul"),
                         ("mrz", "ocr")):
        texts = [x["text"] for x in lines if x["script"] == script and (x["role"] == role or role == "hangul")]
        if texts:
            font = font_for(script, texts)
            by_role[role] = font.identity() if font else None
    paper = np.array(pick(rng, [(238, 236, 226), (232, 238, 236), (240, 232, 236), (236, 236, 244)]), float)
    return {
        "fonts": by_role,
        "sizes_mm": {"header": round(float(rng.uniform(3.0, 3.8)), 2), "caption": round(float(rng.uniform(1.5, 1.8)), 2),
                     "value": round(float(rng.uniform(2.5, 3.0)), 2)},
        "offset_mm": [round(float(rng.uniform(-1.5, 1.5)), 2), round(float(rng.uniform(-0.8, 0.5)), 2)],
        "row_mm": round(float(rng.uniform(6.6, 6.8)), 2),
        "paper": [int(c) for c in np.clip(paper + rng.normal(0, 4, 3), 200, 255).round()],
        "tint": [int(c) for c in np.clip(paper - rng.uniform(18, 40, 3), 150, 240).round()],
        "guilloche_period_mm": round(float(rng.uniform(3, 7)), 2),
        "guilloche_amplitude_mm": round(float(rng.uniform(1.5, 4)), 2),
        "ink": [int(c) for c in np.clip(rng.normal(35, 10, 3), 0, 80).round()],
        "caption_ink": [int(c) for c in np.clip(rng.normal(70, 15, 3), 20, 120).round()],
        "grain": round(float(rng.uniform(1.0, 3.0)), 2),
        "blur": round(float(rng.uniform(0.3, 0.8)), 2),
        "noise_seed": int(rng.integers(2**31)),
    }


def _background(look: dict) -> np.ndarray:
    """Paper with a guilloche of interlaced sine curves and a photo area (RGB)."""
    page = np.empty((PAGE_H, PAGE_W, 3), np.uint8)
    page[:] = look["paper"]
    period, amp = look["guilloche_period_mm"] * MM, look["guilloche_amplitude_mm"] * MM
    xs = np.arange(0, PAGE_W, 2, dtype=np.float64)
    tint = tuple(int(c) for c in look["tint"])
    for k, y0 in enumerate(np.arange(-amp, PAGE_H + amp, period * 0.9)):
        ys = y0 + amp * np.sin(xs / (period * 3.1) + k * 0.7) * np.cos(xs / (period * 11.0))
        cv2.polylines(page, [np.stack([xs, ys], 1).astype(np.int32)], False, tint, 1, cv2.LINE_AA)
    x0, y0, x1, y1 = int(5 * MM), int(14 * MM), int(37 * MM), int(58 * MM)
    photo = np.linspace(205, 150, y1 - y0)[:, None, None] * np.ones((1, x1 - x0, 3))
    page[y0:y1, x0:x1] = photo.astype(np.uint8)
    cx = (x0 + x1) // 2
    cv2.ellipse(page, (cx, y0 + int(17 * MM)), (int(8 * MM), int(10.5 * MM)), 0, 0, 360, (120, 112, 104), -1, cv2.LINE_AA)
    cv2.ellipse(page, (cx, y1), (int(14 * MM), int(12 * MM)), 0, 180, 360, (92, 88, 96), -1, cv2.LINE_AA)
    return page


def _draw(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font_at, px: float, fill,
          right: float) -> list[list[int]]:
    """Draw `text` with its top-left ink corner at `xy`, at `px` or smaller so that it ends
    before `right`; its quad (ink box grown by one pixel)."""
    size = px
    while True:
        font = font_at(size)
        left, top, r, bottom = draw.textbbox((0, 0), text, font=font)
        if xy[0] + (r - left) + 1 <= right or size <= 6:
            break
        size *= 0.93
    x, y = round(xy[0] - left), round(xy[1] - top)   # whole pixels: integer points, as PPOCRLabel writes
    draw.text((x, y), text, font=font, fill=tuple(fill))
    l, t, r, b = (int(v) for v in draw.textbbox((x, y), text, font=font))
    return [[l - 1, t - 1], [r + 1, t - 1], [r + 1, b + 1], [l - 1, b + 1]]


def render_page(lines: list[dict], look: dict, fonts: list[FontRef]) -> tuple[np.ndarray, list[dict]]:
    """The page (BGR uint8) and its regions (each line with its points), in reading order.
    `fonts`: the run's fonts, in which the look's font identities are found."""
    by_identity = {(f.sha256, f.face): f for f in fonts}

    def font_for(role: str):
        ref = by_identity[(look["fonts"][role]["sha256"], look["fonts"][role]["face"])]
        return lambda px: load_font(ref.path, ref.face, max(6, round(px)))

    image = Image.fromarray(_background(look))
    draw = ImageDraw.Draw(image)
    ox, oy = look["offset_mm"]
    sizes, row = look["sizes_mm"], look["row_mm"]
    px = {role: sizes[role] * MM * 1.4 for role in sizes}   # a font's pixel size is about 1.4 x its cap height
    edge = PAGE_W - RIGHT_MARGIN_MM * MM
    regions = []
    header = lines[0]
    regions.append({**header, "points": _draw(draw, ((40 + ox) * MM, (3 + oy * 0.5) * MM), header["text"], font_for("header"),
                                              px["header"], look["ink"], edge)})
    by_field = {(x["field"], x["role"]): x for x in lines[1:]}
    floors = {-1: regions[0]["points"][2][1]}   # the lowest ink of each row so far
    for _, field, col, r in FIELDS:
        x, right = (col + ox) * MM, (_room(col, r) + ox) * MM
        y = max((11 + oy + r * row) * MM, floors[r - 1] + 3)   # a tall line above pushes the row down
        cap = by_field[(field, "caption")]
        regions.append({**cap, "points": _draw(draw, (x, y), cap["text"], font_for("caption"), px["caption"],
                                               look["caption_ink"], right)})
        value = by_field[(field, "value")]
        below = regions[-1]["points"][2][1] + 2   # the value starts under its caption's ink
        regions.append({**value, "points": _draw(draw, (x, below), value["text"],
                                                 font_for("value"), px["value"], look["ink"], right)})
        floors[r] = max(floors.get(r, 0), regions[-1]["points"][2][1])
    korean = by_field.get(("korean_name", "value"))
    if korean is not None and look["fonts"].get("hangul"):
        given = next(g for g in regions if g["field"] == "given_names" and g["role"] == "value")
        x = given["points"][1][0] + 4 * MM
        if x < edge - 12 * MM:   # room for a name of two or three syllables
            regions.append({**korean, "points": _draw(draw, (x, given["points"][0][1]), korean["text"],
                                                      font_for("hangul"), px["value"], look["ink"], edge)})
    mrz = [x for x in lines if x["role"] == "mrz"]
    # OCR-B at the pitch ICAO 9303 gives the zone: 44 characters across about 114 mm.
    mrz_font = font_for("mrz")
    l, _, r, _ = draw.textbbox((0, 0), mrz[0]["text"], font=mrz_font(40))
    mrz_px = 40 * 114 * MM / max(1, r - l)
    for i, line in enumerate(mrz):
        y = (PAGE_H / MM - 16 + 7.5 * i + oy * 0.3) * MM
        regions.append({**line, "points": _draw(draw, ((5.5 + ox * 0.3) * MM, y), line["text"], mrz_font, mrz_px,
                                                look["ink"], edge)})
    page = np.asarray(image)[:, :, ::-1].astype(np.float32)
    rng = np.random.default_rng(look["noise_seed"])
    page = cv2.GaussianBlur(page, (0, 0), look["blur"]) + rng.normal(0, look["grain"], page.shape)
    return np.clip(page, 0, 255).round().astype(np.uint8), regions


def det_label(regions: list[dict]) -> str:
    """The page's regions as PaddleOCR det label JSON."""
    return json.dumps([{"transcription": r["text"], "points": r["points"]} for r in regions], ensure_ascii=False)
