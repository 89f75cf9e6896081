"""Per-item random draws: the one place augkit makes randomness.

Every (source line, variant) pair gets its own bits, hashed from (run seed, line, variant),
and every recipe step within a variant gets an independent share of them. Nothing depends on
which process, worker or machine does the work, so output bytes do not either.
"""

from __future__ import annotations

import hashlib
import struct
from functools import lru_cache

import numpy as np

WORDS_PER_STEP = 4  # 256 bits per step: four direct draws, or one PCG64 state and increment
_UNIT = 2.0 ** -53


def variant_words(seed: int, line: int, variant: int, n_steps: int) -> tuple[int, ...]:
    """Four 64-bit words per recipe step of one variant of one source line.

    SHAKE-128 of the key is an extendable output: step i's words are the same whatever
    `n_steps` is, so adding a step never changes another step's draws. One hash costs ~2 us,
    a tenth of building a numpy SeedSequence, which matters at millions of variants.
    """
    n = WORDS_PER_STEP * max(n_steps, 1)
    digest = hashlib.shake_128(b"augkit-variant:%d:%d:%d" % (seed, line, variant)).digest(8 * n)
    return _words_layout(n).unpack(digest)


@lru_cache(maxsize=64)
def _words_layout(n: int) -> struct.Struct:
    return struct.Struct(f"<{n}Q")


class StepDraws:
    """The random draws of one recipe step, with the numpy Generator methods stages use.

    The first four scalar draws (`random`, `uniform`, `integers`) come straight from the
    step's four hash words: a double from the top 53 bits, an integer by multiply-shift
    (relative bias at most range / 2**64). Array draws, further draws and any other
    Generator method come from a PCG64 generator seated at the same 256 bits.
    """

    __slots__ = ("_words", "_used", "_generator")

    def __init__(self, words: tuple[int, ...]):
        self._words = words
        self._used = 0
        self._generator: np.random.Generator | None = None

    def random(self, size=None):
        """A float in [0, 1) (or an array of them, from the fallback generator)."""
        if size is None and self._used < WORDS_PER_STEP:
            word = self._words[self._used]
            self._used += 1
            return (word >> 11) * _UNIT
        return self.generator().random(size)

    def uniform(self, low=0.0, high=1.0, size=None):
        """A float in [low, high), as numpy's `Generator.uniform` defines it."""
        if size is None and self._used < WORDS_PER_STEP:
            return low + (high - low) * self.random()
        return self.generator().uniform(low, high, size)

    def integers(self, low, high=None, size=None, **kwargs):
        """An int in [low, high) (or [0, low) with one argument)."""
        lo, hi = (0, low) if high is None else (low, high)
        if size is None and not kwargs and self._used < WORDS_PER_STEP and 0 < hi - lo <= 2**63:
            word = self._words[self._used]
            self._used += 1
            return int(lo) + ((word * int(hi - lo)) >> 64)
        return self.generator().integers(low, high, size, **kwargs)

    def generator(self) -> np.random.Generator:
        """A full numpy Generator seated at this step's 256 bits (built on first use)."""
        if self._generator is None:
            w = self._words
            bit_generator = np.random.PCG64(0)
            bit_generator.state = {"bit_generator": "PCG64", "has_uint32": 0, "uinteger": 0,
                                   "state": {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | w[3] | 1}}
            self._generator = np.random.Generator(bit_generator)
        return self._generator

    def __getattr__(self, name):
        # Any other Generator method (normal, choice, ...) draws from the fallback generator.
        return getattr(self.generator(), name)


def step_rng(seed: int, line: int, variant: int, step: int) -> StepDraws:
    """The draws of step `step` of one variant on their own: the same as a recipe's step `step`,
    which takes words[WORDS_PER_STEP * step:][:WORDS_PER_STEP] of its variant's words."""
    words = variant_words(seed, line, variant, step + 1)
    return StepDraws(words[WORDS_PER_STEP * step:])


# Synthesized items draw from SeedSequence keys of three words, generate's variants from a SHAKE-128
# hash, so a synth run and a generate run with one seed never share a stream (their outputs get augmented
# together: line N of a synth output is a source line N of generate).
_SYNTH_DOMAIN = 0x73796E  # "syn"


def item_rng(seed: int, item: int, stream: int) -> np.random.Generator:
    """The generator of one stream of a synthesized item: stream 0 makes its content (the
    text), stream c >= 1 the look of its crop c."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(_SYNTH_DOMAIN, item, stream))))
