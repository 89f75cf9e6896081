"""Recipes: YAML lists of stages with probabilities, validated once, applied per variant.

A recipe step names one of augkit's seven stages (`stage:`) or any albumentations image
transform (`albumentations:`), with `p` (default 1.0), `variants` (`all` or `first`: only
the recipe's first variant of each source) and the stage's own options. Unknown keys are
errors that name the valid ones.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import yaml

from augkit.errors import UserError
from augkit.seeding import WORDS_PER_STEP, StepDraws, variant_words
from augkit.stages import STAGES, Stage, StageOptionError, VariantContext

BUILTIN = ("strong", "weak", "original")
ROLES = ("strong", "weak")
STEP_KEYS = ("stage", "albumentations", "p", "variants")


class RecipeError(UserError):
    """A recipe file that cannot be used, with the reason."""


@dataclass(frozen=True)
class Step:
    """One stage of a recipe and when it applies."""

    stage: Stage
    p: float = 1.0
    first_only: bool = False

    def describe(self) -> dict[str, Any]:
        """The step as JSON values (for the run manifest)."""
        return {"stage": self.stage.name, "p": self.p, "variants": "first" if self.first_only else "all",
                "options": self.stage.options()}


@dataclass(frozen=True)
class Recipe:
    """A named, ordered list of steps."""

    name: str
    steps: tuple[Step, ...]

    def apply(self, image: np.ndarray, seed: int, line: int, ctx: VariantContext) -> tuple[np.ndarray, list[dict]]:
        """Make one variant of `image`; returns it and the parameters of every step that applied.

        Step i draws from its own stream (seed, line, variant, i), so stages are independent
        and adding a step never changes the draws of another.
        """
        applied = []
        # Relative lengths are fractions of the source crop's height, whatever later steps do to the canvas.
        # (A page sets it to its text's height: augkit.detect.augment.)
        ctx = VariantContext(ctx.variant, ctx.index, ctx.height if ctx.height is not None else image.shape[0])
        words = variant_words(seed, line, ctx.variant, len(self.steps))
        later = ctx.index != 0
        owned = False  # whether `image` is this walk's own (made by an earlier step), not the caller's
        # The walk runs once per output image: the steps' parts are looked up once per recipe
        # (`_walk`), and each step's draws are a slice of the variant's words.
        for i, at, p, first_only, stage, name in self._walk:
            if first_only and later:
                continue
            rng = StepDraws(words[at:at + WORDS_PER_STEP])
            if p < 1.0 and rng.random() >= p:
                continue
            params = stage.sample(rng, image.shape, ctx)
            image = stage.apply_owned(image, params) if owned else stage.apply(image, params)
            owned = stage.returns_new_image
            applied.append({"step": i, "stage": name, "params": params})
        return image, applied

    @cached_property
    def _walk(self) -> tuple[tuple[int, int, float, bool, Stage, str], ...]:
        return tuple((i, WORDS_PER_STEP * i, s.p, s.first_only, s.stage, s.stage.name) for i, s in enumerate(self.steps))

    def replay(self, image: np.ndarray, applied: list[dict]) -> np.ndarray:
        """Re-make a variant from recorded parameters, without any randomness."""
        for record in applied:
            image = self.steps[record["step"]].stage.apply(image, record["params"])
        return image

    def describe(self) -> dict[str, Any]:
        """The recipe as JSON values (for the run manifest and the config fingerprint)."""
        return {"name": self.name, "steps": [s.describe() for s in self.steps]}


def load_recipe(spec: str | Path, role: str = "strong") -> Recipe:
    """Load a built-in recipe by name or a recipe YAML file by path.

    Built-ins: `strong`, `weak`, and `original`, the original procedure's recipe for `role`
    (`original-strong` and `original-weak` name either one directly).
    """
    data, where = load_recipe_data(spec, role)
    return parse_recipe(data, where)


def builtin_name(spec: str | Path, role: str = "strong") -> str | None:
    """The file stem of the built-in recipe `spec` names for `role`, or None when it names none."""
    spec = str(spec)
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    if spec == "original":
        return f"original-{role}"
    if spec in ROLES or spec in ("original-strong", "original-weak"):
        return spec
    return None


def load_recipe_data(spec: str | Path, role: str = "strong") -> tuple[dict[str, Any], str]:
    """The validated plain data of a recipe (what workers rebuild it from) and where it came from."""
    name = builtin_name(spec, role)
    if name is not None:
        text = resources.files("augkit").joinpath("recipes", f"{name}.yaml").read_text(encoding="utf-8")
        where = f"built-in recipe {name!r}"
    else:
        path = Path(spec)
        if not path.is_file():
            raise RecipeError(f"recipe {spec!r} is neither a built-in ({', '.join(BUILTIN)}, original-strong, "
                              "original-weak) nor a file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RecipeError(f"cannot read recipe {spec}: {exc}") from None
        where = f"recipe {spec}"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RecipeError(f"{where} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if isinstance(data, list):
        data = {"steps": data}
    if isinstance(data, dict):
        data = {"name": name or Path(str(spec)).stem, **data}
    parse_recipe(data, where)  # validate now, at the edge
    return data, where


def parse_recipe(data: Any, where: str = "recipe", default_name: str = "recipe") -> Recipe:
    """Validate recipe data (as loaded from YAML) and build its stages."""
    if isinstance(data, list):
        data = {"steps": data}
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list) or not data["steps"]:
        raise RecipeError(f"{where}: expected a mapping with a non-empty 'steps' list")
    unknown = set(data) - {"name", "steps"}
    if unknown:
        raise RecipeError(f"{where}: unknown key(s) {sorted(unknown)}; valid keys are 'name' and 'steps'")
    steps = tuple(_parse_step(raw, f"{where}, step {i + 1}") for i, raw in enumerate(data["steps"]))
    return Recipe(name=str(data.get("name", default_name)), steps=steps)


def _parse_step(raw: Any, where: str) -> Step:
    if not isinstance(raw, dict):
        raise RecipeError(f"{where}: a step must be a mapping, got {raw!r}")
    options = {k: v for k, v in raw.items() if k not in STEP_KEYS}
    p = raw.get("p", 1.0)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise RecipeError(f"{where}: p must be a number in [0, 1], got {p!r}")
    variants = raw.get("variants", "all")
    if variants not in ("all", "first"):
        raise RecipeError(f"{where}: variants must be 'all' or 'first', got {variants!r}")
    if ("stage" in raw) == ("albumentations" in raw):
        raise RecipeError(f"{where}: give exactly one of 'stage' (one of {sorted(STAGES)}) or 'albumentations'")
    try:
        if "stage" in raw:
            stage = _build_stage(raw["stage"], options, where)
        else:
            from augkit.albu import AlbumentationsStage

            stage = AlbumentationsStage(str(raw["albumentations"]), **options)
    except StageOptionError as exc:
        raise RecipeError(f"{where}: {exc}") from None
    return Step(stage=stage, p=float(p), first_only=variants == "first")


def _build_stage(name: Any, options: dict, where: str) -> Stage:
    cls = STAGES.get(name)
    if cls is None:
        raise RecipeError(f"{where}: unknown stage {name!r}; stages are {sorted(STAGES)} "
                          "(use 'albumentations: Name' for albumentations transforms)")
    valid = list(inspect.signature(cls.__init__).parameters)[1:]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise RecipeError(f"{where}: {name} has no option(s) {unknown}; valid options are {valid + list(STEP_KEYS[2:])}")
    return cls(**options)


@dataclass(frozen=True)
class VariantPlan:
    """Which recipe makes which variant: variants 1..n_strong are strong, the next n_weak weak."""

    strong: Recipe
    weak: Recipe
    n_strong: int
    n_weak: int

    def __post_init__(self):
        if self.n_strong < 0 or self.n_weak < 0 or self.n_strong + self.n_weak == 0:
            raise UserError("--strong and --weak must be >= 0 and make at least one variant")
        variants = tuple((self.strong, VariantContext(variant=v, index=v - 1)) if v <= self.n_strong
                         else (self.weak, VariantContext(variant=v, index=v - 1 - self.n_strong))
                         for v in range(1, self.n_strong + self.n_weak + 1))
        object.__setattr__(self, "_variants", variants)  # built once: the plan is walked per source

    @property
    def total(self) -> int:
        return self.n_strong + self.n_weak

    def __iter__(self) -> Iterator[tuple[Recipe, VariantContext]]:
        return iter(self._variants)

    def describe(self) -> dict[str, Any]:
        return {"strong": self.n_strong, "weak": self.n_weak,
                "recipe_strong": self.strong.describe(), "recipe_weak": self.weak.describe()}
