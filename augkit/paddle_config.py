"""`augkit config`: make a bundled PaddleOCR config run-ready for a generated data set.

Fills in data_dir, label files and the dictionary (absolute paths, so the config runs from
inside a PaddleOCR checkout), derives max_text_length from the actual labels and the input
width from the crops' aspect ratios and the CTC time steps the longest label needs, sets
use_gpu from the machine, and refuses data the model cannot learn from as configured.
"""

from __future__ import annotations

import copy
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import augkit
from augkit.errors import UserError
from augkit.reader import Source, load_dictionary, read_sources

# Width divided by this gives the CTC time steps of each recognition backbone we ship.
# CRNN's MobileNetV3 (small_stride [1, 2, 2, 2]) halves the width twice; PP-LCNetV3 in
# SVTR_LCNet pools to a fixed 40 steps in training, whatever the width.
WIDTH_PER_STEP = {"CRNN": 4}
FIXED_STEPS = {"SVTR_LCNet": 40}
ASPECT_SAMPLE = 2000


def data_folder(name: str) -> Path:
    """The bundled `paddle_configs` or `labels` folder, in a wheel or a source checkout."""
    package = Path(augkit.__file__).parent
    for candidate in (package / name, package.parent / name):
        if candidate.is_dir():
            return candidate
    raise UserError(f"the bundled {name}/ folder is missing from this installation")


def bundled_configs() -> list[str]:
    """Names of the bundled configs (without .yml)."""
    return sorted(p.stem for p in data_folder("paddle_configs").glob("*.yml"))


@dataclass
class LabelSummary:
    lines: int
    max_length: int
    ctc_steps: int  # the fewest CTC time steps that can emit the hardest label
    outside: dict[str, int]
    outside_example: int


def _items(labels: Path):
    """The lines of a label file, or the samples of a folder of LMDB databases."""
    if labels.is_dir():
        from augkit.lmdb_store import LmdbStore, read_items

        with LmdbStore(labels) as store:
            yield from read_items(store)
    else:
        yield from read_sources(labels)


def _crop_sizes(labels: Path, data_dir: Path):
    """(width, height) of the crops, in order, from their headers (unreadable ones skipped)."""
    import io

    from PIL import Image

    from augkit.errors import SampleRejected

    if labels.is_dir():
        from augkit.lmdb_store import LmdbStore, read_items

        with LmdbStore(labels) as store:
            for item in read_items(store):
                if isinstance(item, Source):
                    try:
                        with Image.open(io.BytesIO(store.read(item.path))) as im:
                            yield im.width, im.height
                    except (OSError, ValueError, SampleRejected):
                        continue
        return
    for item in read_sources(labels):
        if isinstance(item, Source):
            paths = yaml.safe_load(item.path) if item.path.startswith("[") else [item.path]
            try:
                with Image.open(data_dir / paths[0]) as im:
                    yield im.width, im.height
            except (OSError, ValueError):
                continue


def _summarise(label_file: Path, charset: frozenset[str] | None, use_space: bool) -> LabelSummary:
    lines, max_length, ctc_steps, outside, example = 0, 0, 0, {}, 0
    for item in _items(label_file):
        if not isinstance(item, Source):
            continue
        lines += 1
        label = item.label
        max_length = max(max_length, len(label))
        ctc_steps = max(ctc_steps, len(label) + sum(a == b for a, b in zip(label, label[1:])))
        if charset is not None:
            for c in item.label:
                if c not in charset and not (c == " " and use_space):
                    outside[c] = outside.get(c, 0) + 1
                    example = example or item.line
    return LabelSummary(lines, max_length, ctc_steps, outside, example)


def _aspect_ratio(label_file: Path, data_dir: Path, quantile: float = 0.95) -> float | None:
    """The `quantile` width/height ratio over the first few thousand crops (headers only)."""
    ratios = []
    for width, height in _crop_sizes(label_file, data_dir):
        ratios.append(width / max(height, 1))
        if len(ratios) >= ASPECT_SAMPLE:
            break
    if not ratios:
        return None
    ratios.sort()
    return ratios[min(len(ratios) - 1, int(quantile * len(ratios)))]


