"""The benchmark's numbers, as pure functions of losses and scores (no Parquet, no TensorFlow).

Per task, for an optimizer whose curves (mean over its replicas) are compared
with the reference configs' curves of that task:

  normalised score   `hparam_lists.normalize` (TaskSet's): clip((loss - best) /
                     (initial - best), 0, 1) on the validation loss, computed by
                     `hparam_lists.score_matrix` over the pool of the reference curves
                     *and* every curve this benchmark run trained, so initial = mean
                     step-0 loss of all those curves, best = lowest finite loss any of
                     them reached at any evaluation; 0 is the best seen by anyone, 1 is
                     no progress (and any failure, e.g. divergence). "final" scores the
                     last evaluation, "mean" the mean over the curve.
  percentile         `percentile`: the share (in %) of reference configs whose final
                     validation loss is worse than the optimizer's, ties counted half.
  time to target     `time_to_target`: the first evaluation step at which the optimizer's
                     validation loss reaches the final loss of the reference's median
                     config (`median_target`); None if it never does.

Across tasks: the mean normalised score with a bootstrap confidence interval
(`bootstrap_ci`), the win rate against a baseline (`win_rate`), and the
performance profile (`performance_profile`, Dolan & More 2002).
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
TIE_RTOL = 1e-6
"""Losses (and scores) this close count as ties in `percentile` and `win_rate`. Losses are
float32 (relative rounding ~6e-8), and a rerun of a reference config made with another
TensorFlow build, thread setting or trainer revision can differ from its reference curve by
such rounding (measured across two trainer revisions: 5e-8 for adam_default on the quick
suite's conv net), which must not decide a win."""


def _as_keys(losses) -> np.ndarray:
    """Losses as sort keys: NaN and +-inf (a failed run) become +inf, worse than any finite loss."""
    losses = np.asarray(losses, dtype=np.float64)
    return np.where(np.isfinite(losses), losses, np.inf)


def percentile(loss: float, reference_losses: Sequence[float]) -> float:
    """The share (%) of reference configs the optimizer beats on final loss, ties counting half.

    Losses within a relative `TIE_RTOL` of each other are ties. A non-finite
    loss (NaN: diverged, or no finite value) counts as worse than every finite
    loss, and equal to another non-finite one: an optimizer that
    diverges where a third of the reference configs also diverge gets
    0.5 * 33% = 16.7%. 100 means better than every reference config, 50 the
    median.

    Args:
      loss: the optimizer's final validation loss.
      reference_losses: each reference config's final validation loss.

    Returns:
      A number in [0, 100]; NaN when there are no reference configs.
    """
    reference = _as_keys(reference_losses)
    if reference.size == 0:
        return math.nan
    key = _as_keys([loss])[0]
    tie = (reference == key) | np.isclose(reference, key, rtol=TIE_RTOL, atol=0.0)
    beaten = np.count_nonzero((reference > key) & ~tie)
    ties = np.count_nonzero(tie)
    return float(100.0 * (beaten + 0.5 * ties) / reference.size)


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


def time_to_target(steps: Sequence[int], losses: Sequence[float], target: float | None) -> int | None:
    """The first evaluation step whose loss is <= `target`; None if none is, or there is no target.

    A NaN loss (after divergence) never reaches the target.
    """
    if target is None:
        return None
    losses = np.asarray(losses, dtype=np.float64)
    reached = np.flatnonzero(np.isfinite(losses) & (losses <= target))
    return int(np.asarray(steps)[reached[0]]) if reached.size else None


def mean_curve(curves: Sequence[Sequence[float]]) -> np.ndarray:
    """The pointwise mean over replicas of equally long curves; NaN where any replica is NaN."""
    return np.asarray(curves, dtype=np.float64).mean(axis=0)


def bootstrap_ci(values: Sequence[float], resamples: int = BOOTSTRAP_RESAMPLES, confidence: float = CONFIDENCE,
                 seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the mean of `values` (e.g. per-task scores).

    Draws `resamples` resamples of the tasks with replacement from
    `numpy.random.Generator(PCG64(seed))` and returns the (1 - confidence) / 2
    and (1 + confidence) / 2 quantiles of their means (NumPy's "linear"
    quantiles). The same inputs always give the same interval. It describes the
    spread over tasks of this suite, not training noise (one replica per task).

    Returns:
      (low, high); (nan, nan) for no values.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return math.nan, math.nan
    rng = np.random.Generator(np.random.PCG64(seed))
    means = values[rng.integers(0, values.size, size=(resamples, values.size))].mean(axis=1)
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


def win_rate(scores: Sequence[float], baseline_scores: Sequence[float]) -> float:
    """The share of tasks where `scores` is lower (better) than the baseline's, ties counting half.

    Scores within `TIE_RTOL` of each other (absolute: scores lie in [0, 1]) are
    ties. Tasks where either score is NaN are left out; NaN when none is left.
    """
    scores = np.asarray(scores, dtype=np.float64)
    baseline = np.asarray(baseline_scores, dtype=np.float64)
    both = np.isfinite(scores) & np.isfinite(baseline)
    if not both.any():
        return math.nan
    tie = np.abs(scores[both] - baseline[both]) <= TIE_RTOL
    wins = np.count_nonzero((scores[both] < baseline[both]) & ~tie)
    ties = np.count_nonzero(tie)
    return float((wins + 0.5 * ties) / np.count_nonzero(both))


def performance_ratios(scores: np.ndarray, epsilon: float = PROFILE_EPSILON) -> np.ndarray:
    """Dolan & More's performance ratios on normalised scores: (tasks, solvers) -> (tasks, solvers).

    r[p, s] = (score[p, s] + epsilon) / (min over solvers of score[p, :] + epsilon).
    Scores are in [0, 1] and 0 is the best loss seen on the task, so the shift
    `epsilon` (a fraction of the task's initial-to-best gap) keeps the ratio
    finite; ratios lie in [1, (1 + epsilon) / epsilon], where the upper end is a
    solver with no progress while another reached the best. A NaN score (no
    curve) counts as 1, a failure, as in Dolan & More's r_M.
    """
    scores = np.where(np.isfinite(scores), np.asarray(scores, dtype=np.float64), 1.0)
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
