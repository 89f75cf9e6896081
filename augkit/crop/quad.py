"""Text regions as quadrilaterals, checked, and cut out of their page as rectified line crops.

Rules (each a decision, recorded in the manifest through the quad actually used):
- Four points are taken in the order given, first point the text's top-left (the convention of
  ICDAR 2015, SROIE and PPOCRLabel); a quad listed counter-clockwise is turned clockwise
  keeping its first point, so p0 -> p1 always runs along the top of the text.
- More than four points (a polygon round a curved or long line): its minimum-area rectangle,
  clockwise, starting at the corner nearest the polygon's first point, so reading direction
  follows the annotation (PaddleOCR's `get_minarea_rect_crop` cuts the same rectangle).
- Rejected: fewer than four points, a side or area under one pixel (degenerate), crossing sides
  (self-intersecting), a reflex corner (not convex), a quad wholly outside the page, and one
  reaching outside it by more than max(2 px, 10% of its height). Within that tolerance (the
  jitter of hand annotation) the points are clamped to the page.
- The crop is the perspective warp of the quad onto an axis-aligned rectangle as wide as the
  longer of its top and bottom sides and as high as the longer of its left and right sides
  (bilinear, replicated border). A crop at least 1.5 times as high as it is wide holding two or
  more characters is a vertical line (text written top to bottom): it is turned 90 degrees
  counter-clockwise so it reads left to right, as PaddleOCR's `get_rotate_crop_image` does;
  a single character is never turned (a tall box is its natural shape). A detected box, whose
  text is not known (`text=None`), is turned whenever it is that tall, as PaddleOCR's pipeline does.
- `height`: the crop is scaled to that height keeping its aspect ratio (area averaging when
  shrinking, cubic when enlarging).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from augkit.errors import SampleRejected

VERTICAL_RATIO = 1.5


@dataclass(frozen=True)
class Cut:
    """How one crop was made: the quad used (after ordering and clamping), and whether it was turned."""

    quad: list[list[float]]
    clamped: bool
    rotated: bool


def _cross(o, a, b) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def signed_area(points: np.ndarray) -> float:
    """Shoelace area; positive for clockwise order on screen (y pointing down)."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _segments_cross(p1, p2, p3, p4) -> bool:
    """Whether segments p1p2 and p3p4 cross at a point inside both (touching ends do not count)."""
    d1, d2 = _cross(p3, p4, p1), _cross(p3, p4, p2)
    d3, d4 = _cross(p1, p2, p3), _cross(p1, p2, p4)
    return ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4)


def order_quad(points: tuple[tuple[float, float], ...]) -> np.ndarray:
    """The region's four corners, clockwise from the text's top-left (see the module rules)."""
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) < 4:
        raise SampleRejected("wrong number of points", f"{len(pts)} points, at least 4 needed")
    if len(pts) > 4:
        if abs(signed_area(pts)) < 1.0:
            raise SampleRejected("degenerate quad", "polygon area under one pixel")
        box = cv2.boxPoints(cv2.minAreaRect(pts.astype(np.float32))).astype(np.float64)
        if signed_area(box) < 0:
            box = box[::-1]
        first = int(np.argmin(((box - pts[0]) ** 2).sum(axis=1)))
        return np.roll(box, -first, axis=0)
    p = pts
    if _segments_cross(p[0], p[1], p[2], p[3]) or _segments_cross(p[1], p[2], p[3], p[0]):
        raise SampleRejected("self-intersecting quad", _fmt(p))
    if signed_area(p) < 0:
        p = p[[0, 3, 2, 1]]
    sides = np.linalg.norm(p - np.roll(p, -1, axis=0), axis=1)
    if sides.min() < 1.0 or signed_area(p) < 1.0:
        raise SampleRejected("degenerate quad", _fmt(p))
    turns = [_cross(p[i], p[(i + 1) % 4], p[(i + 2) % 4]) for i in range(4)]
    if min(turns) < 0:
        raise SampleRejected("quad not convex", _fmt(p))
    return p


def fit_to_page(quad: np.ndarray, width: int, height: int) -> tuple[np.ndarray, bool]:
    """The quad clamped to the page when it overhangs by no more than the tolerance; rejects otherwise."""
    x, y = quad[:, 0], quad[:, 1]
    if x.max() <= 0 or y.max() <= 0 or x.min() >= width or y.min() >= height:
        raise SampleRejected("quad outside the page", f"{_fmt(quad)} on a {width}x{height} page")
    text_height = max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1]))
    tolerance = max(2.0, 0.1 * text_height)
    overhang = max(-x.min(), -y.min(), x.max() - width, y.max() - height, 0.0)
    if overhang > tolerance:
        raise SampleRejected("quad partly outside the page",
                             f"{_fmt(quad)} reaches {overhang:.1f} px beyond a {width}x{height} page "
                             f"(tolerance {tolerance:.1f} px)")
    if overhang == 0.0:
        return quad, False
    clamped = quad.copy()
    clamped[:, 0] = np.clip(clamped[:, 0], 0, width)
    clamped[:, 1] = np.clip(clamped[:, 1], 0, height)
    if signed_area(clamped) < 1.0:
        raise SampleRejected("degenerate quad", f"{_fmt(clamped)} after clamping to the page")
    return clamped, True


def cut_region(page: np.ndarray, points: tuple[tuple[float, float], ...], text: str | None,
               height: int | None = None) -> tuple[np.ndarray, Cut]:
    """The rectified crop of one region of a BGR page, and how it was cut."""
    quad, clamped = fit_to_page(order_quad(points), page.shape[1], page.shape[0])
    w = max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3]))
    h = max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1]))
    cw, ch = max(1, int(round(w))), max(1, int(round(h)))
    if cw < 2 or ch < 2:
        raise SampleRejected("degenerate quad", f"{_fmt(quad)} gives a {cw}x{ch} crop")
    target = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    crop = cv2.warpPerspective(page, matrix, (cw, ch), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    rotated = ch >= VERTICAL_RATIO * cw and (text is None or len(text) >= 2)
    if rotated:
        crop = np.ascontiguousarray(np.rot90(crop))
    if height is not None and crop.shape[0] != height:
        scale = height / crop.shape[0]
        new_w = max(1, int(round(crop.shape[1] * scale)))
        crop = cv2.resize(crop, (new_w, height), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    return crop, Cut([[round(float(a), 2), round(float(b), 2)] for a, b in quad], clamped, rotated)


def _fmt(quad: np.ndarray) -> str:
    return "[" + ", ".join(f"[{x:g}, {y:g}]" for x, y in np.round(quad, 2)) + "]"
