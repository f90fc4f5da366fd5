"""Upper bounds of the numbers a user passes (CLI options and sweep specs), in one place.

Each bound is far above any sensible run and far below what would overflow a
tensor index or run for years, so a typo (`--steps 99999999999999999999`) is
refused at once with a message naming the option, instead of a traceback or
a run that never ends. The README lists them.
"""

from __future__ import annotations

MAX_STEPS = 10_000_000
"""Training steps of one run (TaskSet's curves have 10,000)."""
MAX_EVAL_BATCHES = 10_000
"""Batches averaged per split and evaluation."""
MAX_REPLICAS = 1_000
"""Replicas (seeds) of one sweep."""
MAX_POPULATION = 100_000
"""Optimizer configs trained together, or sizes of lists and trial budgets."""
MAX_SEED = 2**31 - 1
"""Seeds (replica seeds, split seeds): non-negative, and they fit a TF int32 seed."""
MAX_COUNT = 10_000
"""Small counts: folds, repeats, BO runs."""
MAX_WORKERS = 256
"""Local worker processes of one command."""


def check_int(value: object, name: str, low: int, high: int) -> int:
    """`value` if it is an int in [low, high]; else a ConfigError naming `name` and the accepted range."""
    from taskset.errors import ConfigError

    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer from {low:,} to {high:,}, got {value!r}")
    return value


def check_at_most(value: int, name: str, high: int) -> int:
    """`value` unless it exceeds `high` (ConfigError naming `name`); lower bounds are left to the library."""
    from taskset.errors import ConfigError

    if value > high:
        raise ConfigError(f"{name} must be at most {high:,}, got {value!r}")
    return value
