#!/usr/bin/env python3
"""Microseconds per call of each augmentation stage and per variant of each recipe.

Usage: python benchmarks/bench_stages.py [--repeats 200] [--seed 0]

Stages are timed on two synthetic crops, 48x320 and 64x640 (BGR uint8, dark text on a light
background). Parameters are sampled before each call and the sampling is not timed; the
median of the repeats is printed. Recipes are timed per variant for the recipe's first
variant (index 0: the warp runs) and a later one (index 1: no warp), and as the mean over a
7-strong/3-weak plan, sampling included (as generation runs it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import time

import cv2
import numpy as np

from augkit.recipe import VariantPlan, load_recipe
from augkit.stages import STAGES, VariantContext

SIZES = [(48, 320), (64, 640)]


def crop(height: int, width: int) -> np.ndarray:
    image = np.full((height, width, 3), 228, np.uint8)
    cv2.putText(image, "P<KORKIM<<MINJUN<<<<<<<<<<<<<<<<<<<<<<<<<<<<", (4, int(height * 0.7)),
                cv2.FONT_HERSHEY_SIMPLEX, height / 60.0, (30, 30, 40), 2, cv2.LINE_AA)
    return image


def median_us(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"# augkit stage timings, {dt.date.today().isoformat()}, {cpu()}, numpy {np.__version__}, "
          f"opencv {cv2.__version__}; median of {args.repeats} calls, microseconds")
    images = {f"{h}x{w}": crop(h, w) for h, w in SIZES}
    rows = []
    for name, cls in STAGES.items():
        stage = cls()
        cells = []
        for image in images.values():
            rng = np.random.default_rng(args.seed)
            params = [stage.sample(rng, image.shape, VariantContext(v % 10 + 1, 0)) for v in range(args.repeats)]
            it = iter(params)
            cells.append(median_us(lambda: stage.apply(image, next(it)), args.repeats))
        rows.append((f"stage {name}", cells))
    for name in ("strong", "weak"):
        recipe = load_recipe(name)
        for index in (0, 1):
            cells = []
            for image in images.values():
                counter = iter(range(10**9))
                cells.append(median_us(lambda: recipe.apply(image, args.seed, next(counter), VariantContext(index + 1, index)),
                                       args.repeats))
            rows.append((f"recipe {name}, variant index {index}", cells))
    plan = VariantPlan(load_recipe("strong"), load_recipe("weak"), 7, 3)
    cells = []
    for image in images.values():
        counter = iter(range(10**9))
        per_source = median_us(lambda: [r.apply(image, args.seed, next(counter), c) for r, c in plan],
                               max(10, args.repeats // 10))
        cells.append(per_source / plan.total)
    rows.append(("plan 7 strong + 3 weak, per variant", cells))

    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  " + "  ".join(f"{k:>9}" for k in images))
    for label, cells in rows:
        print(f"{label:{width}}  " + "  ".join(f"{c:9.0f}" for c in cells))


if __name__ == "__main__":
    main()
