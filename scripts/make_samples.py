"""Render the bundled sample set of text-line crops in ``augkit/samples``.

Sixty synthetic crops of the three kinds augkit is built for (20 each): passport MRZ lines
(ICAO 9303 TD3, OCR-B), passport visual-zone ("BZ") fields (DejaVu) and Korean names (Nanum),
each on a lightly tinted, slightly textured paper background, plus a PaddleOCR label file.
The output depends only on ``--seed`` (and the font and library versions): two runs write
byte-identical files. Usage: python scripts/make_samples.py [--out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from augkit.mrz import check_digit

OCRB = "/usr/share/fonts/opentype/ocr-b/OCRB.otf"
DEJAVU = [f"/usr/share/fonts/truetype/dejavu/{n}.ttf" for n in ("DejaVuSans", "DejaVuSerif", "DejaVuSansMono")]
NANUM = [f"/usr/share/fonts/truetype/nanum/{n}.ttf" for n in ("NanumGothic", "NanumMyeongjo", "NanumBarunGothic")]
PER_KIND = 20
REFERENCE = {"mrz": "A0<", "bz": "H0", "korean": "한글"}  # sets the glyph scale per kind
RENDER_SIZE = 96  # render large, then shrink: smooth anti-aliased strokes at 32/48 px

# issuing state = nationality: (surnames, given names, places), as passports romanise them
PEOPLE = {
    "KOR": (["KIM", "LEE", "PARK", "CHOI", "JUNG", "KANG"], ["MINJUN", "SEOYEON", "JIHO", "HAEUN", "DOYUN"],
            ["SEOUL", "BUSAN", "REPUBLIC OF KOREA"]),
    "SWE": (["ERIKSSON", "LINDQVIST", "ANDERSSON"], ["ANNA MARIA", "ERIK", "KARIN SOFIA"],
            ["STOCKHOLM", "GOTEBORG", "SWEDEN"]),
    "D<<": (["MUELLER", "SCHMIDT", "WAGNER"], ["LUKAS", "MARIE-SOPHIE", "JONAS"], ["BERLIN", "MUENCHEN", "HAMBURG"]),
    "GBR": (["SMITH", "O'BRIEN", "TAYLOR"], ["OLIVER JAMES", "EMMA", "GEORGE"],
            ["LONDON", "MANCHESTER", "UNITED KINGDOM"]),
    "USA": (["JOHNSON", "GARCIA", "NGUYEN"], ["MICHAEL", "SARAH ELIZABETH", "DAVID"],
            ["NEW YORK", "CALIFORNIA, U.S.A.", "TEXAS"]),
    "JPN": (["SATO", "TANAKA", "WATANABE"], ["HARUTO", "YUI", "SOTA"], ["TOKYO", "OSAKA", "JAPAN"]),
}
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
HANGUL_SURNAMES = "김 이 박 최 정 강 조 윤 장 임 한 오 서 신 권 황 안 송 홍 남궁 선우".split()
HANGUL_GIVEN = "민준 서연 지호 서준 하은 도윤 지우 예준 수아 시우 지민 하준 윤서 주원 채원 은우 서윤 건우 유진 현".split()
PAPER = [(246, 241, 226), (245, 233, 236), (233, 242, 232), (231, 238, 246), (240, 239, 236)]  # RGB tints
INK = [(24, 24, 28), (30, 36, 64), (44, 44, 46), (40, 30, 34)]


def mrz_name(surname: str, given: str) -> str:
    """TD3 name field (39 chars): SURNAME<<GIVEN<NAMES, padded with '<'."""
    def clean(part: str) -> str:  # ICAO: apostrophes dropped, spaces and hyphens become '<'
        return part.replace("'", "").replace(" ", "<").replace("-", "<")
    name = clean(surname) + "<<" + clean(given)
    return name[:39].ljust(39, "<")


def random_date(rnd: random.Random, first_year: int, last_year: int) -> tuple[int, int, int]:
    """A (year, month, day) in the given year range; days up to 28 so every month is valid."""
    return rnd.randint(first_year, last_year), rnd.randint(1, 12), rnd.randint(1, 28)


def doc_number(rnd: random.Random, state: str) -> str:
    """A 9-character passport number in a style plausible for the issuing state."""
    if state == "KOR":
        return rnd.choice("MS") + f"{rnd.randrange(10**8):08d}"
    alnum = "0123456789CFGHJKLMNPRTVWXYZ"
    return rnd.choice("CPX") + "".join(rnd.choice(alnum) for _ in range(8))


def make_person(rnd: random.Random, index: int) -> dict:
    """A random passport holder; the issuing state cycles with index so every state appears."""
    state = list(PEOPLE)[index % len(PEOPLE)]
    surnames, givens, places = PEOPLE[state]
    return {"state": state, "surname": rnd.choice(surnames), "given": rnd.choice(givens),
            "number": doc_number(rnd, state), "birth": random_date(rnd, 1950, 2006),
            "expiry": random_date(rnd, 2026, 2036), "sex": rnd.choice("MF"), "places": places,
            "personal": "<" * 14 if rnd.random() < 0.5 else f"{rnd.randrange(10**10):010d}".ljust(14, "<")}


def mrz_lines(rnd: random.Random, person: dict) -> tuple[str, str]:
    """Both 44-character lines of the TD3 MRZ of a person's passport."""
    state, number, personal = person["state"], person["number"], person["personal"]
    doc_type = "PM" if state == "KOR" and rnd.random() < 0.6 else "P<"
    line1 = doc_type + state + mrz_name(person["surname"], person["given"])
    dob, exp = (f"{y % 100:02d}{m:02d}{d:02d}" for y, m, d in (person["birth"], person["expiry"]))
    line2 = (number + check_digit(number) + state + dob + check_digit(dob) + person["sex"]
             + exp + check_digit(exp) + personal + check_digit(personal))
    line2 += check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    assert len(line1) == len(line2) == 44, (line1, line2)
    return line1, line2


