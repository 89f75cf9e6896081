"""What an audit reads: the clean crop, each recipe step alone, and each variant generate makes.

A condition turns a source crop into the image the reference model is shown. Variants are made
exactly as `augkit generate` makes them (same recipe, seed, source line and variant number, the
same JPEG encode), so an audit of a label file speaks for the generated set of the same command.
A stage alone always applies (p = 1, on every variant number) and draws from its own stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from augkit.codec import decode_image, encode_jpeg
from augkit.recipe import Recipe, Step, VariantPlan
from augkit.stages import VariantContext

GLARE_SECTIONS = 10  # stage-alone conditions spread the variant number (glare's section) over the sources


@dataclass(frozen=True)
class Condition:
    """One way of showing a source crop to the model."""

    name: str                  # "clean", "strong: motion_blur", "variant 3 (strong)"
    kind: str                  # "clean" | "stage" | "variant"
    role: str | None = None    # "strong" | "weak" for stages and variants
    stage: str | None = None   # the stage of a stage-alone condition
    recipe: Recipe | None = None
    context: VariantContext | None = None  # a variant's place in the plan

    def make(self, image: np.ndarray, seed: int, line: int, jpeg_quality: int) -> tuple[np.ndarray, list[dict]]:
        """The image the model reads and the recorded parameters of every step that applied."""
        if self.kind == "clean":
            return image, []
        ctx = self.context or VariantContext(variant=1 + (line - 1) % GLARE_SECTIONS, index=0)
        out, applied = self.recipe.apply(image, seed, line, ctx)
        return decode_image(encode_jpeg(out, jpeg_quality)), applied


def conditions(plan: VariantPlan, *, stages: bool = True, variants: bool = True) -> list[Condition]:
    """clean, then every step of each recipe alone, then every variant of the plan."""
    out = [Condition("clean", "clean")]
    if stages:
        for role, recipe in (("strong", plan.strong), ("weak", plan.weak)):
            if (plan.n_strong if role == "strong" else plan.n_weak) == 0:
                continue
            for step in recipe.steps:
                alone = Recipe(f"{recipe.name}: {step.stage.name} alone", (Step(step.stage, 1.0, False),))
                out.append(Condition(f"{role}: {step.stage.name}", "stage", role, step.stage.name, alone))
    if variants:
        for recipe, ctx in plan:
            role = "strong" if ctx.variant <= plan.n_strong else "weak"
            out.append(Condition(f"variant {ctx.variant} ({role})", "variant", role, None, recipe, ctx))
    return out


def at_height(image: np.ndarray, height: int) -> np.ndarray:
    """The crop resampled to `height` rows at its own aspect ratio (area when shrinking, cubic when
    enlarging): the same text, as if it had been cropped at that size."""
    h, w = image.shape[:2]
    if h == height:
        return image
    width = max(1, round(w * height / h))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if height < h else cv2.INTER_CUBIC)


HEIGHT_EDGES = (16, 24, 32, 48, 64, 96, 128)


def height_bucket(height: int) -> str:
    """The crop-height bucket of the report: <16, 16-23, 24-31, 32-47, 48-63, 64-95, 96-127, 128+."""
    if height < HEIGHT_EDGES[0]:
        return f"<{HEIGHT_EDGES[0]}"
    for lo, hi in zip(HEIGHT_EDGES, HEIGHT_EDGES[1:]):
        if height < hi:
            return f"{lo}-{hi - 1}"
    return f"{HEIGHT_EDGES[-1]}+"


def bucket_order(name: str) -> int:
    """Sort key of a height bucket name."""
    return -1 if name.startswith("<") else int(name.split("-")[0].rstrip("+"))
