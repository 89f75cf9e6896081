"""augkit generate: layout, label files PaddleOCR reads, manifest, determinism across execution."""

from __future__ import annotations

import gzip
import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from augkit.cli import cli
from augkit.generate import generate, make_config
from augkit.codec import encode_jpeg, read_source_image
from augkit.recipe import VariantPlan, load_recipe
from augkit.sample_set import sample_labels

from helpers import make_crops, read_labels, tree_digest


def run_cli(*args: str):
    result = CliRunner().invoke(cli, ["generate", "--quiet", *args], catch_exceptions=False)
    return result


def test_sample_set_run(tmp_path):
    out = tmp_path / "out"
    result = run_cli("--out", str(out), "--strong", "2", "--weak", "1", "--seed", "5")
    assert result.exit_code == 0, result.output
    sources = {}
    for line in sample_labels().read_text(encoding="utf-8").splitlines():
        path, label = line.split("\t")
        sources[path] = label
    rows = read_labels(out / "train.txt")
    assert len(rows) == 3 * len(sources)
    manifest = {}
    for part in sorted((out / "shards").glob("*.jsonl.gz")):
        for record in gzip.open(part, "rt", encoding="utf-8"):
            record = json.loads(record)
            manifest[record["image"]] = record
    for rel, label in rows:
        image = cv2.imread(str(out / rel))
        assert image is not None and image.ndim == 3
        record = manifest[rel]
        assert sources[record["source"]] == label
        assert [image.shape[1], image.shape[0]] == record["size"]
    run = json.loads((out / "augkit_run.json").read_text())
    assert run["counts"]["images"] == len(rows) and run["counts"]["rejects"] == 0
    assert run["seed"] == 5 and set(run["versions"]) >= {"augkit", "numpy", "opencv", "albumentations"}
    assert (out / "rejects.tsv").read_text() == "line\tpath\treason\tdetail\n"
    assert not (out / "shards" / "tmp").exists()


def test_manifest_replays_every_image(tmp_path):
    """Each output can be re-made from its manifest record alone (before JPEG encoding)."""
    labels = make_crops(tmp_path / "src", 4)
    out = tmp_path / "out"
    config = make_config(labels, labels.parent, out, n_strong=2, n_weak=2, seed=3, jpeg_quality=100)
    generate(config, progress=False)
    plan = VariantPlan(load_recipe("strong"), load_recipe("weak"), 2, 2)
    context = {ctx.variant: (recipe, ctx) for recipe, ctx in plan}
    records = [json.loads(r) for r in gzip.open(next((out / "shards").glob("*.jsonl.gz")), "rt")]
    assert len(records) == 16
    for record in records:
        source = read_source_image(str(labels.parent), record["source"])
        recipe, ctx = context[record["variant"]]
        assert recipe.name == record["recipe"]
        assert encode_jpeg(recipe.replay(source, record["steps"]), 100) == (out / record["image"]).read_bytes()
        assert recipe.apply(source, 3, record["line"], ctx)[1] == record["steps"]


def test_names_folders_and_cap(tmp_path):
    labels = make_crops(tmp_path / "src", 30)
    out = tmp_path / "out"
    assert run_cli("--input", str(labels), "--out", str(out), "--strong", "7", "--weak", "3",
                   "--max-per-folder", "100", "--shard-size", "7").exit_code == 0
    folders = sorted(p.name for p in out.glob("images_*"))
    assert folders == ["images_00001", "images_00002", "images_00003"]
    for folder in folders:
        assert len(list((out / folder).iterdir())) <= 100
    rows = read_labels(out / "train.txt")
    assert rows[0][0] == "images_00001/0000000001_01.jpg" and rows[-1][0] == "images_00003/0000000030_10.jpg"
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)  # source order, then variant order


