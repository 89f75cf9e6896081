"""`augkit eval` and `augkit build-engine` from the command line, on real PP-OCRv4 models and crops
whose text we know, checked against an independent, straightforward re-implementation of
PaddleOCR's preprocessing and decoding."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("onnxruntime")

from eval_models import chinese_model, english_model, render_lines, tiny_ctc_model  # noqa: E402

from augkit.cli import cli  # noqa: E402
from augkit.sample_set import sample_labels  # noqa: E402


def run(*args: str):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def read(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]


def reference_predictions(model: Path, dictionary: Path, labels: Path, data_dir: Path, height: int,
                          widths: list[int], space: bool = True) -> dict[str, tuple[str, float]]:
    """PaddleOCR's eval path written out plainly, one image at a time: DecodeImage (cv2, BGR),
    resize_norm_img into the narrowest width that holds the crop, the model at batch 1,
    CTCLabelDecode. Shares no code with augkit."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    with open(dictionary, "rb") as f:
        characters = [line.decode("utf-8").strip("\n").strip("\r\n") for line in f.readlines()]
    characters = ["blank"] + characters + ([" "] if space else [])
    results = {}
    for line in labels.read_text(encoding="utf-8").splitlines():
        path, label = line.split("\t", 1)
        img = cv2.imdecode(np.fromfile(str(data_dir / path), dtype=np.uint8), 1)
        h, w = img.shape[0], img.shape[1]
        ratio = w / float(h)
        img_w = max(widths)
        for candidate in sorted(widths):
            if math.ceil(height * ratio) <= candidate:
                img_w = candidate
                break
        resized_w = img_w if math.ceil(height * ratio) > img_w else int(math.ceil(height * ratio))
        resized = cv2.resize(img, (resized_w, height)).astype("float32")
        resized = resized.transpose((2, 0, 1)) / 255
        resized -= 0.5
        resized /= 0.5
        padded = np.zeros((3, height, img_w), dtype=np.float32)
        padded[:, :, 0:resized_w] = resized
        preds = session.run(None, {name: padded[np.newaxis]})[0]
        index, prob = preds.argmax(axis=2)[0], preds.max(axis=2)[0]
        chars, confs = [], []
        for t in range(len(index)):
            if index[t] == 0 or (t > 0 and index[t] == index[t - 1]):
                continue
            chars.append(characters[index[t]])
            confs.append(prob[t])
        results[path] = ("".join(chars), float(np.mean(confs)) if confs else 0.0)
    return results


@pytest.fixture(scope="module")
def known_set(tmp_path_factory) -> tuple[Path, Path]:
    """The bundled sample set's 20 BZ-field crops (DejaVu) and 20 rendered lines, one label file."""
    folder = tmp_path_factory.mktemp("known")
    render_lines(folder)
    samples = sample_labels().parent
    (folder / "samples").mkdir()
    lines = []
    for line in sample_labels().read_text(encoding="utf-8").splitlines():
        if line.startswith("images/bz_"):
            shutil.copy(samples / line.split("\t")[0], folder / "samples")
            lines.append("samples/" + line.split("/", 1)[1])
    labels = folder / "val.txt"
    labels.write_text("\n".join(lines) + "\n" + (folder / "labels.txt").read_text(encoding="utf-8"), encoding="utf-8")
    return folder, labels


@pytest.fixture(scope="module")
def english_run(known_set, tmp_path_factory):
    model, dictionary = english_model()
    folder, labels = known_set
    out = tmp_path_factory.mktemp("english") / "report"
    code, output = run("eval", "--model", model, "--dict", dictionary, "--space", "--labels", labels,
                       "--width", 320, "--width", 640, "--batch", 8, "--out", out, "--quiet")
    assert code == 0, output
    return model, dictionary, folder, labels, out, output


