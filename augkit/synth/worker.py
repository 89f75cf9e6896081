"""The synth shard worker: make a shard's items, render their crops, write them.

`synth_shard(config, shard)` is the unit of parallel work, like generate's `run_shard`: a plain
function of two small picklable values, callable directly in a test, identical under loky, Ray
and Dask, returning the shard's done-marker. Every item draws its content from
`item_rng(seed, item, 0)` and the look of its crop c from `item_rng(seed, item, c)`, so output
bytes depend on neither workers nor shard size.
"""

from __future__ import annotations

import json
import time
from pathlib import Path


from augkit.codec import encode_jpeg, single_threaded_opencv
from augkit.errors import SampleRejected
from augkit.plan import Shard
from augkit.reader import Reject
from augkit.seeding import item_rng
from augkit.split import in_validation, source_key
from augkit.synth.config import SynthConfig
from augkit.synth.content import make_item
from augkit.synth.corpus import read_texts, script_of
from augkit.synth.fonts import FontRef, covers, missing
from augkit.synth.render import render_line, sample_style
from augkit.lmdb_store import image_sink
from augkit.writer import finish_shard, image_relpath, reject_row, write_image


def synth_shard(config: SynthConfig, shard: Shard) -> dict:
    """Make every item of the shard; write its images and parts, then its done-marker."""
    with single_threaded_opencv():
        return _synth_shard(config, shard)


def _synth_shard(config: SynthConfig, shard: Shard) -> dict:
    if config.kind == "page":
        return _page_shard(config, shard)
    started = time.perf_counter()
    out = Path(config.out)
    timing = {"content": 0.0, "render": 0.0, "encode": 0.0, "write": 0.0}
    labels, rejects, manifest = [], [], []
    counts = {"lines": shard.n_lines, "sources": 0, "images": 0, "rejects": 0, "val_sources": 0}
    images = image_sink(out, config.output_format)
    t = time.perf_counter()
    for item in _items(config, shard):
        timing["content"] += time.perf_counter() - t
        if isinstance(item, Reject):
            rejects.append(reject_row(item.line, item.path, item.reason, item.detail))
            t = time.perf_counter()
            continue
        number, lines, record = item
        try:
            crops = render_item(config, number, lines, timing)
        except SampleRejected as exc:
            rejects.append(reject_row(number, record.get("corpus", ""), exc.reason, exc.detail))
            t = time.perf_counter()
            continue
        written = []
        for crop, (text, script, field, font, style, image, data) in enumerate(crops, start=1):
            t0 = time.perf_counter()
            rel = image_relpath(number, crop, config.crops_per_item, config.max_per_folder)
            images.put(rel, data)
            timing["write"] += time.perf_counter() - t0
            manifest.append(json.dumps({"image": rel, "item": number, "crop": crop, "label": text, "field": field,
                                        "script": script, "font": font.identity(),
                                        "size": [image.shape[1], image.shape[0]], "style": style,
                                        "content": record}, ensure_ascii=False, separators=(",", ":")))
            written.append((rel, text))
        split = "v" if in_validation(config.seed, source_key(written[0][0]), config.val_fraction) else "t"
        counts["sources"] += 1
        counts["val_sources"] += split == "v"
        counts["images"] += len(written)
        labels.extend(f"{split}\t{rel}\t{text}" for rel, text in written)
        t = time.perf_counter()
    return finish_shard(out, shard.index, shard.start_line, config.fingerprint(), labels, rejects, manifest, counts,
                        timing, started, images)


def _items(config: SynthConfig, shard: Shard):
    """(item number, lines, content record) for each item of the shard, or a Reject."""
    if config.kind == "text":
        for text in read_texts(config.corpus, shard.start_byte, shard.start_line, shard.n_lines):
            if isinstance(text, Reject):
                yield text
                continue
            script = script_of(text.text)
            yield text.line, [(text.text, script, "text")] * config.count, {"corpus": Path(config.corpus).name,
                                                                             "corpus_line": text.line}
        return
    for number in range(shard.start_line, shard.start_line + shard.n_lines):
        lines, record = make_item(config.kind, item_rng(config.seed, number, 0), config.mrz_layouts, config.romanised)
        yield number, lines, record


def render_item(config: SynthConfig, number: int, lines: list, timing: dict) -> list[tuple]:
    """Every crop of one item, rendered and encoded before any is written (an item is written
    whole or rejected whole)."""
    crops = []
    for crop, (text, script, field) in enumerate(lines, start=1):
        t0 = time.perf_counter()
        rng = item_rng(config.seed, number, crop)
        candidates = config.fonts if config.kind == "text" else config.fonts_for(script)
        fonts = [f for f in candidates if covers(f, text)]
        if not fonts:
            raise SampleRejected("no font draws the text", f"missing {missing(list(candidates), text)!r}")
        font = fonts[int(rng.integers(len(fonts)))]
        style = sample_style(rng, script)
        try:
            image = render_line(text, font, script, style, config.height)
        except ValueError as exc:
            raise SampleRejected("text cannot be rendered", str(exc)) from None
        t1 = time.perf_counter()
        data = encode_jpeg(image, config.jpeg_quality)
        timing["render"] += t1 - t0
        timing["encode"] += time.perf_counter() - t1
        crops.append((text, script, field, font, style, image, data))
    return crops


