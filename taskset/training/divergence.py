"""When a run has diverged, and how a diverged member is frozen.

A member diverges at the first step s whose parameters (after s updates) give a
training loss that is NaN, infinite, or larger than `DIVERGENCE_FACTOR` times the
absolute value of its initial train loss. The training loss checked is the
minibatch loss that step s computes anyway, and at evaluation steps also the
mean train loss over the evaluation batches. From then on the member's
parameters and optimizer state stop changing, its compiled step is skipped, and
its curve holds NaN; the other members never see its values, so their numbers
are exactly what they would have been without it.
"""

from __future__ import annotations

import math

import numpy as np

from taskset.lazy import tf

DIVERGENCE_FACTOR = 1e6
"""A loss this many times the initial train loss counts as diverged (TaskSet's rule)."""


def divergence_limit(initial_loss: float) -> float:
    """The largest loss that still counts as progress: 1e6 x |initial loss|.

    An initial loss of exactly 0 gives no limit (inf): only a non-finite loss then
    counts as divergence, since no multiple of 0 separates progress from blow-up.
    A non-finite initial loss gives NaN, a limit that every loss fails.
    """
    initial = float(initial_loss)
    if not math.isfinite(initial):
        return math.nan
    return DIVERGENCE_FACTOR * abs(initial) if initial else math.inf


def loss_diverged(loss: float, limit: float) -> bool:
    """`has_diverged` for one Python number (used on evaluated losses)."""
    return not math.isfinite(loss) or not loss <= limit


def has_diverged(loss, limit):
    """True where `loss` is NaN, infinite, or not <= `limit` (TF, elementwise).

    Written as "not (loss <= limit)" so that a NaN limit (non-finite initial loss)
    marks every loss as diverged.
    """
    return tf.logical_or(tf.logical_not(tf.math.is_finite(loss)), tf.logical_not(loss <= limit))


def freeze(alive, new, old):
    """`new` where the member is alive, else `old`, for every tensor of two like nests."""
    return tf.nest.map_structure(lambda n, o: tf.where(alive, n, o), new, old)


def nan_after(values: np.ndarray, steps: np.ndarray, diverged_step: int | None) -> np.ndarray:
    """`values` with NaN at every evaluation step >= `diverged_step` (a copy)."""
    out = np.array(values, dtype=np.float32)
    if diverged_step is not None:
        out[steps >= diverged_step] = np.nan
    return out