def test_english_model_scores_known_text(english_run):
    model, dictionary, folder, labels, out, output = english_run
    assert {p.name for p in out.iterdir()} >= {"predictions.jsonl", "metrics.json", "rejects.tsv", "report.html"}
    doc = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    predictions = {p["gt"]: p for p in read(out)}
    assert doc["counts"] == {"lines": 40, "scored": 40, "rejected": 0}
    # Measured here: 35 of 40 exact (0.875), CER 0.98%; every miss is a space the model reads
    # before or after a line (more often with the Serif font). The bundled crops are fixed files,
    # so they are read exactly; the rendered ones depend a little on Pillow's rasteriser.
    assert doc["metrics"]["n"] == 40 and doc["metrics"]["accuracy"] >= 0.8
    assert doc["metrics"]["cer"] <= 0.02
    bundled = [p for p in read(out) if p["path"].startswith("samples/")]
    assert len(bundled) == 20 and all(p["prediction"] == p["gt"] for p in bundled)
    assert all(p["prediction"].strip() == p["gt"] for p in read(out))
    for text in ("KIM HAEUN", "22/06/1980", "GARCIA SARAH ELIZABETH", "Place of birth: Stockholm"):
        assert predictions[text]["prediction"] == text
    squashed = predictions["Authority: Ministry of Foreign Affairs of the Kingdom"]
    assert (squashed["width"], squashed["resized_width"], squashed["flags"]) == (640, 640, ["squashed"])
    run_info = doc["run"]
    assert run_info["backend"] == "onnxruntime" and run_info["classes"] == 97 and run_info["space"] is True
    assert run_info["widths"] == [320, 640] and run_info["time_steps"] == {"320": 40, "640": 80}
    timing = doc["timing"]
    assert timing["images"] == 40 and timing["images_per_s"] > 0 and timing["model_only_images_per_s"] > 0
    assert timing["latency_ms"]["p50"] <= timing["latency_ms"]["p90"] <= timing["latency_ms"]["p99"]
    assert timing["stages_ms"]["h2d"] is None and timing["stages_ms"]["compute"] > 0
    assert "accuracy" in output


def test_english_model_equals_an_independent_implementation(english_run):
    """Every prediction equal, sample by sample, to the plain re-implementation at batch 1."""
    model, dictionary, folder, labels, out, _ = english_run
    expected = reference_predictions(model, dictionary, labels, folder, 48, [320, 640])
    got = {p["path"]: (p["prediction"], p["confidence"]) for p in read(out)}
    assert set(got) == set(expected)
    for path, (text, confidence) in expected.items():
        assert got[path][0] == text, path
        assert got[path][1] == pytest.approx(confidence, abs=1e-6), path


def test_dictionary_from_the_model_metadata(known_set, english_run, tmp_path):
    folder, labels = known_set
    out = tmp_path / "zh"
    code, output = run("eval", "--model", chinese_model(), "--labels", labels, "--width", 320, "--width", 640,
                       "--out", out, "--quiet")
    assert code == 0, output
    doc = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert doc["run"]["classes"] == 6625 and doc["run"]["space"] is True and doc["run"]["space_inferred"] is True
    assert "metadata 'character'" in doc["run"]["dict"]
    predictions = {p["gt"]: p["prediction"] for p in read(out)}
    # Measured: the Chinese model reads these Latin lines too (it adds edge spaces on others).
    for text in ("27 SEP 1991", "X6HPCJP7T", "1234567890", "REPUBLIC OF KOREA", "Passport No. 4417"):
        assert predictions[text].strip() == text
    assert doc["metrics"]["cer"] <= 0.05
    # ... and comparing the two models' runs sample by sample
    code, output = run("eval", "--compare", english_run[4], out)
    assert code == 0, output
    assert "40" in output


def test_html_metadata_dictionary_is_refused(known_set, tmp_path):
    model, _ = english_model()
    folder, labels = known_set
    code, output = run("eval", "--model", model, "--labels", labels, "--out", tmp_path / "r")
    assert code == 2
    assert "not a character dictionary" in output and "HTML page" in output and "--dict" in output
    assert not (tmp_path / "r").exists()


def test_wrong_dictionary_is_refused_before_anything_is_written(known_set, tmp_path):
    model, dictionary = english_model()
    folder, labels = known_set
    short = tmp_path / "short.txt"
    short.write_bytes(b"".join(dictionary.read_bytes().splitlines(keepends=True)[:-1]))  # one character missing
    code, output = run("eval", "--model", model, "--dict", short, "--space", "--labels", labels, "--out", tmp_path / "r")
    assert code == 2
    assert "the model outputs 97 classes but dictionary" in output and "96 (94 entries + blank + space)" in output
    assert not (tmp_path / "r").exists()
    code, output = run("eval", "--model", model, "--dict", dictionary, "--no-space", "--labels", labels,
                       "--out", tmp_path / "r")
    assert code == 2 and "agree with --space" in output


def test_mrz_lines_scored_with_check_digits(tmp_path):
    model, dictionary = english_model()
    samples = sample_labels().parent
    labels = tmp_path / "mrz.txt"
    labels.write_text("".join(line + "\n" for line in sample_labels().read_text(encoding="utf-8").splitlines()
                              if line.startswith(("images/mrz_01", "images/mrz_02"))), encoding="utf-8")
    out = tmp_path / "r"
    code, output = run("eval", "--model", model, "--dict", dictionary, "--labels", labels, "--data-dir", samples,
                       "--width", 640, "--batch", 2, "--mrz", "--out", out, "--quiet")
    assert code == 0, output
    doc = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert doc["run"]["mrz"] is True and "mrz" in doc["metrics"]
    assert [p["flags"] for p in read(out)] == [["squashed"], ["squashed"]]  # 44 OCR-B characters need > 640 px


