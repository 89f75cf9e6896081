"""`augkit audit --generated ROOT --min-readability R`: list the generated variants whose text the
reference model cannot read although it reads their source.

Nothing is dropped: the variants stay in the output and in its label files. They are listed in
AUDIT/unreadable.tsv (image, source, label, reading, CER, recipe, variant), so the user decides.
A variant's readability is 1 - CER of the reference model's reading; a variant below R whose
source the model reads exactly is listed. Sources it cannot read say nothing about the variant.
"""

from __future__ import annotations

import json
from pathlib import Path

from augkit.errors import SampleRejected, UserError
from augkit.eval.align import distance
from augkit.eval.load import read_image
from augkit.eval.normalise import Normalisation
from augkit.writer import AtomicTextFile, escape_cell, read_manifest

CHUNK = 64


def generated_variants(root: Path) -> tuple[dict, list[dict]]:
    """The generate run's augkit_run.json and its manifest rows (image, line, source, variant,
    recipe, steps), in shard order."""
    run_file = root / "augkit_run.json"
    if not run_file.is_file():
        raise UserError(f"{root} has no augkit_run.json; pass --generated the --out folder of a finished augkit generate")
    run = json.loads(run_file.read_text(encoding="utf-8"))
    if run.get("status") != "complete":
        raise UserError(f"the generate run in {root} is not complete (status {run.get('status')!r}); resume it first")
    rows = read_manifest(root)
    if not rows:
        raise UserError(f"{root}/shards holds no manifest; is it an augkit generate output?")
    return run, rows


def labels_of(root: Path) -> dict[str, str]:
    """image path -> label, from the run's train.txt and val.txt."""
    out = {}
    for name in ("train.txt", "val.txt"):
        path = root / name
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                image, _, label = line.partition("\t")
                out[image] = label
    return out


def check_generated(root: Path | str, reader, min_readability: float, out: Path | str,
                    normalisation: Normalisation = Normalisation(), limit: int | None = None) -> dict:
    """Read every variant (or the first `limit` sources' variants) and its source; write
    unreadable.tsv; return the counts."""
    root, out = Path(root), Path(out)
    if not 0.0 <= min_readability <= 1.0:
        raise UserError(f"--min-readability must lie within [0, 1] (1 - CER), got {min_readability}")
    run, rows = generated_variants(root)
    data_root = Path(run["inputs"]["data_root"])
    labels = labels_of(root)
    by_source: dict[int, list[dict]] = {}
    for row in rows:
        by_source.setdefault(row["line"], []).append(row)
    lines = sorted(by_source)[:limit] if limit else sorted(by_source)
    counts = {"sources": 0, "variants": 0, "source_read": 0, "unreadable": 0, "missing": 0}
    out.mkdir(parents=True, exist_ok=True)
    with AtomicTextFile(out / "unreadable.tsv") as listing:
        listing.write("image\tsource\tlabel\treading\tcer\trecipe\tvariant\n")
        for start in range(0, len(lines), CHUNK):
            images, meta = [], []
            for line in lines[start:start + CHUNK]:
                variants = by_source[line]
                source_path = variants[0]["source"]
                label = labels.get(variants[0]["image"])
                try:
                    images.append(read_image(data_root, source_path))
                except SampleRejected:
                    counts["missing"] += 1
                    continue
                meta.append(("source", line, source_path, label, None))
                for v in variants:
                    try:
                        images.append(read_image(root, v["image"]))
                    except SampleRejected:
                        counts["missing"] += 1
                        continue
                    meta.append(("variant", line, source_path, labels.get(v["image"], label), v))
            readings = reader.read(images)
            source_ok: dict[int, bool] = {}
            for (kind, line, source_path, label, v), (text, _) in zip(meta, readings):
                if label is None:
                    continue
                gt, pred = normalisation.apply(label), normalisation.apply(text)
                if kind == "source":
                    counts["sources"] += 1
                    source_ok[line] = gt == pred
                    counts["source_read"] += gt == pred
                    continue
                counts["variants"] += 1
                cer = distance(gt, pred) / max(1, len(gt))
                if source_ok.get(line) and 1.0 - cer < min_readability:
                    counts["unreadable"] += 1
                    listing.write("\t".join([v["image"], source_path, escape_cell(label), escape_cell(text),
                                             f"{cer:.4f}", str(v["recipe"]), str(v["variant"])]) + "\n")
    return counts
