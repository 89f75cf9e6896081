"""Detections scored against annotated regions by the ICDAR 2015 protocol (incidental scene text,
task 4.1; PaddleOCR's `DetMetric` scores the same way):

- A polygon that is not a valid simple polygon (shapely's `is_valid`: crossing sides, fewer than
  three distinct corners) takes no part, annotated or detected.
- Annotated don't-care regions (`###`, and regions whose text cannot be a label) are not to be
  found: a detection covering one (more than half of the detection's area inside it) is
  ignored, neither right nor wrong.
- Every other annotation and detection is matched one to one: annotations in order, each taking
  the first unmatched detection (in the detector's order) whose IoU with it exceeds `iou`
  (strictly, as the ICDAR script and PaddleOCR do). This greedy order, not an optimal
  assignment, is the protocol's.
- recall = matched / annotations to find; precision = matched / detections counted; summed over
  all pages before dividing (not averaged per page); H-mean their harmonic mean. A page with
  nothing to find has recall 1, and precision 1 only when nothing was counted on it.

shapely is the `det` extra's, imported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

IOU = 0.5
DONT_CARE_COVER = 0.5

# What became of each annotation and each detection on a page.
MATCHED, MISSED, FALSE, IGNORED, INVALID = "matched", "missed", "false", "dont_care", "invalid"


def _shapely():
    try:
        from shapely.geometry import Polygon
    except ImportError:
        from augkit.errors import UserError

        raise UserError("augkit eval --task det needs shapely and pyclipper: pip install 'augkit[det]'") from None
    return Polygon


@dataclass
class PageScore:
    """One page's outcome: the status of every annotation and detection, in their own order, and
    the matched pairs (annotation index, detection index, IoU)."""

    gt: list[str] = field(default_factory=list)
    det: list[str] = field(default_factory=list)
    pairs: list[tuple[int, int, float]] = field(default_factory=list)

    @property
    def matched(self) -> int:
        return len(self.pairs)

    @property
    def to_find(self) -> int:
        return sum(s in (MATCHED, MISSED) for s in self.gt)

    @property
    def counted(self) -> int:
        return sum(s in (MATCHED, FALSE) for s in self.det)

    @property
    def recall(self) -> float:
        return self.matched / self.to_find if self.to_find else 1.0

    @property
    def precision(self) -> float:
        if not self.counted:
            return 1.0 if not self.to_find else 0.0
        return self.matched / self.counted

    @property
    def hmean(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def score_page(gt: list[tuple[list, bool]], det: list[list], iou: float = IOU,
               dont_care_cover: float = DONT_CARE_COVER) -> PageScore:
    """`gt`: (points, don't-care) per annotated region; `det`: points per detection."""
    Polygon = _shapely()
    out = PageScore()
    gt_polys = []
    for points, dont_care in gt:
        poly = Polygon(points) if len(points) >= 3 else None
        ok = poly is not None and poly.is_valid
        gt_polys.append(poly if ok else None)
        out.gt.append(INVALID if not ok else IGNORED if dont_care else MISSED)
    dont_care_polys = [p for p, s in zip(gt_polys, out.gt) if s == IGNORED]
    det_polys = []
    for points in det:
        poly = Polygon(points) if len(points) >= 3 else None
        ok = poly is not None and poly.is_valid
        det_polys.append(poly if ok else None)
        status = INVALID if not ok else FALSE
        if ok and poly.area > 0:
            for d in dont_care_polys:
                if d.intersection(poly).area / poly.area > dont_care_cover:
                    status = IGNORED
                    break
        out.det.append(status)
    taken = [False] * len(det_polys)
    for i, g in enumerate(gt_polys):
        if out.gt[i] != MISSED:
            continue
        for j, d in enumerate(det_polys):
            if taken[j] or out.det[j] != FALSE:
                continue
            inter = d.intersection(g).area
            if inter == 0:
                continue
            # The union as shapely measures it (not area + area - intersection), detection first:
            # at IoU 0.5 exactly (a line split in two halves) the ways of computing it differ in
            # the last bits, and the reference's order decides the tie.
            union = d.union(g).area
            value = inter / union if union > 0 else 0.0
            if value > iou:
                taken[j] = True
                out.gt[i], out.det[j] = MATCHED, MATCHED
                out.pairs.append((i, j, round(value, 6)))
                break
    return out


def totals(pages: list[PageScore]) -> dict:
    """Precision, recall and H-mean over all pages (sums first), with the counts."""
    matched = sum(p.matched for p in pages)
    to_find = sum(p.to_find for p in pages)
    counted = sum(p.counted for p in pages)
    recall = matched / to_find if to_find else 0.0
    precision = matched / counted if counted else 0.0
    hmean = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"pages": len(pages), "precision": precision, "recall": recall, "hmean": hmean, "matched": matched,
            "annotated": to_find, "detected": counted,
            "dont_care_annotations": sum(s.gt.count(IGNORED) for s in pages),
            "dont_care_detections": sum(s.det.count(IGNORED) for s in pages),
            "invalid_annotations": sum(s.gt.count(INVALID) for s in pages),
            "invalid_detections": sum(s.det.count(INVALID) for s in pages)}
