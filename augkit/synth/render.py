"""Rendering one text line into a crop like a text detector's: sample a look, then draw it.

As with augkit's stages, the look is sampled separately from drawing: `sample_style` draws
plain JSON parameters from the crop's generator (size within the crop, letter spacing,
stretch, tilt, margins, background, ink, softness), and `render_line` is a pure function of
(text, font, parameters, height), so every crop replays from its manifest record.

The crop is tight around the line, as a detector crops: the glyphs' vertical extent is that of
the text together with a reference string of the script (so one script keeps one glyph scale
whether or not the text has descenders), rotated by the tilt, then scaled into the height.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

from augkit.synth.fonts import FontRef, load_font

RENDER_SCALE = 2.0  # font size = RENDER_SCALE x crop height: drawn large, shrunk smoothly
REFERENCE = {"ocr": "A0<", "latin": "H0", "hangul": "한"}

# Light stocks (RGB) and dark inks; each crop jitters the one it draws.
PAPER = [(246, 241, 226), (245, 233, 236), (233, 242, 232), (231, 238, 246), (240, 239, 236), (250, 250, 247),
         (236, 230, 244), (244, 238, 220), (226, 236, 240)]
INK = [(24, 24, 28), (30, 36, 64), (44, 44, 46), (40, 30, 34), (16, 20, 40), (58, 58, 62)]
BACKGROUNDS = ("flat", "paper", "gradient", "guilloche")


def sample_style(rng: np.random.Generator, script: str) -> dict:
    """The look of one crop (all but its font), as JSON values."""
    mrz = script == "ocr"
    background = BACKGROUNDS[int(rng.choice(4, p=[0.2, 0.35, 0.2, 0.25]))]
    paper = np.array(PAPER[int(rng.integers(len(PAPER)))], float) + rng.normal(0, 4, 3)
    second = paper + rng.normal(0, 10, 3) * np.array([1.0, 1.0, 1.0])
    ink = np.array(INK[int(rng.integers(len(INK)))], float) + rng.normal(0, 6, 3)
    return {
        "ink_height": round(float(rng.uniform(0.62, 0.80) if mrz else rng.uniform(0.55, 0.82)), 4),
        "vertical_position": round(float(rng.uniform(0.3, 0.7)), 4),
        "margin_left": round(float(rng.uniform(0.04, 0.25)), 4),
        "margin_right": round(float(rng.uniform(0.04, 0.25)), 4),
        "spacing": round(float(rng.uniform(0.0, 0.06) if mrz else (rng.uniform(-0.02, 0.10) if rng.random() < 0.4 else 0.0)), 4),
        "stretch": round(float(rng.uniform(0.95, 1.05) if mrz else rng.uniform(0.88, 1.10)), 4),
        "tilt": round(float(rng.uniform(-0.8, 0.8)), 3),
        "stroke": int(rng.random() < (0.1 if mrz else 0.15)),
        "background": background,
        "paper": [int(np.clip(round(c), 170, 255)) for c in paper],
        "paper2": [int(np.clip(round(c), 160, 255)) for c in second],
        "gradient_angle": round(float(rng.uniform(0, 360)), 1),
        "shade": round(float(rng.uniform(1.5, 6.0)), 2),
        "shade_cell": int(rng.integers(8, 24)),
        "guilloche_period": round(float(rng.uniform(5, 14)), 2),
        "guilloche_angle": round(float(rng.uniform(-60, 60)), 1),
        "grain": round(float(rng.uniform(0.6, 2.0)), 2),
        "ink": [int(np.clip(round(c), 0, 90)) for c in ink],
        "opacity": round(float(rng.uniform(0.82, 1.0)), 3),
        "blur": round(float(rng.uniform(0.25, 0.7)), 3),
        "texture_seed": int(rng.integers(2**31)),
    }


def glyph_mask(text: str, font: FontRef, script: str, height: int, spacing: float, stroke: int) -> np.ndarray:
    """The line drawn white on black at RENDER_SCALE x `height`, cut to its extent: the text's
    ink horizontally, the text and the script's reference string vertically. uint8."""
    size = max(8, round(RENDER_SCALE * height))
    pil_font = load_font(font.path, font.face, size)
    advance = spacing * size
    # Letter spacing: each character at its kerned advance (the pair's length less the second
    # character's) plus the spacing; linear in the text's length.
    xs = [0.0]
    for a, b in zip(text, text[1:]):
        xs.append(xs[-1] + pil_font.getlength(a + b) - pil_font.getlength(b) + advance)
    right = max([x + pil_font.getbbox(c, anchor="ls", stroke_width=stroke)[2] for x, c in zip(xs, text)] + [1])
    ascent, descent = pil_font.getmetrics()
    pad = size // 2 + stroke
    canvas = Image.new("L", (int(right) + 2 * pad, ascent + descent + 2 * pad), 0)
    draw = ImageDraw.Draw(canvas)
    baseline = pad + ascent
    if advance == 0:
        draw.text((pad, baseline), text, font=pil_font, fill=255, anchor="ls", stroke_width=stroke, stroke_fill=255)
    else:
        for x, c in zip(xs, text):
            draw.text((pad + x, baseline), c, font=pil_font, fill=255, anchor="ls", stroke_width=stroke, stroke_fill=255)
    ink = np.asarray(canvas)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        raise ValueError("the text draws no ink")
    _, ref_top, _, ref_bottom = pil_font.getbbox(REFERENCE[script], anchor="ls")
    top, bottom = min(rows[0], baseline + ref_top), max(rows[-1] + 1, baseline + ref_bottom)
    return ink[max(top, 0):bottom, cols[0]:cols[-1] + 1]


