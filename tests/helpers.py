"""Helpers for tests that compare whole output roots."""

from __future__ import annotations

import hashlib
from pathlib import Path

# Done-markers and the run manifest carry timings and process ids; everything else is output.
VOLATILE = ("augkit_run.json",)


def kernel_positions(m: tuple[float, ...], size: tuple[int, int]):
    """The source positions (X, Y) the compiled affine kernel takes for every pixel of a `size`
    (width, height) output: 16.16 fixed point, per row llround((m1 y + m2) 65536) + 256 plus
    x llround(m0 65536) (Y alike), as int64 arrays (see augkit/_kernels.c)."""
    import numpy as np

    fixed = np.vectorize(lambda v: round(v * 65536), otypes=[np.int64])
    w, h = size
    x = np.arange(w, dtype=np.int64)[None, :]
    rows = np.arange(h, dtype=np.float64)
    X = fixed(m[1] * rows + m[2]).reshape(-1, 1) + 256 + x * round(m[0] * 65536)
    Y = fixed(m[4] * rows + m[5]).reshape(-1, 1) + 256 + x * round(m[3] * 65536)
    return X, Y


def bilinear_blend(X, Y, p00, p01, p10, p11):
    """(sum of the 1/128-pixel bilinear weights of positions X, Y times the four neighbours
    (int64, H x W x 3) + 8192) >> 14, as uint8."""
    import numpy as np

    fx, fy = ((X >> 9) & 127)[..., None], ((Y >> 9) & 127)[..., None]
    total = ((128 - fx) * (128 - fy) * p00 + fx * (128 - fy) * p01 + (128 - fx) * fy * p10 + fx * fy * p11 + 8192)
    return (total >> 14).astype(np.uint8)


def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every output file under `root`, by relative path."""
    digests = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name not in VOLATILE and not path.name.endswith(".done.json"):
            digests[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def make_crops(folder: Path, n: int, seed: int = 0, subdir: str = "img") -> Path:
    """`n` small synthetic crops and their label file; returns the label file."""
    import cv2

    from conftest import text_line

    (folder / subdir).mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        text = f"LINE {i:04d} KIM"
        width = 120 + (i * 37) % 200
        cv2.imwrite(str(folder / subdir / f"c{i:04d}.png"), text_line(width, 32, text, seed=seed + i))
        lines.append(f"{subdir}/c{i:04d}.png\t{text}\n")
    labels = folder / "labels.txt"
    labels.write_text("".join(lines), encoding="utf-8")
    return labels


def read_labels(path: Path) -> list[tuple[str, str]]:
    """Rows of a label file we wrote, asserting SPEC section 1's form (UTF-8 without BOM, \\n ends,
    one tab per line, no blank line)."""
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw and raw.endswith(b"\n")
    rows = raw.decode("utf-8").split("\n")[:-1]
    assert all(row.count("\t") == 1 and row for row in rows)
    return [tuple(row.split("\t")) for row in rows]
