#!/usr/bin/env python3
"""Parent memory while a huge label file is planned and its shards start (SPEC section 7).

Usage: python benchmarks/bench_memory.py [--lines 2000000] [--seconds 60] [--workers 2]

Writes a label file of --lines lines pointing at five real crops, starts
`python -m augkit generate` on it as a subprocess, samples the parent's resident memory
(VmRSS) while it plans and starts shards, reads its peak (VmHWM) at the end, then stops it.
Prints the peak against the 300 MB target, the time until the first shard finished, and
how many images were written meanwhile.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

TARGET_MB = 300


def status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def write_inputs(root: Path, lines: int) -> Path:
    (root / "img").mkdir(parents=True)
    for i in range(5):
        image = np.full((48, 200 + 60 * i, 3), 230, np.uint8)
        cv2.putText(image, f"KIM {i} MINJUN", (4, 34), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (20, 20, 20), 2)
        cv2.imwrite(str(root / "img" / f"{i}.jpg"), image)
    labels = root / "labels.txt"
    block = "".join(f"img/{i % 5}.jpg\tKIM {i % 5} MINJUN\n" for i in range(10_000))
    with open(labels, "w", encoding="utf-8") as f:
        for _ in range(lines // 10_000):
            f.write(block)
        f.write(block[: block.index("\n", 0) + 1] * (lines % 10_000))
    return labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="augkit-mem-"))
    try:
        t = time.perf_counter()
        labels = write_inputs(root, args.lines)
        print(f"# augkit parent memory, {dt.date.today().isoformat()}: {args.lines:,} lines "
              f"({labels.stat().st_size / 1e6:.0f} MB) written in {time.perf_counter() - t:.1f} s")
        out = root / "out"
        cmd = [sys.executable, "-m", "augkit", "generate", "--input", str(labels), "--out", str(out), "--workers",
               str(args.workers), "--shard-size", "1000", "--strong", "7", "--weak", "3", "--quiet"]
        proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started, peak, first_done = time.perf_counter(), 0, None
        while time.perf_counter() - started < args.seconds and proc.poll() is None:
            peak = max(peak, status_kb(proc.pid, "VmRSS"))
            if first_done is None and (out / "shards").is_dir() and any((out / "shards").glob("*.done.json")):
                first_done = time.perf_counter() - started
            time.sleep(0.05)
        hwm = status_kb(proc.pid, "VmHWM")
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            time.sleep(1)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        images = sum(1 for folder in out.glob("images_*") for _ in folder.iterdir()) if out.exists() else 0
        peak_mb = max(peak, hwm) / 1024
        print(f"parent peak RSS        {peak_mb:8.1f} MB   (target < {TARGET_MB} MB: {'met' if peak_mb < TARGET_MB else 'NOT met'})")
        print(f"first shard done after {first_done if first_done is not None else float('nan'):8.1f} s")
        print(f"images written in {args.seconds:.0f} s {images:10,d}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
