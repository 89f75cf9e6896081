"""Recipes: loading and validation, per-item seeding, independence of stages, replay."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import yaml

from augkit.errors import UserError
from augkit.recipe import RecipeError, VariantPlan, load_recipe, parse_recipe
from augkit.stages import VariantContext

from conftest import text_line

SPEC_VALUES = {
    "strong": {"cylindrical_warp": {"k": [3.0, 4.0]}, "rotate": {"limit": [-3.0, 3.0]},
               "brightness_contrast": {"brightness": 0.2, "contrast": 0.2}, "gaussian_noise": {"variance": [50.0, 70.0]},
               "motion_blur": {"kernels": [5, 7]}, "pixelate": {"scale": [0.3, 1.0]}, "sectioned_glare": {"alpha": [0.5, 0.7]}},
    "weak": {"cylindrical_warp": {"k": [4.0, 7.0]}, "rotate": {"limit": [-1.0, 1.0]},
             "brightness_contrast": {"brightness": 0.1, "contrast": 0.1}, "gaussian_noise": {"variance": [10.0, 30.0]},
             "motion_blur": {"kernels": [3, 5]}, "pixelate": {"scale": [0.3, 1.0]}, "sectioned_glare": {"alpha": [0.5, 0.7]}},
}
SPEC_P = {"strong": [1.0, 1.0, 0.7, 0.6, 1.0, 1.0, 1.0], "weak": [1.0, 1.0, 0.6, 0.3, 0.8, 1.0, 1.0]}
ORDER = ["cylindrical_warp", "rotate", "brightness_contrast", "gaussian_noise", "motion_blur", "pixelate", "sectioned_glare"]


@pytest.mark.parametrize("name", ["strong", "weak"])
def test_original_recipes_hold_the_spec_values(name):
    """`--recipe-strong original` / `--recipe-weak original`: the original procedure's values."""
    recipe = load_recipe("original", name)
    assert recipe.name == f"original-{name}"
    assert load_recipe(f"original-{name}").describe() == recipe.describe()
    assert [s.stage.name for s in recipe.steps] == ORDER
    assert [s.p for s in recipe.steps] == SPEC_P[name]
    assert [s.first_only for s in recipe.steps] == [True] + [False] * 6
    for step in recipe.steps:
        for key, value in SPEC_VALUES[name][step.stage.name].items():
            assert step.stage.options()[key] == value


def _digest(image: np.ndarray) -> str:
    return hashlib.sha256(image.tobytes() + str(image.shape).encode()).hexdigest()


def test_same_seed_source_variant_same_bytes():
    recipe = load_recipe("strong")
    image = text_line()
    a, pa = recipe.apply(image, 7, 42, VariantContext(3, 2))
    b, pb = recipe.apply(image, 7, 42, VariantContext(3, 2))
    assert _digest(a) == _digest(b) and pa == pb
    others = {_digest(recipe.apply(image, s, l, VariantContext(v, v - 1))[0])
              for s, l, v in [(8, 42, 3), (7, 43, 3), (7, 42, 4)]}
    assert _digest(a) not in others and len(others) == 3


def test_replay_from_recorded_parameters():
    for name in ("strong", "weak"):
        recipe = load_recipe(name)
        for v in range(1, 6):
            image = text_line(seed=v)
            out, applied = recipe.apply(image, 1, v, VariantContext(v, v - 1))
            assert np.array_equal(recipe.replay(image, applied), out)


def test_warp_only_on_the_recipes_first_variant():
    recipe = load_recipe("weak")
    _, first = recipe.apply(text_line(), 0, 1, VariantContext(8, 0))
    _, later = recipe.apply(text_line(), 0, 1, VariantContext(9, 1))
    assert first[0]["stage"] == "cylindrical_warp"
    assert all(r["stage"] != "cylindrical_warp" for r in later)


def test_stages_draw_independently():
    """Across many items, each stage's coin flip and parameters are independent of the others."""
    recipe = load_recipe("strong")
    image = np.full((48, 40, 3), 128, np.uint8)  # the reference height: pixelate's scale varies
    rows = []
    for line in range(1500):
        _, applied = recipe.apply(image, 11, line, VariantContext(2, 1))
        by = {r["stage"]: r["params"] for r in applied}
        rows.append(("brightness_contrast" in by, "gaussian_noise" in by, by["rotate"]["angle"],
                     by["pixelate"]["scale"], by["motion_blur"]["angle"]))
    bc, noise, angle, scale, blur_angle = (np.array(c, dtype=float) for c in zip(*rows))
    assert bc.mean() == pytest.approx(0.7, abs=0.04)
    assert noise.mean() == pytest.approx(0.6, abs=0.04)
    # joint frequency of both flips matches the product of the marginals
    assert (bc * noise).mean() == pytest.approx(bc.mean() * noise.mean(), abs=0.03)
    for a, b in [(angle, scale), (angle, blur_angle), (scale, blur_angle), (bc, angle), (noise, scale)]:
        assert abs(np.corrcoef(a, b)[0, 1]) < 0.08


def test_adding_a_step_does_not_change_the_others():
    base = parse_recipe({"steps": [{"stage": "rotate"}, {"stage": "pixelate"}]})
    more = parse_recipe({"steps": [{"stage": "rotate"}, {"stage": "pixelate"}, {"stage": "gaussian_noise"}]})
    _, a = base.apply(text_line(), 3, 9, VariantContext(1, 0))
    _, b = more.apply(text_line(), 3, 9, VariantContext(1, 0))
    assert a == b[:2]