def test_keep_source_lists_each_source_beside_its_variants(tmp_path):
    samples = sample_labels()
    plain, kept = tmp_path / "plain", tmp_path / "kept"
    assert run_cli("--out", str(plain), "--strong", "2", "--weak", "1").exit_code == 0
    assert run_cli("--out", str(kept), "--strong", "2", "--weak", "1", "--keep-source", "--max-per-folder",
                   "50").exit_code == 0
    rows, plain_rows = read_labels(kept / "train.txt"), read_labels(plain / "train.txt")
    sources = [line.split("\t") for line in samples.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 4 * len(sources)
    for i, (path, label) in enumerate(sources):
        group = rows[4 * i:4 * i + 4]
        assert [r[0].rsplit("_", 1)[1] for r in group] == ["00.jpg", "01.jpg", "02.jpg", "03.jpg"]
        assert {r[1] for r in group} == {label}
        # The source is its own bytes (a JPEG: no second compression) ...
        assert (kept / group[0][0]).read_bytes() == (samples.parent / path).read_bytes()
        # ... and the variants are the same bytes as without --keep-source.
        for (rel, _), (plain_rel, _) in zip(group[1:], plain_rows[3 * i:3 * i + 3]):
            assert (kept / rel).read_bytes() == (plain / plain_rel).read_bytes()
    for folder in kept.glob("images_*"):
        assert len(list(folder.iterdir())) <= 50
    assert sum(1 for _ in kept.glob("images_*/*.jpg")) == len(rows)
    manifest = json.loads((kept / "augkit_run.json").read_text())
    assert manifest["config"]["keep_source"] is True and "keep_source" not in json.loads(
        (plain / "augkit_run.json").read_text())["config"]


def test_same_file_name_in_two_folders_never_collides(tmp_path):
    src = tmp_path / "src"
    make_crops(src, 1, subdir="a")
    make_crops(src, 1, seed=9, subdir="b")
    labels = src / "both.txt"
    labels.write_text("a/c0000.png\tFIRST\nb/c0000.png\tSECOND\n", encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli("--input", str(labels), "--out", str(out), "--strong", "1", "--weak", "0").exit_code == 0
    assert read_labels(out / "train.txt") == [("images_00001/0000000001_01.jpg", "FIRST"),
                                              ("images_00001/0000000002_01.jpg", "SECOND")]


def test_val_split_by_source_and_group_variants(tmp_path):
    labels = make_crops(tmp_path / "src", 40)
    out = tmp_path / "out"
    assert run_cli("--input", str(labels), "--out", str(out), "--strong", "2", "--weak", "1",
                   "--val-fraction", "0.3").exit_code == 0
    train, val = read_labels(out / "train.txt"), read_labels(out / "val.txt")
    source_of = lambda rel: rel.split("/")[1].split("_")[0]  # noqa: E731
    train_sources, val_sources = {source_of(r) for r, _ in train}, {source_of(r) for r, _ in val}
    assert train_sources.isdisjoint(val_sources) and len(train_sources | val_sources) == 40
    assert 4 <= len(val_sources) <= 20
    assert len(train) + len(val) == 120

    grouped = tmp_path / "grouped"
    assert run_cli("--input", str(labels), "--out", str(grouped), "--strong", "2", "--weak", "1",
                   "--group-variants").exit_code == 0
    rows = read_labels(grouped / "train.txt")
    assert len(rows) == 40
    names = json.loads(rows[0][0])
    assert names == ["images_00001/0000000001_01.jpg", "images_00001/0000000001_02.jpg", "images_00001/0000000001_03.jpg"]
    assert all((grouped / n).is_file() for n in names)


def test_finished_run_does_no_work_and_other_config_is_refused(tmp_path):
    labels = make_crops(tmp_path / "src", 5)
    out = tmp_path / "out"
    args = ["--input", str(labels), "--out", str(out), "--strong", "1", "--weak", "1"]
    assert run_cli(*args).exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    again = run_cli(*args)
    assert again.exit_code == 0 and "already complete" in again.output and "nothing to do" in again.output
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before
    refused = run_cli(*args[:-1], "2")
    assert refused.exit_code == 2
    assert "different configuration" in refused.output and "n_weak" in refused.output
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_foreign_output_root_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("mine")
    result = run_cli("--out", str(out))
    assert result.exit_code == 2 and "not empty and holds no augkit run" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]


def test_run_killed_before_recording_its_config_restarts(tmp_path):
    """A run killed between creating its folders and recording its configuration left only
    augkit's own skeleton: that is not a foreign output root."""
    labels = make_crops(tmp_path / "src", 3)
    out = tmp_path / "out"
    (out / "shards").mkdir(parents=True)
    (out / "shards" / ".config.json.0123456789ab.tmp").write_text("{")
    assert run_cli("--input", str(labels), "--out", str(out), "--strong", "1", "--weak", "0").exit_code == 0
    assert len(read_labels(out / "train.txt")) == 3
    assert not list(out.rglob("*.tmp"))


def _run(labels, out, **execution):
    config = make_config(labels, labels.parent, out, n_strong=3, n_weak=2, seed=11,
                         shard_size=execution.pop("shard_size", 4), val_fraction=0.2)
    generate(config, progress=False, **execution)
    return tree_digest(out)


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    return make_crops(tmp_path_factory.mktemp("src"), 18)


@pytest.fixture(scope="module")
def reference(crops, tmp_path_factory):
    return _run(crops, tmp_path_factory.mktemp("ref") / "out", workers=1)


def test_bytes_identical_across_workers_and_shard_sizes(crops, reference, tmp_path):
    assert len([k for k in reference if k.endswith(".jpg")]) == 18 * 5
    assert _run(crops, tmp_path / "w2", workers=2) == reference
    other = _run(crops, tmp_path / "s7", workers=2, shard_size=7)
    assert _final_files(other) == _final_files(reference)


def _final_files(digests):
    return {k: v for k, v in digests.items() if not k.startswith("shards/")}


@pytest.mark.slow
def test_bytes_identical_on_dask(crops, reference, tmp_path):
    pytest.importorskip("dask.distributed")
    assert _run(crops, tmp_path / "dask", backend="dask", workers=2) == reference


@pytest.mark.slow
def test_bytes_identical_on_ray(crops, reference, tmp_path):
    pytest.importorskip("ray")
    assert _run(crops, tmp_path / "ray", backend="ray", workers=2) == reference


def test_manifest_records_are_the_compact_json_of_the_standard_encoder():
    """The worker's once-built encoder writes exactly what json.dumps writes, and refuses what
    it refuses."""
    import json

    from augkit.worker import manifest_json

    records = [
        {"image": "images_00001/0000000001_01.jpg", "line": 1, "source": "가나/passport \"BZ\"\t1.png",
         "variant": 1, "recipe": "strong", "size": [412, 61],
         "steps": [{"step": 1, "stage": "rotate", "params": {"angle": -2.9999999999999996}},
                   {"step": 3, "stage": "gaussian_noise", "params": {"sigma": 7.0710678118654755, "noise_seed": 2**63 - 1}},
                   {"step": 9, "stage": "x", "params": {"flag": True, "none": None, "tiny": 5e-324, "big": 1e300,
                                                        "list": [1, 2.5, "ü\u2028\\"], "empty": {}}}]},
        [], {}, "line\nbreak", 0.1, -0.0,
    ]
    for record in records:
        assert manifest_json(record) == json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    for bad in ({"x": np.float32(1.5)}, {"x": {1, 2}}):
        with pytest.raises(TypeError):
            manifest_json(bad)
