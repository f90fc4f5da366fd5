"""Regularisation as gradient transforms: coupled L1/L2 penalties and decoupled weight decay.

The two forms differ in where the decay enters (Loshchilov & Hutter 2019):
- a *penalty* adds the gradient of l1 * ||p||_1 + (l2 / 2) * ||p||^2_2 to the
  gradient *before* the adaptive moments, so Adam rescales it like the loss
  gradient (TaskSet's adam8p, nadamw's l2_weight_decay);
- *decoupled* weight decay adds wd * p to the step *after* the moments, so the
  decay is not normalised by sqrt(v) (AdamW, nadamw's adamw_weight_decay).
"""

from __future__ import annotations

from taskset.lazy import tf
from taskset.optimizers.chain import GradientTransform, HparamSpec, hparam, stateless


def penalty_gradient(param, l1, l2):
    """Gradient of l1 * ||p||_1 + (l2 / 2) * ||p||^2: l1 * sign(p) + l2 * p (sign(0) = 0)."""
    return l1 * tf.sign(param) + l2 * param


def decayed_weights(param, weight_decay):
    """The decoupled decay term wd * p, added to an update before the learning rate scales it."""
    return weight_decay * param


def add_penalty_gradient(l1: HparamSpec = 0.0, l2: HparamSpec = 0.0) -> GradientTransform:
    """updates <- updates + l1 * sign(p) + l2 * p, for use before the moments.

    Args:
      l1: L1 coefficient (hparam name or constant).
      l2: L2 coefficient (hparam name or constant); the penalty is (l2 / 2) ||p||^2.
    """

    def add(updates, params, hparams, step, total_steps):
        c1, c2 = hparam(hparams, l1), hparam(hparams, l2)
        return tf.nest.map_structure(lambda u, p: u + penalty_gradient(p, c1, c2), updates, params)

    return stateless(add)


def add_decayed_weights(weight_decay: HparamSpec) -> GradientTransform:
    """updates <- updates + wd * p, for use after the moments (AdamW's decoupled decay).

    Followed by `scale_by_scheduled_lr`, the decay is lr * schedule(step) * wd * p,
    as in PyTorch's and Keras' AdamW.
    """

    def add(updates, params, hparams, step, total_steps):
        wd = hparam(hparams, weight_decay)
        return tf.nest.map_structure(lambda u, p: u + decayed_weights(p, wd), updates, params)

    return stateless(add)