def replay(config: SynthConfig, record: dict):
    """Re-render one manifest record (before JPEG encoding): the proof that it explains its crop."""
    font = _font_by_identity(config, record["font"])
    return render_line(record["label"], font, record["script"], record["style"], config.height)


def _font_by_identity(config: SynthConfig, identity: dict) -> FontRef:
    for font in config.fonts:
        if font.sha256 == identity["sha256"] and font.face == identity["face"]:
            return font
    raise SampleRejected("font not in this run", identity["name"])


def page_images(config: SynthConfig, number: int, timing: dict) -> list[tuple[int, str, str, dict, bytes]]:
    """Every image of one page item, made before any is written: (crop number, split letter of
    the train/val pair it goes to, label, manifest record, JPEG bytes). Crop 1 is the page (its
    label the det annotation); with --rec-crops, crops 2.. are its lines."""
    from augkit.crop.quad import cut_region
    from augkit.synth.page import MAX_LINES, det_label, page_content, render_page, sample_look

    t0 = time.perf_counter()
    by_script = {script: config.fonts_for(script) for script in ("ocr", "latin", "hangul")}
    lines, record = page_content(item_rng(config.seed, number, 0), korean=bool(by_script["hangul"]))
    look = sample_look(item_rng(config.seed, number, 1), by_script, lines)
    if any(v is None for v in look["fonts"].values()):
        lacking = [role for role, v in look["fonts"].items() if v is None]
        raise SampleRejected("no font draws the text", f"roles {', '.join(lacking)}")
    page, regions = render_page(lines, look, list(config.fonts))
    if len(regions) > MAX_LINES:
        raise SampleRejected("page holds too many lines", f"{len(regions)} > {MAX_LINES}")
    t1 = time.perf_counter()
    out = [(1, "page", det_label(regions), {"label": "page", "regions": len(regions), "look": look,
                                              "content": record, "size": [page.shape[1], page.shape[0]]},
            encode_jpeg(page, config.jpeg_quality))]
    if config.rec_crops:
        for k, region in enumerate(regions, start=2):
            crop, cut = cut_region(page, tuple(map(tuple, region["points"])), region["text"], config.height)
            out.append((k, "rec", region["text"], {"label": region["text"], "field": region["field"],
                                                   "role": region["role"], "script": region["script"],
                                                   "quad": cut.quad, "size": [crop.shape[1], crop.shape[0]]},
                        encode_jpeg(crop, config.jpeg_quality)))
    timing["render"] += t1 - t0
    timing["encode"] += time.perf_counter() - t1
    return out


def _page_shard(config: SynthConfig, shard: Shard) -> dict:
    """A shard of page items: each page image with its det label (train.txt/val.txt) and, with
    --rec-crops, its line crops (rec_train.txt/rec_val.txt); a page and its crops share a side."""
    started = time.perf_counter()
    out = Path(config.out)
    timing = {"content": 0.0, "render": 0.0, "encode": 0.0, "write": 0.0}
    labels, rejects, manifest = [], [], []
    counts = {"lines": shard.n_lines, "sources": 0, "images": 0, "rejects": 0, "val_sources": 0}
    made_folders: set[str] = set()
    for number in range(shard.start_line, shard.start_line + shard.n_lines):
        try:
            images = page_images(config, number, timing)
        except SampleRejected as exc:
            rejects.append(reject_row(number, "", exc.reason, exc.detail))
            continue
        page_rel = image_relpath(number, 1, config.crops_per_item, config.max_per_folder)
        val = in_validation(config.seed, source_key(page_rel), config.val_fraction)
        for crop, what, label, record, data in images:
            t0 = time.perf_counter()
            rel = image_relpath(number, crop, config.crops_per_item, config.max_per_folder)
            write_image(out, rel, data, made_folders)
            timing["write"] += time.perf_counter() - t0
            manifest.append(json.dumps({"image": rel, "item": number, "crop": crop, **record,
                                        **({"page": page_rel} if crop > 1 else {})},
                                       ensure_ascii=False, separators=(",", ":")))
            split = ("v" if val else "t") if what == "page" else ("s" if val else "r")
            labels.append(f"{split}\t{rel}\t{label}")
        counts["sources"] += 1
        counts["val_sources"] += val
        counts["images"] += len(images)
    return finish_shard(out, shard.index, shard.start_line, config.fingerprint(), labels, rejects, manifest, counts,
                        timing, started)
