"""LMDB output (`--output-format lmdb`) and input: the folder layout's images, bytes and order in
LMDB databases; resume; refusals; and the readers (labels check, eval, config) on LMDB input."""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

import pytest

lmdb = pytest.importorskip("lmdb")

from click.testing import CliRunner  # noqa: E402

from augkit.cli import cli  # noqa: E402
from augkit.generate import generate, make_config  # noqa: E402
from augkit.lmdb_store import LmdbStore, find_databases, write_database  # noqa: E402
from helpers import make_crops  # noqa: E402


def invoke(*args) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def samples(folder: Path) -> list[tuple[str, str, bytes]]:
    """(name, label, image bytes) of every sample under `folder`, read with lmdb directly, in
    database (folder) order and index order."""
    rows = []
    for path in find_databases(folder):
        env = lmdb.open(str(path), readonly=True, lock=False)
        with env.begin() as txn:
            for i in range(1, int(txn.get(b"num-samples")) + 1):
                rows.append((txn.get(b"name-%09d" % i).decode(), txn.get(b"label-%09d" % i).decode(),
                             txn.get(b"image-%09d" % i)))
        env.close()
    return rows


def label_rows(label_file: Path) -> list[tuple[str, str]]:
    return [tuple(line.split("\t")) for line in label_file.read_text(encoding="utf-8").splitlines()]


