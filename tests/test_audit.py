"""`augkit audit`: the real PP-OCRv4 English model reading clean crops, stages alone and variants."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from augkit.cli import cli
from augkit.codec import decode_image

sys.path.insert(0, str(Path(__file__).parent))
from eval_models import english_model, render_lines  # noqa: E402

TEXTS = ("ANDERSSON", "Maria Lopez", "27 SEP 1991", "BERLIN", "Hello World", "MISSISSIPPI", "Bookkeeper",
         "SEOUL KOREA", "1234567890", "Aaron Schmitt", "Date of expiry", "Surname", "Stockholm", "06.11.2031",
         "REPUBLIC", "Ministry", "Place of birth", "Nationality", "Authority", "LOPEZ GARCIA")

# A recipe with one harmless step and one that erases the text (a blur as long as the crop is high).
RECIPE = {"name": "probe", "steps": [{"stage": "rotate", "limit": [0, 0]},
                                     {"stage": "motion_blur", "kernels": {"of_height": [0.9, 1.0]}}]}


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audit_crops")
    labels = render_lines(folder, TEXTS, height=40)
    recipe = folder / "probe.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE), encoding="utf-8")
    return labels, recipe


def _audit(args, out):
    model, dictionary = english_model()
    result = CliRunner().invoke(cli, ["audit", "--model", str(model), "--dict", str(dictionary), *args,
                                      "--out", str(out), "--quiet"])
    return result


@pytest.fixture(scope="module")
def probe_run(crops, tmp_path_factory):
    labels, recipe = crops
    out = tmp_path_factory.mktemp("audit") / "a"
    result = _audit(["--input", str(labels), "--recipe-strong", str(recipe), "--recipe-weak", "weak",
                     "--strong", "2", "--weak", "1", "--heights", "24,48"], out)
    assert result.exit_code == 0, result.output
    return out, result.output, json.loads((out / "audit.json").read_text(encoding="utf-8"))


def test_the_audit_tells_a_harmless_stage_from_one_that_erases_text(probe_run):
    out, output, doc = probe_run
    by = {r["condition"]: r for r in doc["conditions"]}
    assert doc["clean"]["accuracy"] >= 0.8  # the reference model reads the clean renderings
    assert by["strong: rotate"]["accuracy"] >= doc["clean"]["accuracy"] - 0.05
    assert by["strong: motion_blur"]["accuracy"] <= 0.2
    assert set(doc["buckets"]) == {"24-31", "48-63"}
    for bucket in doc["buckets"]:
        assert by["clean"]["by_height"][bucket]["n"] == len(TEXTS)
    verdicts = {(t["target"], t["bucket"]): t["status"] for t in doc["targets"]}
    assert verdicts[("strong: rotate alone within 5% of clean", "48-63")] == "pass"
    assert verdicts[("strong: motion_blur alone within 5% of clean", "48-63")] == "fail"
    assert verdicts[("strong variants keep 80% of clean", "48-63")] == "fail"
    assert "targets:" in output and "strong: motion_blur" in output
    # the worst examples are crops read right when clean and wrong under the condition
    worst = by["strong: motion_blur"]["worst"]
    assert worst and all(not e["correct"] and e["image"].startswith("data:image/jpeg;base64,") for e in worst)
    assert not by["clean"]["worst"]


def test_every_figure_is_recomputable_from_the_records(probe_run):
    out, _, doc = probe_run
    rows = [json.loads(x) for x in (out / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    n_conditions = len(doc["conditions"])
    assert n_conditions == 1 + 2 + 7 + 3  # clean, 2 + 7 steps alone, 3 variants
    assert len(rows) == len(TEXTS) * 2 * n_conditions
    for cond in doc["conditions"]:
        mine = [r for r in rows if r["condition"] == cond["condition"]]
        assert cond["n"] == len(mine)
        assert cond["accuracy"] == round(sum(r["correct"] for r in mine) / len(mine), 4)
        assert cond["cer"] == round(sum(r["edits"] for r in mine) / sum(len(r["label"]) for r in mine), 4)
    blur = [r for r in rows if r["condition"] == "strong: motion_blur"]
    assert all(r["steps"][0]["params"]["kernel"] >= 21 for r in blur if r["height"] == 24)
    html = (out / "report.html").read_text(encoding="utf-8")
    for needle in ("Targets", "strong: motion_blur", "variant 3 (weak)", "data:image/jpeg;base64,"):
        assert needle in html
    assert "motion_blur.of_height" in {p["param"] for p in doc["params"]["strong: motion_blur"]}


def test_variants_are_the_bytes_generate_writes(crops, tmp_path):
    """The audit's variants are generate's: the same recipe, seed, line and variant number, the
    same JPEG encode."""
    from augkit.audit.conditions import conditions
    from augkit.recipe import VariantPlan, load_recipe
    from augkit.eval.load import read_image

    labels, _ = crops
    gen = tmp_path / "gen"
    result = CliRunner().invoke(cli, ["generate", "--input", str(labels), "--out", str(gen), "--strong", "2",
                                      "--weak", "1", "--seed", "4", "--quiet"])
    assert result.exit_code == 0, result.output
    plan = VariantPlan(load_recipe("strong"), load_recipe("weak", "weak"), 2, 1)
    variants = [c for c in conditions(plan) if c.kind == "variant"]
    lines = labels.read_text(encoding="utf-8").splitlines()
    for line_no in (1, 7):
        source = read_image(labels.parent, lines[line_no - 1].split("\t")[0])
        for cond in variants:
            made, _ = cond.make(source, 4, line_no, 95)
            written = decode_image((gen / "images_00001" / f"{line_no:010d}_{cond.context.variant:02d}.jpg").read_bytes())
            assert np.array_equal(made, written)


def test_generated_set_check_lists_unreadable_variants_and_drops_nothing(crops, tmp_path):
    labels, recipe = crops
    gen = tmp_path / "gen"
    result = CliRunner().invoke(cli, ["generate", "--input", str(labels), "--out", str(gen), "--strong", "1",
                                      "--weak", "1", "--recipe-strong", str(recipe), "--quiet"])
    assert result.exit_code == 0, result.output
    before = (gen / "train.txt").read_text(encoding="utf-8")
    out = tmp_path / "check"
    result = _audit(["--generated", str(gen), "--min-readability", "0.5"], out)
    assert result.exit_code == 0, result.output
    rows = (out / "unreadable.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0].split("\t")[:3] == ["image", "source", "label"]
    listed = [r.split("\t") for r in rows[1:]]
    # the erasing strong variant (01) of nearly every source; the weak one (02) rarely
    strong = [r for r in listed if r[0].endswith("_1.jpg") or r[0].endswith("_01.jpg")]
    assert len(strong) >= len(TEXTS) * 0.7
    assert all(float(r[4]) > 0.5 for r in listed)
    assert "listed in" in result.output and "nothing removed" in result.output
    assert (gen / "train.txt").read_text(encoding="utf-8") == before


@pytest.mark.parametrize("args, message", [
    (["--min-readability", "0.5"], "pass --generated"),
    (["--generated", "{tmp}"], "needs --min-readability"),
    (["--generated", "{tmp}", "--min-readability", "0.5"], "no augkit_run.json"),
    (["--heights", "16,big"], "--heights takes comma-separated"),
    (["--heights", "2"], "at least 4 pixels"),
    (["--recipe-strong", "nosuch"], "neither a built-in"),
])
def test_user_errors_are_one_line(args, message, tmp_path, crops):
    labels, _ = crops
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = _audit(["--input", str(labels), *args], tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_unreadable_sources_are_recorded_not_lost(crops, tmp_path):
    labels, _ = crops
    folder = labels.parent
    broken = folder / "broken_labels.txt"
    (folder / "img" / "empty.png").write_bytes(b"")
    broken.write_text(labels.read_text(encoding="utf-8").splitlines()[0] + "\nimg/empty.png\tGONE\n"
                      "img/nosuch.png\tNOPE\n", encoding="utf-8")
    out = tmp_path / "out"
    result = _audit(["--input", str(broken), "--strong", "1", "--weak", "0"], out)
    assert result.exit_code == 0, result.output
    rejects = (out / "rejects.tsv").read_text(encoding="utf-8").splitlines()
    assert len(rejects) == 2 and {r.split("\t")[1] for r in rejects} == {"img/empty.png", "img/nosuch.png"}
    doc = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    assert doc["clean"]["n"] == 1 and doc["rejects"] == 2


def test_parameter_buckets_keep_equal_values_together():
    """A drawn value with few distinct values (a kernel size) is never split by outcome."""
    from augkit.audit.run import parameter_buckets

    values = [("blur.kernel", 3.0, i % 2 == 0) for i in range(50)] + [("blur.kernel", 5.0, False)] * 50
    values += [("blur.kernel", 7.0, True)] * 20
    buckets = parameter_buckets({"c": values})["c"]
    # terciles at 3 and 5: 3 alone, then 5 and 7 together; no value is split
    assert [(b["low"], b["high"], b["n"], b["accuracy"]) for b in buckets] == [
        (3.0, 3.0, 50, 0.5), (5.0, 7.0, 70, round(20 / 70, 4))]
    spread = parameter_buckets({"c": [("a", i / 99, i < 33) for i in range(99)]})["c"]
    assert [b["n"] for b in spread] == [33, 33, 33] and [b["accuracy"] for b in spread] == [1.0, 0.0, 0.0]
    assert parameter_buckets({"c": [("fixed", 51.0, True)] * 9}) == {}
