"""The bundled sample set: about 60 MRZ, BZ-field and Korean-name crops with a PaddleOCR label file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def sample_labels() -> Path:
    """Path of the bundled sample label file (its folder is the data root)."""
    path = Path(str(resources.files("augkit").joinpath("samples", "labels.txt")))
    if not path.is_file():
        raise FileNotFoundError(f"the bundled sample set is missing from this installation ({path})")
    return path
