"""The benchmark's numbers, as pure functions of losses (no Parquet, no TensorFlow).

Everything a contender gets on a task depends only on its own curves and the
suite's reference curves, never on which other contenders share the run
(`bounds` come from the reference alone). Per task and replica r:

  normalised score   `normalised_score`: (loss - best) / (initial - best) on the
                     validation loss, with initial = mean step-0 loss of the
                     reference curves and best = the lowest finite loss any
                     reference curve reached at any evaluation (`bounds`). 0 is the
                     reference's best, 1 is no progress; anything worse than the
                     initial loss, and any failure (divergence, NaN), is 1.
                     **Not clipped at 0**: a contender that beats every reference
                     config gets a negative score, how far below the reference's
                     best it ended in units of the reference's initial-to-best gap.
                     (TaskSet clips at 0, which would tie it with the best reference
                     config and hide the gain; the percentile, 100 there, says the
                     same thing in another unit.) "final" scores the last
                     evaluation, "mean" the mean over the curve.
  percentile         `percentile`: the share (in %) of reference configs whose
                     final validation loss is worse than the contender's; a loss
                     tied (`losses_tied`) with reference configs is taken as the
                     closest of them and gets its rank, so a rerun of a reference
                     config gets exactly that config's percentile. Replica r is compared with the reference's
                     replica r where the reference has it (else its replica mean).
  win                `compare`: 1 if the contender's final loss is lower than the
                     baseline's (same replica where the baseline has it), 0.5 if
                     tied, 0 if higher.
  time to target     `time_to_target`: the first evaluation step at which the
                     replica-mean validation loss reaches (within the tie
                     tolerance) the final loss of the reference's median config
                     (`median_target`); None if it never does.

A task's value is the mean over its replicas. Across tasks every aggregate is a
weighted mean with `hparam_lists.weighting.task_weights(families, "family")`
(each task family one unit, shared by its tasks), and the mean score's
confidence interval is a hierarchical bootstrap over families, their tasks and
the tasks' replicas (`bootstrap_ci`). The performance profile (Dolan & More
2002) compares solvers with each other, so it alone depends on who is in the run.

Ties (`losses_tied`): two final losses on a task are tied when they differ by
at most the larger of

  machine noise   a relative `TIE_RTOL` = 1e-3: reruns of one config on another
                  CPU, thread count or TensorFlow build were measured to differ by
                  up to ~1.1e-4 relative (the quick suite's MNIST-1D MLP, 1.537172
                  vs 1.536999), ten times below it;
  replica noise   the task family's measured replica-to-replica spread, in score
                  units, times the task's initial-to-best gap (`tie_atol`): the
                  median over the reference's trained (task, config) pairs of the
                  standard deviation of the normalised score over replica seeds
                  (`hparam_lists.noise.replica_noise`, read from the reference's
                  own replicas by `eval.benchmark.reference`). A difference smaller
                  than one replica standard deviation is one a rerun with another
                  seed would as likely reverse, so it is no verdict. A reference
                  without replicas of a family (the quick suite) has machine noise
                  only. Replica noise applies to the verdicts (win, time to
                  target); the percentile, a rank among the reference configs,
                  ties on machine noise only: with a band of replica noise, which
                  of the many configs inside it is closest (whose rank a tied loss
                  takes) flips under a 1e-4 perturbation (measured on
                  standard-reference: one config, 0.6 percentile points).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
PROFILE_EPSILON = 0.01
"""The shift of scores in the performance ratio (see `performance_ratios`)."""
TIE_RTOL = 1e-3
"""Final losses within this relative distance of each other are ties (module docstring)."""


def _as_keys(losses) -> np.ndarray:
    """Losses as sort keys: NaN and +-inf (a failed run) become +inf, worse than any finite loss."""
    losses = np.asarray(losses, dtype=np.float64)
    return np.where(np.isfinite(losses), losses, np.inf)


def tie_atol(score_tolerance: float, initial: float, best: float) -> float:
    """A tolerance in score units as a loss difference on a task: score_tolerance * (initial - best).

    0 when the tolerance or the bounds are unusable (not finite, or initial <= best).
    """
    span = initial - best
    atol = score_tolerance * span
    return float(atol) if math.isfinite(atol) and span > 0 and atol > 0 else 0.0


def losses_tied(a, b, rtol: float = TIE_RTOL, atol: float = 0.0) -> np.ndarray:
    """Elementwise: both losses failed (non-finite), or |a - b| <= max(rtol * max(|a|, |b|), atol).

    Symmetric in a and b, so "a ties b" never depends on which is the reference.
    """
    a, b = _as_keys(a), _as_keys(b)
    both_failed = np.isinf(a) & np.isinf(b)
    with np.errstate(invalid="ignore"):
        close = np.abs(a - b) <= np.maximum(rtol * np.maximum(np.abs(a), np.abs(b)), atol)
    return both_failed | (np.isfinite(a) & np.isfinite(b) & close)


def compare(loss, other, rtol: float = TIE_RTOL, atol: float = 0.0) -> np.ndarray:
    """Elementwise 1.0 where `loss` is better (lower) than `other`, 0.5 where tied, else 0.0.

    A non-finite loss (a failure) is worse than every finite one and ties another failure.
    """
    keys, others = _as_keys(loss), _as_keys(other)
    return np.where(losses_tied(keys, others, rtol, atol), 0.5, np.where(keys < others, 1.0, 0.0))


def percentile(loss: float, reference_losses: Sequence[float], rtol: float = TIE_RTOL, atol: float = 0.0) -> float:
    """The share (%) of reference configs the optimizer beats on final loss, ties counting half.

    A loss tied with one or more reference configs (`losses_tied`) is taken as the closest of them (a rerun of it, up to
    machine noise) and gets that config's own rank among the reference: the
    share of configs with a worse loss, its exact equals (itself included)
    counting half. So a rerun of a reference config on another CPU, thread
    count or TensorFlow build gets exactly that config's percentile, and a
    perturbation of every loss smaller than the gaps between reference configs
    changes nothing. Any other loss gets the share of configs with a worse
    loss. A non-finite loss (NaN: diverged, or no finite value) counts as worse
    than every finite loss and equal to another non-finite one: an optimizer
    that diverges where a third of the reference configs also diverge gets
    0.5 * 33% = 16.7%. 100 means better than every reference config, 50 the
    median.

    Args:
      loss: the optimizer's final validation loss.
      reference_losses: each reference config's final validation loss.
      rtol, atol: the tie tolerances (`losses_tied`).

    Returns:
      A number in [0, 100]; NaN when there are no reference configs.
    """
    reference = _as_keys(reference_losses)
    if reference.size == 0:
        return math.nan
    key = _as_keys([loss])[0]
    tied = losses_tied(np.full(reference.shape, key), reference, rtol, atol)
    if tied.any():
        with np.errstate(invalid="ignore"):
            distance = np.abs(reference - key)  # NaN where both failed: the closest possible
        key = reference[np.argmin(np.where(tied, np.nan_to_num(distance, nan=0.0), np.inf))]
    return float(100.0 * (np.count_nonzero(reference > key) + 0.5 * np.count_nonzero(reference == key))
                 / reference.size)


def bounds(initial_losses: Sequence[float], all_losses: Sequence[float]) -> tuple[float, float]:
    """(initial, best) of a task from its reference curves alone.

    Args:
      initial_losses: every reference curve's step-0 loss.
      all_losses: every loss of every reference curve (any evaluation, diverged curves
        included: they reached those losses before failing).

    Returns:
      (mean of the finite initial losses, min of the finite losses); NaN where none is finite.
    """
    initial = np.asarray(initial_losses, dtype=np.float64)
    values = np.asarray(all_losses, dtype=np.float64)
    initial = initial[np.isfinite(initial)]
    values = values[np.isfinite(values)]
    return (float(initial.mean()) if initial.size else math.nan, float(values.min()) if values.size else math.nan)


def normalised_score(losses, initial: float, best: float):
    """(losses - best) / (initial - best), capped at 1 and not clipped at 0 (module docstring).

    A non-finite loss scores 1, and so does every loss when the bounds are
    unusable (not finite, or initial <= best: the reference never improved).
    Elementwise; returns a float64 array (or a float for a scalar input).
    """
    losses = np.asarray(losses, dtype=np.float64)
    span = initial - best
    usable = math.isfinite(span) and span > 0
    with np.errstate(invalid="ignore", over="ignore"):
        scores = np.where(np.isfinite(losses), np.minimum((losses - best) / (span if usable else 1.0), 1.0), 1.0)
    scores = scores if usable else np.ones_like(losses)
    return float(scores) if scores.ndim == 0 else scores


def median_target(reference_losses: Sequence[float]) -> float | None:
    """The final loss of the reference's median config: the lower median, failures sorted last.

    With n configs sorted by final loss (non-finite last), the median config is
    the one at 0-based rank (n - 1) // 2: the middle one for odd n, the better of
    the two middle ones for even n. None when that config failed (half or more
    of the reference diverged) or there are no configs: then no target exists.
    """
    keys = np.sort(_as_keys(reference_losses))
    if keys.size == 0 or not np.isfinite(keys[(keys.size - 1) // 2]):
        return None
    return float(keys[(keys.size - 1) // 2])


def time_to_target(steps: Sequence[int], losses: Sequence[float], target: float | None,
                   rtol: float = TIE_RTOL, atol: float = 0.0) -> int | None:
    """The first evaluation step whose loss is <= `target` or tied with it; None if none is, or no target.

    A NaN loss (after divergence) never reaches the target.
    """
    if target is None:
        return None
    losses = np.asarray(losses, dtype=np.float64)
    reached = np.flatnonzero(np.isfinite(losses) & ((losses <= target) | losses_tied(losses, target, rtol, atol)))
    return int(np.asarray(steps)[reached[0]]) if reached.size else None


def mean_curve(curves: Sequence[Sequence[float]]) -> np.ndarray:
    """The pointwise mean over replicas of equally long curves; NaN where any replica is NaN."""
    return np.asarray(curves, dtype=np.float64).mean(axis=0)


def weighted_mean(values: Sequence[float], weights: Sequence[float]) -> float:
    """sum(w * v) / sum(w) over the finite values; NaN when none is finite."""
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    keep = np.isfinite(values)
    if not keep.any():
        return math.nan
    return float(np.sum(weights[keep] * values[keep]) / np.sum(weights[keep]))


def bootstrap_ci(values: Sequence[Sequence[float]], families: Sequence[str] | None = None,
                 resamples: int = BOOTSTRAP_RESAMPLES, confidence: float = CONFIDENCE,
                 seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Hierarchical percentile-bootstrap interval of the family-weighted mean of per-replica values.

    One resample draws the families with replacement, within each drawn family
    its tasks with replacement, and within each drawn task its replicas with
    replacement; its statistic is the mean over drawn families of the mean over
    drawn tasks of the mean over drawn replicas, which for the data itself is
    the family-weighted mean of the task means (`hparam_lists.weighting`). So the
    interval covers the spread over families, tasks and training noise
    (replicas), and a task with one replica adds no replica spread. Draws come
    from `numpy.random.Generator(PCG64(seed))`; the same inputs always give the
    same interval. Returns the (1 - confidence) / 2 and (1 + confidence) / 2
    quantiles (NumPy's "linear") of the resampled statistics.

    Args:
      values: per task, its per-replica values (e.g. scores); a plain list of
        floats is one replica per task.
      families: per task, its family; None puts every task in a family of its own
        (then every task weighs the same).

    Returns:
      (low, high); (nan, nan) for no tasks.
    """
    per_task = [np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in values]
    if not per_task:
        return math.nan, math.nan
    families = list(range(len(per_task))) if families is None else list(families)
    rng = np.random.Generator(np.random.PCG64(seed))
    groups: dict = {}
    for index, family in enumerate(families):
        groups.setdefault(family, []).append(index)
    family_means = []
    for members in groups.values():
        # (resamples, tasks of the family): each task's replica-resampled mean.
        task_means = np.stack([per_task[t][rng.integers(0, per_task[t].size, size=(resamples, per_task[t].size))]
                               .mean(axis=1) for t in members], axis=1)
        drawn = rng.integers(0, len(members), size=(resamples, len(members)))
        family_means.append(np.take_along_axis(task_means, drawn, axis=1).mean(axis=1))
    family_means = np.stack(family_means, axis=1)
    drawn = rng.integers(0, family_means.shape[1], size=(resamples, family_means.shape[1]))
    means = np.take_along_axis(family_means, drawn, axis=1).mean(axis=1)
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


