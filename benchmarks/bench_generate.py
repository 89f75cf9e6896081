#!/usr/bin/env python3
"""Generation throughput, side by side: augkit vs the I/O floor vs the seed baseline (SPEC section 7).

One run measures, on the same benchmark crops and with ONE worker each:

  (a) augkit      generate(make_config(...), workers=1, progress=False) into a fresh output root;
  (b) I/O floor   the same sources x variants with no augmentation: read the file, cv2.imdecode,
                  cv2.imencode JPEG quality 95, write; the same number of images;
  (c) baseline    ../shared/bench/seed_baseline.py LABELS DATA_DIR OUT --workers 1 (a subprocess;
                  its own 'images/s: X' line is used), when that file exists;

and prints images/s for each plus the ratios augkit/baseline (target >= 10x) and augkit/floor
(target >= 0.35). `--workers-sweep 1,2,4,8,16` instead measures augkit alone at each worker count
on a larger set and prints parallel efficiency (target >= 0.90), next to this machine's own ceiling
(the same work, CPU only, in that many processes at once). `--profile` prints the hot path of
one run_shard over the crops (cProfile). Targets are checked by this benchmark, never by timed tests.

Usage:
  python benchmarks/bench_generate.py                         # 300 crops, 7 strong + 3 weak, best of 1
  python benchmarks/bench_generate.py --repeats 3 --json out.json
  python benchmarks/bench_generate.py --workers-sweep 1,2,4,8,16 --sweep-copies 4
  python benchmarks/bench_generate.py --profile
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from machine import core_counts, cpu_model, git_state, versions

REPO = Path(__file__).resolve().parent.parent
SHARED_BENCH = REPO.parent / "shared" / "bench"
MAKE_BENCH_SET = SHARED_BENCH / "make_bench_set.py"
SEED_BASELINE = SHARED_BENCH / "seed_baseline.py"

TARGET_VS_BASELINE = 10.0
TARGET_VS_FLOOR = 0.35
TARGET_EFFICIENCY = 0.90


# --------------------------------------------------------------------------------------------
# Machine and library description (the table header)
# --------------------------------------------------------------------------------------------

def header_lines(title: str) -> list[str]:
    total, usable = core_counts()
    v = versions()
    return [
        title,
        f"date     {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"machine  {cpu_model()}; {total} logical CPUs ({usable} usable); {platform.system()} {platform.release()}",
        "versions " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"git      {git_state()}",
    ]


# --------------------------------------------------------------------------------------------
# Benchmark crops
# --------------------------------------------------------------------------------------------

def make_crops(dest: Path, count: int, seed: int) -> str:
    """Write DEST/labels.txt and DEST/images/*.jpg; returns a description of where they came from."""
    if MAKE_BENCH_SET.is_file():
        subprocess.run([sys.executable, str(MAKE_BENCH_SET), str(dest), "--count", str(count)],
                       check=True, stdout=subprocess.DEVNULL)
        return f"{MAKE_BENCH_SET} --count {count}"
    render_own_crops(dest, count, seed)
    return f"built-in renderer ({MAKE_BENCH_SET} not found), {count} crops"


_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts",
              "/Library/Fonts", "C:/Windows/Fonts")
_MRZ_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_NAMES = ["HONG GILDONG", "PARK SOOJIN", "NGUYEN VAN AN", "GARCIA LOPEZ", "OKAFOR CHIDI", "SATO HARUKI",
          "MULLER JONAS", "ROSSI GIULIA", "KOWALSKI PIOTR", "DUBOIS CLAIRE"]
_MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()


def _font_path(name: str) -> str | None:
    for d in (os.environ.get("BENCH_FONT_DIR", ""), *_FONT_DIRS):
        if d and os.path.isfile(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


def _text_for(kind: int, rng: random.Random) -> str:
    if kind == 0:   # a 44-character TD3 MRZ line: letters/digits, then '<' fill
        n = rng.randint(18, 32)
        return ("".join(rng.choice(_MRZ_CHARS) for _ in range(n)) + "<" * 44)[:44]
    if kind == 1:   # a variable-width passport field
        pick = rng.randrange(3)
        if pick == 0:
            return rng.choice(_NAMES)
        if pick == 1:
            return f"{rng.randint(1, 28):02d} {rng.choice(_MONTHS)} {rng.randint(1940, 2035)}"
        return f"{rng.choice('MSRT')}{rng.randint(0, 99_999_999):08d}"
    return str(rng.randint(0, 999_999_999))  # a short number group


def _render_pil(text: str, font_file: str, height: int, target_width: int | None, rng: random.Random) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    size = int(height * 0.6)
    font = ImageFont.truetype(font_file, size)
    if target_width:  # grow/shrink the font so the line is about target_width wide
        l, _, r, _ = font.getbbox(text)
        size = max(8, min(int(height * 0.8), int(size * (target_width - height * 0.4) / max(r - l, 1))))
        font = ImageFont.truetype(font_file, size)
    l, t, r, b = font.getbbox(text)
    margin = max(4, height // 5)
    paper = tuple(rng.randint(205, 245) for _ in range(3))
    ink = tuple(rng.randint(10, 45) for _ in range(3))
    canvas = Image.new("RGB", (r - l + 2 * margin, height), paper)
    ImageDraw.Draw(canvas).text((margin - l, (height - (b - t)) // 2 - t), text, font=font, fill=ink)
    return cv2.cvtColor(np.asarray(canvas), cv2.COLOR_RGB2BGR)


def _render_cv2(text: str, height: int, target_width: int | None, rng: random.Random) -> np.ndarray:
    face, thick = cv2.FONT_HERSHEY_SIMPLEX, 2
    (w, h), base = cv2.getTextSize(text, face, 1.0, thick)
    scale = height * 0.55 / max(h, 1)
    if target_width:
        scale = min(scale * 1.3, (target_width - height * 0.4) / max(w, 1))
    (w, h), base = cv2.getTextSize(text, face, scale, thick)
    margin = max(4, height // 5)
    paper = [rng.randint(205, 245) for _ in range(3)]
    ink = [rng.randint(10, 45) for _ in range(3)]
    img = np.empty((height, w + 2 * margin, 3), np.uint8)
    img[:] = paper
    cv2.putText(img, text, (margin, (height + h) // 2), face, scale, ink, thick, cv2.LINE_AA)
    return img


def render_own_crops(dest: Path, count: int, seed: int) -> None:
    """Our own equivalent of make_bench_set.py: MRZ lines (48 px, ~900 px wide), field text (48 px),
    number groups (32 px), mixed 1:1:1, DejaVu fonts through Pillow, or cv2.putText without them."""
    rng = random.Random(seed)
    mono, sans = _font_path("DejaVuSansMono.ttf"), _font_path("DejaVuSans.ttf")
    (dest / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(count):
        kind = i % 3
        text = _text_for(kind, rng)
        height = 32 if kind == 2 else 48
        width = 900 if kind == 0 else None
        font = mono if kind == 0 else sans
        img = _render_pil(text, font, height, width, rng) if font else _render_cv2(text, height, width, rng)
        rel = f"images/{i:06d}.jpg"
        cv2.imwrite(str(dest / rel), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        rows.append(f"{rel}\t{text}\n")
    (dest / "labels.txt").write_text("".join(rows), encoding="utf-8")


def read_label_paths(label_file: Path) -> list[str]:
    paths = []
    with open(label_file, encoding="utf-8-sig") as f:
        for line in f:
            if line.strip():
                paths.append(line.rstrip("\n").split("\t", 1)[0])
    return paths


# --------------------------------------------------------------------------------------------
# The three measurements
# --------------------------------------------------------------------------------------------

def run_augkit(labels: Path, data_dir: Path, tmp: Path, n_strong: int, n_weak: int, workers: int = 1,
               shard_size: int | None = None, max_per_folder: int | None = None) -> dict:
    from augkit.generate import generate, make_config

    out = Path(tempfile.mkdtemp(prefix="augkit_out_", dir=tmp)) / "out"
    options = {"n_strong": n_strong, "n_weak": n_weak}
    if shard_size:
        options["shard_size"] = shard_size
    if max_per_folder:
        options["max_per_folder"] = max_per_folder
    config = make_config(labels, data_dir, out, **options)
    t0 = time.perf_counter()
    summary = generate(config, workers=workers, progress=False)
    seconds = time.perf_counter() - t0
    images = summary["counts"]["images"]
    result = {"images": images, "seconds": seconds, "ips": images / seconds,
              "rejects": summary["counts"]["rejects"], "shards": summary["counts"]["shards"],
              "timings": summary["timings"]}
    # From the done-markers: the time the shards themselves took, and how many processes ran them.
    markers = [json.loads(f.read_text(encoding="utf-8")) for f in (out / "shards").glob("*.done.json")]
    result["shard_seconds"] = sum(m["seconds"] for m in markers)
    result["processes"] = len({m["pid"] for m in markers})
    shutil.rmtree(out.parent, ignore_errors=True)
    return result


def run_floor(labels: Path, data_dir: Path, tmp: Path, n_variants: int, quality: int, decode_each: bool) -> dict:
    """Read + decode each source, then encode (no augmentation) and write it n_variants times."""
    out = Path(tempfile.mkdtemp(prefix="floor_out_", dir=tmp))
    paths = read_label_paths(labels)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    images = 0
    t0 = time.perf_counter()
    for line, rel in enumerate(paths, start=1):
        image = None
        for v in range(1, n_variants + 1):
            if image is None or decode_each:
                with open(data_dir / rel, "rb") as f:
                    data = f.read()
                image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
                if image is None:
                    raise RuntimeError(f"floor: cannot decode {data_dir / rel}")
            ok, buf = cv2.imencode(".jpg", image, params)
            if not ok:
                raise RuntimeError(f"floor: cannot encode {rel}")
            with open(out / f"{line:010d}_{v:02d}.jpg", "wb") as f:
                f.write(buf.tobytes())
            images += 1
    seconds = time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    return {"images": images, "seconds": seconds, "ips": images / seconds}


def run_baseline(labels: Path, data_dir: Path, tmp: Path, n_strong: int, n_weak: int,
                 one_thread: bool = False) -> dict:
    """seed_baseline.py --workers 1; with `one_thread` its OpenCV runs on one thread, as augkit's
    worker does (by default OpenCV spreads some calls of the one worker over every core)."""
    out = Path(tempfile.mkdtemp(prefix="baseline_out_", dir=tmp))
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    if one_thread:
        env["OPENCV_FOR_THREADS_NUM"] = "1"
    cmd = [sys.executable, str(SEED_BASELINE), str(labels), str(data_dir), str(out), "--workers", "1",
           "--strong", str(n_strong), "--weak", str(n_weak)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    if proc.returncode != 0:
        raise RuntimeError(f"seed_baseline.py exited {proc.returncode}:\n{proc.stderr.strip()[-2000:]}")
    lines = [x for x in proc.stdout.strip().splitlines() if x.strip()]
    last = lines[-1] if lines else ""
    if not last.startswith("images/s:"):
        raise RuntimeError(f"seed_baseline.py printed no 'images/s: X' last line; stdout:\n{proc.stdout[-2000:]}")
    ips = float(last.split(":", 1)[1])
    images = seconds = None
    for x in lines:  # 'images: N  seconds: S'
        if x.startswith("images:") and "seconds:" in x:
            parts = x.split()
            images, seconds = int(parts[1]), float(parts[3])
    return {"images": images, "seconds": seconds, "ips": ips, "wall_with_startup": wall}


# --------------------------------------------------------------------------------------------
# Modes
# --------------------------------------------------------------------------------------------

def _status(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def compare(args, labels: Path, data_dir: Path, tmp: Path, crops_from: str) -> dict:
    n_sources = len(read_label_paths(labels))
    n_variants = args.strong + args.weak
    have_baseline = SEED_BASELINE.is_file() and not args.no_baseline
    runs: dict[str, list[dict]] = {"augkit": [], "floor": [], "baseline": [], "baseline_1thread": []}
    for r in range(args.repeats):
        runs["augkit"].append(run_augkit(labels, data_dir, tmp, args.strong, args.weak,
                                         max_per_folder=args.max_per_folder))
        runs["floor"].append(run_floor(labels, data_dir, tmp, n_variants, 95, args.floor_decode == "per-image"))
        if have_baseline:
            runs["baseline"].append(run_baseline(labels, data_dir, tmp, args.strong, args.weak))
            if args.baseline_one_thread:
                runs["baseline_1thread"].append(run_baseline(labels, data_dir, tmp, args.strong, args.weak,
                                                             one_thread=True))
        if args.repeats > 1:
            print(f"  repeat {r + 1}/{args.repeats}: " + ", ".join(
                f"{k} {v[-1]['ips']:.1f} img/s" for k, v in runs.items() if v), file=sys.stderr, flush=True)
    best = {k: max(v, key=lambda x: x["ips"]) for k, v in runs.items() if v}

    a, f = best["augkit"]["ips"], best["floor"]["ips"]
    b = best["baseline"]["ips"] if "baseline" in best else None
    vs_baseline = a / b if b else None
    vs_floor = a / f

    lines = header_lines("augkit generate throughput: augkit vs I/O floor vs seed baseline (SPEC section 7)")
    lines += [
        f"crops    {n_sources} sources from {crops_from}",
        f"work     {args.strong} strong + {args.weak} weak = {n_variants} variants/source = "
        f"{n_sources * n_variants:,} images per measurement; 1 worker each; best of {args.repeats}",
        f"floor    read + cv2.imdecode {'per image' if args.floor_decode == 'per-image' else 'once per source'}"
        ", cv2.imencode JPEG q95 (no augmentation), write",
        "",
        f"{'measurement':<44}{'images':>8}{'seconds':>10}{'images/s':>11}",
        f"{'-' * 73}",
    ]
    at = best["augkit"].get("timings", {})
    outside = best["augkit"]["seconds"] - best["augkit"]["shard_seconds"]
    detail = (f"  (shard time split: augment {at.get('augment_seconds', 0):.2f} s, encode {at.get('encode_seconds', 0):.2f} s,"
              f" write {at.get('write_seconds', 0):.2f} s, read {at.get('read_seconds', 0):.2f} s; outside the shard"
              f" (checks, planning, merge, run manifest) {outside:.2f} s)")
    lines.append(f"{'(a) augkit generate, workers=1':<44}{best['augkit']['images']:>8,}{best['augkit']['seconds']:>10.2f}{a:>11.1f}")
    lines.append(f"{'(b) I/O floor: decode+encode+write':<44}{best['floor']['images']:>8,}{best['floor']['seconds']:>10.2f}{f:>11.1f}")
    b1 = best["baseline_1thread"]["ips"] if "baseline_1thread" in best else None
    if b:
        bb = best["baseline"]
        lines.append(f"{'(c) seed_baseline.py --workers 1':<44}{bb['images'] or 0:>8,}{bb['seconds'] or 0:>10.2f}{b:>11.1f}")
        if b1:
            bb = best["baseline_1thread"]
            lines.append(f"{'(c1) the same, OpenCV on 1 thread':<44}{bb['images'] or 0:>8,}{bb['seconds'] or 0:>10.2f}"
                         f"{b1:>11.1f}")
    else:
        why = "--no-baseline" if args.no_baseline else f"{SEED_BASELINE} not found"
        lines.append(f"{'(c) seed_baseline.py --workers 1':<44}{'skipped: ' + why:>29}")
    lines += [
        "",
        f"{'ratio':<44}{'value':>10}{'target':>10}{'status':>9}",
        f"{'-' * 73}",
        f"{'augkit / baseline':<44}{(f'{vs_baseline:.2f}x' if vs_baseline else 'n/a'):>10}{'>= 10x':>10}"
        f"{_status(None if vs_baseline is None else vs_baseline >= TARGET_VS_BASELINE):>9}",
        *([f"{'augkit / baseline on 1 OpenCV thread':<44}{a / b1:>9.2f}x{'>= 10x':>10}"
           f"{_status(a / b1 >= TARGET_VS_BASELINE):>9}"] if b1 else []),
        f"{'augkit / I/O floor':<44}{vs_floor:>10.3f}{'>= 0.35':>10}{_status(vs_floor >= TARGET_VS_FLOOR):>9}",
        "",
        "augkit" + detail,
    ]
    print("\n".join(lines), flush=True)
    return {"mode": "compare", "crops": crops_from, "sources": n_sources, "n_strong": args.strong,
            "n_weak": args.weak, "repeats": args.repeats, "floor_decode": args.floor_decode, "runs": runs,
            "best_ips": {k: v["ips"] for k, v in best.items()},
            "ratios": {"augkit_over_baseline": vs_baseline, "augkit_over_floor": vs_floor,
                       "augkit_over_baseline_1thread": a / b1 if b1 else None},
            "targets": {"augkit_over_baseline": TARGET_VS_BASELINE, "augkit_over_floor": TARGET_VS_FLOOR},
            "pass": {"augkit_over_baseline": None if vs_baseline is None else vs_baseline >= TARGET_VS_BASELINE,
                     "augkit_over_floor": vs_floor >= TARGET_VS_FLOOR}}


def _cpu_probe(data_dir: str, rel_paths: list[str], n_strong: int, n_weak: int, passes: int, barrier, results) -> None:
    """One process of the host probe: augment + encode every crop's variants in memory (no files,
    no parent, no coordination), starting together with the others; puts its images/s."""
    import cv2 as _cv2

    from augkit.codec import encode_jpeg, read_source_image
    from augkit.recipe import VariantPlan, load_recipe

    _cv2.setNumThreads(1)
    images = [read_source_image(data_dir, rel) for rel in rel_paths]
    plan = VariantPlan(strong=load_recipe("strong"), weak=load_recipe("weak"), n_strong=n_strong, n_weak=n_weak)
    barrier.wait()
    t0 = time.perf_counter()
    for _ in range(passes):
        for line, image in enumerate(images, start=1):
            for recipe, ctx in plan:
                encode_jpeg(recipe.apply(image, 0, line, ctx)[0], 95)
    results.put(passes * len(images) * plan.total / (time.perf_counter() - t0))


def _clock_probe(passes: int, barrier, results) -> None:
    """One process of the clock probe: a pure-Python integer loop whose data fits the first-level
    cache, so its speed follows only the core's clock and share of the core (turbo, the
    hypervisor), not caches or memory; puts the median of its passes' loops/s."""
    barrier.wait()
    rates = []
    for _ in range(passes):
        t0 = time.perf_counter()
        x = 0
        for i in range(1_000_000):
            x = (x + i * i) & 0xFFFF
        rates.append(1.0 / (time.perf_counter() - t0))
    results.put(statistics.median(rates))


def host_ceiling(labels: Path, data_dir: Path, n_strong: int, n_weak: int, workers: int, passes: int = 2,
                 kind: str = "work") -> float:
    """The mean speed of each of `workers` processes doing the same CPU-only work at once: what this
    machine gives one core when that many are busy. Against one such process alone it bounds any
    CPU-bound parallel efficiency here. kind "work": augkit's augment + encode in memory (no
    files, no parent), which also feels shared caches and memory bandwidth; kind "clock": a loop
    in the first-level cache, which feels only clocks (turbo that holds for one busy core but not
    for all) and the hypervisor."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    if kind == "clock":
        target, args = _clock_probe, (passes * 10,)
    else:
        target, args = _cpu_probe, (str(data_dir), read_label_paths(labels), n_strong, n_weak, passes)
    procs = [ctx.Process(target=target, args=(*args, barrier, results)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    rates = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
    return sum(rates) / len(rates)


def sweep(args, labels: Path, data_dir: Path, tmp: Path, crops_from: str) -> dict:
    counts = sorted({int(x) for x in args.workers_sweep.split(",") if x.strip()})
    if not counts or counts[0] < 1:
        raise SystemExit("--workers-sweep takes positive worker counts, e.g. 1,2,4,8,16")
    if counts[0] != 1:
        counts = [1, *counts]  # efficiency is relative to one worker
    big = tmp / "sweep_labels.txt"
    rows = [x for x in labels.read_text(encoding="utf-8-sig").splitlines() if x.strip()]
    big.write_text("".join(f"{x}\n" for x in rows * args.sweep_copies), encoding="utf-8")
    n_lines = len(rows) * args.sweep_copies
    shard_size = args.sweep_shard_size or max(1, min(50, n_lines // (4 * counts[-1])))
    n_shards = math.ceil(n_lines / shard_size)
    total, usable = core_counts()

    results = []
    for n in counts:
        # The first run at a worker count starts its loky workers (cold, as a user's run does);
        # later runs at the same count reuse them (warm: the steady state of a long run).
        cold = run_augkit(big, data_dir, tmp, args.strong, args.weak, workers=n, shard_size=shard_size,
                          max_per_folder=args.max_per_folder)
        warm = cold
        if n > 1 and args.sweep_warm:
            warm = max((run_augkit(big, data_dir, tmp, args.strong, args.weak, workers=n, shard_size=shard_size,
                                   max_per_folder=args.max_per_folder)
                        for _ in range(args.repeats)), key=lambda x: x["ips"])
        probe = host_ceiling(labels, data_dir, args.strong, args.weak, n) if args.sweep_host else None
        clock = host_ceiling(labels, data_dir, args.strong, args.weak, n, kind="clock") if args.sweep_host else None
        results.append({"workers": n, "cold": cold, "warm": warm, "probe_ips_per_process": probe,
                        "clock_loops_per_process": clock})
        print(f"  workers {n}: cold {cold['ips']:.1f} img/s, warm {warm['ips']:.1f} img/s"
              + (f", host probe {probe:.1f} img/s per process" if probe else ""), file=sys.stderr, flush=True)
    one = results[0]["cold"]
    for r in results:
        r["host_ceiling"] = (r["probe_ips_per_process"] / results[0]["probe_ips_per_process"]
                             if args.sweep_host else None)
        r["clock_ceiling"] = (r["clock_loops_per_process"] / results[0]["clock_loops_per_process"]
                              if args.sweep_host else None)
    per_image_1 = one["shard_seconds"] / one["images"]
    for r in results:
        for kind in ("cold", "warm"):
            x = r[kind]
            x["speedup"] = x["ips"] / one["ips"]
            x["efficiency"] = x["speedup"] / r["workers"]
            x["busy"] = x["shard_seconds"] / (r["workers"] * x["seconds"])
            x["worker_slowdown"] = (x["shard_seconds"] / x["images"]) / per_image_1

    lines = header_lines("augkit generate parallel efficiency (SPEC section 7: >= 90% from 1 to 16 workers)")
    lines += [
        f"crops    {len(rows)} sources from {crops_from}, lines repeated x{args.sweep_copies} = {n_lines:,} lines",
        f"work     {args.strong} strong + {args.weak} weak = {n_lines * (args.strong + args.weak):,} images per "
        f"measurement; shard_size {shard_size} ({n_shards} shards); loky; max_per_folder "
        f"{args.max_per_folder or 'default (500,000)'}",
        "cold     the first run at each worker count: worker start-up (processes, imports) inside the timing",
        f"warm     {'best of ' + str(args.repeats) + ' further runs reusing the started workers' if args.sweep_warm else 'not measured (--no-sweep-warm)'}",
        "busy     shard time summed over workers / (workers x wall): the share of the wall the workers augmented",
        "slowdown a worker's time per image against one worker's (CPU clocks, memory, file system under load)",
        "host     this machine's ceiling: per-process speed of that many CPU-only copies of the same work run at "
        "once",
        "         (in memory, no files, no parent) against one alone; 'warm/host' is warm eff over it",
        "clock    the same for a loop in the first-level cache: what the clocks and the hypervisor alone allow",
        "",
        f"{'workers':>8}{'images':>9}{'cold s':>8}{'cold img/s':>11}{'cold eff':>9}{'warm img/s':>11}{'warm eff':>9}"
        f"{'busy':>7}{'slowdown':>9}{'host':>7}{'warm/host':>10}{'clock':>7}{'target':>8}",
        f"{'-' * 113}",
    ]
    for r in results:
        c, w = r["cold"], r["warm"]
        note = "" if r["workers"] <= usable else f"   (> {usable} usable CPUs: oversubscribed)"
        host = (f"{r['host_ceiling']:>7.1%}{w['efficiency'] / r['host_ceiling']:>10.1%}{r['clock_ceiling']:>7.1%}"
                if r["host_ceiling"] else f"{'-':>7}{'-':>10}{'-':>7}")
        lines.append(f"{r['workers']:>8}{c['images']:>9,}{c['seconds']:>8.2f}{c['ips']:>11.1f}{c['efficiency']:>9.1%}"
                     f"{w['ips']:>11.1f}{w['efficiency']:>9.1%}{w['busy']:>7.0%}{w['worker_slowdown']:>9.2f}"
                     f"{host}{'>= 90%':>8}{note}")
    if counts[-1] > usable:
        lines.append(f"note: only {usable} CPUs are usable here; worker counts above that cannot reach the target "
                     "and say nothing about augkit's scaling")
    print("\n".join(lines), flush=True)
    return {"mode": "sweep", "crops": crops_from, "sources": len(rows), "copies": args.sweep_copies,
            "lines": n_lines, "shard_size": shard_size, "shards": n_shards, "n_strong": args.strong,
            "n_weak": args.weak, "repeats": args.repeats, "usable_cpus": usable, "results": results,
            "target_efficiency": TARGET_EFFICIENCY}


def profile(args, labels: Path, data_dir: Path, tmp: Path, crops_from: str) -> dict:
    """cProfile one run_shard over all the crops (one shard); print the top functions."""
    import cProfile
    import io
    import pstats

    from augkit.generate import make_config
    from augkit.plan import plan_shards
    from augkit.worker import run_shard, variant_plan

    out = Path(tempfile.mkdtemp(prefix="augkit_prof_", dir=tmp)) / "out"
    (out / "shards").mkdir(parents=True)
    config = make_config(labels, data_dir, out, n_strong=args.strong, n_weak=args.weak, shard_size=10**9)
    shard = plan_shards(config.label_file, config.shard_size)[0][0]
    variant_plan(config)  # recipe parsing is a once-per-process cost, keep it out of the profile
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    done = run_shard(config, shard)
    prof.disable()
    seconds = time.perf_counter() - t0
    shutil.rmtree(out.parent, ignore_errors=True)
    report = {}
    lines = header_lines("augkit run_shard profile (cProfile; profiler overhead inflates Python-heavy code)")
    lines += [f"crops    {shard.n_lines} sources from {crops_from}; {done['images']:,} images in {seconds:.2f} s "
              f"under the profiler ({done['images'] / seconds:.1f} img/s); shard timing {done['timing']}"]
    for key, title in (("cumulative", "cumulative time"), ("tottime", "own time")):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(args.profile_top)
        text = buf.getvalue()
        start = text.find("   ncalls")
        lines += ["", f"top {args.profile_top} by {title}:", text[start:].rstrip() if start >= 0 else text.rstrip()]
        report[key] = text
    print("\n".join(lines), flush=True)
    return {"mode": "profile", "seconds": seconds, "images": done["images"], "timing": done["timing"], **report}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--crops", type=Path, default=None,
                    help="Existing benchmark crop folder holding labels.txt (paths relative to it) "
                         "[default: make 300 crops with ../shared/bench/make_bench_set.py in a temp folder]")
    ap.add_argument("--count", type=int, default=300, help="Crops to make when --crops is not given (default 300).")
    ap.add_argument("--seed", type=int, default=7, help="Seed of the built-in crop renderer (fallback only).")
    ap.add_argument("--strong", type=int, default=7, help="Strong variants per source (default 7).")
    ap.add_argument("--weak", type=int, default=3, help="Weak variants per source (default 3).")
    ap.add_argument("--repeats", type=int, default=1, help="Repeat each measurement; the best is reported (default 1).")
    ap.add_argument("--floor-decode", choices=["per-source", "per-image"], default="per-source",
                    help="I/O floor decodes each source once (like augkit) or once per written image "
                         "(default per-source: the stricter floor).")
    ap.add_argument("--no-baseline", action="store_true", help="Skip the seed baseline (it is slow).")
    ap.add_argument("--baseline-one-thread", action="store_true",
                    help="Also run the seed baseline with OpenCV on one thread (OPENCV_FOR_THREADS_NUM=1), "
                         "the CPU share augkit's one worker uses, and print that ratio too.")
    ap.add_argument("--workers-sweep", default=None, metavar="N,N,...",
                    help="Instead of the side-by-side comparison, run augkit alone at each worker count "
                         "(e.g. 1,2,4,8,16) and print parallel efficiency.")
    ap.add_argument("--sweep-copies", type=int, default=4, help="Sweep: repeat the label lines K times (default 4).")
    ap.add_argument("--no-sweep-warm", dest="sweep_warm", action="store_false",
                    help="Sweep: measure only the first (cold) run at each worker count.")
    ap.add_argument("--no-sweep-host", dest="sweep_host", action="store_false",
                    help="Sweep: skip the host probe (N CPU-only copies of the work at once, the machine's ceiling).")
    ap.add_argument("--sweep-shard-size", type=int, default=None,
                    help="Sweep: shard size [default: min(50, lines / (4 x max workers)), so every worker gets "
                         "several shards].")
    ap.add_argument("--profile", action="store_true",
                    help="Instead of timing, cProfile one run_shard over all the crops and print the top functions.")
    ap.add_argument("--profile-top", type=int, default=15, help="Profile: how many functions to list (default 15).")
    ap.add_argument("--max-per-folder", type=int, default=None,
                    help="augkit's --max-per-folder [default: augkit's, 500,000: every image of a benchmark in one "
                         "folder]; smaller spreads concurrent file creation over folders.")
    ap.add_argument("--tmp", type=Path, default=None, help="Where temporary folders go [default: system temp].")
    ap.add_argument("--json", type=Path, default=None, metavar="FILE", help="Also write the results as JSON here.")
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.strong < 0 or args.weak < 0 or args.strong + args.weak < 1 or args.sweep_copies < 1:
        ap.error("--repeats and --sweep-copies must be >= 1, --strong/--weak >= 0 with at least one variant")

    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    tmp = Path(tempfile.mkdtemp(prefix="augkit_bench_", dir=args.tmp))
    try:
        if args.crops is not None:
            labels, data_dir = args.crops / "labels.txt", args.crops
            if not labels.is_file():
                ap.error(f"--crops {args.crops} holds no labels.txt")
            crops_from = str(args.crops)
        else:
            data_dir = tmp / "crops"
            crops_from = make_crops(data_dir, args.count, args.seed)
            labels = data_dir / "labels.txt"
        labels, data_dir = labels.resolve(), data_dir.resolve()
        if args.profile:
            result = profile(args, labels, data_dir, tmp, crops_from)
        elif args.workers_sweep:
            result = sweep(args, labels, data_dir, tmp, crops_from)
        else:
            result = compare(args, labels, data_dir, tmp, crops_from)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if args.json:
        total, usable = core_counts()
        result = {"date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"), "cpu": cpu_model(),
                  "git": git_state(),
                  "logical_cpus": total, "usable_cpus": usable, "versions": versions(), **result}
        args.json.write_text(json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