def render_line(text: str, font: FontRef, script: str, style: dict, height: int) -> np.ndarray:
    """The crop of `text` with `style`, `height` pixels high: uint8 BGR."""
    mask = glyph_mask(text, font, script, height, style["spacing"], style["stroke"])
    mask = _tilt(mask, style["tilt"])
    ink_h = max(4, round(height * style["ink_height"]))
    ink_w = max(1, round(mask.shape[1] * ink_h / mask.shape[0] * style["stretch"]))
    glyphs = cv2.resize(mask, (ink_w, ink_h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    left, right = (round(style[k] * height) for k in ("margin_left", "margin_right"))
    top = round((height - ink_h) * style["vertical_position"])
    alpha = np.zeros((height, left + ink_w + right), np.float32)
    alpha[top:top + ink_h, left:left + ink_w] = glyphs * style["opacity"]
    rng = np.random.default_rng(style["texture_seed"])
    paper = background(style, alpha.shape, rng)
    ink = np.array(style["ink"], np.float32)
    image = paper * (1 - alpha[:, :, None]) + ink * alpha[:, :, None]
    image = cv2.GaussianBlur(image, (0, 0), style["blur"])
    return np.ascontiguousarray(np.clip(np.rint(image), 0, 255).astype(np.uint8)[:, :, ::-1])


def _tilt(mask: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate about the centre on a canvas grown to the rotated box (an axis-aligned detector
    box around a slightly tilted line)."""
    if degrees == 0:
        return mask
    h, w = mask.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(np.ceil(w * cos + h * sin)), int(np.ceil(h * cos + w * sin))
    matrix[0, 2] += (new_w - w) / 2
    matrix[1, 2] += (new_h - h) / 2
    return cv2.warpAffine(mask, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR, borderValue=0)


def background(style: dict, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """The paper under the text: float RGB (H, W, 3)."""
    h, w = shape
    paper = np.array(style["paper"], np.float32)
    kind = style["background"]
    if kind == "gradient":
        theta = np.deg2rad(style["gradient_angle"])
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        t = x * np.cos(theta) + y * np.sin(theta)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
        image = paper + t[:, :, None] * (np.array(style["paper2"], np.float32) - paper)
    else:
        image = np.broadcast_to(paper, (h, w, 3)).astype(np.float32)
    if kind in ("paper", "gradient"):
        cell = style["shade_cell"]
        coarse = rng.standard_normal((h // cell + 2, w // cell + 2), dtype=np.float32)
        image = image + cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)[:, :, None] * style["shade"]
    if kind == "guilloche":
        # Security print: fine wavy lines in the second tint, as under a data page's fields.
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        theta = np.deg2rad(style["guilloche_angle"])
        period = style["guilloche_period"]
        u = x * np.cos(theta) + y * np.sin(theta)
        v = -x * np.sin(theta) + y * np.cos(theta)
        wave = 0.5 + 0.5 * np.cos(2 * np.pi * (u + 0.35 * period * np.sin(2 * np.pi * v / (4 * period))) / period)
        image = image + (wave ** 4)[:, :, None] * (np.array(style["paper2"], np.float32) - paper)
    return image + rng.standard_normal((h, w, 1), dtype=np.float32) * np.float32(style["grain"])
