"""`augkit audit`: how readable each stage and variant keeps the text, read by a reference model.

A variant whose text no one can read is a wrong label. Before days of training, the audit shows
which settings erase text on the user's own crops: a reference recognition model (say the
PP-OCRv4 English model) reads the clean crops, each recipe step alone and each variant, and the
results are summed per condition, per crop-height bucket and per parameter bucket, with the worst
examples kept. `records.jsonl` holds every reading, so every figure can be recomputed from it.
"""

from __future__ import annotations

import heapq
import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from augkit import __version__
from augkit.audit.conditions import Condition, at_height, bucket_order, conditions, height_bucket
from augkit.errors import SampleRejected, UserError
from augkit.eval.align import distance
from augkit.eval.examples import image_uri
from augkit.eval.load import data_dir_for, read_image, read_samples
from augkit.eval.normalise import Normalisation
from augkit.recipe import VariantPlan, load_recipe

CHUNK = 32           # sources made and read together
WORST = 8            # examples kept per condition
THUMB = 40           # their height in the report, pixels
PARAM_BUCKETS = 3    # equal-count buckets per drawn parameter
SKIP_PARAMS = {"noise_seed", "section"}  # drawn values that say nothing about strength

# What the recipes must keep (issue targets; shown as pass/fail, never used to drop anything).
STAGE_TOLERANCE = 0.05   # a stage alone: exact accuracy within 5 points of the clean crops
KEEP = {"strong": 0.8, "weak": 0.9}  # a recipe's variants: at least this share of the clean accuracy
MIN_BUCKET = 20          # buckets with fewer sources are shown but not judged


@dataclass(frozen=True)
class AuditConfig:
    model: Path
    labels: Path
    out: Path
    data_dir: Path | None = None
    dict_file: Path | None = None
    space: bool | None = None
    recipe_strong: str = "strong"
    recipe_weak: str = "weak"
    n_strong: int = 7
    n_weak: int = 3
    seed: int = 0
    count: int | None = 500          # None: every line
    heights: tuple[int, ...] = ()    # resample every source to each of these heights; () keeps its own
    height: int = 48
    widths: tuple[int, ...] = ()
    batch: int = 16
    backend: str = "auto"
    ignore_case: bool = False
    ignore_space: bool = False
    jpeg_quality: int = 95
    delimiter: str = "tab"


@dataclass
class Tally:
    n: int = 0
    correct: int = 0
    edits: int = 0
    chars: int = 0

    def add(self, correct: bool, edits: int, chars: int) -> None:
        self.n += 1
        self.correct += correct
        self.edits += edits
        self.chars += chars

    def figures(self) -> dict:
        return {"n": self.n, "accuracy": round(self.correct / self.n, 4) if self.n else None,
                "cer": round(self.edits / self.chars, 4) if self.chars else None}


@dataclass
class Results:
    by_condition: dict[str, Tally] = field(default_factory=dict)
    by_height: dict[tuple[str, str], Tally] = field(default_factory=dict)
    params: dict[str, list[tuple[str, float, bool]]] = field(default_factory=dict)  # condition -> (key, value, correct)
    worst: dict[str, list] = field(default_factory=dict)  # condition -> heap of (cer, order, example)


def pick(n: int, count: int | None, seed: int) -> list[int]:
    """Indices of `count` of `n` lines, a seeded choice spread over the file, in file order."""
    if count is None or count >= n:
        return list(range(n))
    return sorted(random.Random(f"audit:{seed}").sample(range(n), count))


def _numeric_params(applied: list[dict]) -> list[tuple[str, float]]:
    out = []
    for record in applied:
        for key, value in record["params"].items():
            if key not in SKIP_PARAMS and isinstance(value, (int, float)) and not isinstance(value, bool):
                out.append((f"{record['stage']}.{key}", float(value)))
    return out


