"""Moment estimators as gradient transforms: Adam (with a Nesterov variant) and heavy-ball momentum.

Conventions shared by every family (t = step + 1 is Adam's 1-based counter):
  m_t = b1 m_{t-1} + (1 - b1) g_t,   v_t = b2 v_{t-1} + (1 - b2) g_t^2
  mh  = m_t / (1 - b1^t),            vh  = v_t / (1 - b2^t)
  direction = mh / (sqrt(vh) + eps)
eps is added *outside* the square root of the *bias-corrected* v, as in Algorithm 1
of Kingma & Ba (and PyTorch, optax, TaskSet's adam8p). TF1's AdamOptimizer and
Keras instead use "eps hat", m_t * sqrt(1 - b2^t) / (1 - b1^t) / (sqrt(v_t) + eps),
which is this rule with eps / sqrt(1 - b2^t) in place of eps; the two agree only
where eps is negligible against sqrt(vh).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from taskset.lazy import tf
from taskset.optimizers.chain import GradientTransform, HparamSpec, as_float, hparam


class AdamState(NamedTuple):
    """Adam's first (`m`) and second (`v`) moment estimates, shaped like the params."""

    m: Any
    v: Any


class MomentumState(NamedTuple):
    """Heavy-ball momentum buffer, shaped like the params."""

    velocity: Any


def ema(average, value, decay):
    """decay * average + (1 - decay) * value."""
    return decay * average + (1.0 - decay) * value


def bias_correction(beta, t):
    """1 - beta^t, computed as -expm1(t * log1p(beta - 1)).

    The direct form cancels catastrophically in float32 when beta is close to 1
    (TaskSet samples beta2 up to 1 - 1e-6): for b = 1 - 1e-6, 1 - b^t is ~1e-4 at
    t = 100 while b^t carries an absolute rounding error of ~6e-8, so the direct
    form is off by ~5e-5 relative; log1p/expm1 keep a few ulps. beta = 0 gives 1.
    """
    return -tf.math.expm1(t * tf.math.log1p(beta - 1.0))


def adam_direction(m, v, grad, beta1, eps, nesterov, bc1, bc1_next, bc2):
    """The bias-corrected Adam direction (before the learning rate) from updated moments.

    Plain:    mh / (sqrt(vh) + eps)
    Nesterov: (b1 m_t / (1 - b1^(t+1)) + (1 - b1) g_t / (1 - b1^t)) / (sqrt(vh) + eps)
    The Nesterov form is NAdam of Dozat (2016), Algorithm 2, with a constant
    momentum b1 (no momentum-decay schedule, unlike Keras' and PyTorch's Nadam):
    the next step's momentum is applied now.

    Args:
      m, v: moments already updated with `grad`.
      grad: g_t.
      beta1, eps: float32 scalars.
      nesterov: 1.0 for the Nesterov form, 0.0 for plain Adam.
      bc1, bc1_next, bc2: the bias corrections 1 - b1^t, 1 - b1^(t+1), 1 - b2^t.
    """
    plain = m / bc1
    lookahead = beta1 * m / bc1_next + (1.0 - beta1) * grad / bc1
    return tf.where(nesterov > 0.5, lookahead, plain) / (tf.sqrt(v / bc2) + eps)


def scale_by_adam(beta1: HparamSpec = 0.9, beta2: HparamSpec = 0.999, eps: HparamSpec = 1e-8,
                  nesterov: HparamSpec = 0.0) -> GradientTransform:
    """updates <- Adam direction of the updates (see `adam_direction`).

    References: Kingma & Ba, arXiv:1412.6980; Dozat 2016, "Incorporating Nesterov
      Momentum into Adam" (ICLR workshop).
    """

    def init(params) -> AdamState:
        return AdamState(tf.nest.map_structure(tf.zeros_like, params), tf.nest.map_structure(tf.zeros_like, params))

    def update(updates, state: AdamState, params, hparams, step, total_steps):
        b1, b2, e, nest = (hparam(hparams, s) for s in (beta1, beta2, eps, nesterov))
        t = as_float(step) + 1.0
        bc1, bc1_next, bc2 = bias_correction(b1, t), bias_correction(b1, t + 1.0), bias_correction(b2, t)
        m = tf.nest.map_structure(lambda m_, g: ema(m_, g, b1), state.m, updates)
        v = tf.nest.map_structure(lambda v_, g: ema(v_, tf.square(g), b2), state.v, updates)
        direction = tf.nest.map_structure(
            lambda m_, v_, g: adam_direction(m_, v_, g, b1, e, nest, bc1, bc1_next, bc2), m, v, updates)
        return direction, AdamState(m, v)

    return GradientTransform(init, update)


def scale_by_momentum(momentum: HparamSpec, nesterov: HparamSpec = 0.0) -> GradientTransform:
    """updates <- heavy-ball direction: b <- mu b + g; plain: b, Nesterov: g + mu b.

    This is PyTorch's SGD form (no dampening, learning rate applied outside the
    buffer); with a constant learning rate it equals Keras' SGD, whose buffer
    holds -lr * b. The first step is b = g.

    References: Polyak 1964; Sutskever et al. 2013, "On the importance of
      initialization and momentum in deep learning" (ICML) for the Nesterov form.
    """

    def init(params) -> MomentumState:
        return MomentumState(tf.nest.map_structure(tf.zeros_like, params))

    def update(updates, state: MomentumState, params, hparams, step, total_steps):
        mu, nest = hparam(hparams, momentum), hparam(hparams, nesterov)
        velocity = tf.nest.map_structure(lambda b, g: mu * b + g, state.velocity, updates)
        direction = tf.nest.map_structure(lambda b, g: tf.where(nest > 0.5, g + mu * b, b), velocity, updates)
        return direction, MomentumState(velocity)

    return GradientTransform(init, update)
