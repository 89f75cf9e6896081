"""Proof by PaddleOCR: its own data code reads every line `augkit generate` writes.

For each bundled recognition config, a data set is generated from the bundled sample set (and
from benchmark crops, where the team's benchmark crop generator is present) and loaded with PaddleOCR 2.x's `ppocr.data` dataset class and the config's own transforms, built as
`build_dataloader` builds it. Every index must give the sample of its own line: PaddleOCR's
SimpleDataSet / MultiScaleDataSet silently fetch another index when a line fails to load or a
transform returns None (a label longer than max_text_length, no character in the dictionary),
so each retry is caught by a spy on `__getitem__`, and the encoded label is decoded back through
the dictionary and compared with the line's label.

Needs `paddlepaddle` and `paddleocr` 2.x (for `ppocr`): `pip install ".[paddle]"` then
`pip install --no-deps paddleocr==2.10.0`. Skips where they are absent, unless
AUGKIT_REQUIRE_PADDLE=1 (set in .ci/run), where it fails instead.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import logging
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np
import pytest
import yaml

# The paddleocr 2.x wheel ships `ppocr` inside its package folder and puts that folder on
# sys.path only when `paddleocr` itself is imported (which pulls in far more than ppocr.data).
_spec = importlib.util.find_spec("paddleocr")
if _spec is not None and _spec.submodule_search_locations:
    _folder = list(_spec.submodule_search_locations)[0]
    if _folder not in sys.path:
        sys.path.append(_folder)

if os.environ.get("AUGKIT_REQUIRE_PADDLE") == "1":
    # CI installs the paddle tier (.ci/run): there a missing piece is a failure, not a skip.
    for _module in ("paddle", "ppocr", "ppocr.data"):
        try:
            importlib.import_module(_module)
        except ImportError as exc:
            pytest.fail(f"AUGKIT_REQUIRE_PADDLE=1 but {_module} does not import ({exc}); install the tier: "
                        'pip install ".[paddle]" && pip install --no-deps paddleocr==2.10.0', pytrace=False)
else:
    pytest.importorskip("paddle")
    pytest.importorskip("ppocr")
    pytest.importorskip("ppocr.data")

from ppocr.data.imaug.label_ops import CTCLabelEncode, MultiLabelEncode, NRTRLabelEncode  # noqa: E402
from ppocr.data.lmdb_dataset import LMDBDataSet  # noqa: E402
from ppocr.data.simple_dataset import MultiScaleDataSet, SimpleDataSet  # noqa: E402
from ppocr.utils.logging import get_logger  # noqa: E402

from augkit.generate import generate, make_config  # noqa: E402
from augkit.lmdb_store import find_databases  # noqa: E402
from augkit.paddle_config import make_run_config  # noqa: E402
from augkit.reader import load_dictionary  # noqa: E402
from augkit.sample_set import sample_labels  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CONFIGS = ["rec_crnn_mrz.yml", "rec_crnn_korean.yml", "rec_svtr_lcnet_bz.yml"]
DATASETS = {"SimpleDataSet": SimpleDataSet, "MultiScaleDataSet": MultiScaleDataSet}
SEED = 1024  # tools/train.py's default Global.seed


def load_config(name: str) -> dict:
    config = yaml.safe_load((REPO / "paddle_configs" / name).read_text(encoding="utf-8"))
    g = config["Global"]
    g["character_dict_path"] = str((REPO / g["character_dict_path"]).resolve())
    return config


def label_limit(config: dict) -> int:
    """The longest label every encoder of the Train transforms keeps.

    CTCLabelEncode drops labels longer than max_text_length; NRTRLabelEncode (the GTC branch of
    MultiLabelEncode) drops those of max_text_length - 1 characters or more.
    """
    limit = config["Global"]["max_text_length"]
    for op in config["Train"]["dataset"]["transforms"]:
        (name, params), = op.items()
        if name == "MultiLabelEncode" and (params or {}).get("gtc_encode") == "NRTRLabelEncode":
            limit = min(limit, config["Global"]["max_text_length"] - 2)
    return limit


def rules(config: dict) -> dict:
    """The `make_config` options of `augkit generate --dict DICT --space/--no-space` for this config."""
    return {"charset": load_dictionary(config["Global"]["character_dict_path"]),
            "allow_space": bool(config["Global"].get("use_space_char"))}


MAKE_BENCH_SET = REPO.parent / "shared" / "bench" / "make_bench_set.py"


def bench_labels(tmp_path_factory) -> Path:
    """60 benchmark crops (MRZ-like lines, BZ fields, number groups) from the team's benchmark
    generator, where that script and its DejaVu fonts are present; skips elsewhere."""
    if not MAKE_BENCH_SET.is_file():
        pytest.skip(f"benchmark crop generator {MAKE_BENCH_SET} is not here")
    folder = tmp_path_factory.mktemp("bench_crops")
    done = subprocess.run([sys.executable, str(MAKE_BENCH_SET), str(folder), "--count", "60"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"benchmark crop generator failed here: {done.stderr.strip()[-300:]}")
    return folder / "labels.txt"


def crop_labels(tmp_path_factory) -> Path:
    """`augkit crop` output of three synthetic pages (axis-aligned, rotated and slanted lines, as
    in tests/test_crop.py): generate's layout, whose train.txt is the input augkit generate takes."""
    import cv2

    from augkit.crop.run import crop, make_crop_config
    from test_crop import LINES, box_line, make_page

    folder = tmp_path_factory.mktemp("crop_pages")
    (folder / "img").mkdir()
    (folder / "box").mkdir()
    for n in (1, 2, 3):
        cv2.imwrite(str(folder / "img" / f"p{n}.jpg"), make_page(n)[0])
        (folder / "box" / f"p{n}.csv").write_text("\n".join(box_line(q, t) for t, q in LINES) + "\n")
    config, shards, regions = make_crop_config("sroie", [folder / "box"], folder / "img", folder / "out")
    crop(config, shards, regions, progress=False)
    return folder / "out" / "train.txt"