def test_unreadable_images_are_recorded_not_dropped(tmp_path):
    from conftest import text_line

    # Tiny model with a 5-character dictionary: the point here is the bookkeeping, not the reading.
    model = tiny_ctc_model(tmp_path / "tiny.onnx")
    (tmp_path / "d.txt").write_text("a\nb\nc\nd\ne\n", encoding="utf-8")
    cv2.imwrite(str(tmp_path / "ok.png"), text_line(200, 48, "abc"))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    (tmp_path / "labels.txt").write_text("ok.png\tabc\nmissing.png\tx\n\nbroken.jpg\ty\nok.png\t\n", encoding="utf-8")
    out = tmp_path / "r"
    code, output = run("eval", "--model", model, "--dict", tmp_path / "d.txt", "--labels", tmp_path / "labels.txt",
                       "--width", 256, "--out", out, "--quiet")
    assert code == 0, output
    rejects = (out / "rejects.tsv").read_text(encoding="utf-8").splitlines()
    assert [r.split("\t")[:3] for r in rejects] == [["2", "missing.png", "missing image"],
                                                    ["4", "broken.jpg", "undecodable image"],
                                                    ["5", "ok.png", "empty label"]]
    doc = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert doc["counts"] == {"lines": 4, "scored": 1, "rejected": 3}
    assert [p["id"] for p in read(out)] == [1]


def test_bad_invocations_exit_2(tmp_path):
    model = tiny_ctc_model(tmp_path / "tiny.onnx", height=32)
    (tmp_path / "d.txt").write_text("a\nb\nc\nd\ne\n", encoding="utf-8")
    (tmp_path / "labels.txt").write_text("x.png\tabc\n", encoding="utf-8")
    base = ["eval", "--dict", tmp_path / "d.txt", "--out", tmp_path / "r"]
    cases = [
        (["eval", "--labels", tmp_path / "labels.txt"], "needs --model, --out"),
        (base + ["--model", model, "--labels", tmp_path / "none.txt"], "does not exist"),
        (base + ["--model", tmp_path / "none.onnx", "--labels", tmp_path / "labels.txt"], "does not exist"),
        (base + ["--model", model, "--labels", tmp_path / "labels.txt"], "no model takes batches of 8×3×48×320"),
        (base + ["--model", model, "--labels", tmp_path / "labels.txt", "--height", 32, "--backend", "tensorrt"],
         "build one with augkit build-engine"),
        (base + ["--model", model, "--labels", tmp_path / "labels.txt", "--height", 32], "no line of"),
    ]
    for args, message in cases:
        code, output = run(*args)
        assert code == 2, (args, output)
        assert message in output, (args, output)
    assert not (tmp_path / "r").exists()


def test_help():
    for command in ("eval", "build-engine"):
        code, output = run(command, "--help")
        assert code == 0 and "Usage" in output


def test_build_engine_then_eval_the_engine(monkeypatch, tmp_path):
    """build-engine and eval --model E.engine through the TensorRT stand-in give what ONNX Runtime gives."""
    import trt_standin
    from conftest import text_line

    pytest.importorskip("onnx")
    trt_standin.install(monkeypatch, "10.13.0")
    model = tiny_ctc_model(tmp_path / "tiny.onnx")
    (tmp_path / "d.txt").write_text("a\nb\nc\nd\ne\n", encoding="utf-8")
    lines = []
    for i in range(5):
        cv2.imwrite(str(tmp_path / f"c{i}.png"), text_line(120 + 40 * i, 40, "ab" * (i + 1), seed=i))
        lines.append(f"c{i}.png\t{'ab' * (i + 1)}\n")
    (tmp_path / "labels.txt").write_text("".join(lines), encoding="utf-8")
    engine = tmp_path / "tiny.engine"
    code, output = run("build-engine", model, "--width", 256, "--max-batch", 4, "--timing-cache", tmp_path / "cache",
                       "--out", engine)
    assert code == 0, output
    assert "TensorRT 10.13.0, fp32, batch 1..4" in output and (tmp_path / "tiny.engine.json").is_file()
    common = ["--dict", tmp_path / "d.txt", "--labels", tmp_path / "labels.txt", "--width", 256, "--batch", 4, "--quiet"]
    assert run("eval", "--model", engine, "--out", tmp_path / "trt", *common)[0] == 0
    assert run("eval", "--model", model, "--out", tmp_path / "ort", *common)[0] == 0
    assert read(tmp_path / "trt") == read(tmp_path / "ort")
    doc = json.loads((tmp_path / "trt" / "metrics.json").read_text(encoding="utf-8"))
    assert doc["run"]["backend"] == "tensorrt" and doc["run"]["device"] == "Stand-in GPU"
    code, output = run("eval", "--model", engine, "--out", tmp_path / "big", *common[:-3], "--batch", 8)
    assert code == 2 and "--batch 8 is outside its profile" in output
