"""Stage lengths given as fractions of the crop's height ({of_height: ...}), and the recipes that use them."""

from __future__ import annotations

import numpy as np
import pytest

from augkit.recipe import RecipeError, Recipe, Step, load_recipe, parse_recipe
from augkit.stages import STAGES, VariantContext
from augkit.stages.base import REFERENCE_HEIGHT
from augkit.stages.geometry import warp_shift

from conftest import text_line

CTX = VariantContext(variant=3, index=0)


def _one(stage: str, **options) -> Recipe:
    return parse_recipe({"name": "t", "steps": [{"stage": stage, **options}]})


def _draws(recipe: Recipe, height: int, n: int = 200, width: int = 200) -> list[dict]:
    image = np.full((height, width, 3), 200, np.uint8)
    return [recipe.apply(image, 5, line, CTX)[1][0]["params"] for line in range(1, n + 1)]


def test_motion_blur_length_follows_the_height():
    recipe = _one("motion_blur", kernels={"of_height": [0.1, 0.15]})
    for height in (16, 48, 128):
        for params in _draws(recipe, height):
            assert params["kernel"] % 2 == 1
            # the nearest odd size to the drawn length (within one pixel of it)
            assert abs(params["kernel"] - params["of_height"] * height) <= 1.0 + 1e-9
    small = {p["kernel"] for p in _draws(recipe, 16)}
    large = {p["kernel"] for p in _draws(recipe, 128)}
    assert small <= {1, 3} and min(large) >= 13


def test_motion_blur_of_kernel_one_is_the_image_unchanged():
    recipe = _one("motion_blur", kernels={"of_height": [0.01, 0.02]})
    image = text_line(height=20)
    out, applied = recipe.apply(image, 0, 1, CTX)
    assert applied[0]["params"]["kernel"] == 1
    assert np.array_equal(out, image) and out is not image


def test_pixelate_cell_keeps_the_same_rows_at_every_height():
    recipe = _one("pixelate", cell={"of_height": [0.05, 0.05]})  # 20 rows whatever the height
    for height in (24, 60, 120):
        image = text_line(height=height)
        out, applied = recipe.apply(image, 0, 1, CTX)
        scale = applied[0]["params"]["scale"]
        assert np.floor(height * scale + 1e-9) in (19, 20)
        # the output is made of blocks of height/20 rows: 20 distinct row bands at most
        assert len({row.tobytes() for row in out[:, :, 0]}) <= 20
    # shorter than the cell count: left as it is (scale 1)
    image = text_line(height=16)
    out, applied = recipe.apply(image, 0, 1, CTX)
    assert applied[0]["params"]["scale"] == 1.0 and np.array_equal(out, image)


def test_warp_shift_is_the_drawn_fraction_of_the_height():
    recipe = _one("cylindrical_warp", shift={"of_height": [0.05, 0.1]})
    for height in (20, 48, 100):
        for params in _draws(recipe, height, n=30):
            assert 0.05 <= params["of_height"] <= 0.1
            d = warp_shift(height, params["k"])
            assert d.max() / height == pytest.approx(params["of_height"], abs=1e-6)


def test_glare_kernel_follows_the_height():
    recipe = _one("sectioned_glare", kernel={"of_height": 1.0625})
    assert {p["kernel"] for p in _draws(recipe, REFERENCE_HEIGHT, n=5)} == {51}
    assert {p["kernel"] for p in _draws(recipe, 96, n=5)} == {103}
    assert {p["kernel"] for p in _draws(recipe, 20, n=5)} == {21}


def test_lengths_are_fractions_of_the_source_not_the_grown_canvas():
    """Rotation grows a long line's canvas; the blur after it still follows the source's height."""
    recipe = parse_recipe({"steps": [{"stage": "rotate", "limit": [3, 3]},
                                     {"stage": "pixelate", "cell": {"of_height": [0.05, 0.05]}}]})
    image = text_line(width=900, height=40)
    out, applied = recipe.apply(image, 0, 1, CTX)
    assert out.shape[0] > 80  # the canvas grew
    assert applied[1]["params"]["scale"] == pytest.approx(1 / (0.05 * 40))


