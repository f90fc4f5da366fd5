"""Deterministic, platform-independent samplers for task and optimizer configs.

Each sampled field draws from its own `numpy.random.Generator(PCG64)` seeded by
(namespace, seed, field name), so adding or removing a field never changes the
values of the others, and `<family>_seed<N>` means the same config everywhere.
"""

from __future__ import annotations

import math
import re
import zlib
from typing import Sequence, TypeVar

import numpy as np

from taskset.errors import TasksetError

T = TypeVar("T")

_SEEDED_NAME = re.compile(r"^(?P<family>.+)_seed(?P<seed>\d+)$")


def stable_hash(text: str) -> int:
    """A 32-bit hash of `text` that is the same in every process (unlike `hash`)."""
    return zlib.crc32(text.encode("utf-8"))


def field_rng(namespace: str, seed: int, field: str) -> np.random.Generator:
    """The generator for one sampled field of one `<namespace>_seed<seed>` config."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise TasksetError(f"seed must be a non-negative integer, got {seed!r}")
    seq = np.random.SeedSequence([stable_hash(namespace), int(seed), stable_hash(field)])
    return np.random.Generator(np.random.PCG64(seq))


def parse_seeded_name(name: str) -> tuple[str, int] | None:
    """Splits 'mlp_seed12' into ('mlp', 12); returns None for other names."""
    match = _SEEDED_NAME.match(name)
    if match is None:
        return None
    return match.group("family"), int(match.group("seed"))


def log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """A float whose log is uniform on [log low, log high]."""
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def log_int(rng: np.random.Generator, low: int, high: int) -> int:
    """An integer in [low, high] whose log is uniform (TaskSet's `sample_log_int`)."""
    value = int(round(log_uniform(rng, low, high)))
    return min(max(value, low), high)


def uniform_int(rng: np.random.Generator, low: int, high: int) -> int:
    """An integer uniform on [low, high], both ends included."""
    return int(rng.integers(low, high + 1))


def choice(rng: np.random.Generator, options: Sequence[T], weights: Sequence[float] | None = None) -> T:
    """One of `options`, with optional relative weights."""
    p = None
    if weights is not None:
        total = float(sum(weights))
        p = [w / total for w in weights]
    return options[int(rng.choice(len(options), p=p))]


def coin(rng: np.random.Generator, p_true: float = 0.5) -> bool:
    """True with probability `p_true`."""
    return bool(rng.uniform() < p_true)
