"""A page image as a DB detector's input, as PaddleOCR's inference (`tools/infer/predict_det.py`)
prepares it, so the score is the one the deployed model gets.

- Resize (PaddleOCR's `DetResizeForTest`, its default type): with `limit_type` "max" a page whose
  longer side exceeds `limit_side_len` is scaled down to it (smaller pages keep their size); with
  "min" a page whose shorter side is under it is scaled up to it. Each side is then rounded to
  the nearest multiple of 32 (at least 32), which the detector's strides need, so the aspect
  ratio moves slightly; boxes are mapped back per axis. Bilinear.
- Normalise: x / 255, minus mean (0.485, 0.456, 0.406), over std (0.229, 0.224, 0.225), applied
  to the channels in the order decoded (BGR, as cv2 decodes, as PaddleOCR trains and infers:
  its ImageNet constants are listed in RGB order but meet a BGR image), then HWC -> CHW.

Defaults are `predict_det.py`'s (960, "max"); PaddleOCR's training-time eval of the PP-OCRv4
det configs uses (736, "min"), as RapidOCR does.
"""

from __future__ import annotations

import cv2
import numpy as np

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
LIMIT_TYPES = ("max", "min")


def resized_size(height: int, width: int, limit_side_len: int = 960, limit_type: str = "max") -> tuple[int, int]:
    """(height, width) of the model input for a page of this size."""
    if limit_type == "max":
        ratio = limit_side_len / max(height, width) if max(height, width) > limit_side_len else 1.0
    elif limit_type == "min":
        ratio = limit_side_len / min(height, width) if min(height, width) < limit_side_len else 1.0
    else:
        raise ValueError(f"limit_type must be one of {LIMIT_TYPES}")
    h, w = int(height * ratio), int(width * ratio)
    return max(int(round(h / 32) * 32), 32), max(int(round(w / 32) * 32), 32)


def det_input(image: np.ndarray, limit_side_len: int = 960, limit_type: str = "max") -> np.ndarray:
    """A (1, 3, H, W) float32 tensor from a uint8 BGR page."""
    h, w = resized_size(image.shape[0], image.shape[1], limit_side_len, limit_type)
    resized = cv2.resize(image, (w, h))
    x = (resized.astype(np.float32) / 255.0 - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])
