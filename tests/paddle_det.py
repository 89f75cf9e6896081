"""PaddleOCR's own det data loader over an augkit output root (the `paddle` tier), for the tests
of `synth --kind page` and `generate --task det`."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def det_samples(out: Path, label_file: Path):
    """Every sample PaddleOCR's SimpleDataSet, with the bundled det_db_mv3 config's Train and then
    Eval transforms, makes of `label_file`: yields (mode, index, outputs, label line), failing
    when PaddleOCR replaces a sample (its retry on a failed one); skips without the tier."""
    spec = importlib.util.find_spec("paddleocr")
    if spec is not None and spec.submodule_search_locations:
        folder = list(spec.submodule_search_locations)[0]
        if folder not in sys.path:
            sys.path.append(folder)
    pytest.importorskip("paddle")
    pytest.importorskip("ppocr.data")
    import yaml
    from ppocr.data.simple_dataset import SimpleDataSet
    from ppocr.utils.logging import get_logger

    config = yaml.safe_load((REPO / "paddle_configs" / "det_db_mv3.yml").read_text())
    for part in ("Train", "Eval"):
        config[part]["dataset"]["data_dir"] = str(out)
        config[part]["dataset"]["label_file_list"] = [str(label_file)]
    random.seed(0)
    np.random.seed(0)
    lines = label_file.read_text(encoding="utf-8").splitlines()
    for mode in ("Train", "Eval"):
        ds = SimpleDataSet(config, mode, get_logger(), 0)
        assert len(ds) == len(lines)
        calls = []
        getitem = type(ds).__getitem__

        def spy(arg, ds=ds, getitem=getitem):  # PaddleOCR's own retry on a failed sample comes through here
            calls.append(arg)
            return getitem(ds, arg)

        ds.__getitem__ = spy
        for idx in range(len(ds)):
            calls.clear()
            outs = ds.__getitem__(idx)
            assert outs is not None and calls == [idx], f"{mode} index {idx}: PaddleOCR replaced the sample"
            yield mode, idx, outs, ds.data_lines[ds.data_idx_order_list[idx]].decode("utf-8").rstrip("\n")
