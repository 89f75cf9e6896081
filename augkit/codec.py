"""Decoding source images to 8-bit BGR and encoding variants to JPEG."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import cv2
import numpy as np

from augkit.errors import SampleRejected


def decode_image(data: bytes) -> np.ndarray:
    """Decode JPEG/PNG/BMP/TIFF/WebP bytes to a contiguous uint8 BGR image (H, W, 3).

    Grey becomes three equal channels; alpha is composited over white (text crops with a
    transparent background would otherwise turn black); 16-bit is scaled to 8-bit.
    """
    if not data:
        raise SampleRejected("empty image file")
    # A JPEG holds neither alpha nor 16-bit samples, so it is decoded as colour: the same pixels,
    # but with its EXIF orientation applied, as viewers and PaddleOCR's own loader
    # (cv2.imdecode(buf, 1)) show it; IMREAD_UNCHANGED ignores the tag and leaves phone crops sideways.
    flags = cv2.IMREAD_COLOR if data[:2] == b"\xff\xd8" else cv2.IMREAD_UNCHANGED
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None:
        raise SampleRejected("undecodable image", "not a readable JPEG/PNG/BMP/TIFF/WebP, or truncated")
    if image.dtype == np.uint16:
        image = np.rint(image.astype(np.float32) / 257.0).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise SampleRejected("unsupported image depth", f"{image.dtype} pixels (8 or 16 bit expected)")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        image = np.rint(image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    elif image.shape[2] == 1:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] != 3:
        raise SampleRejected("unsupported image channels", f"{image.shape[2]} channels")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise SampleRejected("image of zero size")
    return np.ascontiguousarray(image)


def encode_jpeg(image: np.ndarray, quality: int = 95) -> bytes:
    """Encode a BGR image as baseline JPEG at `quality` (deterministic for a given OpenCV build)."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise SampleRejected("JPEG encoding failed", f"image of shape {image.shape}")
    return buf.tobytes()


def read_image_bytes(data_root: str | os.PathLike, rel_path: str) -> bytes:
    """The bytes of the image file at `rel_path` under `data_root`, rejecting what cannot be read."""
    # The path read is the one the reader checked: `..` collapsed lexically, so that neither a
    # missing folder nor a symlinked one ("link/../x" with link pointing elsewhere) changes it.
    path = os.path.join(data_root, os.path.normpath(rel_path))
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise SampleRejected("missing image", rel_path) from None
    except IsADirectoryError:
        raise SampleRejected("missing image", f"{rel_path} is a folder") from None
    except OSError as exc:
        raise SampleRejected("unreadable image", f"{rel_path}: {exc.strerror}") from None


def read_source_image(data_root: str, rel_path: str) -> np.ndarray:
    """Read and decode the image at `rel_path` under `data_root`, rejecting what cannot be used."""
    return decode_image(read_image_bytes(data_root, rel_path))


@contextmanager
def single_threaded_opencv() -> Iterator[None]:
    """OpenCV on one thread for the duration, restored after. Parallelism is one shard per
    process; OpenCV's own pool in every worker would only oversubscribe the cores (and make one
    worker's timing depend on idle cores)."""
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(threads)
