"""PaddleOCR's eval-time resize, width buckets, flags, batching and batch-composition invariance."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from augkit.eval.load import read_image, read_samples
from augkit.eval.pipeline import EvalConfig, evaluate, make_batches
from augkit.eval.preprocess import NORMALISE, natural_width, place, resize_normalise


def paddle_resize_norm_img(img: np.ndarray, image_shape: tuple[int, int, int]) -> np.ndarray:
    """ppocr/data/imaug/rec_img_aug.py resize_norm_img (padding=True), step by step as PaddleOCR
    writes it: the reference augkit must equal bit for bit."""
    img_c, img_h, img_w = image_shape
    h, w = img.shape[0], img.shape[1]
    ratio = w / float(h)
    if math.ceil(img_h * ratio) > img_w:
        resized_w = img_w
    else:
        resized_w = int(math.ceil(img_h * ratio))
    resized_image = cv2.resize(img, (resized_w, img_h))
    resized_image = resized_image.astype("float32")
    resized_image = resized_image.transpose((2, 0, 1)) / 255
    resized_image -= 0.5
    resized_image /= 0.5
    padding_im = np.zeros((img_c, img_h, img_w), dtype=np.float32)
    padding_im[:, :, 0:resized_w] = resized_image
    return padding_im


def test_normalisation_table():
    assert NORMALISE.dtype == np.float32 and NORMALISE[0] == -1.0 and NORMALISE[255] == 1.0
    assert NORMALISE[128] == np.float32((np.float32(128) / np.float32(255) - np.float32(0.5)) / np.float32(0.5))


@pytest.mark.parametrize("height, width", [(48, 320), (32, 100), (48, 640), (64, 256)])
def test_resize_is_bit_identical_to_paddleocr(height, width):
    rng = np.random.default_rng(height * width)
    for _ in range(40):
        h, w = int(rng.integers(5, 120)), int(rng.integers(3, 1400))
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        expected = paddle_resize_norm_img(img, (3, height, width))
        placement = place(h, w, height, (width,))
        got = resize_normalise(img, height, placement)
        assert got.dtype == np.float32 and got.shape == (3, height, width)
        assert np.array_equal(got, expected), (h, w)


def test_width_uses_paddleocrs_floating_point_expression():
    # 100 * (11 / 5) = 220.00000000000003 in floating point: PaddleOCR resizes to 221, not 220.
    assert natural_width(5, 11, 100) == 221
    assert natural_width(30, 100, 48) == 160


def test_narrowest_bucket_that_holds_the_crop():
    widths = (225, 300, 480)
    assert place(48, 200, 48, widths) == place(48, 200, 48, widths)
    assert (place(48, 200, 48, widths).width, place(48, 200, 48, widths).squashed) == (225, False)
    assert place(48, 225, 48, widths).width == 225          # exactly fits
    assert place(48, 226, 48, widths).width == 300
    assert place(24, 150, 48, widths).resized_width == 300  # upscaled to height 48 first
    wide = place(48, 900, 48, widths)
    assert (wide.width, wide.resized_width, wide.squashed) == (480, 480, True)


def test_written_into_a_zeroed_slot(line_image):
    out = np.zeros((2, 3, 48, 640), np.float32)
    placement = place(*line_image.shape[:2], 48, (640,))
    resize_normalise(line_image, 48, placement, out=out[1])
    assert np.array_equal(out[1], paddle_resize_norm_img(line_image, (3, 48, 640)))
    assert not out[0].any() and not out[1, :, :, placement.resized_width:].any()


def _write(folder: Path, rows: list[tuple[str, np.ndarray | bytes | None, str]]) -> Path:
    lines = []
    for name, image, label in rows:
        if isinstance(image, np.ndarray):
            cv2.imwrite(str(folder / name), image)
        elif isinstance(image, bytes):
            (folder / name).write_bytes(image)
        lines.append(f"{name}\t{label}\n")
    labels = folder / "labels.txt"
    labels.write_text("".join(lines), encoding="utf-8")
    return labels


@pytest.mark.parametrize("readers", [1, 3])
def test_batches_by_bucket_in_order_with_rejects(tmp_path, readers):
    from conftest import text_line

    rows = [(f"n{i}.png", text_line(100 + 10 * i, 48, f"N{i}", seed=i), f"N{i}") for i in range(5)]
    rows += [(f"w{i}.png", text_line(500 + 10 * i, 48, f"W{i}", seed=i), f"W{i}") for i in range(3)]
    rows.insert(2, ("missing.png", None, "gone"))
    rows.insert(4, ("broken.png", b"not an image", "bad"))
    labels = _write(tmp_path, rows)
    sources, rejects = read_samples(labels)
    batches = list(make_batches(sources, tmp_path, 48, (320, 640), 2, rejects, readers=readers))
    got = [(b.width, [s.label for s, _ in b.samples], b.array.shape[0]) for b in batches]
    assert got == [(320, ["N0", "N1"], 2), (320, ["N2", "N3"], 2), (640, ["W0", "W1"], 2),
                   (320, ["N4"], 1), (640, ["W2"], 1)]
    assert [(r.line, r.reason) for r in rejects] == [(3, "missing image"), (5, "undecodable image")]
    first = batches[0]
    image = read_image(tmp_path, "n0.png")
    assert np.array_equal(first.array[0], paddle_resize_norm_img(image, (3, 48, 320)))


def test_image_decoded_as_paddleocr_does(tmp_path):
    """Alpha is dropped (not composited) and grey becomes three channels, as cv2.imdecode(buf, 1)."""
    rgba = np.zeros((10, 20, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 0
    cv2.imwrite(str(tmp_path / "a.png"), rgba)
    cv2.imwrite(str(tmp_path / "g.png"), np.full((10, 20), 77, np.uint8))
    assert read_image(tmp_path, "a.png")[0, 0].tolist() == [200, 0, 0]
    assert read_image(tmp_path, "g.png").shape == (10, 20, 3)


@pytest.fixture(scope="module")
def english_set(tmp_path_factory):
    from eval_models import english_model, render_lines

    model, dictionary = english_model()
    folder = tmp_path_factory.mktemp("english")
    texts = ("ANDERSSON", "27 SEP 1991", "Bookkeeper", "X6HPCJP7T", "Place of birth: Stockholm",
             "Given names / Prenoms: ANNA MARIA ELISABETH", "MISSISSIPPI")
    return model, dictionary, render_lines(folder, texts)


def _predictions(out: Path) -> dict[str, tuple]:
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    return {r["path"]: (r["prediction"], r["confidence"], r["width"], r["resized_width"], r["flags"]) for r in rows}


def test_results_do_not_depend_on_batch_composition(english_set, tmp_path):
    """The same predictions and confidences with batch 1, 3 and 8, and with the lines shuffled
    (two width buckets, so batches also mix differently across buckets)."""
    model, dictionary, labels = english_set
    runs = {}
    for batch in (1, 3, 8):
        out = tmp_path / f"b{batch}"
        evaluate(EvalConfig(models=(model,), labels=labels, out=out, dict_file=dictionary, widths=(320, 640),
                            batch=batch, warmup=1), progress=False)
        runs[batch] = _predictions(out)
    lines = labels.read_text(encoding="utf-8").splitlines(keepends=True)
    random.Random(3).shuffle(lines)
    shuffled = labels.with_name("shuffled.txt")
    shuffled.write_text("".join(lines), encoding="utf-8")
    evaluate(EvalConfig(models=(model,), labels=shuffled, out=tmp_path / "s", dict_file=dictionary, widths=(320, 640),
                        batch=3, warmup=1), progress=False)
    runs["shuffled"] = _predictions(tmp_path / "s")
    assert runs[1] == runs[3] == runs[8] == runs["shuffled"]
    assert len(runs[1]) == 7
    assert runs[1]["img/line_005.png"][2:] == (640, 640, ["squashed"])
    assert runs[1]["img/line_004.png"][2] == 640 and not runs[1]["img/line_004.png"][4]


def test_labels_longer_than_the_time_steps_are_flagged(tmp_path):
    """At width 64 the tiny model has 8 time steps: 'aaaaa' needs 9 (blanks between the a's)."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from conftest import text_line
    from eval_models import tiny_ctc_model

    model = tiny_ctc_model(tmp_path / "tiny.onnx")
    (tmp_path / "d.txt").write_text("a\nb\nc\nd\ne\n", encoding="utf-8")
    labels = ("abcdeabc", "aaaa", "aaaaa", "abcdeabcd")
    for i, label in enumerate(labels):
        cv2.imwrite(str(tmp_path / f"{i}.png"), text_line(60, 48, label, seed=i))
    (tmp_path / "labels.txt").write_text("".join(f"{i}.png\t{t}\n" for i, t in enumerate(labels)), encoding="utf-8")
    doc = evaluate(EvalConfig(models=(model,), labels=tmp_path / "labels.txt", out=tmp_path / "r",
                              dict_file=tmp_path / "d.txt", widths=(64,), batch=2, warmup=1))
    assert doc["run"]["time_steps"] == {"64": 8}
    flags = {p["gt"]: p["flags"] for p in map(json.loads, (tmp_path / "r" / "predictions.jsonl").read_text().splitlines())}
    assert flags == {"abcdeabc": [], "aaaa": [], "aaaaa": ["too_long"], "abcdeabcd": ["too_long"]}