def win_rate(wins: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """The weighted mean of per-task win values (1 win, 0.5 tie, 0 loss; see `compare`).

    Tasks with a NaN value are left out; NaN when none is left. `weights`
    default to equal weights.
    """
    wins = np.asarray(wins, dtype=np.float64)
    return weighted_mean(wins, np.ones_like(wins) if weights is None else weights)


def performance_ratios(scores: np.ndarray, epsilon: float = PROFILE_EPSILON) -> np.ndarray:
    """Dolan & More's performance ratios on normalised scores: (tasks, solvers) -> (tasks, solvers).

    r[p, s] = (score[p, s] + epsilon) / (min over solvers of score[p, :] + epsilon),
    on scores clipped to [0, 1] (a score below 0, better than the whole
    reference, counts as 0 here). 0 is the reference's best loss, so the shift
    `epsilon` (a fraction of the task's initial-to-best gap) keeps the ratio
    finite; ratios lie in [1, (1 + epsilon) / epsilon], where the upper end is a
    solver with no progress while another reached the best. A NaN score (no
    curve) counts as 1, a failure, as in Dolan & More's r_M.
    """
    scores = np.where(np.isfinite(scores), np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0), 1.0)
    return (scores + epsilon) / (scores.min(axis=1, keepdims=True) + epsilon)


def profile_taus(epsilon: float = PROFILE_EPSILON, points: int = 61) -> np.ndarray:
    """Log-spaced tau from 1 to the largest possible ratio (1 + epsilon) / epsilon."""
    return np.geomspace(1.0, (1.0 + epsilon) / epsilon, points)


def performance_profile(scores: np.ndarray, taus: Sequence[float], epsilon: float = PROFILE_EPSILON) -> np.ndarray:
    """rho[t, s]: the fraction of tasks on which solver s is within a factor taus[t] of the best solver.

    Args:
      scores: (tasks, solvers) normalised scores.
      taus: the factors, >= 1.
      epsilon: see `performance_ratios`.

    Returns:
      (len(taus), solvers) fractions in [0, 1], non-decreasing in tau.

    References:
      Dolan & More 2002, Benchmarking optimization software with performance
      profiles, Mathematical Programming 91(2), doi:10.1007/s101070100263.
    """
    ratios = performance_ratios(np.asarray(scores, dtype=np.float64), epsilon)
    taus = np.asarray(taus, dtype=np.float64)
    return (ratios[None, :, :] <= taus[:, None, None]).mean(axis=1)
