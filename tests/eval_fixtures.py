"""A small evaluation report directory built from synthetic predictions (no model): rendered
crops, predictions.jsonl, metrics.json from the real scorer, and a rejects.tsv."""

from __future__ import annotations

import json
from pathlib import Path

import cv2

from augkit.eval.metrics import compute_metrics
from conftest import text_line

TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]

# (ground truth, prediction, flags, confidence, has an image)
SAMPLES = [
    (TD3[0], TD3[0], [], 0.99, True),
    (TD3[1], TD3[1], [], 0.98, True),
    (TD3[1], TD3[1][:8] + "O" + TD3[1][9:], ["squashed"], 0.95, True),     # 3 -> O, caught by the number check
    (TD3[0], TD3[0].replace("ANNA", "ANMA"), [], 0.91, True),
    ("KIM HAEUN", "KIM HAEUN", [], 0.97, True),
    ("KIM HAEUN", "KIMHAEUN", [], 0.80, True),
    ("22/06/1980", "22/06/198O", [], 0.62, True),
    ("MANCHESTER", "MANCHESTER", [], 0.96, True),
    ("X6HPCJP7T", "X6HPCJP7T", [], 0.95, True),
    ("OSAKA", "0SAKA", ["too_long"], 0.55, True),
    ("SEOUL", "SEOUL", [], 0.93, False),          # image missing on disk: the report says so
    ("최지호", "최시호", [], 0.70, False),
]


def make_report_dir(root: Path, *, mrz: bool = True, with_metrics: bool = True) -> Path:
    """root/data holds the crops, root/report the evaluation outputs; returns root/report."""
    data, report = root / "data", root / "report"
    (data / "img").mkdir(parents=True, exist_ok=True)
    report.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (gt, pred, flags, conf, has_image) in enumerate(SAMPLES, 1):
        path = f"img/{i:03d}.png"
        if has_image:
            cv2.imwrite(str(data / path), text_line(16 * len(gt) + 8, 32, gt, seed=i))
        rows.append({"id": i + 1, "path": path, "gt": gt, "prediction": pred, "confidence": conf,
                     "width": 640 if len(gt) > 20 else 320, "resized_width": min(640, 12 * len(gt)), "flags": flags})
    (report / "predictions.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    (report / "rejects.tsv").write_text("line\tpath\treason\tdetail\n1\timg/gone.png\tmissing image\tno such file\n",
                                        encoding="utf-8")
    if with_metrics:
        doc = {"augkit_version": "0.1.0",
               "run": {"model": "/models/rec_test.onnx", "model_sha256": "ab" * 32, "dict": "labels/en_dict.txt", "space": True,
                       "labels": str(data / "val.txt"), "data_dir": str(data), "height": 48, "widths": [320, 640], "batch": 8,
                       "backend": "onnxruntime", "backend_version": "1.20.1", "provider": "CPUExecutionProvider",
                       "precision": "fp32", "device": "Test CPU", "ignore_space": False, "ignore_case": False, "mrz": mrz},
               "counts": {"lines": len(rows) + 1, "scored": len(rows), "rejected": 1},
               "metrics": compute_metrics(rows, mrz=mrz),
               "timing": {"warmup_batches": 1, "batches": 2, "images_per_s": 321.5,
                          "latency_ms": {"p50": 11.25, "p90": 12.5, "p99": 13.75},
                          "stages_ms": {"preprocess": 1.5, "h2d": None, "compute": 9.0, "d2h": None, "decode": 0.25},
                          "model_only_images_per_s": 350.0}}
        (report / "metrics.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
    return report
