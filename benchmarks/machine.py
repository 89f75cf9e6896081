"""What the benchmarks print about the machine and software they measured on."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import cv2

from augkit.eval.runners.device import cpu_name

REPO = Path(__file__).resolve().parent.parent
cpu_model = cpu_name  # the CPU's model name, as the eval report names it


def core_counts() -> tuple[int, int]:
    """(logical CPUs in the machine, CPUs this process may run on)."""
    total = os.cpu_count() or 1
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = total
    return total, usable


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("augkit", "numpy", "opencv-python-headless", "opencv-python", "albumentations", "pillow",
                 "joblib", "psutil"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    out["cv2"] = cv2.__version__
    try:
        from augkit import kernels

        out["augkit kernels"] = kernels.simd()  # which of the compiled paths ran: avx2 or c
    except ImportError:
        pass
    return out


def git_state() -> str:
    """The commit augkit was measured at, and whether augkit/ had uncommitted changes."""
    try:
        sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "augkit"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{sha}{' + uncommitted changes in augkit/' if dirty else ' (clean)'}"