def audit(config: AuditConfig, progress: bool = False) -> dict:
    """Run the audit; write records.jsonl, rejects.tsv, audit.json and report.html to config.out;
    return the audit.json document."""
    from augkit.eval.recognizer import Recognizer
    from augkit.reader import Reject

    sources, rejects = read_samples(config.labels, config.delimiter)
    data_dir = data_dir_for(config.labels, config.data_dir)
    if not sources:
        raise UserError(f"label file {config.labels} has no usable line ({len(rejects)} unusable)")
    if config.count is not None and config.count < 1:
        raise UserError("--count must be at least 1")
    if any(h < 4 for h in config.heights):
        raise UserError(f"--heights must be at least 4 pixels, got {list(config.heights)}")
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a folder")
    plan = VariantPlan(load_recipe(config.recipe_strong, "strong"), load_recipe(config.recipe_weak, "weak"),
                       config.n_strong, config.n_weak)
    conds = conditions(plan)
    norm = Normalisation(ignore_space=config.ignore_space, ignore_case=config.ignore_case)
    chosen = [sources[i] for i in pick(len(sources), config.count, config.seed)]
    results = Results()
    order = 0
    started = time.perf_counter()
    with Recognizer(config.model, dict_file=config.dict_file, space=config.space, height=config.height,
                    widths=config.widths, batch=config.batch, backend=config.backend) as reader:
        model_info = reader.describe()
        out.mkdir(parents=True, exist_ok=True)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(chosen), unit="crop", desc="audit", leave=False)
        records_tmp = out / "records.jsonl.tmp"
        with open(records_tmp, "w", encoding="utf-8") as records:
            for start in range(0, len(chosen), CHUNK):
                made: list[tuple] = []  # (source, height, condition, image, applied)
                for source in chosen[start:start + CHUNK]:
                    try:
                        image = read_image(data_dir, source.path)
                    except SampleRejected as exc:
                        rejects.append(Reject(source.line, source.path, exc.reason, exc.detail))
                        continue
                    for h in config.heights or (image.shape[0],):
                        base = at_height(image, h)
                        for cond in conds:
                            shown, applied = cond.make(base, config.seed, source.line, config.jpeg_quality)
                            made.append((source, h, cond, shown, applied))
                readings = reader.read([m[3] for m in made])
                clean_ok: dict[tuple[int, int], bool] = {}
                clean_image: dict[tuple[int, int], np.ndarray] = {}
                for (source, h, cond, shown, applied), (text, confidence) in zip(made, readings):
                    gt, pred = norm.apply(source.label), norm.apply(text)
                    edits = distance(gt, pred)
                    ok = gt == pred
                    if cond.kind == "clean":
                        clean_ok[(source.line, h)] = ok
                        clean_image[(source.line, h)] = shown
                    bucket = height_bucket(h)
                    results.by_condition.setdefault(cond.name, Tally()).add(ok, edits, len(gt))
                    results.by_height.setdefault((cond.name, bucket), Tally()).add(ok, edits, len(gt))
                    if cond.kind == "stage":
                        for key, value in _numeric_params(applied):
                            results.params.setdefault(cond.name, []).append((key, value, ok))
                    cer = edits / max(1, len(gt))
                    row = {"line": source.line, "path": source.path, "label": source.label, "height": h,
                           "bucket": bucket, "condition": cond.name, "prediction": text,
                           "confidence": round(float(confidence), 4), "correct": ok, "edits": edits,
                           "cer": round(cer, 4), "steps": applied}
                    records.write(json.dumps(row, ensure_ascii=False) + "\n")
                    if cond.kind != "clean" and not ok and clean_ok.get((source.line, h)):
                        heap = results.worst.setdefault(cond.name, [])
                        order += 1
                        # one example per source line: the same text at another height says little new
                        seen = {e["line"] for _, _, e in heap}
                        if source.line not in seen and (len(heap) < WORST or (cer, -order) > heap[0][:2]):
                            example = {**row, "image": image_uri(shown, THUMB),
                                       "clean_image": image_uri(clean_image[(source.line, h)], THUMB)}
                            item = (cer, -order, example)
                            if len(heap) < WORST:
                                heapq.heappush(heap, item)
                            else:
                                heapq.heapreplace(heap, item)
                if bar is not None:
                    bar.update(min(CHUNK, len(chosen) - start))
        if bar is not None:
            bar.close()
    records_tmp.replace(out / "records.jsonl")
    document = summarise(config, conds, results, model_info, rejects, len(chosen), time.perf_counter() - started)
    write_outputs(out, document, rejects)
    return document


