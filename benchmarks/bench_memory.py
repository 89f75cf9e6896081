#!/usr/bin/env python3
"""Parent memory of `augkit generate` on a huge label file (SPEC section 7: memory flat in input
size; a 12-million-line label file must not raise the parent's RSS above 300 MB).

Writes a label file of --lines lines (default 2,000,000) pointing at a few real images made with
cv2, starts

  python -m augkit generate --input L --out O --workers 2 --quiet --shard-size 1000

as a subprocess, polls the parent's RSS (VmRSS, and its kernel-kept peak VmHWM, from
/proc/<pid>/status; psutil where /proc is missing) for --seconds (default 60), reads VmHWM once
more just before stopping it, then stops it and its worker processes (SIGTERM, then SIGKILL). It
reports the parent's peak RSS against the 300 MB target, how long planning took (start until the
run claims its output root: plan_shards + preflight), when the first image and the
first finished shard appeared, and how many images were written by then. Temp folders are removed.

Usage:
  python benchmarks/bench_memory.py                       # 2,000,000 lines, watch 60 s
  python benchmarks/bench_memory.py --lines 12000000 --seconds 120
  python benchmarks/bench_memory.py --strong 1 --weak 0   # fewer planned images (see README)
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from machine import cpu_model, git_state, versions  # benchmarks/ is on sys.path when a script here runs

REPO = Path(__file__).resolve().parent.parent
TARGET_MB = 300.0

try:
    import psutil
except ImportError:  # /proc is enough on Linux
    psutil = None


# --------------------------------------------------------------------------------------------
# Machine description
# --------------------------------------------------------------------------------------------

# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------

def make_images(root: Path, n: int, tiny: bool = False) -> list[str]:
    """A few text-line crops drawn with cv2 (48 px high, MRZ-like text; 16 px and 2 characters with
    `tiny`, so that augkit's disk-space preflight passes for huge label files on a small disk)."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    rels = []
    rng = np.random.default_rng(1)
    for i in range(n):
        text = f"{i:02d}" if tiny else f"P<KORSAMPLE{i}<<LINE" + "<" * 12 + f"{i:04d}"
        height, scale = (16, 0.4) if tiny else (48, 0.9)
        (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1 if tiny else 2)
        img = np.full((height, w + (4 if tiny else 20), 3), rng.integers(205, 245, 3), np.uint8)
        cv2.putText(img, text, (2 if tiny else 10, (height + h) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (25, 25, 35), 1 if tiny else 2, cv2.LINE_AA)
        rel = f"images/src_{i}.jpg"
        if not cv2.imwrite(str(root / rel), img, [cv2.IMWRITE_JPEG_QUALITY, 95]):
            raise RuntimeError(f"cannot write {root / rel}")
        rels.append(rel)
    return rels


def write_labels(path: Path, n_lines: int, rels: list[str], block: int = 100_000) -> int:
    """n_lines lines 'images/src_K.jpg<TAB>LABEL', streamed in blocks; returns the file size."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for start in range(0, n_lines, block):
            stop = min(n_lines, start + block)
            f.write("".join(f"{rels[i % len(rels)]}\tM{i:09d} KIM MINJUN\n" for i in range(start, stop)))
    return path.stat().st_size


# --------------------------------------------------------------------------------------------
# Watching and stopping the run
# --------------------------------------------------------------------------------------------

def proc_status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of pid in kB (empty when the process is gone)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        if psutil is not None:
            try:
                out["VmRSS"] = psutil.Process(pid).memory_info().rss // 1024
            except psutil.Error:
                pass
    return out


def descendants(pid: int) -> list[int]:
    if psutil is not None:
        try:
            return [c.pid for c in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            return []
    # Without psutil: walk /proc for processes whose parent chain reaches pid.
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    found, frontier = [], {pid}
    while frontier:
        nxt = {p for p, pp in parents.items() if pp in frontier and p not in found}
        found.extend(nxt)
        frontier = nxt
    return found


def rss_mb_of(pids: list[int]) -> float:
    return sum(proc_status_kb(p).get("VmRSS", 0) for p in pids) / 1024


def stop(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM the run and its descendants, then SIGKILL whatever is left (only what we started)."""
    pids = [proc.pid, *descendants(proc.pid)]
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    for p in [*pids, *descendants(proc.pid)]:
        try:
            os.kill(p, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:  # the run was started in its own session: sweep up anything that escaped the tree
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def count_images(out: Path) -> int:
    n = 0
    try:
        for folder in os.scandir(out):
            if folder.name.startswith("images_") and folder.is_dir():
                n += sum(1 for e in os.scandir(folder.path) if e.name.endswith(".jpg"))
    except FileNotFoundError:
        pass
    return n


def count_done(out: Path) -> int:
    try:
        return sum(1 for e in os.scandir(out / "shards") if e.name.endswith(".done.json"))
    except FileNotFoundError:
        return 0


def any_image(out: Path) -> bool:
    try:
        for folder in os.scandir(out):
            if folder.name.startswith("images_") and folder.is_dir():
                with os.scandir(folder.path) as it:
                    if any(e.name.endswith(".jpg") for e in it):
                        return True
    except FileNotFoundError:
        pass
    return False


def watch(args, labels: Path, data_dir: Path, out: Path, log_dir: Path, seconds: float) -> dict:
    cmd = [sys.executable, "-m", "augkit", "generate", "--input", str(labels), "--data-dir", str(data_dir),
           "--out", str(out), "--workers", str(args.workers), "--quiet", "--shard-size", str(args.shard_size),
           "--strong", str(args.strong), "--weak", str(args.weak)]
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    with open(log_dir / "stdout.txt", "wb") as so, open(log_dir / "stderr.txt", "wb") as se:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=so, stderr=se, env=env, cwd=log_dir, start_new_session=True)
        peak_rss = peak_hwm = 0
        t_claim = t_image = t_done = None
        samples = []          # (t, parent RSS MB) every second, for the trace
        workers_peak = 0.0
        next_sample = next_files = next_children = 0.0
        try:
            while True:
                now = time.monotonic() - t0
                st = proc_status_kb(proc.pid)
                if proc.poll() is not None:
                    break
                peak_rss = max(peak_rss, st.get("VmRSS", 0))
                peak_hwm = max(peak_hwm, st.get("VmHWM", 0))
                if now >= next_sample:
                    samples.append((round(now, 1), round(st.get("VmRSS", 0) / 1024, 1)))
                    next_sample += 1.0
                if now >= next_children:
                    workers_peak = max(workers_peak, rss_mb_of(descendants(proc.pid)))
                    next_children = now + 0.5
                if now >= next_files:
                    if t_claim is None and (out / "shards" / "config.json").exists():
                        t_claim = now
                    if t_claim is not None and t_image is None and any_image(out):
                        t_image = now
                    if t_image is not None and t_done is None and count_done(out) > 0:
                        t_done = now
                    next_files = now + 0.1
                if now >= seconds:
                    break
                time.sleep(args.poll)
            # Just before stopping: the kernel's own record of the peak.
            final = proc_status_kb(proc.pid)
            peak_hwm = max(peak_hwm, final.get("VmHWM", 0))
            rss_at_stop = final.get("VmRSS", 0) / 1024
            workers_at_stop = rss_mb_of(descendants(proc.pid))
            n_workers = len(descendants(proc.pid))
            elapsed = time.monotonic() - t0
            exited = proc.poll()
        finally:
            stop(proc)
    images = count_images(out)
    done = count_done(out)
    stderr = (log_dir / "stderr.txt").read_text(encoding="utf-8", errors="replace").strip()
    return {"cmd": " ".join(cmd[1:]), "seconds_watched": round(elapsed, 1), "exited_by_itself": exited is not None,
            "returncode": exited, "stderr_tail": stderr[-1500:],
            "peak_rss_mb_vmhwm": round(peak_hwm / 1024, 1), "peak_rss_mb_polled": round(peak_rss / 1024, 1),
            "rss_mb_at_stop": round(rss_at_stop, 1), "worker_processes_at_stop": n_workers,
            "workers_rss_mb_at_stop": round(workers_at_stop, 1), "workers_rss_mb_peak_sum": round(workers_peak, 1),
            "planning_seconds": None if t_claim is None else round(t_claim, 1),
            "first_image_seconds": None if t_image is None else round(t_image, 1),
            "first_shard_done_seconds": None if t_done is None else round(t_done, 1),
            "images_written": images, "shards_done": done, "rss_trace_mb": samples}


def fmt_s(x) -> str:
    return "not reached" if x is None else f"{x:.1f} s"


def report(args, label_bytes: int, runs: list[tuple[int, dict]]) -> str:
    lines = [
        "augkit generate parent memory (SPEC section 7: a 12M-line label file must not raise the parent's RSS "
        "above 300 MB)",
        f"date     {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"machine  {cpu_model()}; {os.cpu_count()} logical CPUs; {platform.system()} {platform.release()}",
        "versions " + ", ".join(f"{k} {v}" for k, v in versions().items()),
        f"git      {git_state()}",
        f"rss from {'/proc/<pid>/status (VmRSS polled every %gs, VmHWM = kernel peak)' % args.poll}",
    ]
    for n_lines, r in runs:
        hwm = r["peak_rss_mb_vmhwm"] or r["peak_rss_mb_polled"]
        failed_early = r["exited_by_itself"] and r["returncode"] != 0
        status = "FAIL" if hwm > TARGET_MB else ("n/a*" if failed_early else "PASS")
        planned = n_lines * (args.strong + args.weak)
        lines += [
            "",
            f"input    {n_lines:,} lines ({label_bytes if n_lines == args.lines else 0:,} bytes) -> {args.images} "
            f"{'tiny (16 px) ' if args.tiny else ''}source images; {args.strong} strong + {args.weak} weak: "
            f"{planned:,} images planned".replace(" (0 bytes)", ""),
            f"command  python {r['cmd']}",
            f"watched  {r['seconds_watched']} s, then "
            + (f"it had exited by itself with code {r['returncode']}" if r["exited_by_itself"]
               else "stopped (SIGTERM, then SIGKILL) with its workers"),
            "",
            f"{'measure':<52}{'value':>14}{'target':>12}{'status':>8}",
            f"{'-' * 86}",
            f"{'parent peak RSS (VmHWM, read just before stop)':<52}{hwm:>11.1f} MB{'<= 300 MB':>12}"
            f"{status:>8}",
            f"{'parent peak RSS (polled VmRSS)':<52}{r['peak_rss_mb_polled']:>11.1f} MB",
            f"{'parent RSS at stop':<52}" + (f"{'(had exited)':>14}" if r["exited_by_itself"]
                                              else f"{r['rss_mb_at_stop']:>11.1f} MB"),
            f"{'child processes at stop (loky workers, helpers) / RSS':<52}{r['worker_processes_at_stop']:>5} / "
            f"{r['workers_rss_mb_at_stop']:.1f} MB",
            f"{'planning: start -> output root claimed':<52}{fmt_s(r['planning_seconds']):>14}",
            f"{'first image written after':<52}{fmt_s(r['first_image_seconds']):>14}",
            f"{'first shard done after':<52}{fmt_s(r['first_shard_done_seconds']):>14}",
            f"{'images written by stop':<52}{r['images_written']:>14,}",
            f"{'shards done by stop':<52}{r['shards_done']:>14,}",
            f"{'parent RSS trace (s: MB)':<52}" + " ".join(f"{t:g}:{m:g}" for t, m in r["rss_trace_mb"][::5]),
        ]
        if r["exited_by_itself"]:
            lines += ["", f"augkit exited by itself (code {r['returncode']}) before the watch ended"
                      + ("; * the peak covers only what it did before failing" if failed_early else "")
                      + ("; its stderr ends with:" if r["stderr_tail"] else "; nothing on stderr"),
                      *("  " + x for x in r["stderr_tail"].splitlines()[-8:])]
    if len(runs) > 1:
        (n0, small), (n1, big) = runs[-1], runs[0]
        d = big["peak_rss_mb_vmhwm"] - small["peak_rss_mb_vmhwm"]
        lines += ["", f"growth   peak parent RSS {n1:,} lines minus {n0:,} lines: {d:+.1f} MB "
                  f"({d / max((n1 - n0) / 1e6, 1e-9):+.2f} MB per million lines; "
                  f"x12M lines: {small['peak_rss_mb_vmhwm'] + d * (12e6 - n0) / max(n1 - n0, 1):.0f} MB if linear)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=2_000_000, help="Label file lines (default 2,000,000).")
    ap.add_argument("--images", type=int, default=5, help="Distinct source images the lines point at (default 5).")
    ap.add_argument("--seconds", type=float, default=60.0, help="How long to watch the run (default 60).")
    ap.add_argument("--workers", type=int, default=2, help="--workers of the run (default 2).")
    ap.add_argument("--shard-size", type=int, default=1000, help="--shard-size of the run (default 1000).")
    ap.add_argument("--strong", type=int, default=7, help="--strong of the run (default 7).")
    ap.add_argument("--weak", type=int, default=3, help="--weak of the run (default 3).")
    ap.add_argument("--tiny", action="store_true",
                    help="Use 16-px-high source crops: augkit's preflight sizes the disk need from them, so a "
                         "12M-line run is not refused on a small disk (parent memory does not depend on crop size).")
    ap.add_argument("--reference-lines", type=int, default=0,
                    help="Also run with this many lines (e.g. 20000) and report the growth of the peak "
                         "between the two sizes [default: off].")
    ap.add_argument("--poll", type=float, default=0.02, help="Polling interval in seconds (default 0.02).")
    ap.add_argument("--tmp", type=Path, default=None, help="Where temporary folders go [default: system temp].")
    ap.add_argument("--json", type=Path, default=None, metavar="FILE", help="Also write the results as JSON here.")
    args = ap.parse_args(argv)
    if args.lines < 1 or args.images < 1 or args.seconds <= 0 or args.workers < 1:
        ap.error("--lines, --images, --workers must be >= 1 and --seconds > 0")

    tmp = Path(tempfile.mkdtemp(prefix="augkit_membench_", dir=args.tmp))
    runs = []
    try:
        data = tmp / "data"
        rels = make_images(data, args.images, args.tiny)
        sizes = [args.lines] + ([args.reference_lines] if args.reference_lines > 0 else [])
        label_bytes = 0
        for n in sizes:
            labels = data / f"labels_{n}.txt"
            t = time.perf_counter()
            size = write_labels(labels, n, rels)
            if n == args.lines:
                label_bytes = size
            print(f"wrote {n:,} label lines ({size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s; "
                  f"watching augkit for {args.seconds:g} s", file=sys.stderr, flush=True)
            run_dir = tmp / f"run_{n}"
            run_dir.mkdir()
            runs.append((n, watch(args, labels, data, run_dir / "out", run_dir, args.seconds)))
            shutil.rmtree(run_dir, ignore_errors=True)
            labels.unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(report(args, label_bytes, runs), flush=True)
    if args.json:
        result = {"date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"), "cpu": cpu_model(),
                  "logical_cpus": os.cpu_count(), "versions": versions(), "git": git_state(),
                  "target_mb": TARGET_MB, "strong": args.strong, "weak": args.weak, "workers": args.workers,
                  "shard_size": args.shard_size, "runs": [{"lines": n, **r} for n, r in runs]}
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