def test_replay_from_the_recorded_values_gives_the_same_bytes():
    recipe = load_recipe("strong")
    image = text_line(height=37)
    out, applied = recipe.apply(image, 9, 4, VariantContext(1, 0))
    assert {r["stage"] for r in applied} >= {"cylindrical_warp", "motion_blur", "pixelate"}
    assert np.array_equal(recipe.replay(image, applied), out)


def test_default_recipes_at_the_reference_height():
    """At 48 px the recipes draw the pixel sizes their YAML comments and the README state."""
    expected = {"strong": ({3, 5}, (0.41, 0.43)), "weak": ({1, 3}, (0.59, 0.61))}
    for role, (kernels, (lo, hi)) in expected.items():
        steps = {s.stage.name: s for s in load_recipe(role).steps}
        blur = Recipe("b", (Step(steps["motion_blur"].stage),))
        assert {p["kernel"] for p in _draws(blur, REFERENCE_HEIGHT, n=300)} == kernels
        pix = Recipe("p", (Step(steps["pixelate"].stage),))
        scales = [p["scale"] for p in _draws(pix, REFERENCE_HEIGHT, n=300)]
        assert lo < min(scales) < hi and max(scales) == 1.0
        glare = Recipe("g", (Step(steps["sectioned_glare"].stage),))
        assert {p["kernel"] for p in _draws(glare, REFERENCE_HEIGHT, n=3)} == {51}
        original = {s.stage.name: s.stage for s in load_recipe("original", role).steps}
        assert original["sectioned_glare"].kernel == 51 and original["pixelate"].scale == (0.3, 1.0)


def test_the_original_recipe_makes_the_same_bytes_as_before_relative_lengths():
    """Absolute options draw exactly as they always did: the same stream, the same values."""
    recipe = load_recipe("original", "strong")
    image = text_line(height=48)
    _, applied = recipe.apply(image, 3, 2, VariantContext(1, 0))
    assert all("of_height" not in r["params"] for r in applied)
    assert "kernel" not in next(r for r in applied if r["stage"] == "sectioned_glare")["params"]


@pytest.mark.parametrize("step, message", [
    ({"stage": "motion_blur", "kernels": {"of_height": [0.2, 0.1]}}, "low 0.2 is above high 0.1"),
    ({"stage": "motion_blur", "kernels": {"per_height": 0.1}}, "of_height"),
    ({"stage": "pixelate", "scale": [0.3, 1.0], "cell": {"of_height": 0.05}}, "either scale or cell"),
    ({"stage": "pixelate", "cell": 0.05}, "cell must be {of_height"),
    ({"stage": "pixelate", "cell": {"of_height": 0}}, "cell must be above 0"),
    ({"stage": "cylindrical_warp", "k": 3, "shift": {"of_height": 0.1}}, "either k or shift"),
    ({"stage": "cylindrical_warp", "shift": {"of_height": 0.7}}, "within [0.0, 0.5]"),
    ({"stage": "sectioned_glare", "kernel": {"of_height": "big"}}, "number or a [low, high] pair"),
])
def test_bad_relative_options_are_clear(step, message):
    with pytest.raises(RecipeError, match=None) as info:
        parse_recipe({"steps": [step]})
    assert message in str(info.value)


def test_recipe_names_and_roles():
    assert load_recipe("original", "weak").name == "original-weak"
    assert load_recipe("strong").name == "strong"
    with pytest.raises(RecipeError, match="neither a built-in"):
        load_recipe("stronger")
    # the manifest's description names the mode of each option
    described = {s["stage"]: s["options"] for s in load_recipe("strong").describe()["steps"]}
    assert described["motion_blur"]["kernels"] == {"of_height": [0.05, 0.11]}
    assert "shift" in described["cylindrical_warp"] and "k" not in described["cylindrical_warp"]
    assert set(STAGES) == set(described)
