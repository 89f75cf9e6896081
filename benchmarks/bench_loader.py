#!/usr/bin/env python3
"""PaddleOCR's own loader over the same generated set, as loose files and as LMDB, side by side.

One run generates one set twice with `augkit generate` (the same sources, seed and variants:
`--output-format files` and `--output-format lmdb`), copies both to tmpfs, and then, for each
layout and storage, reads every sample once through PaddleOCR's dataset class, as
`ppocr.data.build_dataloader` builds it for training (SimpleDataSet over train.txt, LMDBDataSet
over lmdb/train; shuffled, as Train shuffles) with the recognition transforms every CRNN config
has (DecodeImage, CTCLabelEncode, RecResizeImg 32x320, KeepKeys), in one process:

  disk, cold   the page cache dropped first (`echo 3 > /proc/sys/vm/drop_caches`, needs root):
               what the first epoch on a freshly copied set costs;
  disk, warm   straight after, everything cached;
  tmpfs        the set copied to a RAM-backed folder (/dev/shm);

and prints samples/s for each and the ratio LMDB / files per row (target: at least 2x on cold
disk), plus the time to copy each layout to another folder on the same disk (cold), which is what
moving a set to a training node costs. Interleaved over `--repeats`, best of each.

Needs paddlepaddle, the paddleocr 2.x wheel (for `ppocr`, as tests/test_paddleocr_loader.py
uses it) and lmdb: `pip install ".[paddle]" && pip install --no-deps paddleocr==2.10.0`.

Usage:
  python benchmarks/bench_loader.py                       # 3,000 crops x 10 variants (30,000 samples)
  python benchmarks/bench_loader.py --sources 10000 --repeats 3 --json loader.json
  python benchmarks/bench_loader.py --quick               # 60 crops x 2 variants, one repeat (the test)
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from bench_generate import header_lines, render_own_crops  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TARGET_COLD = 2.0
LAYOUTS = ("files", "lmdb")


def import_ppocr():
    """PaddleOCR's dataset classes, from the paddleocr wheel's `ppocr` (or a checkout on sys.path)."""
    spec = importlib.util.find_spec("paddleocr")
    if spec is not None and spec.submodule_search_locations:
        folder = list(spec.submodule_search_locations)[0]
        if folder not in sys.path:
            sys.path.append(folder)
    from ppocr.data.lmdb_dataset import LMDBDataSet
    from ppocr.data.simple_dataset import SimpleDataSet
    from ppocr.utils.logging import get_logger

    return SimpleDataSet, LMDBDataSet, get_logger


def loader_config(layout: str, root: Path) -> dict:
    """A Train section as the bundled CRNN configs have it, on `root` (an augkit output root)."""
    dataset = {"name": "SimpleDataSet", "data_dir": str(root), "label_file_list": [str(root / "train.txt")]}
    if layout == "lmdb":
        dataset = {"name": "LMDBDataSet", "data_dir": str(root / "lmdb" / "train")}
    dataset["transforms"] = [{"DecodeImage": {"img_mode": "BGR", "channel_first": False}},
                             {"CTCLabelEncode": None},
                             {"RecResizeImg": {"image_shape": [3, 32, 320]}},
                             {"KeepKeys": {"keep_keys": ["image", "label", "length"]}}]
    return {"Global": {"character_dict_path": str(REPO / "labels" / "en_dict.txt"), "use_space_char": True,
                       "max_text_length": 120},
            "Train": {"dataset": dataset,
                      "loader": {"shuffle": True, "drop_last": False, "batch_size_per_card": 1, "num_workers": 0}}}


def drop_caches() -> bool:
    """Write dirty pages out and drop the page cache; False where this process may not."""
    subprocess.run(["sync"], check=False)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def read_all(layout: str, root: Path, seed: int) -> dict:
    """Build the dataset and fetch every sample once; samples/s over construction and reading."""
    simple, lmdb_set, get_logger = import_ppocr()
    import numpy as np

    get_logger().setLevel(logging.WARNING)  # one "Initialize indexes" line per dataset otherwise
    random.seed(seed)
    np.random.seed(seed)
    config = loader_config(layout, root)
    started = time.perf_counter()
    ds = (lmdb_set if layout == "lmdb" else simple)(copy.deepcopy(config), "Train", get_logger(), seed)
    built = time.perf_counter()
    n = len(ds)
    bad = 0
    for i in range(n):
        if ds[i] is None:
            bad += 1
    seconds = time.perf_counter() - started
    if layout == "lmdb":
        for entry in ds.lmdb_sets.values():
            entry["env"].close()
    return {"samples": n, "seconds": seconds, "setup_seconds": built - started, "sps": n / seconds, "none": bad}


def generate_both(crops: Path, disk: Path, n_strong: int, n_weak: int, workers: int) -> dict[str, Path]:
    from augkit.generate import generate, make_config

    roots = {}
    for layout in LAYOUTS:
        out = disk / layout
        config = make_config(crops / "labels.txt", crops, out, n_strong=n_strong, n_weak=n_weak, seed=11,
                             output_format=layout)
        summary = generate(config, workers=workers, progress=False)
        roots[layout] = out
        print(f"  generated {summary['counts']['images']:,} images as {layout} in "
              f"{summary['timings']['wall_seconds_this_invocation']:.1f} s", flush=True)
    return roots


def footprint(root: Path) -> tuple[int, int]:
    """(files, bytes) under `root`."""
    files = size = 0
    for dirpath, _, names in os.walk(root):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(dirpath, name))
    return files, size


def copy_seconds(root: Path, dest: Path, cold: bool) -> float:
    if cold:
        drop_caches()
    started = time.perf_counter()
    shutil.copytree(root, dest)
    subprocess.run(["sync"], check=False)
    seconds = time.perf_counter() - started
    shutil.rmtree(dest)
    return seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=3000, help="benchmark crops to generate from")
    ap.add_argument("--strong", type=int, default=7)
    ap.add_argument("--weak", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2, help="generate workers (not timed)")
    ap.add_argument("--disk", type=Path, default=None, help="folder on the disk under test [default: a temp folder]")
    ap.add_argument("--tmpfs", type=Path, default=Path("/dev/shm"), help="RAM-backed folder [default: /dev/shm]")
    ap.add_argument("--quick", action="store_true", help="60 crops x 2 variants, one repeat")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.quick:
        args.sources, args.strong, args.weak, args.repeats = 60, 1, 1, 1
    try:
        import_ppocr()
        import lmdb  # noqa: F401
    except ImportError as exc:
        ap.error(f"needs paddlepaddle, the paddleocr 2.x wheel and lmdb ({exc}); see the docstring")

    for line in header_lines("bench_loader: PaddleOCR's loader over loose files and LMDB"):
        print(line)
    disk = Path(tempfile.mkdtemp(prefix="augkit_loader_", dir=args.disk))
    fast = Path(tempfile.mkdtemp(prefix="augkit_loader_", dir=args.tmpfs)) if args.tmpfs.is_dir() else None
    try:
        render_own_crops(disk / "crops", args.sources, seed=5)
        roots = generate_both(disk / "crops", disk / "sets", args.strong, args.weak, args.workers)
        sizes = {layout: footprint(root / ("lmdb" if layout == "lmdb" else "")) for layout, root in roots.items()}
        for layout, (files, size) in sizes.items():
            print(f"  {layout:5s} {files:,} files, {size / 2**20:.1f} MiB")
        tmp_roots = {}
        if fast is not None:
            for layout, root in roots.items():
                tmp_roots[layout] = fast / layout
                shutil.copytree(root, tmp_roots[layout])
        can_drop = drop_caches()
        if not can_drop:
            print("  note: the page cache cannot be dropped here (not root): no cold-disk row")

        best: dict[tuple[str, str], dict] = {}
        copies: dict[str, float] = {}

        def keep(key, result):
            if key not in best or result["sps"] > best[key]["sps"]:
                best[key] = result

        for repeat in range(args.repeats):
            order = LAYOUTS if repeat % 2 == 0 else LAYOUTS[::-1]
            for layout in order:
                if can_drop:
                    drop_caches()
                    keep(("disk, cold", layout), read_all(layout, roots[layout], seed=repeat))
                keep(("disk, warm", layout), read_all(layout, roots[layout], seed=repeat))
                if tmp_roots:
                    keep(("tmpfs", layout), read_all(layout, tmp_roots[layout], seed=repeat))
                part = roots[layout] / "lmdb" if layout == "lmdb" else roots[layout]
                seconds = copy_seconds(part, disk / f"copy_{layout}", cold=can_drop)
                copies[layout] = min(copies.get(layout, seconds), seconds)

        print()
        print(f"{'storage':12s} {'files samples/s':>16s} {'lmdb samples/s':>15s} {'lmdb / files':>13s}")
        rows = {}
        for storage in ("disk, cold", "disk, warm", "tmpfs"):
            if (storage, "files") not in best:
                continue
            f, m = best[(storage, "files")], best[(storage, "lmdb")]
            ratio = m["sps"] / f["sps"]
            rows[storage] = {"files": f, "lmdb": m, "ratio": ratio}
            print(f"{storage:12s} {f['sps']:16,.0f} {m['sps']:15,.0f} {ratio:12.2f}x")
        copy_ratio = copies["files"] / copies["lmdb"]
        print(f"{'copy (cold)':12s} {copies['files']:15.2f}s {copies['lmdb']:14.2f}s {copy_ratio:12.2f}x faster")
        samples = {layout: best[("disk, warm", layout)]["samples"] for layout in LAYOUTS}
        assert samples["files"] == samples["lmdb"], samples
        assert all(r["none"] == 0 for r in best.values()), "a sample failed to load"
        verdict = None
        if "disk, cold" in rows:
            verdict = rows["disk, cold"]["ratio"] >= TARGET_COLD
            print(f"target: LMDB >= {TARGET_COLD:g}x loose files on cold disk: "
                  f"{'met' if verdict else 'NOT met'} ({rows['disk, cold']['ratio']:.2f}x)")
        if args.json:
            args.json.write_text(json.dumps({"samples": samples["files"], "sizes": sizes, "rows": rows,
                                             "copy_seconds": copies, "target_met": verdict}, indent=1) + "\n")
    finally:
        shutil.rmtree(disk, ignore_errors=True)
        if fast is not None:
            shutil.rmtree(fast, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
