"""Per-item random streams: the one place augkit makes randomness.

Every (source line, variant) pair gets its own seed sequence derived from the run seed, and
every recipe step within a variant gets an independent stream from it. Nothing depends on
which process, worker or machine does the work, so output bytes do not either.
"""

from __future__ import annotations

import threading

import numpy as np

_WORDS_PER_STEP = 4  # a PCG64 state: 128-bit position and 128-bit stream increment
_local = threading.local()


def variant_seed(seed: int, line: int, variant: int) -> np.random.SeedSequence:
    """The seed sequence of one variant of one source line."""
    return np.random.SeedSequence(seed, spawn_key=(line, variant))


class StepStreams:
    """Independent generators for the recipe steps of one variant.

    One hash of (seed, line, variant) yields 256 bits per step; step i's generator is a PCG64
    placed at that state and stream. The words of step i do not depend on how many steps the
    recipe has, so adding a step never changes another step's draws. Building one numpy
    Generator per step costs ~35 us; re-seating a per-thread one costs ~4 us, which matters
    at seven steps per variant and millions of variants.
    """

    def __init__(self, seed: int, line: int, variant: int, n_steps: int):
        self._words = variant_seed(seed, line, variant).generate_state(
            _WORDS_PER_STEP * max(n_steps, 1), np.uint64).tolist()

    def step(self, i: int) -> np.random.Generator:
        """The generator of step `i`; valid until the next call on this thread."""
        bit_generator, generator = _thread_generator()
        bit_generator.state = _pcg_state(self._words[_WORDS_PER_STEP * i:_WORDS_PER_STEP * (i + 1)])
        return generator


def _pcg_state(w: list[int]) -> dict:
    return {"bit_generator": "PCG64", "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3] | 1},
            "has_uint32": 0, "uinteger": 0}


def _thread_generator() -> tuple[np.random.PCG64, np.random.Generator]:
    if not hasattr(_local, "generator"):
        _local.bit_generator = np.random.PCG64(0)
        _local.generator = np.random.Generator(_local.bit_generator)
    return _local.bit_generator, _local.generator


def step_rng(seed: int, line: int, variant: int, step: int) -> np.random.Generator:
    """A generator of its own for step `step` of one variant (same draws as StepStreams.step)."""
    words = variant_seed(seed, line, variant).generate_state(_WORDS_PER_STEP * (step + 1), np.uint64).tolist()
    bit_generator = np.random.PCG64(0)
    bit_generator.state = _pcg_state(words[_WORDS_PER_STEP * step:])
    return np.random.Generator(bit_generator)


# Synthesized items draw from keys of three words, generate's variants from keys of two, so a
# synth run and a generate run with one seed never share a stream (their outputs get augmented
# together: line N of a synth output is a source line N of generate).
_SYNTH_DOMAIN = 0x73796E  # "syn"


def item_rng(seed: int, item: int, stream: int) -> np.random.Generator:
    """The generator of one stream of a synthesized item: stream 0 makes its content (the
    text), stream c >= 1 the look of its crop c."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(_SYNTH_DOMAIN, item, stream))))
