"""augkit config: bundled PaddleOCR configs made run-ready for generated data, or refused."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from augkit.cli import cli
from augkit.sample_set import sample_labels

REPO = Path(__file__).resolve().parents[1]


def _generate(tmp_path: Path, kind: str, dict_name: str) -> Path:
    """Generate from the sample lines of one kind (mrz, bz, korean), with a validation split."""
    samples = sample_labels()
    labels = tmp_path / f"{kind}.txt"
    labels.write_text("".join(line + "\n" for line in samples.read_text(encoding="utf-8").splitlines()
                              if line.startswith(f"images/{kind}_")), encoding="utf-8")
    out = tmp_path / f"gen_{kind}"
    result = CliRunner().invoke(cli, ["generate", "--quiet", "--input", str(labels), "--data-dir", str(samples.parent),
                                      "--out", str(out), "--strong", "2", "--weak", "1", "--val-fraction", "0.3",
                                      "--dict", str(REPO / "labels" / dict_name)])
    assert result.exit_code == 0, result.output
    return out


def _config(*args):
    return CliRunner().invoke(cli, ["config", *args])


def test_crnn_mrz_config_is_made_run_ready(tmp_path):
    data = _generate(tmp_path, "mrz", "mrz_dict.txt")
    result = _config("rec_crnn_mrz", "--data", str(data), "--cpu")
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((data / "rec_crnn_mrz.yml").read_text(encoding="utf-8"))
    g = config["Global"]
    assert g["max_text_length"] == 44 and g["use_gpu"] is False and g["pretrained_model"] is None
    assert Path(g["character_dict_path"]).is_absolute() and Path(g["character_dict_path"]).name == "mrz_dict.txt"
    for part, name in (("Train", "train.txt"), ("Eval", "val.txt")):
        dataset = config[part]["dataset"]
        assert dataset["data_dir"] == str(data.resolve())
        assert dataset["label_file_list"] == [str(data.resolve() / name)]
    shapes = {tuple(t["RecResizeImg"]["image_shape"]) for part in ("Train", "Eval")
              for t in config[part]["dataset"]["transforms"] if isinstance(t, dict) and "RecResizeImg" in t}
    [(channels, height, width)] = shapes
    # the sample MRZ crops are ~34x wider than high: width follows their aspect ratio, and
    # width / 4 CTC steps hold 2 * 44 + 1 with room to spare
    assert height == 48 and width % 32 == 0 and width // 4 >= 89 and width >= 48 * 30
    train_lines = len((data / "train.txt").read_text().splitlines())
    assert config["Train"]["loader"]["batch_size_per_card"] == min(64, train_lines)
    assert "python tools/train.py -c" in result.output and "-o Global.use_gpu=False" in result.output
    # PaddleOCR's export would give CRNN a height of 32: the printed export command keeps 48
    assert "Architecture.algorithm=SVTR_LCNet" in result.output and "paddle2onnx --model_dir" in result.output


def test_svtr_and_korean_configs(tmp_path):
    bz = _generate(tmp_path, "bz", "en_dict.txt")
    result = _config("rec_svtr_lcnet_bz", "--data", str(bz), "--out", str(tmp_path / "bz.yml"))
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((tmp_path / "bz.yml").read_text(encoding="utf-8"))
    longest = max(len(line.split("\t")[1]) for name in ("train.txt", "val.txt")
                  for line in (bz / name).read_text(encoding="utf-8").splitlines())
    # NRTR drops labels of max_text_length - 1 characters or more: two more than the longest
    assert config["Global"]["max_text_length"] == longest + 2
    heads = config["Architecture"]["Head"]["head_list"]
    nrtr = [h["NRTRHead"] for h in heads if "NRTRHead" in h][0]
    assert nrtr["max_text_length"] == longest + 2

    korean = _generate(tmp_path, "korean", "korean_dict.txt")
    assert _config("rec_crnn_korean", "--data", str(korean)).exit_code == 0
    config = yaml.safe_load((korean / "rec_crnn_korean.yml").read_text(encoding="utf-8"))
    assert Path(config["Global"]["character_dict_path"]).name == "korean_dict.txt"


def test_refusals_name_the_reason(tmp_path):
    mixed = tmp_path / "mixed"
    assert CliRunner().invoke(cli, ["generate", "--quiet", "--out", str(mixed), "--strong", "1", "--weak", "0",
                                    "--val-fraction", "0.3"]).exit_code == 0
    outside = _config("rec_crnn_mrz", "--data", str(mixed))
    assert outside.exit_code == 2 and "characters outside mrz_dict.txt" in outside.output
    mrz = _generate(tmp_path, "mrz", "mrz_dict.txt")
    too_long = _config("rec_svtr_lcnet_bz", "--data", str(mrz), "--dict", str(REPO / "labels" / "en_dict.txt"))
    assert too_long.exit_code == 2 and "CTC time steps" in too_long.output
    no_val = tmp_path / "noval"
    assert CliRunner().invoke(cli, ["generate", "--quiet", "--out", str(no_val), "--strong", "1", "--weak", "0"]).exit_code == 0
    assert "no validation labels" in _config("rec_crnn_korean", "--data", str(no_val)).output
    unknown = _config("rec_nothing", "--data", str(mrz))
    assert unknown.exit_code == 2 and "rec_crnn_mrz" in unknown.output
    # a refused config is not written
    assert not (mixed / "rec_crnn_mrz.yml").exists() and not (mrz / "rec_svtr_lcnet_bz.yml").exists()
    assert not (mrz / "rec_nothing.yml").exists() and not (no_val / "rec_crnn_korean.yml").exists()


def test_detection_config_gets_data_paths(tmp_path):
    data = tmp_path / "pages"
    result = CliRunner().invoke(cli, ["synth", "--kind", "page", "--count", "4", "--val-fraction", "0.5", "--seed", "1",
                                      "--out", str(data), "--quiet"])
    assert result.exit_code == 0, result.output
    result = _config("det_db_mv3", "--data", str(data), "--gpu")
    assert result.exit_code == 0, result.output
    assert "train.txt: " in result.output and " pages, " in result.output
    config = yaml.safe_load((data / "det_db_mv3.yml").read_text(encoding="utf-8"))
    assert config["Global"]["use_gpu"] is True
    assert config["Train"]["dataset"]["data_dir"] == str(data.resolve())
    assert config["Eval"]["dataset"]["label_file_list"] == [str(data.resolve() / "val.txt")]


def test_detection_config_refuses_recognition_labels_and_broken_pages(tmp_path):
    rec = _generate(tmp_path, "bz", "en_dict.txt")
    result = _config("det_db_mv3", "--data", str(rec), "--gpu")
    assert result.exit_code != 0 and "augkit synth --kind page" in result.output
    data = tmp_path / "pages"
    data.mkdir()
    (data / "train.txt").write_text('p.jpg\t[{"transcription": "A", "points": [[0, 0], [9, 0], [9, 9]]}]\n')
    (data / "val.txt").write_text('p.jpg\t[{"transcription": "A", "points": [[0, 0], [9, 0], [9, 9], [0, 9]]}]\n')
    result = _config("det_db_mv3", "--data", str(data), "--gpu")
    assert result.exit_code != 0 and "train.txt:1: region 1 has wrong number of points" in result.output


def _bundled(name: str) -> dict:
    return yaml.safe_load((REPO / "paddle_configs" / f"{name}.yml").read_text(encoding="utf-8"))


def _with_height(config: dict, height: int) -> dict:
    for part in ("Train", "Eval"):
        for t in config[part]["dataset"]["transforms"]:
            if isinstance(t, dict) and "RecResizeImg" in t:
                t["RecResizeImg"]["image_shape"][1] = height
    return config


def test_export_commands_keep_the_trained_height(tmp_path):
    from augkit.paddle_config import export_commands, export_overrides

    # tools/export_model.py fixes the height by algorithm: CRNN 32, SVTR_LCNet 48
    assert export_overrides(_bundled("rec_crnn_mrz")) == ["Architecture.algorithm=SVTR_LCNet"]
    assert export_overrides(_bundled("rec_crnn_korean")) == ["Architecture.algorithm=SVTR_LCNet"]
    assert export_overrides(_bundled("rec_svtr_lcnet_bz")) == []
    assert export_overrides(_bundled("det_db_mv3")) == []
    assert export_overrides(_with_height(_bundled("rec_crnn_mrz"), 32)) == []
    assert export_overrides(_with_height(_bundled("rec_crnn_mrz"), 64)) is None
    config = _bundled("rec_crnn_mrz")
    export, convert = export_commands(config, tmp_path / "run.yml")
    save = config["Global"]["save_model_dir"].rstrip("/")
    assert export == ["python", "tools/export_model.py", "-c", str(tmp_path / "run.yml"), "-o",
                      f"Global.pretrained_model={save}/best_accuracy", f"Global.save_inference_dir={save}/inference",
                      "Architecture.algorithm=SVTR_LCNet"]
    assert convert[0] == "paddle2onnx" and convert[convert.index("--model_dir") + 1] == f"{save}/inference"
    assert convert[-2:] == ["--save_file", f"{save}/inference/model.onnx"]

    # a height no override can give is said, not hidden
    tall = tmp_path / "tall.yml"
    tall.write_text(yaml.safe_dump(_with_height(_bundled("rec_crnn_mrz"), 64)), encoding="utf-8")
    result = _config(str(tall), "--data", str(_generate(tmp_path, "mrz", "mrz_dict.txt")), "--cpu")
    assert result.exit_code == 0, result.output
    assert "exports this algorithm at a fixed input height" in result.output and "paddle2onnx" not in result.output