def test_albumentations_step(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"name": "mine", "steps": [
        {"stage": "rotate", "limit": [-2, 2]},
        {"albumentations": "CLAHE", "p": 1.0, "clip_limit": 2.0},
        {"albumentations": "ISONoise", "p": 0.5},
    ]}))
    recipe = load_recipe(path)
    assert recipe.name == "mine"
    image = text_line()
    out, applied = recipe.apply(image, 5, 1, VariantContext(1, 0))
    again, _ = recipe.apply(image, 5, 1, VariantContext(1, 0))
    assert np.array_equal(out, again)
    assert np.array_equal(recipe.replay(image, applied), out)
    assert recipe.describe()["steps"][1]["options"] == {"transform": "CLAHE", "clip_limit": 2.0}
    assert applied[1]["stage"] == "albumentations:CLAHE"


@pytest.mark.parametrize("data,message", [
    ({"steps": [{"stage": "rotat"}]}, "unknown stage 'rotat'"),
    ({"steps": [{"stage": "rotate", "limt": 3}]}, "valid options are ['limit'"),
    ({"steps": [{"albumentations": "CLAHE", "clip_limt": 2}]}, "clip_limt"),
    ({"steps": [{"albumentations": "NoSuchThing"}]}, "no transform named 'NoSuchThing'"),
    ({"steps": [{"albumentations": "CLAHE", "p": 2}]}, "p must be a number in [0, 1]"),
    ({"steps": [{"stage": "rotate", "variants": "last"}]}, "variants must be 'all' or 'first'"),
    ({"steps": [{"stage": "rotate", "albumentations": "CLAHE"}]}, "exactly one of"),
    ({"steps": []}, "non-empty 'steps'"),
    ({"steps": [{"stage": "rotate"}], "extra": 1}, "unknown key(s) ['extra']"),
    ({"steps": [{"stage": "rotate", "limit": [5, 1]}]}, "low 5.0 is above high 1.0"),
])
def test_bad_recipes_name_the_problem(data, message):
    with pytest.raises(RecipeError) as err:
        parse_recipe(data)
    assert message in str(err.value)


def test_recipe_file_errors(tmp_path):
    with pytest.raises(RecipeError, match="neither a built-in"):
        load_recipe(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps: [unclosed")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(bad)


def test_variant_plan_numbers_variants():
    plan = VariantPlan(load_recipe("strong"), load_recipe("weak"), 7, 3)
    items = [(r.name, c.variant, c.index) for r, c in plan]
    assert items[0] == ("strong", 1, 0) and items[6] == ("strong", 7, 6)
    assert items[7] == ("weak", 8, 0) and items[9] == ("weak", 10, 2)
    with pytest.raises(UserError):
        VariantPlan(load_recipe("strong"), load_recipe("weak"), 0, 0)


def test_step_streams_match_standalone_step_generators():
    """A step's draws within a whole variant's words (as a recipe takes them) are those of the
    step on its own, whatever the number of steps."""
    from augkit.seeding import WORDS_PER_STEP, StepDraws, step_rng, variant_words

    words = variant_words(3, 4, 5, 7)

    def in_variant(i):
        return StepDraws(words[WORDS_PER_STEP * i:WORDS_PER_STEP * (i + 1)])

    for i in (0, 2, 6):
        a, b = in_variant(i), step_rng(3, 4, 5, i)
        assert [a.random(), a.uniform(2, 3), a.integers(10)] == [b.random(), b.uniform(2, 3), b.integers(10)]
        assert np.array_equal(in_variant(i).random(4), step_rng(3, 4, 5, i).random(4))
    assert not np.array_equal(step_rng(3, 4, 5, 0).random(4), step_rng(3, 4, 5, 1).random(4))


def test_step_draws_behave_like_a_generator():
    """Direct draws from the hash words stay in range and are uniform; beyond them, and for
    arrays or other methods, the step's fallback generator takes over, deterministically."""
    from augkit.seeding import step_rng

    draws = [step_rng(1, line, 2, 3) for line in range(4000)]
    u = np.array([d.random() for d in draws])
    lo_hi = np.array([d.uniform(-3, 3) for d in draws])
    k = np.array([d.integers(5, 8) for d in draws])
    big = [d.integers(0, 2**63) for d in draws]
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.015
    assert -3 <= lo_hi.min() and lo_hi.max() < 3
    assert set(k.tolist()) == {5, 6, 7} and np.bincount(k)[5:].min() > 1200
    assert all(isinstance(x, int) and 0 <= x < 2**63 for x in big) and len(set(big)) == len(big)
    # the four direct draws are used up: the next ones (and any other method) come from the fallback
    first, again = step_rng(9, 9, 9, 0), step_rng(9, 9, 9, 0)
    assert [first.random() for _ in range(7)] == [again.random() for _ in range(7)]
    assert first.normal() == again.normal() and first.choice(100) == again.choice(100)


def test_a_recipe_never_writes_into_the_callers_image_and_overwrites_only_its_own():
    """Stages after the first may work in place (glare does), but only on the recipe's own
    intermediates: the caller's image is untouched, and the bytes equal a step-by-step replay."""
    from augkit.recipe import parse_recipe
    from augkit.stages import VariantContext

    image = np.random.default_rng(5).integers(0, 256, (40, 200, 3), dtype=np.uint8)
    before = image.copy()
    glare_first = parse_recipe({"steps": [{"stage": "sectioned_glare"}, {"stage": "rotate"}, {"stage": "sectioned_glare"}]})
    for recipe in (glare_first, load_recipe("strong"), load_recipe("weak")):
        for variant in range(1, 11):
            out, applied = recipe.apply(image, 7, 3, VariantContext(variant, variant - 1))
            assert np.array_equal(image, before)
            assert np.array_equal(out, recipe.replay(image, applied))
