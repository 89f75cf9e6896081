"""The shard worker: read a shard's lines, augment every source, encode and write its variants.

`run_shard(config, shard)` is the unit of parallel work: a plain function of two small
picklable values, callable directly in a test, identical under loky, Ray and Dask. It
returns the shard's done-marker; the parent does all logging and progress.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import cv2

from augkit.codec import encode_jpeg, read_image_bytes, read_source_image, single_threaded_opencv
from augkit.config import GenerateConfig
from augkit.errors import SampleRejected
from augkit.lmdb_store import image_sink
from augkit.plan import Shard
from augkit.reader import Reject, read_sources
from augkit.recipe import VariantPlan, parse_recipe
from augkit.split import in_validation, source_key
from augkit.writer import finish_shard, image_relpath
from augkit.writer import reject_row as write_reject_row


_PLANS: dict[str, VariantPlan] = {}


def _compact_json_encoder() -> Callable[[Any], str]:
    """Compact JSON (no spaces, UTF-8 kept) of one manifest record, as `json.dumps(record,
    ensure_ascii=False, separators=(",", ":"))` writes it. `JSONEncoder.encode` builds its C
    encoder anew on every call, a fifth of the cost at one record per image, so where CPython's
    C encoder is available it is built once here."""
    from json import encoder

    if encoder.c_make_encoder is None:
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def not_json(value):
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    make = encoder.c_make_encoder(None, not_json, encoder.encode_basestring, None, ":", ",", False, False, True)
    return lambda record: "".join(make(record, 0))


manifest_json = _compact_json_encoder()


def variant_plan(config: GenerateConfig) -> VariantPlan:
    """The run's variant plan, built once per process and config from the recipes' plain data."""
    key = config.fingerprint()
    if key not in _PLANS:
        _PLANS[key] = VariantPlan(parse_recipe(config.recipe_strong, "strong recipe"),
                                  parse_recipe(config.recipe_weak, "weak recipe"), config.n_strong, config.n_weak)
    return _PLANS[key]


def reject_row(item: Reject) -> str:
    """One rejects.tsv row: line, path, reason, detail (tabs and newlines escaped)."""
    return write_reject_row(item.line, item.path, item.reason, item.detail)


def run_shard(config: GenerateConfig, shard: Shard) -> dict:
    """Make every variant of the shard's sources; write its parts, then its done-marker."""
    with single_threaded_opencv():
        return _run_shard(config, shard)


def _run_shard(config: GenerateConfig, shard: Shard) -> dict:
    started = time.perf_counter()
    plan = variant_plan(config)
    out = Path(config.out)
    timing = {"read": 0.0, "augment": 0.0, "encode": 0.0, "write": 0.0}
    labels, rejects, manifest = [], [], []
    counts = {"lines": shard.n_lines, "sources": 0, "images": 0, "rejects": 0, "val_sources": 0}
    images = image_sink(out, config.output_format)

    for item in read_sources(config.label_file, config.delimiter, config.rules(),
                             shard.start_byte, shard.start_line, shard.n_lines):
        if isinstance(item, Reject):
            rejects.append(reject_row(item))
            continue
        t = time.perf_counter()
        try:
            image = read_source_image(config.data_root, item.path)
        except SampleRejected as exc:
            rejects.append(reject_row(Reject(item.line, item.path, exc.reason, exc.detail)))
            continue
        timing["read"] += time.perf_counter() - t
        try:
            written = _write_variants(config, plan, item, image, images, manifest, timing)
        except (SampleRejected, cv2.error) as exc:
            reason, detail = (exc.reason, exc.detail) if isinstance(exc, SampleRejected) else ("augmentation failed", str(exc).strip().splitlines()[-1])
            rejects.append(reject_row(Reject(item.line, item.path, reason, detail)))
            continue
        split = "v" if in_validation(config.seed, source_key(item.path), config.val_fraction) else "t"
        counts["sources"] += 1
        counts["val_sources"] += split == "v"
        counts["images"] += len(written)
        if config.group_variants:
            labels.append(f"{split}\t{json.dumps(written, ensure_ascii=False)}\t{item.label}")
        else:
            labels.extend(f"{split}\t{path}\t{item.label}" for path in written)

    return finish_shard(out, shard.index, shard.start_line, config.fingerprint(), labels, rejects, manifest, counts,
                        timing, started, images)


def _write_source(config, source, image, images, manifest: list) -> str:
    """`--keep-source`: the source itself as variant 0, its own bytes when it is a baseline JPEG
    that decodes to what generate augments (no second compression), else encoded as variants are."""
    data = read_image_bytes(config.data_root, source.path)
    if not (data[:3] == b"\xff\xd8\xff" and image.ndim == 3 and image.shape[2] == 3):
        data = encode_jpeg(image, config.jpeg_quality)
    rel = image_relpath(source.line, 0, config.n_variants, config.max_per_folder, first=0)
    images.put(rel, data)
    manifest.append(manifest_json({"image": rel, "line": source.line, "source": source.path, "variant": 0,
                                   "recipe": "source", "size": [image.shape[1], image.shape[0]], "steps": []}))
    return rel


def _write_variants(config, plan, source, image, images, manifest: list, timing: dict) -> list[str]:
    written = [_write_source(config, source, image, images, manifest)] if config.keep_source else []
    seed, line, path, quality = config.seed, source.line, source.path, config.jpeg_quality
    n_variants, max_per_folder = config.n_variants, config.max_per_folder
    first = 0 if config.keep_source else 1
    augment = encode = write = 0.0
    clock, put = time.perf_counter, images.put
    for recipe, ctx in plan:
        t0 = clock()
        variant, applied = recipe.apply(image, seed, line, ctx)
        t1 = clock()
        data = encode_jpeg(variant, quality)
        t2 = clock()
        rel = image_relpath(line, ctx.variant, n_variants, max_per_folder, first)
        put(rel, data)
        t3 = clock()
        augment += t1 - t0
        encode += t2 - t1
        write += t3 - t2
        manifest.append(manifest_json({"image": rel, "line": line, "source": path,
                                               "variant": ctx.variant, "recipe": recipe.name,
                                               "size": [variant.shape[1], variant.shape[0]], "steps": applied}))
        written.append(rel)
    timing["augment"] += augment
    timing["encode"] += encode
    timing["write"] += write
    return written
