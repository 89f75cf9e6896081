"""Preview: a contact sheet PNG of a few sources, each with all its variants, captioned with
the parameters every stage used. People look at augmentations; they don't read them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from augkit.codec import read_source_image
from augkit.errors import SampleRejected, UserError
from augkit.reader import Source, read_sources
from augkit.recipe import VariantPlan

TILE_W, TILE_H = 620, 84      # the box every image is scaled into (never enlarged past 2x)
CAPTION_LINES, LINE_H = 2, 15
PAD = 10
BACKGROUND, INK, MUTED = (246, 246, 243), (25, 25, 25), (110, 110, 110)

_SHORT = {
    "cylindrical_warp": lambda p: f"warp k={p['k']:.2f}",
    "rotate": lambda p: f"rot {p['angle']:+.2f}°",
    "brightness_contrast": lambda p: f"contrast {p['alpha']:.2f} bright {p['beta']:+.2f}",
    "gaussian_noise": lambda p: f"noise sd={p['sigma']:.1f}",
    "motion_blur": lambda p: f"blur {p['kernel']}px@{p['angle']:.0f}°",
    "pixelate": lambda p: f"pix {p['scale']:.2f}",
    "sectioned_glare": lambda p: f"glare s{p['section']} a={p['alpha']:.2f}",
}


def caption(applied: list[dict]) -> str:
    """A one-line summary of the parameters a variant was made with."""
    parts = []
    for record in applied:
        short = _SHORT.get(record["stage"])
        parts.append(short(record["params"]) if short else f"{record['stage']} {record['params']}")
    return " · ".join(parts) or "no stage applied"


def pick_sources(label_file: Path, count: int, delimiter: str = "tab", scan: int = 10_000) -> list[Source]:
    """`count` sources spread evenly over the first `scan` usable lines of `label_file`."""
    found = []
    for item in read_sources(label_file, delimiter):
        if isinstance(item, Source):
            found.append(item)
            if len(found) >= scan:
                break
    if not found:
        raise UserError(f"{label_file} has no usable line to preview")
    count = min(count, len(found))
    return [found[i * len(found) // count] for i in range(count)]


def render_sheet(sources: list[Source], data_root: Path, plan: VariantPlan, seed: int) -> Image.Image:
    """The contact sheet: per source, the original then every variant, each captioned."""
    font = _font(13)
    blocks = []
    for source in sources:
        try:
            image = read_source_image(str(data_root), source.path)
        except SampleRejected as exc:
            raise UserError(f"cannot preview line {source.line} ({source.path}): {exc}") from None
        tiles = [(image, f"source {image.shape[1]}x{image.shape[0]}", "")]
        for recipe, ctx in plan:
            variant, applied = recipe.apply(image, seed, source.line, ctx)
            tiles.append((variant, f"v{ctx.variant} {recipe.name} {variant.shape[1]}x{variant.shape[0]}", caption(applied)))
        blocks.append((f"line {source.line} · {source.path} · “{source.label}”", tiles))

    columns = 2
    cell_w, cell_h = TILE_W + PAD, TILE_H + (CAPTION_LINES + 1) * LINE_H + PAD
    header_h = 26
    height = PAD + sum(header_h + -(-len(t) // columns) * cell_h + PAD for _, t in blocks)
    sheet = Image.new("RGB", (PAD + columns * cell_w, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    y = PAD
    for heading, tiles in blocks:
        draw.text((PAD, y + 4), heading, font=_font(15, cjk=any(ord(c) > 0x2FFF for c in heading)), fill=INK)
        y += header_h
        for i, (img, name, text) in enumerate(tiles):
            x0, y0 = PAD + (i % columns) * cell_w, y + (i // columns) * cell_h
            thumb = _thumbnail(img)
            sheet.paste(thumb, (x0, y0))
            draw.rectangle([x0 - 1, y0 - 1, x0 + thumb.width, y0 + thumb.height], outline=(200, 200, 200))
            ty = y0 + TILE_H + 3
            draw.text((x0, ty), name, font=font, fill=INK)
            for k, line in enumerate(_wrap(draw, text, font, TILE_W)[:CAPTION_LINES]):
                draw.text((x0, ty + (k + 1) * LINE_H), line, font=font, fill=MUTED)
        y += -(-len(tiles) // columns) * cell_h + PAD
    return sheet


# Fonts for captions, looked up on the system (none is bundled); Pillow's own font is the fallback.
_FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)
_CJK_FONT_PATHS = ("/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
                   "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def _font(size: int, cjk: bool = False):
    for path in (_CJK_FONT_PATHS if cjk else ()) + _FONT_PATHS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _thumbnail(image: np.ndarray) -> Image.Image:
    h, w = image.shape[:2]
    scale = min(TILE_W / w, TILE_H / h, 2.0)
    pil = Image.fromarray(np.ascontiguousarray(image[:, :, ::-1]))
    return pil.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    lines, current = [], ""
    for word in text.split(" · "):
        candidate = f"{current} · {word}" if current else word
        if current and draw.textlength(candidate, font=font) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return lines + ([current] if current else [])


def preview(out: Path, plan: VariantPlan, seed: int, label_file: Path, data_root: Path,
            count: int = 3, delimiter: str = "tab") -> Path:
    """Render the contact sheet of `count` sources to the PNG file `out`."""
    sources = pick_sources(label_file, count, delimiter)
    sheet = render_sheet(sources, data_root, plan, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, format="PNG", optimize=False)
    return out