def bz_field(rnd: random.Random, person: dict, index: int) -> str:
    """One visual-zone field of a passport: name, date, document number or place."""
    kind = index % 4
    if kind == 0:
        return f"{person['surname']} {person['given']}" if rnd.random() < 0.6 else person["given"]
    if kind == 1:
        y, m, d = person["birth"]
        return rnd.choice([f"{d:02d} {MONTHS[m - 1]} {y}", f"{d:02d}/{m:02d}/{y}", f"{d:02d}.{m:02d}.{y}"])
    if kind == 2:
        return person["number"]
    return rnd.choice(person["places"])


def korean_name(rnd: random.Random) -> str:
    """A Hangul name (surname + given name), sometimes with a space between them."""
    surname, given = rnd.choice(HANGUL_SURNAMES), rnd.choice(HANGUL_GIVEN)
    return surname + (" " if rnd.random() < 0.3 else "") + given


def ink_mask(text: str, font_path: str, reference: str) -> np.ndarray:
    """Text rendered white on black, cropped to its ink; uint8 coverage mask.

    Vertically the crop also spans `reference` on the same baseline, so one kind keeps one
    glyph scale whatever the text (a 'J' dipping below the baseline would rescale it).
    """
    font = ImageFont.truetype(font_path, RENDER_SIZE)
    boxes = [font.getbbox(t, anchor="ls") for t in (text, reference)]
    left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, bottom = max(b[2] for b in boxes), max(b[3] for b in boxes)
    pad = RENDER_SIZE // 2
    size, origin = (right - left + 2 * pad, bottom - top + 2 * pad), (pad - left, pad - top)
    canvases = [Image.new("L", size, 0) for _ in range(2)]
    for canvas, t in zip(canvases, (text, reference)):
        ImageDraw.Draw(canvas).text(origin, t, font=font, fill=255, anchor="ls")
    (x0, y0, x1, y1), (_, r0, _, r1) = (c.getbbox() for c in canvases)
    return np.asarray(canvases[0])[min(y0, r0):max(y1, r1), x0:x1]