@pytest.fixture(scope="module", params=[("samples", False), ("samples", True), ("bench", False), ("crop", False)],
                ids=["samples-flat", "samples-grouped", "bench-flat", "crop-flat"])
def generated(request, tmp_path_factory):
    """One augkit run per config: {config name: (config, out)}; lines that do not fit are rejects."""
    source, grouped = request.param
    labels = {"samples": sample_labels, "bench": lambda: bench_labels(tmp_path_factory),
              "crop": lambda: crop_labels(tmp_path_factory)}[source]()
    runs = {}
    for name in CONFIGS:
        config = load_config(name)
        out = tmp_path_factory.mktemp(f"{Path(name).stem}_{source}_{'grouped' if grouped else 'flat'}")
        run = make_config(labels, labels.parent, out, n_strong=2, n_weak=1, seed=3, val_fraction=0.25,
                          group_variants=grouped, max_text_length=label_limit(config), **rules(config))
        summary = generate(run, max_error_rate=1.0, progress=False)
        if source in ("bench", "crop") and name == "rec_crnn_korean.yml":
            continue  # the benchmark crops hold no Hangul: every line is a reject, nothing to load
        if source == "crop" and name == "rec_crnn_mrz.yml":
            continue  # the cropped receipt lines hold spaces and punctuation outside the MRZ alphabet
        assert summary["counts"]["images"] > 0
        runs[name] = (config, out)
    return runs


def dataset_for(config: dict, out: Path, mode: str):
    """The dataset object `ppocr.data.build_dataloader(config, mode, ...)` builds."""
    config = copy.deepcopy(config)
    label_file = out / ("train.txt" if mode == "Train" else "val.txt")
    for part in ("Train", "Eval"):
        config[part]["dataset"]["data_dir"] = str(out)
        config[part]["dataset"]["label_file_list"] = [str(label_file)]
    config = copy.deepcopy(config)
    return DATASETS[config[mode]["dataset"]["name"]](config, mode, get_logger(), SEED)


