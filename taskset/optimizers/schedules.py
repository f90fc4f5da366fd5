"""Learning-rate schedules as pure functions of the step, and the transform that applies them.

Every schedule returns a float32 multiplier of the base learning rate. `step`
counts from 0 (the update being computed) and `total_steps` is the length of the
run; both may be Python numbers or tensors, hyperparameters are float32 tensors.
Only TF ops are used (no Python branch on a value), so the schedules trace once
and broadcast over stacked configs.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

from taskset.lazy import tf
from taskset.optimizers.chain import GradientTransform, HparamSpec, as_float, hparam, stateless
from taskset.types import Hparams

# TaskSet meta-trained its schedules on 10k-step runs and rescales the step of
# other run lengths to that clock (task_set/optimizers/adam8p.py).
TASKSET_REFERENCE_STEPS = 10_000.0

Schedule = Callable[[Hparams, object, object], object]
"""schedule(hparams, step, total_steps) -> multiplier of the learning rate."""


def taskset_decay(step, total_steps, linear_decay, exponential_decay):
    """TaskSet's adam6p/adam8p decay: exp(-ed * s) * max(1 - ld * s, 0).

    s = step * 10000 / total_steps rescales every run to TaskSet's 10k-step clock,
    so a config decays by the same total amount whatever the run length.

    Args:
      step: the current step (from 0).
      total_steps: the run length.
      linear_decay: ld, the linear decay per rescaled step.
      exponential_decay: ed, the exponential decay rate per rescaled step.

    Returns:
      The multiplier, in [0, 1].

    References: Metz et al. 2020, arXiv:2002.11887 (TaskSet), appendix on optimizer families.
    """
    s = as_float(step) * TASKSET_REFERENCE_STEPS / as_float(total_steps)
    return tf.exp(-exponential_decay * s) * tf.maximum(1.0 - linear_decay * s, 0.0)


def warmup_constant_cosine(step, total_steps, warmup_fraction, constant_fraction, min_lr_mult):
    """nadamw's schedule: linear warmup, constant, then cosine decay to a floor.

    With T = total_steps, C = constant_fraction * T, W = min(warmup_fraction,
    constant_fraction) * T and t = min(step, T):
      t < W:  t / W                                  (linear from 0; step 0 gets 0)
      t >= W: m + (1 - m) * (1 + cos(pi * p)) / 2,   p = max(t - C, 0) / (T - C)
    where m = min_lr_mult. So the multiplier is 1 from W until C and follows half a
    cosine from 1 at C to m at T; past T it stays at m. The warmup is capped at C
    (the constant phase includes the warmup), as in TaskSet; W = 0 means no warmup,
    and C = T means no decay (p is taken as 0 where T - C = 0).

    Args:
      step: the current step (from 0).
      total_steps: the run length T.
      warmup_fraction: W / T before capping (0 for none).
      constant_fraction: C / T, in [0, 1].
      min_lr_mult: m, the final multiplier, in [0, 1].

    Returns:
      The multiplier, in [0, 1].

    References: Loshchilov & Hutter, arXiv:1608.03983 (SGDR, cosine decay);
      Metz et al. 2020, arXiv:2002.11887 (TaskSet's nadamw family).
    """
    total = as_float(total_steps)
    t = tf.minimum(as_float(step), total)
    constant_steps = total * constant_fraction
    warmup_steps = total * tf.minimum(warmup_fraction, constant_fraction)
    progress = tf.math.divide_no_nan(tf.maximum(t - constant_steps, 0.0), total - constant_steps)
    decayed = min_lr_mult + (1.0 - min_lr_mult) * 0.5 * (1.0 + tf.cos(math.pi * progress))
    # divide_no_nan: with no warmup (W = 0) this branch is unused but must stay finite for tf.where.
    return tf.where(t < warmup_steps, tf.math.divide_no_nan(t, warmup_steps), decayed)


def scale_by_scheduled_lr(lr: HparamSpec, schedule: Optional[Schedule] = None) -> GradientTransform:
    """The final transform of a chain: updates <- -lr * schedule(step) * updates.

    Args:
      lr: the base learning rate (hparam name or constant).
      schedule: multiplier of `lr`; None for a constant learning rate.
    """

    def scale(updates, params, hparams, step, total_steps):
        rate = hparam(hparams, lr)
        if schedule is not None:  # Structure of the rule, fixed when the family is built.
            rate = rate * schedule(hparams, step, total_steps)
        return tf.nest.map_structure(lambda u: -rate * u, updates)

    return stateless(scale)
