"""Tiny synthetic fixtures shared by the tests."""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import cv2
import numpy as np
import pytest


def text_line(width: int = 320, height: int = 48, text: str = "P<KORKIM<<MINJUN<<<<<<<<<<<<<<<<<<<<<<<<<<<<",
              seed: int = 0) -> np.ndarray:
    """A light, slightly textured crop with dark text, like a real text-line crop."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), 225, np.uint8)
    img += rng.integers(0, 12, img.shape, dtype=np.uint8)
    scale = height / 60.0
    cv2.putText(img, text, (4, int(height * 0.72)), cv2.FONT_HERSHEY_SIMPLEX, scale, (25, 25, 35), 2, cv2.LINE_AA)
    return img


@pytest.fixture(scope="session", autouse=True)
def outside_the_source_tree(tmp_path_factory):
    """Run every test from a scratch folder. The suite tests the installed package; from the repository
    root, `python -m augkit` subprocesses and Ray workers (Ray puts the driver's working folder on their
    path) would import the source tree instead, which has no compiled kernels in a clean checkout."""
    before = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(before)


@pytest.fixture
def line_image() -> np.ndarray:
    return text_line()
