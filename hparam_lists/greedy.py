"""Greedy fitting of an ordered hyperparameter list (TaskSet, Metz et al. 2020, section 4).

With S the (training tasks x pool configs) score matrix and b the running
best-so-far vector (b_t = min over the chosen entries of S[t, c]; +inf before
the first entry), entry i+1 is

  argmin over unchosen c of  mean_t min(b_t, S[t, c])

so the first entry is the config with the best mean score, and every later one
is the config that most improves the mean best-of-the-list score. The mean is
weighted (`hparam_lists.weighting`): by default each task family's tasks share
one unit, so a family of many cheap tasks cannot outvote the rest; unweighted
(`weighting="task"`) is the plain mean over tasks. Ties (equal
objectives, compared exactly) go to the config with the lower mean score of its
own, then to the lowest column index: columns are sorted by config name, so the
choice is deterministic and names the same config on every machine. A config is
never chosen twice. Once no config improves the objective (every training task
already has its best), every candidate ties, and the remaining entries are the
best configs on average in order: a sensible fallback rather than whichever
config happens to sort first.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hparam_lists.artifact import FitSettings, HparamList, ListEntry
from hparam_lists.matrix import ScoreMatrix
from hparam_lists.normalize import FIT_SPLIT, score_matrix
from hparam_lists.weighting import DEFAULT_WEIGHTING, check_weighting, task_weights
from taskset.errors import ConfigError


def greedy_order(scores: np.ndarray, size: int, weights: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Greedily orders `size` columns of `scores` (module docstring).

    Args:
      scores: (tasks, configs) normalised scores; at least one task.
      size: number of entries, 1 <= size <= configs.
      weights: one non-negative weight per task, summing to 1; None weighs tasks
        equally (computed as plain sums, so unweighted fits stay bit-identical).

    Returns:
      (columns, objective): the chosen column indices in list order, and
      objective[i] = weighted mean over tasks of the best score among the first i+1 entries.

    Raises:
      ConfigError: `size` is out of range or there are no tasks.
    """
    scores = np.asarray(scores, dtype=np.float64)
    num_tasks, num_configs = scores.shape
    if num_tasks == 0:
        raise ConfigError("cannot fit a list on zero training tasks")
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or not 1 <= size <= num_configs:
        raise ConfigError(f"list size must be an integer in [1, {num_configs}] (the configs in the pool), "
                          f"got {size!r}")
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (num_tasks,):
            raise ConfigError(f"weights must have one entry per task ({num_tasks}), got shape {weights.shape}")
        # Scaled so that equal weights give the sums of the unweighted path (and its ties).
        scores = scores * (weights * num_tasks)[:, None]
    best = np.full(num_tasks, np.inf)
    chosen = np.zeros(num_configs, dtype=bool)
    columns = np.empty(size, dtype=np.int64)
    objective = np.empty(size)
    own_totals = scores.sum(axis=0)
    for i in range(size):
        # Sums, not means: the same argmin, one division fewer per candidate.
        totals = np.minimum(scores, best[:, None]).sum(axis=0)
        totals[chosen] = np.inf
        ties = np.flatnonzero(totals == totals.min())
        column = int(ties[np.argmin(own_totals[ties])])  # First minimum: the lowest-named config.
        columns[i], chosen[column] = column, True
        best = np.minimum(best, scores[:, column])
        objective[i] = totals[column] / num_tasks
    return columns, objective


def fit_weights(task_families: Sequence[str], weighting: str) -> np.ndarray | None:
    """The `weights` argument of `greedy_order` for a weighting: None (exact sums) for "task"."""
    check_weighting(weighting)
    return None if weighting == "task" else task_weights(task_families, weighting)


def fit_matrix(matrix: ScoreMatrix, family: str, size: int, train_tasks: Sequence[str] | None = None,
               dataset: str = "", manifest_sha256: str | None = None,
               weighting: str = DEFAULT_WEIGHTING) -> HparamList:
    """Fits a list of configs of `family` on a ScoreMatrix.

    Args:
      matrix: scores on the fitting split (usually valid_inner).
      family: the optimizer family whose configs form the pool.
      size: number of entries.
      train_tasks: the tasks to fit on (default: every task of the matrix).
      dataset: the curve dataset's name or path, recorded in the artifact.
      manifest_sha256: sha256 of the dataset's manifest.json, recorded in the artifact.
      weighting: "family" (each task family one unit) or "task" (see `hparam_lists.weighting`).

    Returns:
      The HparamList, entries in greedy order.

    Raises:
      ConfigError: no config of `family`, or `size` larger than the pool.
      UnknownNameError: a training task is not in the matrix.
    """
    rows = None if train_tasks is None else matrix.task_indices(train_tasks)
    pool = matrix.select(rows, matrix.family_columns(family))
    columns, objective = greedy_order(pool.scores, size, fit_weights(pool.task_families, weighting))
    entries = tuple(ListEntry(family=family, optimizer=pool.configs[c], hparams=dict(pool.config_hparams[c]),
                              train_score=float(score)) for c, score in zip(columns, objective))
    settings = FitSettings(family=family, size=size, split=matrix.split, aggregation=matrix.aggregation,
                           train_tasks=pool.tasks, pool_size=len(pool.configs), weighting=weighting)
    return HparamList(entries=entries, fit=settings, dataset=dataset, manifest_sha256=manifest_sha256)


def fit(curves, family: str, size: int = 50, split: str = FIT_SPLIT, aggregation: str = "final",
        train_tasks: Sequence[str] | None = None, dataset: str = "",
        manifest_sha256: str | None = None, weighting: str = DEFAULT_WEIGHTING) -> HparamList:
    """Fits a greedy list of `family` configs on a curves DataFrame (`curves.read` layout).

    Args:
      curves: one row per curve, as returned by `curves.read`.
      family: the optimizer family, e.g. "nadamw".
      size: number of entries.
      split: the loss split to fit on.
      aggregation: "final" or "mean" (see `hparam_lists.normalize`).
      train_tasks: the tasks to fit on (default: every task in `curves`).
      dataset: the dataset's name or path, recorded in the artifact.
      manifest_sha256: sha256 of the dataset's manifest.json, recorded in the artifact.
      weighting: "family" (default) or "task" (see `hparam_lists.weighting`).

    Returns:
      The HparamList.

    Raises:
      ConfigError: bad split, aggregation or size, or no curves of `family`.
      UnknownNameError: a training task has no curves.
    """
    return fit_matrix(score_matrix(curves, split, aggregation), family, size, train_tasks, dataset,
                      manifest_sha256, weighting)
