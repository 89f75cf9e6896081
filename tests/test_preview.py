"""augkit preview: a deterministic contact sheet of sources and all their variants."""

from __future__ import annotations

import hashlib

import numpy as np
from click.testing import CliRunner
from PIL import Image

from augkit.cli import cli
from augkit.preview import TILE_H, caption


def test_preview_is_deterministic_and_shows_every_variant(tmp_path):
    a, b, c = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    runner = CliRunner()
    for out, seed in ((a, "3"), (b, "3"), (c, "4")):
        result = runner.invoke(cli, ["preview", "--seed", seed, "--strong", "3", "--weak", "2", "--count", "2", "--out", str(out)])
        assert result.exit_code == 0, result.output
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(a) == digest(b) != digest(c)
    sheet = np.asarray(Image.open(a).convert("L"))
    # two sources x (1 original + 5 variants) = 12 tiles in 2 columns: 6 rows of tiles
    assert sheet.shape[1] > 1000 and sheet.shape[0] > 6 * TILE_H
    assert (sheet < 100).mean() > 0.01  # text and glyphs, not an empty canvas


def test_preview_with_a_recipe_file_and_input(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("steps:\n  - stage: rotate\n    limit: [-2, 2]\n")
    from helpers import make_crops

    labels = make_crops(tmp_path / "src", 3)
    out = tmp_path / "p.png"
    result = CliRunner().invoke(cli, ["preview", "--input", str(labels), "--recipe", str(recipe), "--strong", "1",
                                      "--weak", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size[0] > 0


def test_caption_names_every_applied_stage():
    applied = [{"stage": "rotate", "params": {"angle": -1.234}},
               {"stage": "sectioned_glare", "params": {"section": 4, "alpha": 0.61}},
               {"stage": "CLAHE", "params": {"seed": 7}}]
    assert caption(applied) == "rot -1.23° · glare s4 a=0.61 · CLAHE {'seed': 7}"
    assert caption([]) == "no stage applied"


def test_preview_of_a_missing_file_is_a_user_error(tmp_path):
    result = CliRunner().invoke(cli, ["preview", "--input", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "does not exist" in result.output
