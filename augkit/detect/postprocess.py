"""A DB detector's probability map as text-line quads on the page, as PaddleOCR's
`DBPostProcess` (with `predict_det.py`'s final filter) makes them:

1. binarise the map at `thresh` (optionally dilated by a 2x2 kernel);
2. each outer contour of the binary map (at most `max_candidates`, in OpenCV's order) becomes
   its minimum-area rectangle; one whose shorter side is under `min_size` map pixels is dropped;
3. its score is the mean probability inside that rectangle ("fast"), or inside the contour
   itself ("slow"); one under `box_thresh` is dropped;
4. the rectangle is grown ("unclipped") by distance = area x `unclip_ratio` / perimeter with
   round joins (pyclipper, on integer coordinates as PaddleOCR does), and the grown shape's
   minimum-area rectangle is the box; one whose shorter side is under `min_size` + 2 is dropped;
5. corners are scaled from the map's size to the page's per axis, rounded and clipped to the
   page; corners are ordered clockwise from the top-left, and a box whose top or left side is 3
   pixels or shorter is dropped.

pyclipper is the `det` extra's, imported when the first box is grown.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

SCORE_MODES = ("fast", "slow")


@dataclass(frozen=True)
class DBParams:
    """DBPostProcess's settings; the defaults are PaddleOCR's inference defaults."""

    thresh: float = 0.3
    box_thresh: float = 0.6
    unclip_ratio: float = 1.5
    max_candidates: int = 1000
    min_size: int = 3
    dilate: bool = False
    score_mode: str = "fast"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Box:
    """A detected line: four corners on the page (clockwise from the top-left) and its score."""

    points: tuple[tuple[int, int], ...]
    score: float


def _rectangle(points: np.ndarray) -> tuple[np.ndarray, float]:
    """The minimum-area rectangle of `points`, corners in PaddleOCR's order (top-left, top-right,
    bottom-right, bottom-left, by the two leftmost and two rightmost corners), and its shorter side."""
    rect = cv2.minAreaRect(points.reshape(-1, 2).astype(np.float32))
    corners = sorted(cv2.boxPoints(rect).tolist(), key=lambda p: p[0])
    left = sorted(corners[:2], key=lambda p: p[1])
    right = sorted(corners[2:], key=lambda p: p[1])
    box = np.array([left[0], right[0], right[1], left[1]], np.float32)
    return box, min(rect[1])


def _mean_inside(prob: np.ndarray, polygon: np.ndarray) -> float:
    """Mean of `prob` over the pixels of the filled `polygon` (within its clipped bounding box)."""
    h, w = prob.shape
    xs, ys = polygon[:, 0], polygon[:, 1]
    x0 = int(np.clip(np.floor(xs.min()), 0, w - 1))
    x1 = int(np.clip(np.ceil(xs.max()), 0, w - 1))
    y0 = int(np.clip(np.floor(ys.min()), 0, h - 1))
    y1 = int(np.clip(np.ceil(ys.max()), 0, h - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    shifted = (polygon - np.array([x0, y0], polygon.dtype)).reshape(1, -1, 2).astype(np.int32)
    cv2.fillPoly(mask, shifted, 1)
    return float(cv2.mean(prob[y0:y1 + 1, x0:x1 + 1], mask)[0])


def _grow(box: np.ndarray, ratio: float) -> list[np.ndarray]:
    """The rectangle offset outwards by area x ratio / perimeter, round joins (pyclipper)."""
    import pyclipper

    area = abs(cv2.contourArea(box.astype(np.float32)))
    perimeter = cv2.arcLength(box.astype(np.float32).reshape(-1, 1, 2), True)
    if perimeter == 0:
        return []
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(box.tolist(), pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    return [np.array(path, np.float32) for path in offset.Execute(area * ratio / perimeter)]


def order_clockwise(points: np.ndarray) -> np.ndarray:
    """Four corners ordered top-left, top-right, bottom-right, bottom-left (smallest x + y first,
    largest x + y third; of the other two, the smaller y - x second)."""
    s = points.sum(axis=1)
    tl, br = points[np.argmin(s)], points[np.argmax(s)]
    rest = np.delete(points, [np.argmin(s), np.argmax(s)], axis=0)
    if len(rest) != 2:  # two corners tie on x + y: fall back to the angle around the centre
        centre = points.mean(axis=0)
        angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
        ring = points[np.argsort(angles)]
        start = int(np.argmin(ring.sum(axis=1)))
        return np.roll(ring, -start, axis=0)
    d = rest[:, 1] - rest[:, 0]
    tr, bl = rest[np.argmin(d)], rest[np.argmax(d)]
    return np.array([tl, tr, br, bl])


def db_boxes(prob: np.ndarray, page_size: tuple[int, int], params: DBParams = DBParams()) -> list[Box]:
    """Line boxes on a page of `page_size` (height, width) from the model's probability map
    (H x W, any scale of the page)."""
    if params.score_mode not in SCORE_MODES:
        raise ValueError(f"score_mode must be one of {SCORE_MODES}")
    prob = np.asarray(prob, np.float32)
    map_h, map_w = prob.shape
    page_h, page_w = page_size
    mask = (prob > params.thresh).astype(np.uint8)
    if params.dilate:
        mask = cv2.dilate(mask, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask * 255, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes: list[Box] = []
    for contour in contours[:params.max_candidates]:
        rect, short = _rectangle(contour)
        if short < params.min_size:
            continue
        region = rect if params.score_mode == "fast" else contour.reshape(-1, 2).astype(np.float32)
        score = _mean_inside(prob, region)
        if score < params.box_thresh:
            continue
        grown = _grow(rect, params.unclip_ratio)
        if len(grown) != 1:
            continue
        rect, short = _rectangle(grown[0])
        if short < params.min_size + 2:
            continue
        xs = np.clip(np.round(rect[:, 0] / map_w * page_w), 0, page_w)
        ys = np.clip(np.round(rect[:, 1] / map_h * page_h), 0, page_h)
        corners = order_clockwise(np.stack([xs, ys], axis=1))
        corners[:, 0] = np.clip(corners[:, 0], 0, page_w - 1)
        corners[:, 1] = np.clip(corners[:, 1], 0, page_h - 1)
        if int(np.linalg.norm(corners[0] - corners[1])) <= 3 or int(np.linalg.norm(corners[0] - corners[3])) <= 3:
            continue
        boxes.append(Box(tuple((int(x), int(y)) for x, y in corners), round(score, 6)))
    return boxes