class Errors(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def our_rows(label_file: Path) -> list[tuple[list[str], str]]:
    rows = []
    for line in label_file.read_text(encoding="utf-8").splitlines():
        field, label = line.split("\t")
        rows.append((json.loads(field) if field.startswith("[") else [field], label))
    return rows


def decode(character: list[str], ids) -> str:
    return "".join(character[int(k)] for k in ids)


def check_encoded(ds, outs: list, label: str) -> None:
    """Decode the encoded label(s) back through the dictionary: it must be the line's own label."""
    keys = None
    for op in ds.ops:
        if type(op).__name__ == "KeepKeys":
            keys = op.keep_keys
    sample = dict(zip(keys, outs))
    length = int(sample["length"])
    assert length == len(label)
    ctc_ops = [op for op in ds.ops if isinstance(op, CTCLabelEncode)]
    multi = [op for op in ds.ops if isinstance(op, MultiLabelEncode)]
    if ctc_ops:
        enc, ctc = ctc_ops[0], sample["label"]
    else:
        enc, ctc = multi[0].ctc_encode, sample["label_ctc"]
    assert decode(enc.character, ctc[:length]) == label
    assert not np.any(ctc[length:])
    if multi and isinstance(multi[0].gtc_encode, NRTRLabelEncode):
        gtc, character = sample["label_gtc"], multi[0].gtc_encode.character
        assert gtc[0] == 2 and gtc[length + 1] == 3  # <s> ... </s>
        assert decode(character, gtc[1:length + 1]) == label
        assert not np.any(gtc[length + 2:])


def image_shapes(config: dict, mode: str) -> list[tuple[int, int]]:
    """(width, height) per call: MultiScaleSampler's scales, else RecResizeImg's shape."""
    sampler = config[mode].get("sampler")
    if sampler:
        return [tuple(s) for s in sampler["scales"]]
    for op in config[mode]["dataset"]["transforms"]:
        (name, params), = op.items()
        if name == "RecResizeImg":
            _, h, w = params["image_shape"]
            return [(w, h)]
    raise AssertionError("no image size in the config")


@pytest.mark.parametrize("mode", ["Train", "Eval"])
@pytest.mark.parametrize("name", CONFIGS)
def test_paddleocr_reads_every_line(generated, name, mode):
    if name not in generated:
        pytest.skip("no line of this source fits this config's dictionary")
    config, out = generated[name]
    label_file = out / ("train.txt" if mode == "Train" else "val.txt")
    rows = our_rows(label_file)
    assert rows, f"{label_file} is empty"
    random.seed(SEED)
    np.random.seed(SEED)
    ds = dataset_for(config, out, mode)

    # Nothing dropped when PaddleOCR reads the list (Train mode samples and shuffles it).
    assert len(ds) == len(rows)
    assert Counter(ds.data_lines) == Counter(label_file.read_bytes().splitlines(keepends=True))

    calls = []
    getitem = type(ds).__getitem__

    def spy(arg):  # the dataset's own retry (`return self.__getitem__(other)`) comes through here
        calls.append(arg)
        return getitem(ds, arg)

    ds.__getitem__ = spy
    errors = Errors()
    logger = get_logger()
    logger.addHandler(errors)
    multiscale = isinstance(ds, MultiScaleDataSet)
    by_line = {line: row for line, row in zip(label_file.read_bytes().splitlines(keepends=True), rows)}
    try:
        for idx in range(len(ds)):
            for width, height in image_shapes(config, mode):
                calls.clear()
                arg = [width, height, idx, None] if multiscale else idx
                outs = ds.__getitem__(arg)
                assert calls == [arg], f"index {idx}: PaddleOCR replaced the sample ({calls}): {errors.messages}"
                assert outs is not None
                _, label = by_line[ds.data_lines[ds.data_idx_order_list[idx]]]
                check_encoded(ds, outs, label)
                assert outs[0].shape == (3, height, width) and outs[0].dtype == np.float32
    finally:
        logger.removeHandler(errors)
    assert errors.messages == []


@pytest.mark.parametrize("name", CONFIGS)
def test_ppocr_line_parsing_round_trip(generated, name):
    """ppocr's own line parsing (as in SimpleDataSet.__getitem__) gives our paths and labels."""
    if name not in generated:
        pytest.skip("no line of this source fits this config's dictionary")
    config, out = generated[name]
    ds = dataset_for(config, out, "Eval")
    rows = [(raw, row) for f in ("train.txt", "val.txt")
            for raw, row in zip((out / f).read_bytes().splitlines(keepends=True), our_rows(out / f))]
    assert rows
    for raw, (paths, label) in rows:
        substr = raw.decode("utf-8").strip("\n").split(ds.delimiter)
        assert len(substr) == 2 and substr[1] == label
        for _ in range(3 * len(paths)):
            file_name = ds._try_parse_filename_list(substr[0])
            assert file_name in paths  # a list that fails json.loads would come back whole
            assert os.path.exists(os.path.join(ds.data_dir, file_name))
        assert all((out / p).is_file() for p in paths)


def test_generate_rejects_space_for_a_config_without_space(tmp_path):
    """`augkit generate --dict labels/mrz_dict.txt --no-space`, as paddle_configs/README.md says for a
    config with use_space_char: false: every line with a space is a reject, none reaches train.txt
    (PaddleOCR would drop the space from the label silently)."""
    from click.testing import CliRunner

    from augkit.cli import cli

    config = load_config("rec_crnn_mrz.yml")
    assert config["Global"]["use_space_char"] is False
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["generate", "--out", str(out), "--strong", "1", "--weak", "0", "--quiet",
                                      "--max-error-rate", "1", "--dict", config["Global"]["character_dict_path"],
                                      "--no-space", "--max-text-length", str(label_limit(config))])
    assert result.exit_code == 0, result.output
    kept = [row[1] for row in our_rows(out / "train.txt")]
    assert kept and not [label for label in kept if " " in label]
    rejects = [r.split("\t") for r in (out / "rejects.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    by_space = {int(r[0]) for r in rejects if r[2] == "label contains a space"}
    mrz = load_dictionary(config["Global"]["character_dict_path"])
    sources = [line.split("\t")[1] for line in sample_labels().read_text(encoding="utf-8").splitlines()]
    # Lines whose only trouble is the space (e.g. "KIM HAEUN"); other characters are rejected first.
    expected = {n for n, label in enumerate(sources, 1) if " " in label and set(label) - {" "} <= mrz}
    assert expected and by_space == expected


@pytest.fixture(scope="module")
def generated_lmdb(tmp_path_factory):
    """`augkit generate --output-format lmdb` per config and the run-ready config `augkit config
    --data OUT` makes of it: {config name: (run config, out)}."""
    labels = sample_labels()
    runs = {}
    for name in CONFIGS:
        config = load_config(name)
        out = tmp_path_factory.mktemp(f"{Path(name).stem}_lmdb")
        run = make_config(labels, labels.parent, out, n_strong=2, n_weak=1, seed=3, val_fraction=0.25,
                          max_text_length=label_limit(config), output_format="lmdb", **rules(config))
        assert generate(run, max_error_rate=1.0, progress=False)["counts"]["lmdb/val"] > 0
        runs[name] = (make_run_config(Path(name).stem, out, use_gpu=False)[0], out)
    return runs


def database_labels(folder: Path) -> dict[tuple[str, int], str]:
    """Every sample's label by (database folder, index), read with lmdb itself."""
    import lmdb

    labels = {}
    for path in find_databases(folder):
        env = lmdb.open(str(path), readonly=True, lock=False)
        with env.begin() as txn:
            for i in range(1, int(txn.get(b"num-samples")) + 1):
                labels[(str(path.resolve()), i)] = txn.get(b"label-%09d" % i).decode("utf-8")
        env.close()
    return labels


@pytest.mark.parametrize("mode", ["Train", "Eval"])
@pytest.mark.parametrize("name", CONFIGS)
def test_paddleocr_lmdb_dataset_reads_every_sample(generated_lmdb, name, mode):
    """PaddleOCR's LMDBDataSet, configured as `augkit config` configures it, reads every sample of
    the LMDB output: none replaced by its retry, every label decoded back to the sample's own."""
    config, out = generated_lmdb[name]
    folder = Path(config[mode]["dataset"]["data_dir"])
    assert folder == out.resolve() / "lmdb" / ("train" if mode == "Train" else "val")
    expected = database_labels(folder)
    assert expected
    random.seed(SEED)
    np.random.seed(SEED)
    assert config[mode]["dataset"]["name"] == "LMDBDataSet" and "sampler" not in config[mode]
    ds = LMDBDataSet(copy.deepcopy(config), mode, get_logger(), SEED)
    assert len(ds) == len(expected)
    calls = []
    getitem = type(ds).__getitem__

    def spy(arg):
        calls.append(arg)
        return getitem(ds, arg)

    ds.__getitem__ = spy
    errors = Errors()
    logger = get_logger()
    logger.addHandler(errors)
    (width, height), = image_shapes(config, mode)
    seen = set()
    try:
        for idx in range(len(ds)):
            calls.clear()
            outs = ds.__getitem__(idx)
            assert calls == [idx], f"index {idx}: PaddleOCR replaced the sample ({calls}): {errors.messages}"
            database, index = ds.data_idx_order_list[idx]
            key = (str(Path(ds.lmdb_sets[int(database)]["dirpath"]).resolve()), int(index))
            check_encoded(ds, outs, expected[key])
            assert outs[0].shape == (3, height, width) and outs[0].dtype == np.float32
            seen.add(key)
    finally:
        ds.lmdb_sets.clear()
        logger.removeHandler(errors)
    assert seen == set(expected) and errors.messages == []
