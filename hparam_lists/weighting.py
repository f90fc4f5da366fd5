"""How much each training task counts in a list's objective: by family (the default) or by task.

TaskSet weighs a dozen task families about equally; a curve dataset that holds
many cheap tasks of one family (taskset-mini: 128 quadratics and test functions
of 150 tasks) would otherwise let that family outvote the neural networks.

  family   each task family's tasks share one unit of weight: w_t = 1 / (F * n_f(t)),
           with F families and n_f(t) tasks in t's family.
  task     every task the same weight: w_t = 1 / T (the objective before issue 15).

Weights always sum to 1, so a weighted objective is a weighted mean of scores.
"""

from __future__ import annotations

import collections
from typing import Sequence

import numpy as np

from taskset.errors import ConfigError

WEIGHTINGS = ("family", "task")
DEFAULT_WEIGHTING = "family"


def check_weighting(weighting: str) -> str:
    """`weighting`, if it is one of `WEIGHTINGS`.

    Raises:
      ConfigError: any other value.
    """
    if weighting not in WEIGHTINGS:
        raise ConfigError(f"weighting must be one of {list(WEIGHTINGS)!r}, got {weighting!r}")
    return weighting


def task_weights(task_families: Sequence[str], weighting: str) -> np.ndarray:
    """float64 weights, one per task, summing to 1 (see the module docstring).

    Raises:
      ConfigError: an unknown weighting or no tasks.
    """
    check_weighting(weighting)
    if not len(task_families):
        raise ConfigError("cannot weight zero tasks")
    if weighting == "task":
        return np.full(len(task_families), 1.0 / len(task_families))
    counts = collections.Counter(task_families)
    return np.array([1.0 / (len(counts) * counts[f]) for f in task_families])
