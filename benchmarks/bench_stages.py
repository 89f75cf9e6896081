"""Microbenchmark of augkit's seven stages and two recipes on synthetic text-line crops.

Run from the repository root (augkit installed, e.g. `pip install -e .`):

    python benchmarks/bench_stages.py                 # 200 repeats, seed 0
    python benchmarks/bench_stages.py --repeats 1000 --seed 7

For each stage, every repeat draws fresh parameters with `Stage.sample` from one fixed
`numpy.random.default_rng(seed)` and then times `Stage.apply` alone; sampling is timed
separately. Recipe rows time `Recipe.apply` as `augkit generate` calls it (per-step seeding,
probability draws and sampling included), for the recipe's first variant (index 0: the
cylindrical warp runs) and a later one (index 1: it does not), plus the mean per variant over
a 7-strong/3-weak `VariantPlan`. Every figure is the median over repeats, in microseconds,
single process (OpenCV may use its own threads; the header says how many).

    python benchmarks/bench_stages.py --crops DIR     # where one worker's time goes, on real crops

With `--crops DIR` (DIR/labels.txt, paths relative to DIR, e.g. the benchmark crops of
bench_generate.py) it instead makes every variant of every crop as `augkit generate` does (the
7 strong + 3 weak plan, seed 0, OpenCV on one thread as in a worker) and prints, per stage, the
calls, the mean microseconds per call and per output image, and the share of the time; beside
them seeding, sampling and recipe overhead (the recipe time no stage's `apply` accounts for),
and JPEG encoding (quality 95). Best of `--passes` passes over all crops (default 3).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import platform
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from augkit.recipe import VariantPlan, load_recipe
from augkit.stages import STAGES, Stage, VariantContext
from machine import cpu_model  # benchmarks/ is on sys.path when a script here runs

SIZES = ((48, 320), (64, 640))
WARMUP = 5


def make_crop(height: int, width: int) -> np.ndarray:
    """A BGR uint8 text-line crop: dark text on a light, slightly tinted background."""
    image = np.full((height, width, 3), (236, 240, 242), np.uint8)
    text = "P<KORKIM<<JIHO<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<"
    scale = height / 40.0
    thickness = max(1, round(height / 24))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    org = (4, (height + th) // 2)
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (30, 30, 35), thickness, cv2.LINE_AA)
    return image


def median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def bench_stage(stage, image: np.ndarray, repeats: int, seed: int) -> tuple[float, float]:
    """(median apply µs, median sample µs) with parameters drawn fresh for every call."""
    rng = np.random.default_rng(seed)
    apply_t, sample_t = [], []
    for r in range(WARMUP + repeats):
        # Cycle the variant number so sectioned_glare visits all ten grid sections.
        ctx = VariantContext(variant=r % 10 + 1, index=0)
        t0 = time.perf_counter()
        params = stage.sample(rng, image.shape, ctx)
        t1 = time.perf_counter()
        stage.apply(image, params)
        t2 = time.perf_counter()
        if r >= WARMUP:
            sample_t.append(t1 - t0)
            apply_t.append(t2 - t1)
    return median_us(apply_t), median_us(sample_t)


def bench_recipe(recipe, ctx: VariantContext, image: np.ndarray, repeats: int, seed: int) -> float:
    """Median µs of one `Recipe.apply`; each repeat is a different source line (fresh draws)."""
    times = []
    for r in range(WARMUP + repeats):
        t0 = time.perf_counter()
        recipe.apply(image, seed, r + 1, ctx)
        t1 = time.perf_counter()
        if r >= WARMUP:
            times.append(t1 - t0)
    return median_us(times)


def bench_plan(plan: VariantPlan, image: np.ndarray, repeats: int, seed: int) -> float:
    """Median over repeats of (time to make all variants of one source) / number of variants, in µs."""
    times = []
    for r in range(WARMUP + repeats):
        t0 = time.perf_counter()
        for recipe, ctx in plan:
            recipe.apply(image, seed, r + 1, ctx)
        t1 = time.perf_counter()
        if r >= WARMUP:
            times.append((t1 - t0) / plan.total)
    return median_us(times)


def _timed(stage, method: str, totals: dict, counts: dict):
    """`stage.apply` or `stage.apply_owned` (what a recipe calls on its own intermediates), adding
    its time to totals[name] (an instance attribute shadows the method)."""
    apply = getattr(type(stage), method).__get__(stage)

    def timed(image, params):
        t0 = time.perf_counter()
        out = apply(image, params)
        totals[stage.name] = totals.get(stage.name, 0.0) + time.perf_counter() - t0
        counts[stage.name] = counts.get(stage.name, 0) + 1
        return out

    return timed


def breakdown(crops_dir: Path, passes: int) -> None:
    """Per-stage time of one worker making the 7 strong + 3 weak variants of every crop."""
    from augkit.codec import encode_jpeg, read_source_image

    rows = [x.split("\t", 1)[0] for x in (crops_dir / "labels.txt").read_text(encoding="utf-8-sig").splitlines()
            if x.strip()]
    images = [read_source_image(str(crops_dir), rel) for rel in rows]
    plan = VariantPlan(strong=load_recipe("strong"), weak=load_recipe("weak"), n_strong=7, n_weak=3)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    best = None
    for _ in range(passes):
        totals: dict[str, float] = {}
        counts: dict[str, int] = {}
        for recipe in (plan.strong, plan.weak):
            for step in recipe.steps:
                step.stage.apply = _timed(step.stage, "apply", totals, counts)
                if type(step.stage).apply_owned is not Stage.apply_owned:  # the default calls apply
                    step.stage.apply_owned = _timed(step.stage, "apply_owned", totals, counts)
        recipe_s = encode_s = 0.0
        t_all = time.perf_counter()
        for line, image in enumerate(images, start=1):
            for recipe, ctx in plan:
                t0 = time.perf_counter()
                variant, _ = recipe.apply(image, 0, line, ctx)
                t1 = time.perf_counter()
                encode_jpeg(variant, 95)
                encode_s += time.perf_counter() - t1
                recipe_s += t1 - t0
        wall = time.perf_counter() - t_all
        if best is None or wall < best[0]:
            best = (wall, totals, counts, recipe_s, encode_s)
    cv2.setNumThreads(threads)
    wall, totals, counts, recipe_s, encode_s = best
    n = len(images) * plan.total
    print(f"# augkit per-stage time on real crops  {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"# CPU: {cpu_model()}  |  python {platform.python_version()}  |  numpy {np.__version__}  |  opencv "
          f"{cv2.__version__} (1 thread)")
    print(f"# {len(images)} crops from {crops_dir} x 10 variants (7 strong + 3 weak) = {n:,} images; best of "
          f"{passes} passes: {wall:.2f} s, {n / wall:,.0f} images/s (augment + encode, no file I/O)")
    print(f"{'part':<28}{'calls':>8}{'us/call':>10}{'us/image':>10}{'share':>8}")
    print("-" * 64)
    parts = [(name, counts[name], totals[name]) for name in sorted(totals, key=totals.get, reverse=True)]
    parts.append(("seeding, sampling, recipe", n, recipe_s - sum(totals.values())))
    parts.append(("JPEG encode (q95)", n, encode_s))
    for name, calls, seconds in parts:
        print(f"{name:<28}{calls:>8,}{seconds / calls * 1e6:>10.1f}{seconds / n * 1e6:>10.1f}{seconds / wall:>8.1%}")
    print(f"{'total':<28}{n:>8,}{'':>10}{wall / n * 1e6:>10.1f}{1:>8.0%}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200, help="timed calls per row and size (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the parameter draws (default 0)")
    parser.add_argument("--crops", type=Path, default=None,
                        help="folder with labels.txt: print the per-stage split of one worker's time on these crops")
    parser.add_argument("--passes", type=int, default=3, help="--crops: passes over all crops, best reported")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.passes < 1:
        parser.error("--repeats and --passes must be >= 1")
    if args.crops is not None:
        if not (args.crops / "labels.txt").is_file():
            parser.error(f"--crops {args.crops} holds no labels.txt")
        breakdown(args.crops, args.passes)
        return

    crops = {f"{h}x{w}": make_crop(h, w) for h, w in SIZES}
    strong, weak = load_recipe("strong"), load_recipe("weak")
    plan = VariantPlan(strong=strong, weak=weak, n_strong=7, n_weak=3)
    # Contexts as the 7/3 plan gives them: strong v1/v2, weak v8/v9.
    recipe_rows = [
        ("strong, index 0 (warp)", strong, VariantContext(variant=1, index=0)),
        ("strong, index 1", strong, VariantContext(variant=2, index=1)),
        ("weak, index 0 (warp)", weak, VariantContext(variant=8, index=0)),
        ("weak, index 1", weak, VariantContext(variant=9, index=1)),
    ]

    start = time.perf_counter()
    rows: list[tuple[str, list[str]]] = []
    for name, cls in STAGES.items():
        cells = []
        for crop in crops.values():
            apply_us, sample_us = bench_stage(cls(), crop, args.repeats, args.seed)
            cells += [f"{apply_us:.1f}", f"{sample_us:.1f}"]
        rows.append((f"stage {name}", cells))
    for label, recipe, ctx in recipe_rows:
        cells = []
        for crop in crops.values():
            cells += [f"{bench_recipe(recipe, ctx, crop, args.repeats, args.seed):.1f}", "incl."]
        rows.append((f"recipe {label}", cells))
    cells = []
    for crop in crops.values():
        cells += [f"{bench_plan(plan, crop, args.repeats, args.seed):.1f}", "incl."]
    rows.append(("plan 7 strong + 3 weak, per variant", cells))
    elapsed = time.perf_counter() - start

    print(f"# augkit stage benchmark  {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"# CPU: {cpu_model()}  |  python {platform.python_version()}  |  numpy {np.__version__}"
          f"  |  opencv {cv2.__version__} ({cv2.getNumThreads()} threads)")
    print(f"# median of {args.repeats} calls, seed {args.seed}, microseconds per call; "
          f"'sample' = Stage.sample timed apart; recipe rows include seeding and sampling")
    headers = []
    for size in crops:
        headers += [f"{size} apply", f"{size} sample"]
    first_w = max(len("row"), *(len(r[0]) for r in rows))
    widths = [max(len(h), *(len(r[1][i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join([f"{'row':<{first_w}}"] + [f"{h:>{w}}" for h, w in zip(headers, widths)])
    print(line)
    print("-" * len(line))
    for label, cells in rows:
        print("  ".join([f"{label:<{first_w}}"] + [f"{c:>{w}}" for c, w in zip(cells, widths)]))
    print(f"# total benchmark time {elapsed:.1f} s")


if __name__ == "__main__":
    main()
