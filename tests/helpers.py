"""Helpers for tests that compare whole output roots."""

from __future__ import annotations

import hashlib
from pathlib import Path

# Done-markers and the run manifest carry timings and process ids; everything else is output.
VOLATILE = ("augkit_run.json",)


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