def paper(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Light tinted paper with faint low-frequency shading and grain; float RGB."""
    base = np.array(PAPER[rng.integers(len(PAPER))], np.float32) + rng.normal(0, 3, 3)
    cell = int(rng.integers(10, 24))  # size of the shading blobs in px
    coarse = rng.normal(0, 1, (height // cell + 2, width // cell + 2)).astype(np.float32)
    shade = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC) * rng.uniform(2.5, 6)
    grain = rng.normal(0, 1.2, (height, width, 1)).astype(np.float32)
    return base[None, None, :] + shade[:, :, None] + grain


def compose(mask: np.ndarray, height: int, rng: np.random.Generator) -> np.ndarray:
    """Scale the ink mask into a tight crop of the given height on paper; uint8 BGR."""
    unit = height / 48
    top, bottom = (max(2, round(int(rng.integers(2, 6)) * unit)) for _ in range(2))
    left, right = (int(rng.integers(3, 9)) for _ in range(2))
    ink_h = height - top - bottom
    ink_w = max(1, round(mask.shape[1] * ink_h / mask.shape[0] * rng.uniform(0.96, 1.04)))
    glyphs = cv2.resize(mask, (ink_w, ink_h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    alpha = np.zeros((height, ink_w + left + right), np.float32)
    alpha[top:top + ink_h, left:left + ink_w] = glyphs * rng.uniform(0.85, 1.0)
    ink = np.array(INK[rng.integers(len(INK))], np.float32) + rng.normal(0, 5, 3)
    image = paper(*alpha.shape, rng) * (1 - alpha[:, :, None]) + ink * alpha[:, :, None]
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 0.7))  # slight lens softness
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)[:, :, ::-1]


def make_samples(out: Path, seed: int) -> list[tuple[str, str]]:
    """Render all crops into out/images and write out/labels.txt; return (path, label) pairs."""
    rnd, rng = random.Random(seed), np.random.default_rng(seed)
    samples: list[tuple[str, str, str, int]] = []  # (kind, text, font, height)
    for i in range(PER_KIND // 2):
        line1, line2 = mrz_lines(rnd, make_person(rnd, i))
        samples += [("mrz", line1, OCRB, 48), ("mrz", line2, OCRB, 48)]
    for i in range(PER_KIND):
        text = bz_field(rnd, make_person(rnd, i * 5 // 4), i)
        samples.append(("bz", text, DEJAVU[i % len(DEJAVU)], rnd.choice([32, 48])))
    for i in range(PER_KIND):
        samples.append(("korean", korean_name(rnd), NANUM[i % len(NANUM)], 48))
    (out / "images").mkdir(parents=True, exist_ok=True)
    labels: list[tuple[str, str]] = []
    for n, (kind, text, font, height) in enumerate(samples):
        rel = f"images/{kind}_{n % PER_KIND + 1:02d}.jpg"  # samples come in blocks of PER_KIND
        image = compose(ink_mask(text, font, REFERENCE[kind]), height, rng)
        if not cv2.imwrite(str(out / rel), image, [cv2.IMWRITE_JPEG_QUALITY, 92]):
            raise OSError(f"could not write {out / rel}")
        labels.append((rel, text))
    with open(out / "labels.txt", "w", encoding="utf-8", newline="\n") as f:
        f.writelines(f"{rel}\t{text}\n" for rel, text in labels)
    return labels


def main() -> None:
    """Command-line entry point."""
    repo = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=repo / "augkit" / "samples", help="output folder")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    args = parser.parse_args()
    missing = [f for f in [OCRB, *DEJAVU, *NANUM] if not Path(f).is_file()]
    if missing:
        parser.error(f"font not found: {missing[0]} (apt-get install fonts-ocr-b fonts-nanum fonts-dejavu-core)")
    labels = make_samples(args.out, args.seed)
    print(f"wrote {len(labels)} crops and labels.txt to {args.out}")


if __name__ == "__main__":
    main()
