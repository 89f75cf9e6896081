"""`augkit eval`: load → preprocess → run → decode → score → report, wired together.

Everything that can refuse the run (label file, models, shapes, dictionary, class count) is
checked, and the models warmed up, before anything is written. A reader thread decodes and
preprocesses the next batches while the model runs the current one. Batches are formed per width
bucket, in label-file order, and always run at the full batch size, so a sample's prediction
does not depend on its neighbours; predictions are written in label-file order.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import os
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from augkit import __version__
from augkit.errors import SampleRejected, UserError
from augkit.eval.decode import Classes, check_count, ctc_greedy, ctc_steps, dictionary_entries, make_classes, read_dictionary
from augkit.eval.load import data_dir_for, read_image, read_samples
from augkit.lmdb_store import LmdbStore
from augkit.eval.preprocess import Placement, check_shape, normalised, place
from augkit.eval.runners import Runner, make_runner
from augkit.reader import Reject, Source

log = logging.getLogger("augkit.eval")

DEFAULT_WIDTH = 320
PREFETCH_BATCHES = 4


@dataclass(frozen=True)
class EvalConfig:
    """Every setting of one evaluation, validated by `evaluate`."""

    models: tuple[Path, ...]
    labels: Path
    out: Path
    dict_file: Path | None = None
    space: bool | None = None  # None: the one setting that matches the model's class count
    data_dir: Path | None = None  # default: the label file's folder
    height: int = 48
    widths: tuple[int, ...] = ()  # default: the models' fixed widths, else 320
    batch: int = 8
    backend: str = "auto"
    ignore_space: bool = False
    ignore_case: bool = False
    mrz: bool = False
    delimiter: str = "tab"
    warmup: int = 2  # untimed batches per width before the timed run
    prefetch: bool = True  # preprocess the next batches in a thread while the model runs
    readers: int = 0  # threads reading and preprocessing crops with prefetch; 0: half the CPUs, at most 8


@dataclass
class Batch:
    """Preprocessed crops of one width bucket, ready for the model."""

    width: int
    samples: list[tuple[Source, Placement]]
    array: np.ndarray  # (len(samples), 3, H, width) float32
    preprocess_s: float


@dataclass
class Timings:
    """Per-batch measurements of the timed run."""

    preprocess: list[float] = field(default_factory=list)
    h2d: list[float | None] = field(default_factory=list)
    compute: list[float] = field(default_factory=list)
    d2h: list[float | None] = field(default_factory=list)
    infer: list[float] = field(default_factory=list)
    decode: list[float] = field(default_factory=list)
    images: int = 0


@dataclass
class Prepared:
    """One crop read and preprocessed (only its resized part; the batch holds the padding)."""

    source: Source
    placement: Placement
    array: np.ndarray  # (3, H, resized_width) float32
    seconds: float


def prepare(source: Source, data_dir: Path, height: int, widths: tuple[int, ...]) -> Prepared | Reject:
    """Read, decode, place and preprocess one crop, or say why it cannot be scored."""
    start = time.perf_counter()
    try:
        image = read_image(data_dir, source.path)
    except SampleRejected as exc:
        return Reject(source.line, source.path, exc.reason, exc.detail)
    placement = place(image.shape[0], image.shape[1], height, widths)
    array = normalised(image, height, placement)
    return Prepared(source, placement, array, time.perf_counter() - start)


def prepared_in_order(sources: list[Source], data_dir: Path, height: int, widths: tuple[int, ...],
                      readers: int) -> Iterator[Prepared | Reject]:
    """`prepare` over every source, in order; with readers > 1 on that many threads (OpenCV's
    decode, resize and table lookup release the GIL), a bounded window ahead."""
    if readers <= 1:
        for source in sources:
            yield prepare(source, data_dir, height, widths)
        return
    window: deque = deque()
    with ThreadPoolExecutor(max_workers=readers, thread_name_prefix="augkit-eval-reader") as pool:
        todo = iter(sources)
        for source in todo:
            window.append(pool.submit(prepare, source, data_dir, height, widths))
            if len(window) >= readers * 4:
                break
        for source in todo:
            yield window.popleft().result()
            window.append(pool.submit(prepare, source, data_dir, height, widths))
        while window:
            yield window.popleft().result()


def make_batches(sources: list[Source], data_dir: Path, height: int, widths: tuple[int, ...], batch_size: int,
                 rejects: list[Reject], readers: int = 1) -> Iterator[Batch]:
    """Every source read and preprocessed in order; a batch is yielded when its bucket is full,
    the partial ones at the end. Unreadable images are appended to `rejects`."""
    pending: dict[int, Batch] = {}
    for item in prepared_in_order(sources, data_dir, height, widths, readers):
        if isinstance(item, Reject):
            rejects.append(item)
            continue
        width = item.placement.width
        batch = pending.get(width)
        if batch is None:
            batch = pending[width] = Batch(width, [], np.zeros((batch_size, 3, height, width), np.float32), 0.0)
        batch.array[len(batch.samples), :, :, :item.placement.resized_width] = item.array
        batch.samples.append((item.source, item.placement))
        batch.preprocess_s += item.seconds
        if len(batch.samples) == batch_size:
            del pending[width]
            yield batch
    for width in sorted(pending):
        batch = pending[width]
        batch.array = batch.array[:len(batch.samples)]
        yield batch


def prefetched(batches: Iterator[Batch], depth: int = PREFETCH_BATCHES) -> Iterator[Batch]:
    """The same batches, produced by a thread up to `depth` ahead of the consumer."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        q.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # re-raised in the consumer
            q.put(exc)

    thread = threading.Thread(target=produce, name="augkit-eval-batches", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def default_readers() -> int:
    """Reader threads: half the CPUs (the model's own threads want the rest), 1 to 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus // 2))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _assign_widths(runners: list[Runner], height: int, widths: tuple[int, ...], batch: int) -> dict[int, Runner]:
    """Each width to the first model that takes (batch, 3, height, width)."""
    assigned = {}
    for width in widths:
        reasons = []
        for runner in runners:
            reason = runner.input_range().refuse((batch, 3, height, width))
            if reason is None:
                assigned[width] = runner
                break
            reasons.append(f"{runner.describe()}: {reason}")
        else:
            raise UserError(f"no model takes batches of {batch}×3×{height}×{width} ({'; '.join(reasons)}); "
                            "check --height/--width/--batch against the model")
    for runner in runners:
        if runner not in assigned.values():
            log.warning("%s serves none of the widths %s", runner.describe(), ", ".join(map(str, widths)))
    return assigned


def _default_widths(runners: list[Runner]) -> tuple[int, ...]:
    fixed = {runner.input_range().fixed(3) for runner in runners} - {None}
    return tuple(sorted(fixed)) or (DEFAULT_WIDTH,)


def _dictionary(dict_file: Path | None, runners: list[Runner]) -> tuple[list[str], str]:
    """The dictionary entries and where they came from: `dict_file`, else the first model's metadata."""
    if dict_file is not None:
        return read_dictionary(dict_file), f"dictionary {dict_file}"
    text = runners[0].dictionary_text()
    if text is None:
        raise UserError(f"{runners[0].describe()} stores no dictionary; pass --dict the model's character file")
    return dictionary_entries(text), f"the dictionary stored in {runners[0].describe()} (metadata 'character')"


def _warm_up(assigned: dict[int, Runner], height: int, batch: int, n: int) -> dict[int, tuple[int, int]]:
    """Run `n` (at least one) untimed batches per width; (time steps, classes) per width."""
    shapes = {}
    for width, runner in assigned.items():
        zeros = np.zeros((batch, 3, height, width), np.float32)
        for _ in range(max(1, n)):
            out = runner.infer(zeros)
        shapes[width] = (int(out.shape[1]), int(out.shape[2]))
    return shapes


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50": None, "p90": None, "p99": None, "mean": None}
    ms = np.asarray(values) * 1000.0
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return {"p50": round(float(p50), 3), "p90": round(float(p90), 3), "p99": round(float(p99), 3),
            "mean": round(float(ms.mean()), 3)}


def _mean_ms(values: list) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return round(float(np.mean(values)) * 1000.0, 3)


def timing_summary(t: Timings, wall_s: float, warmup_batches: int, readers: int | None) -> dict:
    """The `timing` block of metrics.json."""
    model_s = sum(t.infer)
    return {"warmup_batches": warmup_batches, "batches": len(t.infer), "images": t.images,
            "wall_s": round(wall_s, 4), "images_per_s": round(t.images / wall_s, 2) if wall_s > 0 else None,
            "latency_ms": _percentiles([a + b for a, b in zip(t.infer, t.decode)]),
            "latency_scope": "one batch: model (host-to-device, compute, device-to-host) + CTC decode",
            "stages_ms": {"preprocess": _mean_ms(t.preprocess), "h2d": _mean_ms(t.h2d), "compute": _mean_ms(t.compute),
                          "d2h": _mean_ms(t.d2h), "decode": _mean_ms(t.decode)},
            "stages_scope": "mean per batch; preprocess = read + decode + resize + normalise summed over the batch's "
                            "crops, " + (f"done ahead of the model by {readers} reader thread(s)" if readers
                                         else "in the main thread, not overlapped with the model"),
            "model_only_images_per_s": round(t.images / model_s, 2) if model_s > 0 else None}


def run_batches(batches: Iterator[Batch], assigned: dict[int, Runner], classes: Classes, steps: dict[int, int],
                progress=None) -> tuple[list[dict], Timings]:
    """Predictions (unordered) and timings for every batch."""
    predictions: list[dict] = []
    t = Timings()
    for batch in batches:
        runner = assigned[batch.width]
        start = time.perf_counter()
        probs = runner.infer(batch.array)
        ran = time.perf_counter()
        decoded = ctc_greedy(probs, classes)
        done = time.perf_counter()
        stage = runner.last_times
        t.preprocess.append(batch.preprocess_s)
        t.h2d.append(stage.h2d)
        t.compute.append(stage.compute)
        t.d2h.append(stage.d2h)
        t.infer.append(ran - start)
        t.decode.append(done - ran)
        t.images += len(batch.samples)
        for (source, placement), (text, confidence) in zip(batch.samples, decoded):
            flags = []
            if placement.squashed:
                flags.append("squashed")
            if ctc_steps(source.label) > steps[batch.width]:
                flags.append("too_long")
            predictions.append({"id": source.line, "path": source.path, "gt": source.label, "prediction": text,
                                "confidence": confidence, "width": batch.width,
                                "resized_width": placement.resized_width, "flags": flags})
        if progress is not None:
            progress.update(len(batch.samples))
    return predictions, t


def evaluate(config: EvalConfig, progress: bool = False) -> dict:
    """Score the model(s) on the label file; write predictions.jsonl, rejects.tsv, metrics.json and
    report.html to config.out; return the metrics.json document."""
    data_dir = data_dir_for(config.labels, config.data_dir)
    try:
        document, predictions, rejects = _evaluate(config, data_dir, progress)
    finally:
        if isinstance(data_dir, LmdbStore):
            data_dir.close()  # before the report reads its thumbnails from the same databases
    write_outputs(Path(config.out), predictions, rejects, document)
    return document


def _evaluate(config: EvalConfig, data_dir, progress: bool) -> tuple[dict, list[dict], list[Reject]]:
    sources, rejects = read_samples(config.labels, config.delimiter, data_dir if isinstance(data_dir, LmdbStore)
                                    else None)
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a folder")
    if not config.models:
        raise UserError("pass --model an .onnx file or a TensorRT engine")
    if not sources:
        raise UserError(f"label file {config.labels} has no usable line ({len(rejects)} unusable)")

    with ExitStack() as stack:
        runners = [stack.enter_context(make_runner(m, config.backend, config.batch)) for m in config.models]
        widths = check_shape(config.height, config.widths) if config.widths else _default_widths(runners)
        assigned = _assign_widths(runners, config.height, widths, config.batch)
        entries, source = _dictionary(config.dict_file, runners)
        static = {r.num_classes() for r in runners} - {None}
        classes = make_classes(entries, static.pop() if len(static) == 1 else None, config.space, source)
        shapes = _warm_up(assigned, config.height, config.batch, config.warmup)
        for width, (_, n_classes) in shapes.items():
            check_count(classes, n_classes, len(entries))
        steps = {width: s for width, (s, _) in shapes.items()}
        log.info("classes: %d (%s%s); widths %s; time steps %s", len(classes), source,
                 ", + space" if classes.space else "", ", ".join(map(str, widths)),
                 ", ".join(f"{w}: {s}" for w, s in steps.items()))

        bar = None
        if progress:
            from tqdm import tqdm

            bar = stack.enter_context(tqdm(total=len(sources), unit="img", desc="eval", leave=False))
        started = time.perf_counter()
        readers = (config.readers or default_readers()) if config.prefetch else 1
        batches = make_batches(sources, data_dir, config.height, widths, config.batch, rejects, readers)
        if config.prefetch:
            batches = prefetched(batches)
        predictions, timings = run_batches(batches, assigned, classes, steps, bar)
        wall = time.perf_counter() - started
        infos = {id(r): r.info() for r in runners}

    if not predictions:
        reasons = sorted({r.reason for r in rejects})
        raise UserError(f"no line of {config.labels} could be scored ({len(rejects)} rejected: {', '.join(reasons)})")
    predictions.sort(key=lambda p: p["id"])
    rejects.sort(key=lambda r: r.line)
    n_warm = max(1, config.warmup) * len(assigned)
    document = _document(config, data_dir, widths, assigned, runners, infos, classes, steps, predictions, rejects,
                         timing_summary(timings, wall, n_warm, readers if config.prefetch else None))
    return document, predictions, rejects


def _document(config, data_dir, widths, assigned, runners, infos, classes, steps, predictions, rejects, timing) -> dict:
    from augkit.eval.metrics import compute_metrics

    first = infos[id(runners[0])]
    models = [{"path": str(m), "sha256": _sha256(Path(m)), "widths": [w for w, r in assigned.items() if r is runner],
               **infos[id(runner)]} for m, runner in zip(config.models, runners)]
    run = {"model": ", ".join(str(m) for m in config.models), "model_sha256": ", ".join(m["sha256"] for m in models),
           "dict": str(config.dict_file) if config.dict_file is not None else classes.source,
           "space": classes.space, "space_inferred": config.space is None, "classes": len(classes),
           "labels": str(config.labels), "data_dir": str(Path(getattr(data_dir, "root", data_dir)).resolve()),
           **({"input": "lmdb"} if isinstance(data_dir, LmdbStore) else {}), "height": config.height,
           "widths": list(widths), "time_steps": {str(w): s for w, s in steps.items()}, "batch": config.batch,
           **{k: first[k] for k in ("backend", "backend_version", "provider", "precision", "device")},
           "models": models, "ignore_space": config.ignore_space, "ignore_case": config.ignore_case, "mrz": config.mrz}
    metrics = compute_metrics(predictions, ignore_space=config.ignore_space, ignore_case=config.ignore_case,
                              mrz=config.mrz)
    lines = len(predictions) + len(rejects)
    return {"augkit_version": __version__, "run": run,
            "counts": {"lines": lines, "scored": len(predictions), "rejected": len(rejects)},
            "metrics": metrics, "timing": timing}


def write_outputs(out: Path, predictions: list[dict], rejects: list[Reject], document: dict) -> None:
    """predictions.jsonl, rejects.tsv, metrics.json, then report.html, each written whole."""
    from augkit.worker import reject_row
    from augkit.writer import AtomicTextFile

    out.mkdir(parents=True, exist_ok=True)
    with AtomicTextFile(out / "predictions.jsonl") as f:
        for p in predictions:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    with AtomicTextFile(out / "rejects.tsv") as f:
        for r in rejects:
            f.write(reject_row(r) + "\n")
    with AtomicTextFile(out / "metrics.json") as f:
        f.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    from augkit.eval.report import write_report

    write_report(out)
