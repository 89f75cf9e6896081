"""Naming the device a backend ran on, for the report (no heavy imports unless on a GPU)."""

from __future__ import annotations

import platform


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def import_cudart():
    """cuda-python's runtime module under either of its import paths (cuda.bindings.runtime from
    cuda-python 12.6 on, cuda.cudart before), or ImportError."""
    try:
        from cuda.bindings import runtime
    except ImportError:
        from cuda import cudart as runtime
    return runtime


def gpu_name(device: int | None = None) -> str:
    """The CUDA device's name through cuda-python, or 'GPU' where that is not installed."""
    try:
        cudart = import_cudart()
        if device is None:
            err, device = cudart.cudaGetDevice()
        err, props = cudart.cudaGetDeviceProperties(device)
        name = props.name
        return (name.split(b"\0", 1)[0].decode() if isinstance(name, bytes) else str(name)) or "GPU"
    except Exception:  # the name is decoration; never fail a run over it
        return "GPU"
