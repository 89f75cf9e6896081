"""`augkit preview --task det`: a contact sheet of a few pages, each with its variants, their
polygons drawn as the det labels will hold them (don't-care regions grey), captioned with the
parameters every stage used. The variants are made by the same code as `generate --task det`."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from augkit.codec import read_source_image
from augkit.crop.formats import DONT_CARE, Page
from augkit.errors import SampleRejected, UserError
from augkit.preview import BACKGROUND, INK, MUTED, PAD, _font, _wrap, caption

TILE_W, TILE_H = 420, 320   # every page is scaled into this box
COLUMNS = 4


def draw_polygons(image: np.ndarray, annotations: list[dict]) -> np.ndarray:
    out = image.copy()
    width = max(1, round(max(image.shape[:2]) / 500))
    for a in annotations:
        pts = np.round(np.array(a["points"], np.float64)).astype(np.int32).reshape(-1, 1, 2)
        colour = (150, 150, 150) if a["transcription"] == DONT_CARE else (40, 170, 40)
        cv2.polylines(out, [pts], True, colour, width, cv2.LINE_AA)
    return out


def preview_det(out: Path, plan, seed: int, fmt: str, labels: Path, images: Path, count: int = 2) -> Path:
    from augkit.crop.config import find_label_files
    from augkit.crop.formats import iter_pages
    from augkit.detect.augment import augment_page, page_regions

    tiles: list[tuple[np.ndarray, str]] = []
    shown = 0
    for number, page in iter_pages(fmt, find_label_files(fmt, [labels]), images):
        if shown == count:
            break
        if not isinstance(page, Page):
            continue
        try:
            image = read_source_image(images, page.image)
        except SampleRejected:
            continue
        regions, notes, problem = page_regions(page, image.shape[1], image.shape[0])
        if problem:
            continue
        shown += 1
        tiles.append((draw_polygons(image, [{"transcription": r["text"], "points": r["points"]} for r in regions]),
                      f"{page.image}: source, {len(regions)} regions"))
        for v in augment_page(plan, seed, number, image, regions, notes):
            tiles.append((draw_polygons(v.image, v.annotations), f"v{v.variant} {v.recipe}: {caption(v.applied)}"))
    if not tiles:
        raise UserError(f"no readable page with usable regions in {labels}")
    font = _font(13)
    rows = -(-len(tiles) // COLUMNS)
    scales = [min(TILE_W / im.shape[1], TILE_H / im.shape[0]) for im, _ in tiles]
    tile_h = max(round(im.shape[0] * sc) for (im, _), sc in zip(tiles, scales))
    cell_h = tile_h + 3 * 16 + PAD
    sheet = Image.new("RGB", (PAD + COLUMNS * (TILE_W + PAD), PAD + rows * cell_h), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for i, (image, text) in enumerate(tiles):
        x, y = PAD + (i % COLUMNS) * (TILE_W + PAD), PAD + (i // COLUMNS) * cell_h
        h, w = image.shape[:2]
        scale = scales[i]
        small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        sheet.paste(Image.fromarray(small[:, :, ::-1]), (x, y))
        for j, line in enumerate(_wrap(draw, text, font, TILE_W)[:3]):
            draw.text((x, y + tile_h + 3 + 16 * j), line, fill=INK if j == 0 else MUTED, font=font)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
