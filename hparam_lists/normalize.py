"""Normalised scores: every task's losses mapped onto [0, 1] so that tasks can be averaged.

TaskSet-style normalisation (Metz et al. 2020, arXiv:2002.11887, section 3.2),
computed separately for each task on one loss split:

  initial = mean over the task's curves of their first evaluation (step 0), finite values only
  best    = min over the task's curves (every config, replica and evaluation step) of the
            finite losses, diverged curves included (they reached those losses before failing)
  score(loss) = clip((loss - best) / (initial - best), 0, 1)

so the initial loss maps to 1, the best loss any config reached on the task to
0, and anything worse than the initial loss is clipped to 1 (no credit for
doing worse than not training at all; a clipped curve still counts as a
failure, never as a large negative contribution). Exactly these cases score 1:
  * a NaN, +inf or -inf loss at an evaluation step (that point scores 1);
  * every point of a curve whose status is not "ok" (e.g. "diverged"), whatever
    losses it logged before diverging;
  * every point of every curve of a task whose bounds are unusable: no finite
    initial or best loss, or initial <= best (no config improved on step 0);
  * a (task, config) pair with no curve at all (a warning names how many).

A curve's score aggregates its points: "final" takes the last evaluation,
"mean" the mean over all its evaluations (step 0 included, so every curve's
mean carries the same 1/len share of the step-0 value; rankings are unchanged).
A (task, config) entry is the mean of its curves' scores over replicas.
"""

from __future__ import annotations

import json
import warnings
from typing import Any, NamedTuple

import numpy as np

from hparam_lists.matrix import ScoreMatrix
from taskset.datasets.base import SPLITS
from taskset.errors import ConfigError

AGGREGATIONS = ("final", "mean")
FIT_SPLIT = "valid_inner"
REPORT_SPLIT = "test"
REQUIRED_COLUMNS = ("task", "family", "optimizer_family", "optimizer", "hparams", "replica", "status")