def run_generate(labels: Path, out: Path, **options) -> dict:
    config = make_config(labels, labels.parent, out, n_strong=3, n_weak=1, seed=5, **options)
    return generate(config, progress=False)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The same run written as files and as LMDB: 3 sources per shard, folders of at most 10."""
    root = tmp_path_factory.mktemp("lmdb_runs")
    labels = make_crops(root / "src", 23)
    options = dict(shard_size=3, max_per_folder=10, val_fraction=0.3, keep_source=True)
    files = run_generate(labels, root / "files", **options)
    lmdb_run = run_generate(labels, root / "lmdb", output_format="lmdb", **options)
    return labels, root / "files", root / "lmdb", files, lmdb_run


def test_lmdb_holds_the_folder_layouts_images_with_their_bytes_and_order(both):
    _, files, out, files_summary, summary = both
    for split, label_file in (("train", "train.txt"), ("val", "val.txt")):
        expected = [(name, label, (files / name).read_bytes()) for name, label in label_rows(files / label_file)]
        assert expected and samples(out / "lmdb" / split) == expected
    assert not (out / "train.txt").exists() and not (out / "val.txt").exists()
    assert not list(out.glob("images_*"))
    # The manifest and the shard label parts are the same bytes; only the fingerprint differs.
    for part in sorted((files / "shards").glob("shard_*.jsonl.gz")):
        assert gzip.decompress(part.read_bytes()) == gzip.decompress((out / "shards" / part.name).read_bytes())
        labels_part = part.name.replace(".jsonl.gz", ".labels")
        assert (files / "shards" / labels_part).read_bytes() == (out / "shards" / labels_part).read_bytes()
    assert summary["config"]["output_format"] == "lmdb" and "output_format" not in files_summary["config"]
    assert summary["fingerprint"] != files_summary["fingerprint"]
    c, f = summary["counts"], files_summary["counts"]
    assert (c["lmdb/train"], c["lmdb/val"]) == (f["train.txt"], f["val.txt"]) and c["images"] == f["images"]


def test_one_database_per_shard_and_folder_never_over_max_per_folder(both):
    _, files, out, _, _ = both
    databases = find_databases(out / "lmdb")
    per_folder: dict[str, int] = {}
    for path in databases:
        split, folder, shard = path.relative_to(out / "lmdb").parts
        assert split in ("train", "val") and folder.startswith("images_") and shard.startswith("shard_")
        n = len(samples(path))
        per_folder[folder] = per_folder.get(folder, 0) + n
        names = [name for name, _, _ in samples(path)]
        assert all(name.startswith(folder + "/") for name in names)
    assert per_folder == {p.name: len(list(p.glob("*.jpg"))) for p in files.glob("images_*")}
    assert max(per_folder.values()) <= 10
    shards = {path.name for path in databases}
    assert len(shards) == len(list((out / "shards").glob("shard_*.done.json"))) == 8


def test_resume_replaces_the_databases_of_a_shard_killed_before_its_marker(both, tmp_path):
    labels, _, reference, _, _ = both
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    # A run killed in shard 2: its marker not written, a half-made temporary left, and its train
    # database already renamed into place but holding something else.
    (out / "augkit_run.json").unlink()
    (out / "shards" / "shard_000002.done.json").unlink()
    (out / "lmdb" / ".shard_000002.0123456789ab.tmp" / "train" / "images_00001").mkdir(parents=True)
    target = next(p for p in find_databases(out / "lmdb" / "train") if p.name == "shard_000002")
    shutil.rmtree(target)
    write_database(target, [(b"not an image", "wrong", "images_00001/0000000007_01.jpg")])
    summary = run_generate(labels, out, shard_size=3, max_per_folder=10, val_fraction=0.3, keep_source=True,
                           output_format="lmdb")
    assert summary["status"] == "complete"
    assert not list((out / "lmdb").glob(".*"))
    for split in ("train", "val"):
        assert samples(out / "lmdb" / split) == samples(reference / "lmdb" / split)


def test_synth_and_crop_write_the_same_samples_as_lmdb(tmp_path):
    import cv2

    from test_crop import LINES, box_line, make_page

    for fmt in ("files", "lmdb"):
        code, output = invoke("synth", "--kind", "bz", "--count", 12, "--seed", 3, "--val-fraction", "0.25",
                              "--shard-size", 5, "--out", tmp_path / f"synth_{fmt}", "--output-format", fmt, "--quiet")
        assert code == 0, output
    for split in ("train", "val"):
        files = tmp_path / "synth_files"
        expected = [(n, t, (files / n).read_bytes()) for n, t in label_rows(files / f"{split}.txt")]
        assert expected and samples(tmp_path / "synth_lmdb" / "lmdb" / split) == expected

    pages = tmp_path / "pages"
    (pages / "img").mkdir(parents=True)
    (pages / "box").mkdir()
    for n in (1, 2):
        cv2.imwrite(str(pages / "img" / f"p{n}.jpg"), make_page(n)[0])
        (pages / "box" / f"p{n}.csv").write_text("\n".join(box_line(q, t) for t, q in LINES) + "\n")
    for fmt in ("files", "lmdb"):
        code, output = invoke("crop", "--format", "sroie", pages / "box", "--images", pages / "img",
                              "--out", tmp_path / f"crop_{fmt}", "--output-format", fmt, "--quiet")
        assert code == 0, output
    files = tmp_path / "crop_files"
    expected = [(n, t, (files / n).read_bytes()) for n, t in label_rows(files / "train.txt")]
    assert expected and samples(tmp_path / "crop_lmdb" / "lmdb" / "train") == expected


def test_lmdb_output_is_refused_where_a_sample_is_not_one_image_and_one_label(tmp_path):
    labels = make_crops(tmp_path / "src", 3)
    code, output = invoke("generate", "--input", labels, "--out", tmp_path / "a", "--group-variants",
                          "--output-format", "lmdb", "--quiet")
    assert code == 2 and "--group-variants" in output and "Traceback" not in output
    code, output = invoke("generate", "--task", "det", "--input", labels, "--out", tmp_path / "b",
                          "--output-format", "lmdb", "--quiet")
    assert code == 2 and "--task det" in output
    code, output = invoke("synth", "--kind", "page", "--count", 1, "--out", tmp_path / "c", "--output-format", "lmdb")
    assert code == 2 and "--kind page" in output
    assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()


def test_missing_lmdb_package_is_a_clear_error(tmp_path, monkeypatch):
    labels = make_crops(tmp_path / "src", 3)
    monkeypatch.setitem(sys.modules, "lmdb", None)  # import lmdb now raises ImportError
    code, output = invoke("generate", "--input", labels, "--out", tmp_path / "out", "--output-format", "lmdb",
                          "--quiet")
    assert code == 2 and "pip install 'augkit[lmdb]'" in output and "Traceback" not in output


def broken_databases(root: Path) -> Path:
    """A folder of hand-made databases: good samples and every kind of bad one."""
    good = root / "good"
    write_database(good, [(b"\xff\xd8 bytes", "ABC", "a.jpg"), (b"\xff\xd8 bytes", "ABC", "a.jpg"),
                          (b"\xff\xd8 other", "XYZ", "b.jpg")])
    bad = root / "bad"
    bad.mkdir(parents=True)
    env = lmdb.open(str(bad), map_size=1 << 20, lock=False)
    with env.begin(write=True) as txn:
        txn.put(b"num-samples", b"5")
        txn.put(b"image-000000001", b"x")
        txn.put(b"label-000000001", b"")                   # empty label
        txn.put(b"image-000000002", b"x")
        txn.put(b"label-000000002", b"\xff\xfe")           # not UTF-8
        txn.put(b"image-000000003", b"x")
        txn.put(b"label-000000003", b"a\tb")               # a tab
        txn.put(b"label-000000004", b"no image")           # its image is missing
        txn.put(b"image-000000005", b"x")                  # its label is missing
    env.close()
    broken = root / "broken"
    broken.mkdir()
    env = lmdb.open(str(broken), map_size=1 << 20, lock=False)
    with env.begin(write=True) as txn:
        txn.put(b"something", b"else")                     # no num-samples: not a sample database
    env.close()
    return root


def test_labels_check_reads_lmdb_and_names_every_bad_sample(tmp_path):
    root = broken_databases(tmp_path / "dbs")
    with LmdbStore(root) as store:
        assert [p.name for p in store.paths] == ["bad", "broken", "good"]
    code, output = invoke("labels", "check", root, "--json", tmp_path / "report.json")
    assert code == 1, output
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["lines"] == 9 and report["usable"] == 3
    assert report["rejects"] == {"empty label": 1, "label not UTF-8": 1, "label contains a tab or line break": 1,
                                 "missing image": 1, "missing label": 1, "not an LMDB sample database": 1}
    assert report["duplicates"] == 1 and report["duplicate_examples"] == [[7, 8]]
    code, output = invoke("labels", "check", tmp_path / "nothing_here")
    assert code == 2 and "does not exist" in output
    (tmp_path / "empty").mkdir()
    code, output = invoke("labels", "check", tmp_path / "empty")
    assert code == 2 and "no LMDB database" in output


def test_eval_scores_lmdb_input_as_it_scores_the_label_file(both, tmp_path):
    pytest.importorskip("onnxruntime")
    from eval_models import tiny_ctc_model

    _, files, out, _, _ = both
    model = tiny_ctc_model(tmp_path / "tiny.onnx", classes=39)  # 37 characters, a space and the blank
    dictionary = tmp_path / "d.txt"
    dictionary.write_text("".join(f"{c}\n" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"), encoding="utf-8")
    runs = {}
    for name, labels in (("files", files / "val.txt"), ("lmdb", out / "lmdb" / "val")):
        code, output = invoke("eval", "--model", model, "--dict", dictionary, "--labels", labels,
                              "--height", 32, "--width", 320, "--out", tmp_path / name, "--quiet")
        assert code == 0, output
        runs[name] = [json.loads(line) for line in (tmp_path / name / "predictions.jsonl").open(encoding="utf-8")]
    assert runs["lmdb"] == runs["files"] and len(runs["lmdb"]) == len(label_rows(files / "val.txt"))
    doc = json.loads((tmp_path / "lmdb" / "metrics.json").read_text(encoding="utf-8"))
    assert doc["run"]["input"] == "lmdb"
    page = (tmp_path / "lmdb" / "report.html").read_text(encoding="utf-8")
    assert "image not found" not in page and "data:image/jpeg" in page
    code, output = invoke("eval", "--model", model, "--dict", dictionary, "--labels", out / "lmdb" / "val",
                          "--data-dir", files, "--out", tmp_path / "x", "--quiet")
    assert code == 2 and "--data-dir does not apply" in output


def test_config_for_lmdb_output_reads_lmdbdataset(both, tmp_path):
    import yaml

    from augkit.paddle_config import make_run_config

    labels, _, _, _, _ = both
    out = tmp_path / "short"
    # Short labels (SVTR_LCNet emits 40 CTC steps): the crops' own "LINE 0001 KIM".
    run_generate(labels, out, val_fraction=0.3, output_format="lmdb")
    longest = max(len(t) for _, t in label_rows(labels))
    for name in ("rec_crnn_mrz", "rec_svtr_lcnet_bz"):
        config, notes = make_run_config(name, out, dict_file=Path(__file__).parents[1] / "labels" / "en_dict.txt",
                                        use_gpu=False)
        for part, split in (("Train", "train"), ("Eval", "val")):
            dataset = config[part]["dataset"]
            assert dataset["name"] == "LMDBDataSet" and dataset["data_dir"] == str(out.resolve() / "lmdb" / split)
            assert "label_file_list" not in dataset and "sampler" not in config[part]
        assert config["Global"]["max_text_length"] in (longest, longest + 2)
        if name == "rec_svtr_lcnet_bz":
            transforms = [next(iter(t)) for t in config["Train"]["dataset"]["transforms"]]
            assert transforms.index("RecResizeImg") == transforms.index("KeepKeys") - 1
            assert any("one scale" in note for note in notes)
        yaml.safe_dump(config)
