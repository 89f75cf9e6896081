"""Per-item random streams: the one place augkit makes randomness.

Every (source line, variant) pair gets its own stream derived from the run seed, and
every stage within a variant gets an independent child of it. Nothing depends on which
process, worker or machine does the work, so output bytes do not either.
"""

from __future__ import annotations

import numpy as np


def variant_seed(seed: int, line: int, variant: int) -> np.random.SeedSequence:
    """The seed sequence of one variant of one source line."""
    return np.random.SeedSequence(seed, spawn_key=(line, variant))


def step_rng(seed: int, line: int, variant: int, step: int) -> np.random.Generator:
    """An independent generator for recipe step `step` of one variant."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(line, variant, step))))