def normalize_losses(losses: Any, initial: Any, best: Any) -> np.ndarray:
    """clip((losses - best) / (initial - best), 0, 1), with every failure case scoring 1.

    Broadcasts like NumPy, so one call normalises a whole (tasks x configs x
    steps) array with (tasks x 1 x 1) bounds.

    Args:
      losses: raw losses, any shape.
      initial: the initial loss of each task (broadcastable to `losses`).
      best: the best loss seen on each task (broadcastable to `losses`).

    Returns:
      float64 scores in [0, 1]: 1 where a loss is NaN or infinite, and where the
      bounds are unusable (initial or best not finite, or initial <= best).
    """
    losses = np.asarray(losses, dtype=np.float64)
    initial = np.asarray(initial, dtype=np.float64)
    best = np.asarray(best, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        span = initial - best
        usable = np.isfinite(span) & (span > 0)
        scores = (losses - best) / np.where(usable, span, 1.0)
    return np.where(usable & np.isfinite(losses), np.clip(scores, 0.0, 1.0), 1.0)


def task_bounds(values: np.ndarray, lengths: np.ndarray, task_codes: np.ndarray,
                num_tasks: int) -> tuple[np.ndarray, np.ndarray]:
    """The (initial, best) loss of every task from its curves (see the module docstring).

    Args:
      values: (curves, points) losses, padded with NaN past each curve's length.
      lengths: (curves,) number of evaluations of each curve.
      task_codes: (curves,) the row (task index) of each curve.
      num_tasks: number of tasks.

    Returns:
      (initial, best), each of shape (num_tasks,); NaN or inf where a task has
      no finite value.
    """
    finite = np.isfinite(values)
    first = values[:, 0] if values.shape[1] else np.full(len(values), np.nan)
    has_first = (lengths > 0) & np.isfinite(first)
    total = np.bincount(task_codes, weights=np.where(has_first, first, 0.0), minlength=num_tasks)
    count = np.bincount(task_codes, weights=has_first.astype(np.float64), minlength=num_tasks)
    with np.errstate(invalid="ignore", divide="ignore"):
        initial = np.where(count > 0, total / np.maximum(count, 1.0), np.nan)
    curve_min = np.where(finite, values, np.inf).min(axis=1, initial=np.inf)
    best = np.full(num_tasks, np.inf)
    np.minimum.at(best, task_codes, curve_min)
    return initial, best


def aggregate(scores: np.ndarray, lengths: np.ndarray, aggregation: str) -> np.ndarray:
    """One score per curve from its per-point scores.

    Args:
      scores: (curves, points) per-point scores; entries past a curve's length are ignored.
      lengths: (curves,) number of evaluations of each curve.
      aggregation: "final" (the last evaluation) or "mean" (mean over the evaluations).

    Returns:
      (curves,) scores; 1 for a curve with no evaluation.
    """
    check_aggregation(aggregation)
    if scores.shape[1] == 0:
        return np.ones(len(scores))
    valid = np.arange(scores.shape[1])[None, :] < lengths[:, None]
    if aggregation == "final":
        out = scores[np.arange(len(scores)), np.maximum(lengths - 1, 0)]
    else:
        out = np.where(valid, scores, 0.0).sum(axis=1) / np.maximum(lengths, 1)
    return np.where(lengths > 0, out, 1.0)


def curve_scores(values: np.ndarray, lengths: np.ndarray, failed: np.ndarray, task_codes: np.ndarray,
                 num_tasks: int, aggregation: str) -> np.ndarray:
    """The normalised score of every curve, with its task's bounds.

    Args:
      values: (curves, points) losses on one split, NaN-padded past `lengths`.
      lengths: (curves,) number of evaluations of each curve.
      failed: (curves,) True where the curve's status is not "ok"; those score 1.
      task_codes: (curves,) the task index of each curve.
      num_tasks: number of tasks.
      aggregation: "final" or "mean".

    Returns:
      (curves,) scores in [0, 1].
    """
    initial, best = task_bounds(values, lengths, task_codes, num_tasks)
    points = normalize_losses(values, initial[task_codes, None], best[task_codes, None])
    return np.where(failed, 1.0, aggregate(points, lengths, aggregation))


def check_split(split: str) -> str:
    """Returns `split`, or raises ConfigError naming the accepted splits."""
    if split not in SPLITS:
        raise ConfigError(f"unknown loss split {split!r}; accepted: {', '.join(SPLITS)}")
    return split


def check_aggregation(aggregation: str) -> str:
    """Returns `aggregation`, or raises ConfigError naming the accepted ones."""
    if aggregation not in AGGREGATIONS:
        raise ConfigError(f"unknown aggregation {aggregation!r}; accepted: {', '.join(AGGREGATIONS)}")
    return aggregation


def score_matrix(curves, split: str = FIT_SPLIT, aggregation: str = "final") -> ScoreMatrix:
    """Turns a curves DataFrame (one row per curve, `curves.read` layout) into a ScoreMatrix.

    Rows are the tasks and columns the optimizer configs (both sorted by name);
    each entry is the mean over replicas of the curve scores (module docstring).

    Args:
      curves: a pandas DataFrame with columns task, family, optimizer_family,
        optimizer, hparams (JSON), replica, status and `split` (lists of losses).
      split: the loss split to score ("valid_inner" for fitting, "test" for reporting).
      aggregation: "final" or "mean".

    Returns:
      The ScoreMatrix.

    Raises:
      ConfigError: an unknown split or aggregation, a missing column, no curves,
        or a task / config name that maps to two families.
    """
    import pandas as pd

    check_split(split)
    check_aggregation(aggregation)
    missing = [c for c in (*REQUIRED_COLUMNS, split) if c not in curves.columns]
    if missing:
        raise ConfigError(f"curves lack column(s) {missing!r}; expected the layout of `curves.read`")
    if len(curves) == 0:
        raise ConfigError("no curves to score (the dataset or the selection is empty)")
    task_names = curves["task"].astype(str).to_numpy()
    config_names = curves["optimizer"].astype(str).to_numpy()
    tasks, task_codes, values, lengths, failed = curve_arrays(curves, split)
    configs, config_codes = np.unique(config_names, return_inverse=True)
    scores = curve_scores(values, lengths, failed, task_codes, len(tasks), aggregation)

    cell = task_codes * len(configs) + config_codes
    size = len(tasks) * len(configs)
    total = np.bincount(cell, weights=scores, minlength=size)
    count = np.bincount(cell, minlength=size)
    if (count == 0).any():
        warnings.warn(f"{int((count == 0).sum())} of {size} (task, optimizer config) pairs have no curve; "
                      "they score 1 (the worst)", stacklevel=2)
    matrix = np.where(count > 0, total / np.maximum(count, 1), 1.0).reshape(len(tasks), len(configs))

    frame = pd.DataFrame({"task": task_names, "family": curves["family"].astype(str).to_numpy(),
                          "optimizer": config_names,
                          "optimizer_family": curves["optimizer_family"].astype(str).to_numpy(),
                          "hparams": curves["hparams"].astype(str).to_numpy()})
    task_families = _unique_attribute(frame, "task", "family", tasks)
    config_families = _unique_attribute(frame, "optimizer", "optimizer_family", configs)
    config_hparams = frame.drop_duplicates("optimizer").set_index("optimizer")["hparams"]
    hparams = tuple(_parse_hparams(config_hparams[name], name) for name in configs)
    return ScoreMatrix(matrix, tuple(map(str, tasks)), task_families, tuple(map(str, configs)), config_families,
                       hparams, split, aggregation)


class CurveArrays(NamedTuple):
    """One split of a curves DataFrame as arrays, row i describing curve i.

    Attributes:
      tasks: the sorted task names.
      task_codes: (curves,) each curve's index into `tasks`.
      values: (curves, points) losses, NaN-padded past each curve's length.
      lengths: (curves,) evaluations per curve.
      failed: (curves,) True where the curve's status is not "ok".
    """

    tasks: np.ndarray
    task_codes: np.ndarray
    values: np.ndarray
    lengths: np.ndarray
    failed: np.ndarray


def curve_arrays(curves, split: str) -> CurveArrays:
    """The arrays `curve_scores` and `task_bounds` take, from a curves DataFrame (`curves.read` layout)."""
    tasks, task_codes = np.unique(curves["task"].astype(str).to_numpy(), return_inverse=True)
    values, lengths = _padded(curves[split])
    return CurveArrays(tasks, task_codes, values, lengths, curves["status"].astype(str).to_numpy() != "ok")


def _padded(column) -> tuple[np.ndarray, np.ndarray]:
    """A list column as a NaN-padded (rows, max length) float64 array and the row lengths."""
    rows = [np.asarray(v if v is not None else (), dtype=np.float64) for v in column]
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    width = int(lengths.max(initial=0))
    if rows and (lengths == width).all():
        return np.stack(rows).reshape(len(rows), width), lengths
    out = np.full((len(rows), width), np.nan)
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out, lengths


def _unique_attribute(frame, key: str, attribute: str, names: np.ndarray) -> tuple[str, ...]:
    pairs = frame[[key, attribute]].drop_duplicates()
    clash = pairs[pairs[key].duplicated(keep=False)]
    if len(clash):
        name = clash[key].iloc[0]
        raise ConfigError(f"{key} {name!r} appears with several {attribute} values "
                          f"{sorted(clash[clash[key] == name][attribute])!r}; names must be unique")
    mapping = dict(zip(pairs[key], pairs[attribute]))
    return tuple(str(mapping[name]) for name in names)


def _parse_hparams(text: str, name: str) -> dict[str, float]:
    try:
        data = json.loads(text)
    except ValueError:
        raise ConfigError(f"optimizer config {name!r} has unreadable hparams JSON {text!r}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"optimizer config {name!r} has hparams {text!r}; expected a JSON object")
    return {str(k): float(v) for k, v in sorted(data.items())}