def summarise(config: AuditConfig, conds: list[Condition], results: Results, model_info: dict, rejects: list,
              n_sources: int, seconds: float) -> dict:
    clean = results.by_condition.get("clean", Tally()).figures()
    buckets = sorted({b for _, b in results.by_height}, key=bucket_order)
    rows = []
    for cond in conds:
        figures = results.by_condition.get(cond.name, Tally()).figures()
        per_height = {b: results.by_height[(cond.name, b)].figures() for b in buckets
                      if (cond.name, b) in results.by_height}
        rows.append({"condition": cond.name, "kind": cond.kind, "role": cond.role, "stage": cond.stage,
                     **figures, "by_height": per_height,
                     "worst": [e for _, _, e in sorted(results.worst.get(cond.name, []), reverse=True)]})
    document = {
        "augkit_version": __version__,
        "run": {**{k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
                "model_info": model_info, "normalisation": Normalisation(config.ignore_space, config.ignore_case).describe(),
                "sources": n_sources, "seconds": round(seconds, 1)},
        "clean": clean,
        "buckets": buckets,
        "conditions": rows,
        "params": parameter_buckets(results.params),
        "recipes": {role: load_recipe(spec, role).describe()
                    for role, spec in (("strong", config.recipe_strong), ("weak", config.recipe_weak))},
        "rejects": len(rejects),
    }
    document["targets"] = judge(document)
    return document


def parameter_buckets(params: dict[str, list[tuple[str, float, bool]]]) -> dict[str, list[dict]]:
    """Per stage condition and drawn parameter: accuracy in up to PARAM_BUCKETS buckets of its value.

    Bucket edges are the value's terciles, and equal values always share a bucket (a parameter
    with a few distinct values, such as a kernel size, gets one bucket per value or fewer), so a
    bucket never splits ties by their outcome."""
    out: dict[str, list[dict]] = {}
    for cond, values in params.items():
        by_key: dict[str, list[tuple[float, bool]]] = {}
        for key, value, ok in values:
            by_key.setdefault(key, []).append((value, ok))
        for key, pairs in by_key.items():
            ordered = sorted(v for v, _ in pairs)
            if ordered[0] == ordered[-1]:
                continue  # a fixed value has no buckets
            edges = sorted({ordered[min(len(ordered) - 1, (i * len(ordered)) // PARAM_BUCKETS)]
                            for i in range(1, PARAM_BUCKETS)})
            groups: dict[int, list[tuple[float, bool]]] = {}
            for value, ok in pairs:
                groups.setdefault(sum(value >= e for e in edges), []).append((value, ok))
            for _, part in sorted(groups.items()):
                out.setdefault(cond, []).append({
                    "param": key, "low": round(min(v for v, _ in part), 4), "high": round(max(v for v, _ in part), 4),
                    "n": len(part), "accuracy": round(sum(ok for _, ok in part) / len(part), 4)})
    return out


def judge(document: dict) -> list[dict]:
    """Each target per height bucket: a stage alone within STAGE_TOLERANCE of the clean accuracy;
    each recipe's variants (pooled) at least KEEP[role] of it. Buckets under MIN_BUCKET sources,
    or where the model reads no clean crop, are 'not judged'."""
    by_name = {row["condition"]: row for row in document["conditions"]}
    clean = by_name["clean"]["by_height"]
    verdicts = []

    def verdict(what: str, bucket: str, value: float | None, need: float, n: int) -> dict:
        base = clean.get(bucket, {})
        judged = n >= MIN_BUCKET and base.get("accuracy") not in (None, 0)
        return {"target": what, "bucket": bucket, "clean": base.get("accuracy"), "value": value, "need": round(need, 4),
                "n": n, "status": ("pass" if value is not None and value >= need - 1e-9 else "fail") if judged
                else "not judged"}

    for row in document["conditions"]:
        if row["kind"] != "stage":
            continue
        for bucket, fig in row["by_height"].items():
            base = clean.get(bucket, {}).get("accuracy") or 0.0
            verdicts.append(verdict(f"{row['condition']} alone within {STAGE_TOLERANCE:.0%} of clean", bucket,
                                    fig["accuracy"], base - STAGE_TOLERANCE, fig["n"]))
    for role, keep in KEEP.items():
        variants = [r for r in document["conditions"] if r["kind"] == "variant" and r["role"] == role]
        if not variants:
            continue
        for bucket in document["buckets"]:
            figs = [r["by_height"][bucket] for r in variants if bucket in r["by_height"]]
            n = sum(f["n"] for f in figs)
            acc = sum(f["accuracy"] * f["n"] for f in figs) / n if n else None
            base = clean.get(bucket, {}).get("accuracy") or 0.0
            verdicts.append(verdict(f"{role} variants keep {keep:.0%} of clean", bucket,
                                    round(acc, 4) if acc is not None else None, base * keep,
                                    clean.get(bucket, {}).get("n", 0)))
    return verdicts


def write_outputs(out: Path, document: dict, rejects: list) -> None:
    from augkit.audit.report import write_report
    from augkit.worker import reject_row
    from augkit.writer import AtomicTextFile

    with AtomicTextFile(out / "rejects.tsv") as f:
        for r in sorted(rejects, key=lambda r: r.line):
            f.write(reject_row(r) + "\n")
    with AtomicTextFile(out / "audit.json") as f:
        f.write(json.dumps(document, ensure_ascii=False, indent=1) + "\n")
    write_report(out, document)


def format_summary(document: dict) -> str:
    """The console table: each condition's exact accuracy overall and per height bucket, and the targets."""
    buckets = document["buckets"]
    name_w = max(len(r["condition"]) for r in document["conditions"])
    head = f"{'condition':<{name_w}}  {'exact':>6}  {'CER':>6}" + "".join(f"  {b:>7}" for b in buckets)
    lines = [head, "-" * len(head)]
    for r in document["conditions"]:
        cells = "".join(f"  {100 * r['by_height'][b]['accuracy']:>6.1f}%" if b in r["by_height"] else f"  {'–':>7}"
                        for b in buckets)
        lines.append(f"{r['condition']:<{name_w}}  {100 * r['accuracy']:>5.1f}%  {100 * (r['cer'] or 0):>5.1f}%{cells}")
    judged = [t for t in document["targets"] if t["status"] != "not judged"]
    failed = [t for t in judged if t["status"] == "fail"]
    lines.append(f"targets: {len(judged) - len(failed)} of {len(judged)} judged met"
                 + (": missed " + "; ".join(f"{t['target']} at {t['bucket']} px ({100 * (t['value'] or 0):.1f}% < "
                                             f"{100 * t['need']:.1f}%)" for t in failed[:6])
                    + (f"; and {len(failed) - 6} more" if len(failed) > 6 else "") if failed else ""))
    return "\n".join(lines)
