"""Static checks of the PaddleOCR training configs in paddle_configs/ (SPEC §5).

These check structure and internal consistency only. Whether PaddleOCR itself accepts the
configs (data loader, model build, a few training steps) is a separate proof.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "paddle_configs"

REC_CONFIGS = ["rec_svtr_lcnet_bz.yml", "rec_crnn_mrz.yml", "rec_crnn_korean.yml"]
DET_CONFIGS = ["det_db_mv3.yml"]
CRNN_CONFIGS = ["rec_crnn_mrz.yml", "rec_crnn_korean.yml"]

# Width downsampling of the backbones, as time steps = input width // factor.
# MobileNetV3 (rec): conv1 stride 2, every block strides height only, final 2x2 max pool -> 4.
MV3_REC_WIDTH_FACTOR = 4
# PPLCNetV3 (rec): stem stride 2, one (1, 2) block, then pooled to 40 steps at width 320 -> 8.
PPLCNETV3_REC_WIDTH_FACTOR = 8

EXPECTED = {
    # file: (dictionary, max_text_length, use_space_char)
    "rec_svtr_lcnet_bz.yml": ("labels/en_dict.txt", 25, True),
    "rec_crnn_mrz.yml": ("labels/mrz_dict.txt", 44, False),
    "rec_crnn_korean.yml": ("labels/korean_dict.txt", 25, True),
}


def load(name: str) -> dict:
    with open(CONFIG_DIR / name, encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    assert isinstance(cfg, dict), name
    return cfg


def transforms(cfg: dict, split: str) -> list[dict]:
    return cfg[split]["dataset"]["transforms"]


def transform(cfg: dict, split: str, name: str):
    """The arguments of transform `name` in `split` (None when it has none); KeyError if absent."""
    for op in transforms(cfg, split):
        assert isinstance(op, dict) and len(op) == 1, op
        if name in op:
            return op[name]
    raise KeyError(f"{split} has no {name}")


def has_transform(cfg: dict, split: str, name: str) -> bool:
    return any(name in op for op in transforms(cfg, split))


def rec_image_shape(cfg: dict, split: str) -> list[int]:
    shape = transform(cfg, split, "RecResizeImg")["image_shape"]
    assert len(shape) == 3 and shape[0] == 3, shape
    return shape


def test_every_config_is_listed():
    on_disk = sorted(p.name for p in CONFIG_DIR.glob("*.yml"))
    assert on_disk == sorted(REC_CONFIGS + DET_CONFIGS)
    assert not list(CONFIG_DIR.glob("*.yaml"))


@pytest.mark.parametrize("name", REC_CONFIGS + DET_CONFIGS)
def test_common_structure(name):
    cfg = load(name)
    for section in ("Global", "Architecture", "Loss", "Optimizer", "PostProcess", "Metric", "Train", "Eval"):
        assert section in cfg, f"{name}: missing {section}"
    g = cfg["Global"]
    assert "pretrained_model" in g and g["pretrained_model"] in (None, ""), "pretrained_model must be empty"
    assert g["use_gpu"] is True
    assert g["save_model_dir"]
    assert isinstance(g["epoch_num"], int) and 0 < g["epoch_num"] <= 500
    for split in ("Train", "Eval"):
        ds = cfg[split]["dataset"]
        assert ds["data_dir"].rstrip("/") == "./train_data"
        assert isinstance(ds["label_file_list"], list) and ds["label_file_list"]
        assert all(p.startswith("./train_data/") for p in ds["label_file_list"])
        ops = transforms(cfg, split)
        assert "DecodeImage" in ops[0]
        assert "KeepKeys" in ops[-1]
        loader = cfg[split]["loader"]
        assert isinstance(loader["batch_size_per_card"], int) and loader["batch_size_per_card"] > 0
    assert cfg["Train"]["loader"]["shuffle"] is True
    assert cfg["Eval"]["loader"]["shuffle"] is False


@pytest.mark.parametrize("name", REC_CONFIGS)
def test_rec_structure(name):
    cfg = load(name)
    assert cfg["Architecture"]["model_type"] == "rec"
    assert cfg["PostProcess"]["name"] == "CTCLabelDecode"
    assert cfg["Metric"]["name"] == "RecMetric"
    # RecMetric's default ignores spaces; every rec config states its choice.
    assert "ignore_space" in cfg["Metric"]
    assert isinstance(cfg["Metric"]["ignore_space"], bool)
    assert cfg["Train"]["loader"]["drop_last"] is True
    assert has_transform(cfg, "Train", "RecAug")
    assert not has_transform(cfg, "Eval", "RecAug"), "no augmentation at evaluation"
    assert cfg["Train"]["dataset"]["label_file_list"] == ["./train_data/train.txt"]
    assert cfg["Eval"]["dataset"]["label_file_list"] == ["./train_data/val.txt"]


@pytest.mark.parametrize("name", REC_CONFIGS)
def test_dictionary_and_text_settings(name):
    cfg = load(name)
    g = cfg["Global"]
    dict_path, max_len, space = EXPECTED[name]
    assert g["character_dict_path"] == dict_path
    path = ROOT / g["character_dict_path"]
    assert path.is_file(), path
    assert path.resolve().parent == (ROOT / "labels").resolve()
    assert g["max_text_length"] == max_len
    assert g["use_space_char"] is space


def test_mrz_specifics():
    g = load("rec_crnn_mrz.yml")["Global"]
    assert g["max_text_length"] == 44
    assert g["use_space_char"] is False
    assert load("rec_crnn_mrz.yml")["Metric"]["ignore_space"] is False


@pytest.mark.parametrize("name", CRNN_CONFIGS)
def test_crnn_architecture_and_shapes(name):
    cfg = load(name)
    arch = cfg["Architecture"]
    assert arch["algorithm"] == "CRNN"
    assert arch["Backbone"] == {"name": "MobileNetV3", "scale": 0.5, "model_name": "small",
                                "small_stride": [1, 2, 2, 2]}
    assert arch["Neck"]["name"] == "SequenceEncoder" and arch["Neck"]["encoder_type"] == "rnn"
    assert arch["Neck"]["hidden_size"] in (48, 96)
    assert arch["Head"]["name"] == "CTCHead"
    assert cfg["Loss"]["name"] == "CTCLoss"
    for split in ("Train", "Eval"):
        names = [next(iter(op)) for op in transforms(cfg, split)]
        assert names.index("CTCLabelEncode") < names.index("RecResizeImg") < names.index("KeepKeys")
        assert transform(cfg, split, "KeepKeys")["keep_keys"] == ["image", "label", "length"]
    train_shape = rec_image_shape(cfg, "Train")
    assert train_shape == rec_image_shape(cfg, "Eval")
    if "d2s_train_image_shape" in cfg["Global"]:
        assert cfg["Global"]["d2s_train_image_shape"] == train_shape
    _, height, width = train_shape
    # The rec MobileNetV3 with small_stride [1, 2, 2, 2] reduces height by 32 (+ the final pool);
    # SequenceEncoder needs a feature map one row high.
    assert height in (32, 48)
    # CTC needs enough time steps; 2 * L + 1 is the conservative bound (blanks between repeats).
    steps = width // MV3_REC_WIDTH_FACTOR
    assert steps >= 2 * cfg["Global"]["max_text_length"] + 1, (name, steps)


def test_mrz_width():
    cfg = load("rec_crnn_mrz.yml")
    assert rec_image_shape(cfg, "Train") == [3, 48, 960]
    assert 960 // MV3_REC_WIDTH_FACTOR == 240 >= 2 * 44 + 1


def test_svtr_lcnet_architecture_and_shapes():
    cfg = load("rec_svtr_lcnet_bz.yml")
    g, arch = cfg["Global"], cfg["Architecture"]
    assert arch["algorithm"] == "SVTR_LCNet"
    assert arch["Backbone"] == {"name": "PPLCNetV3", "scale": 0.95}
    assert arch["Head"]["name"] == "MultiHead"
    heads = {next(iter(h)): h[next(iter(h))] for h in arch["Head"]["head_list"]}
    assert set(heads) == {"CTCHead", "NRTRHead"}
    assert heads["CTCHead"]["Neck"]["name"] == "svtr"
    assert heads["NRTRHead"]["max_text_length"] == g["max_text_length"]
    assert cfg["Loss"]["name"] == "MultiLoss"
    losses = [next(iter(x)) for x in cfg["Loss"]["loss_config_list"]]
    assert losses == ["CTCLoss", "NRTRLoss"]

    train_ds = cfg["Train"]["dataset"]
    assert train_ds["name"] == "MultiScaleDataSet"
    assert cfg["Eval"]["dataset"]["name"] == "SimpleDataSet"
    for split in ("Train", "Eval"):
        assert transform(cfg, split, "MultiLabelEncode")["gtc_encode"] == "NRTRLabelEncode"
        assert transform(cfg, split, "KeepKeys")["keep_keys"] == [
            "image", "label_ctc", "label_gtc", "length", "valid_ratio"]
    # The multi-scale sampler resizes the training images; no fixed RecResizeImg in Train.
    assert not has_transform(cfg, "Train", "RecResizeImg")

    sampler = cfg["Train"]["sampler"]
    assert sampler["name"] == "MultiScaleSampler"
    assert sampler["scales"] == [[320, 32], [320, 48], [320, 64]]
    assert sampler["fix_bs"] is False
    assert sampler["divided_factor"] == [8, 16]
    assert sampler["is_training"] is True
    assert sampler["first_bs"] == cfg["Train"]["loader"]["batch_size_per_card"]

    d2s = g["d2s_train_image_shape"]
    eval_shape = rec_image_shape(cfg, "Eval")
    assert d2s == eval_shape == [3, 48, 320]
    widths = {w for w, _ in sampler["scales"]}
    heights = {h for _, h in sampler["scales"]}
    assert widths == {eval_shape[2]}, "train and eval widths differ"
    assert eval_shape[1] in heights
    for w, h in sampler["scales"]:
        assert w % sampler["divided_factor"][0] == 0 and h % sampler["divided_factor"][1] == 0
    # PPLCNetV3 gives width // 8 = 40 CTC steps at 320: enough for 25 characters with up to 15
    # repeated neighbours, but not the conservative 2L+1 bound (upstream PP-OCRv4 uses the same).
    steps = eval_shape[2] // PPLCNETV3_REC_WIDTH_FACTOR
    assert steps == 40 and steps > g["max_text_length"]


def test_det_structure():
    cfg = load("det_db_mv3.yml")
    arch = cfg["Architecture"]
    assert arch["model_type"] == "det" and arch["algorithm"] == "DB"
    assert arch["Backbone"] == {"name": "MobileNetV3", "scale": 0.5, "model_name": "large"}
    assert arch["Neck"]["name"] == "DBFPN"
    assert arch["Head"]["name"] == "DBHead"
    assert cfg["Loss"]["name"] == "DBLoss"
    assert cfg["PostProcess"]["name"] == "DBPostProcess"
    assert cfg["Metric"]["name"] == "DetMetric"
    assert cfg["Train"]["dataset"]["name"] == cfg["Eval"]["dataset"]["name"] == "SimpleDataSet"
    for split in ("Train", "Eval"):
        assert has_transform(cfg, split, "DetLabelEncode")
        assert has_transform(cfg, split, "NormalizeImage")
        assert has_transform(cfg, split, "ToCHWImage")
    for op in ("MakeBorderMap", "MakeShrinkMap", "EastRandomCropData"):
        assert has_transform(cfg, "Train", op)
    assert has_transform(cfg, "Eval", "DetResizeForTest")
    assert cfg["Eval"]["loader"]["batch_size_per_card"] == 1
    crop = transform(cfg, "Train", "EastRandomCropData")["size"]
    assert all(s % 32 == 0 for s in crop), "DB needs sides divisible by 32"