def gpu_available() -> bool:
    """Whether PaddlePaddle here can train on a GPU (or, without paddle, whether there is one)."""
    try:
        import paddle

        return bool(paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0)
    except Exception:  # noqa: BLE001 - paddle absent or unusable: fall back to the driver
        return shutil.which("nvidia-smi") is not None


def make_run_config(name: str, data: Path, val: Path | None = None, dict_file: Path | None = None,
                    use_gpu: bool | None = None) -> tuple[dict[str, Any], list[str]]:
    """The run-ready config for bundled config `name` (or a YAML path) on output root `data`,
    and notes on what was derived. Raises UserError when the data cannot fit the config."""
    source = Path(name) if name.endswith((".yml", ".yaml")) else data_folder("paddle_configs") / f"{name}.yml"
    if not source.is_file():
        raise UserError(f"no config {name!r}; bundled configs are {', '.join(bundled_configs())}, or give a .yml path")
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    data = Path(data).resolve()
    lmdb = not (data / "train.txt").is_file() and (data / "lmdb" / "train").is_dir()
    train = data / "lmdb" / "train" if lmdb else data / "train.txt"
    if not train.exists():
        raise UserError(f"{train} does not exist; pass --data an augkit generate output root")
    val = Path(val).resolve() if val is not None else data / "lmdb" / "val" if lmdb else data / "val.txt"
    if not val.exists():
        raise UserError(f"no validation labels at {val}; pass --val LABELS or generate with --val-fraction")
    notes = [f"config {source.name}", f"data_dir {data}", f"train {train}", f"val {val}"]
    g = config["Global"]
    algorithm = config["Architecture"].get("algorithm")
    is_rec = config["Architecture"].get("model_type") == "rec"
    g["use_gpu"] = gpu_available() if use_gpu is None else use_gpu
    if lmdb and not is_rec:
        raise UserError("LMDB output holds recognition samples; a detection config trains on files")
    for part, labels in (("Train", train), ("Eval", val)):
        if labels.is_dir():
            notes.extend(_lmdb_dataset(config, part, labels))
        else:
            config[part]["dataset"]["data_dir"] = str(data)
            config[part]["dataset"]["label_file_list"] = [str(labels)]
    if not is_rec:
        for path in (train, val):
            notes.append(_check_det_labels(path))
        return config, notes + [f"use_gpu {g['use_gpu']}"]

    dict_path = Path(dict_file).resolve() if dict_file else data_folder("labels") / Path(g["character_dict_path"]).name
    charset = load_dictionary(dict_path)
    g["character_dict_path"] = str(dict_path)
    use_space = bool(g.get("use_space_char"))
    summaries = {p: _summarise(p, charset, use_space) for p in (train, val)}
    for path, s in summaries.items():
        if s.outside:
            chars = ", ".join(f"{c!r} x{n}" for c, n in sorted(s.outside.items(), key=lambda kv: -kv[1])[:8])
            space = " and --no-space (this config has use_space_char: false)" if " " in s.outside else ""
            raise UserError(f"{path} has characters outside {dict_path.name} ({chars}; first on line "
                            f"{s.outside_example}); PaddleOCR would skip them silently. Pass --dict with a "
                            f"dictionary that holds them, or regenerate with --dict{space} to reject such lines")
        if s.lines == 0:
            raise UserError(f"{path} has no usable lines")
    longest = max(s.max_length for s in summaries.values())
    # NRTR's label encoder (SVTR_LCNet's second head) adds start and end tokens and drops any
    # label of max_text_length - 1 characters or more, so that family needs two more.
    uses_nrtr = "NRTRHead" in yaml.safe_dump(config["Architecture"])
    limit = longest + 2 if uses_nrtr else longest
    g["max_text_length"] = limit
    _set_everywhere(config["Architecture"], "max_text_length", limit)
    notes.append(f"max_text_length {limit} (longest label {longest}{' + 2 for NRTR' if uses_nrtr else ''})")

    height = _height(config)
    if algorithm in FIXED_STEPS:
        steps = FIXED_STEPS[algorithm]
        need = max(s.ctc_steps for s in summaries.values())
        if need > steps:
            raise UserError(f"a label needs {need} CTC time steps (its characters plus a blank between each "
                            f"repeated pair) but {algorithm} emits {steps}; use a CRNN config for long lines "
                            "(e.g. rec_crnn_mrz)")
        width = _width(config)
    else:
        per_step = WIDTH_PER_STEP.get(algorithm, 4)
        ratio = _aspect_ratio(train, data)
        by_aspect = math.ceil(height * ratio / 32) * 32 if ratio else 0
        by_steps = math.ceil((2 * longest + 1) * per_step / 32) * 32
        width = max(by_aspect, by_steps, 32)
        notes.append(f"width {width} (crops' 95th-percentile aspect ratio needs {by_aspect}, "
                     f"{2 * longest + 1} CTC steps need {by_steps})")
        _set_shape(config, height, width)
    n_train = summaries[train].lines
    loader = config["Train"]["loader"]
    if loader.get("drop_last") and loader.get("batch_size_per_card", 1) > n_train:
        # With drop_last and fewer lines than one batch, PaddleOCR trains on nothing and exits 0.
        loader["batch_size_per_card"] = n_train
        notes.append(f"train batch size {n_train} (fewer lines than one batch)")
    notes.append(f"use_gpu {g['use_gpu']}; input {height}x{width}")
    return config, notes


def _check_det_labels(path: Path) -> str:
    """Refuse a label file PaddleOCR's det loader cannot read whole (a rec label file, malformed
    JSON, regions without four points): it would skip or crash on such lines mid-training."""
    from augkit.crop.formats import RegionReject, parse_paddle_det_line

    pages = regions = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        page = parse_paddle_det_line(line, f"{path.name}:{number}")
        if isinstance(page, RegionReject):
            hint = (" (a recognition label file? det configs train on pages: augkit synth --kind page)"
                    if page.reason == "malformed line" and number == 1 else "")
            raise UserError(f"{path}:{number} is not a PaddleOCR det label line: {page.detail or page.reason}{hint}")
        bad = [r for r in page.regions if isinstance(r, RegionReject) and not r.excused and r.points is None]
        if bad:
            raise UserError(f"{path}:{number}: region {bad[0].number} has {bad[0].reason} ({bad[0].detail}); "
                            "PaddleOCR's det loader would fail on this page")
        pages += 1
        regions += len(page.regions)
    if not pages:
        raise UserError(f"{path} has no pages")
    return f"{path.name}: {pages} pages, {regions} regions"


def _lmdb_dataset(config: dict, part: str, folder: Path) -> list[str]:
    """Make `part` read PaddleOCR's LMDBDataSet from the databases under `folder`; returns notes.

    LMDBDataSet takes plain integer indices, so a multi-scale set (MultiScaleDataSet with its
    MultiScaleSampler, which resizes inside the dataset) trains at one scale here: the sampler goes
    and a RecResizeImg at the config's d2s_train_image_shape joins the transforms before KeepKeys.
    """
    section = config[part]
    dataset = section["dataset"]
    notes = []
    if dataset.get("name") == "MultiScaleDataSet" or "sampler" in section:
        shape = list(config["Global"].get("d2s_train_image_shape", [3, 48, 320]))
        transforms = dataset["transforms"]
        at = next((i for i, t in enumerate(transforms) if isinstance(t, dict) and "KeepKeys" in t), len(transforms))
        if not any(isinstance(t, dict) and "RecResizeImg" in t for t in transforms):
            transforms.insert(at, {"RecResizeImg": {"image_shape": shape}})
        section.pop("sampler", None)
        notes.append(f"{part}: LMDBDataSet trains at one scale, {shape[1]}x{shape[2]} (PaddleOCR's multi-scale "
                     "sampler reads label files only)")
    for key in ("label_file_list", "delimiter", "ds_width", "ratio_list"):
        dataset.pop(key, None)
    dataset["name"] = "LMDBDataSet"
    dataset["data_dir"] = str(folder)
    return notes


def _set_everywhere(node: Any, key: str, value: Any) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                node[k] = value
            else:
                _set_everywhere(v, key, value)
    elif isinstance(node, list):
        for v in node:
            _set_everywhere(v, key, value)


def _resize_steps(config: dict) -> list[dict]:
    steps = []
    for part in ("Train", "Eval"):
        for t in config[part]["dataset"]["transforms"]:
            if isinstance(t, dict) and isinstance(t.get("RecResizeImg"), dict):
                steps.append(t["RecResizeImg"])
    return steps


def _height(config: dict) -> int:
    shapes = [s["image_shape"] for s in _resize_steps(config)]
    return int(shapes[0][1]) if shapes else int(config["Global"].get("d2s_train_image_shape", [3, 48, 320])[1])


def _width(config: dict) -> int:
    shapes = [s["image_shape"] for s in _resize_steps(config)]
    return int(shapes[0][2]) if shapes else int(config["Global"].get("d2s_train_image_shape", [3, 48, 320])[2])


def _set_shape(config: dict, height: int, width: int) -> None:
    for step in _resize_steps(config):
        step["image_shape"] = [3, height, width]
    if "d2s_train_image_shape" in config["Global"]:
        config["Global"]["d2s_train_image_shape"] = [3, height, width]


# PaddleOCR 2.x's tools/export_model.py (ppocr/utils/export_model.py, `dynamic_to_static`) takes
# the exported input height from the algorithm name, not from the config: SVTR_LCNet exports
# [3, 48, -1], CRNN (like every algorithm without a branch of its own) [3, 32, -1]. The model
# itself is built from Backbone/Neck/Head alone, so for these plain CTC models exporting under the
# other name changes only the input height.
EXPORT_ALGORITHM_FOR_HEIGHT = {32: "CRNN", 48: "SVTR_LCNet"}


def export_overrides(config: dict) -> list[str] | None:
    """The `-o` overrides that make tools/export_model.py export the height the model was trained
    at (none needed for detection), or None when no override gives that height."""
    arch = config["Architecture"]
    if arch.get("model_type") != "rec":
        return []
    donor = EXPORT_ALGORITHM_FOR_HEIGHT.get(_height(config))
    if donor is None or arch.get("algorithm") not in EXPORT_ALGORITHM_FOR_HEIGHT.values():
        return None
    return [] if donor == arch["algorithm"] else [f"Architecture.algorithm={donor}"]


def export_commands(config: dict, run_config: Path, weights: str = "best_accuracy") -> list[list[str]] | None:
    """The commands, run in a PaddleOCR checkout, that export the trained model with its trained
    input height and convert it to ONNX (SAVE/inference/model.onnx); None when PaddleOCR's export
    cannot give the trained height."""
    overrides = export_overrides(config)
    if overrides is None:
        return None
    save = str(config["Global"]["save_model_dir"]).rstrip("/")
    inference = f"{save}/inference"
    return [["python", "tools/export_model.py", "-c", str(run_config), "-o", f"Global.pretrained_model={save}/{weights}",
             f"Global.save_inference_dir={inference}", *overrides],
            ["paddle2onnx", "--model_dir", inference, "--model_filename", "inference.pdmodel",
             "--params_filename", "inference.pdiparams", "--save_file", f"{inference}/model.onnx"]]


def write_run_config(config: dict, out: Path) -> None:
    """Write the config as YAML (keys in their original order)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(copy.deepcopy(config), sort_keys=False, allow_unicode=True), encoding="utf-8")
