"""The crop sheet: a few pages of a crop run, each with its quads drawn and numbered, beside the
crops cut from them with their labels, so a person can see that the cuts are right."""

from __future__ import annotations

from pathlib import Path

import cv2

from augkit.writer import read_manifest
from augkit.errors import UserError

PAGE_HEIGHT = 900
CROP_HEIGHT = 22
COLUMN_WIDTH = 520


def _font(size: int):
    from PIL import ImageFont

    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default()


def crop_sheet(out_root: str | Path, sheet: str | Path, pages: int = 2, first: int = 1) -> Path:
    """Render pages `first`.. `first + pages - 1` (in page order, those with crops) of a finished
    crop run at `out_root` into the PNG `sheet`."""
    from PIL import Image, ImageDraw

    out_root = Path(out_root)
    records = read_manifest(out_root)
    if not records:
        raise UserError(f"{out_root} holds no finished crop run (no manifest records); run augkit crop first")
    images_dir = Path(_run_manifest(out_root)["inputs"]["images"])
    by_page: dict[int, list[dict]] = {}
    for r in records:
        by_page.setdefault(r["page"], []).append(r)
    chosen = sorted(by_page)[first - 1:first - 1 + pages]
    if not chosen:
        raise UserError(f"{out_root} has only {len(by_page)} pages with crops")
    font, small = _font(15), _font(12)
    panels = []
    for number in chosen:
        recs = by_page[number]
        page = cv2.imread(str(images_dir / recs[0]["page_image"]), cv2.IMREAD_COLOR)
        if page is None:
            raise UserError(f"cannot read page image {images_dir / recs[0]['page_image']}")
        scale = PAGE_HEIGHT / page.shape[0]
        page = cv2.resize(page, (max(1, round(page.shape[1] * scale)), PAGE_HEIGHT), interpolation=cv2.INTER_AREA)
        left = Image.fromarray(cv2.cvtColor(page, cv2.COLOR_BGR2RGB))
        draw = ImageDraw.Draw(left)
        for i, r in enumerate(recs, start=1):
            quad = [(x * scale, y * scale) for x, y in r["quad"]]
            draw.polygon(quad, outline=(220, 30, 30))
            draw.line([quad[0], quad[1]], fill=(30, 160, 30), width=2)  # the top edge: reading direction
            draw.text((quad[0][0] - 2, quad[0][1]), str(i), fill=(200, 0, 160), font=small, anchor="rb")
        rows = max(1, (PAGE_HEIGHT - 30) // (CROP_HEIGHT + 6))
        columns = -(-len(recs) // rows)
        right = Image.new("RGB", (COLUMN_WIDTH * columns, PAGE_HEIGHT), "white")
        rdraw = ImageDraw.Draw(right)
        rdraw.text((6, 4), f"page {number}: {recs[0]['page_image']} ({len(recs)} crops)", fill="black", font=font)
        for i, r in enumerate(recs):
            col, row = divmod(i, rows)
            x, y = col * COLUMN_WIDTH + 6, 28 + row * (CROP_HEIGHT + 6)
            crop = cv2.imread(str(out_root / r["image"]), cv2.IMREAD_COLOR)
            w = max(1, round(crop.shape[1] * CROP_HEIGHT / crop.shape[0]))
            w = min(w, COLUMN_WIDTH // 2 - 30)
            crop = cv2.resize(crop, (w, CROP_HEIGHT), interpolation=cv2.INTER_AREA)
            rdraw.text((x, y + CROP_HEIGHT // 2), f"{i + 1}", fill=(200, 0, 160), font=small, anchor="lm")
            right.paste(Image.fromarray(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)), (x + 26, y))
            mark = " (turned)" if r["rotated"] else " (clamped)" if r["clamped"] else ""
            rdraw.text((x + 30 + COLUMN_WIDTH // 2 - 30, y + CROP_HEIGHT // 2), r["label"][:40] + mark,
                       fill="black", font=small, anchor="lm")
        panel = Image.new("RGB", (left.width + right.width + 12, PAGE_HEIGHT), (235, 235, 235))
        panel.paste(left, (0, 0))
        panel.paste(right, (left.width + 12, 0))
        panels.append(panel)
    width = max(p.width for p in panels)
    canvas = Image.new("RGB", (width, sum(p.height + 12 for p in panels)), (235, 235, 235))
    y = 0
    for p in panels:
        canvas.paste(p, (0, y))
        y += p.height + 12
    sheet = Path(sheet)
    sheet.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(sheet)
    return sheet


def _run_manifest(out_root: Path) -> dict:
    import json

    path = out_root / "augkit_run.json"
    if not path.is_file():
        raise UserError(f"{out_root} holds no finished crop run (no augkit_run.json)")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if "format" not in manifest.get("inputs", {}):
        raise UserError(f"{out_root} is not an augkit crop output")
    return manifest

