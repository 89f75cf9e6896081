"""Train/validation split by source: every variant of a source, and every duplicate line of
it, falls on the same side. Shared by `augkit generate --val-fraction` and `augkit labels split`."""

from __future__ import annotations

import hashlib
import re

# augkit's own output names: images_NNNNN/<source line>_<variant>.jpg
_VARIANT_NAME = re.compile(r"(?:^|/)images_\d{5}/(\d{10})_\d+\.jpg$")


def source_key(path: str) -> str:
    """What identifies a sample's source: the source line for augkit outputs, else the path."""
    match = _VARIANT_NAME.search(path)
    return f"line:{int(match.group(1))}" if match else path


def in_validation(seed: int, key: str, fraction: float) -> bool:
    """Whether the source `key` belongs to the validation split (a hash of seed and key)."""
    if fraction <= 0:
        return False
    digest = hashlib.blake2b(f"{seed}\0{key}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction
