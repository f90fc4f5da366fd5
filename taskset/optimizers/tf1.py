"""Gradient transforms and schedules for the TaskSet-exact (TF1) update rules.

TaskSet's optimizers (google-research `task_set/optimizers/`) and the opt_list
code Google shipped its learned list with (`opt_list/opt_list/tf_opt_list.py`)
are TF1 `Optimizer`s whose numbers differ from the standard reading our plain
families take (`taskset.optimizers.moments`). The pieces here transcribe them;
the `*_tf1` families (`adam_tf1.py`, `nadamw_tf1.py`) compose them with the
shared ones (`chain`, `ema`, `bias_correction`, `penalty_gradient`, the schedules).

With t = step + 1 (TF1's beta-power accumulators start at b and are multiplied
after each update, so update `step` sees b^(step + 1)):
- `tf.train.AdamOptimizer` and `NAdamWOptimizer` fold the bias correction into
  the step size, lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t), and divide the raw
  moment by sqrt(v) + eps ("eps hat": eps is not bias-corrected). The factor is
  applied here as a schedule (`bias_correction_factor`), so anything added to
  the update before it (nadamw's AdamW term) is scaled by lr_t too, as in TF1.
- `Adam8POptimizer` bias-corrects both moments and adds 1e-10 under the root:
  mh / (sqrt(vh + 1e-10) + eps).
- `NAdamWOptimizer` with use_nesterov uses the numerator b1 m_t + (1 - b1) g_t
  (no separate 1 - b1^(t+1) correction) and its L2 term is g - l2 * p.

The bias corrections are computed in closed form (`moments.bias_correction`),
while TF1 keeps float32 accumulators b^t updated by one multiplication per step.
The formulas are the same; the float32 rounding is not (for b2 within ~1e-4 of 1
TF1's accumulated 1 - b2^t drifts by several per cent after thousands of steps,
while the closed form stays within a few ulps).
"""

from __future__ import annotations

from taskset.lazy import tf
from taskset.optimizers.chain import GradientTransform, HparamSpec, as_float, hparam, stateless
from taskset.optimizers.moments import AdamState, bias_correction, ema
from taskset.optimizers.penalties import penalty_gradient
from taskset.types import Hparams

ADAM8P_SQRT_FLOOR = 1e-10
"""Added to vh under the square root by TaskSet's Adam8POptimizer."""


def bias_correction_factor(beta1, beta2, step):
    """TF1's step-size factor sqrt(1 - b2^t) / (1 - b1^t), t = step + 1."""
    t = as_float(step) + 1.0
    return tf.sqrt(bias_correction(beta2, t)) / bias_correction(beta1, t)


def scale_by_eps_hat_moments(beta1: HparamSpec, beta2: HparamSpec, eps: HparamSpec,
                             nesterov: HparamSpec = 0.0) -> GradientTransform:
    """updates <- n / (sqrt(v_t) + eps), on raw (not bias-corrected) moments.

    m_t = b1 m + (1 - b1) g, v_t = b2 v + (1 - b2) g^2, and n = m_t, or
    n = b1 m_t + (1 - b1) g with nesterov = 1 (NAdamWOptimizer._apply_dense).
    Follow it with `bias_correction_factor` in the learning rate to get TF1's
    AdamOptimizer step lr_t * n / (sqrt(v_t) + eps).

    References: Kingma & Ba, arXiv:1412.6980 (the "eps hat" form before section 2.1).
    """

    def init(params) -> AdamState:
        return AdamState(tf.nest.map_structure(tf.zeros_like, params), tf.nest.map_structure(tf.zeros_like, params))

    def update(updates, state: AdamState, params, hparams, step, total_steps):
        b1, b2, e, nest = (hparam(hparams, s) for s in (beta1, beta2, eps, nesterov))
        m = tf.nest.map_structure(lambda m_, g: ema(m_, g, b1), state.m, updates)
        v = tf.nest.map_structure(lambda v_, g: ema(v_, tf.square(g), b2), state.v, updates)

        def direction(m_, v_, g):
            numerator = tf.where(nest > 0.5, b1 * m_ + (1.0 - b1) * g, m_)
            return numerator / (tf.sqrt(v_) + e)

        return tf.nest.map_structure(direction, m, v, updates), AdamState(m, v)

    return GradientTransform(init, update)


def scale_by_adam8p_moments(beta1: HparamSpec, beta2: HparamSpec, eps: HparamSpec) -> GradientTransform:
    """updates <- mh / (sqrt(vh + 1e-10) + eps), Adam8POptimizer.apply_gradients' update."""

    def init(params) -> AdamState:
        return AdamState(tf.nest.map_structure(tf.zeros_like, params), tf.nest.map_structure(tf.zeros_like, params))

    def update(updates, state: AdamState, params, hparams, step, total_steps):
        b1, b2, e = (hparam(hparams, s) for s in (beta1, beta2, eps))
        t = as_float(step) + 1.0
        bc1, bc2 = bias_correction(b1, t), bias_correction(b2, t)
        m = tf.nest.map_structure(lambda m_, g: ema(m_, g, b1), state.m, updates)
        v = tf.nest.map_structure(lambda v_, g: ema(v_, tf.square(g), b2), state.v, updates)
        direction = tf.nest.map_structure(
            lambda m_, v_: (m_ / bc1) / (tf.sqrt(v_ / bc2 + ADAM8P_SQRT_FLOOR) + e), m, v)
        return direction, AdamState(m, v)

    return GradientTransform(init, update)


def subtract_l2(l2: HparamSpec) -> GradientTransform:
    """updates <- updates - l2 * p: NAdamWOptimizer's `grad - var * l2_weight_decay`.

    The sign is TaskSet's: the term pushes weights away from zero (the
    standard `nadamw` adds it). Kept because the published curves and list
    were made with it.
    """

    def add(updates, params, hparams, step, total_steps):
        c = hparam(hparams, l2)
        return tf.nest.map_structure(lambda u, p: u + penalty_gradient(p, 0.0, -c), updates, params)

    return stateless(add)


def add_loss_penalty_gradient(l1: HparamSpec, l2: HparamSpec) -> GradientTransform:
    """updates <- updates + l1 sign(p) + 2 l2 p: the gradient of l1 ||p||_1 + l2 ||p||^2.

    Adam8POptimizer.compute_gradients adds l1 * sum|p| + l2 * sum p^2 to the loss
    (reg_factor 1), so its l2 enters the gradient doubled.
    """

    def add(updates, params, hparams, step, total_steps):
        c1, c2 = hparam(hparams, l1), hparam(hparams, l2)
        return tf.nest.map_structure(lambda u, p: u + penalty_gradient(p, c1, 2.0 * c2), updates, params)

    return stateless(add)


def with_bias_correction(beta1: HparamSpec, beta2: HparamSpec, schedule=None):
    """A schedule for `scale_by_scheduled_lr`: schedule(step) * sqrt(1 - b2^t) / (1 - b1^t).

    Args:
      beta1, beta2: hparam names or constants.
      schedule: schedule(hparams, step, total_steps) -> multiplier, or None for 1.
    """

    def fn(hparams: Hparams, step, total_steps):
        factor = bias_correction_factor(hparam(hparams, beta1), hparam(hparams, beta2), step)
        return factor if schedule is None else schedule(hparams, step, total_steps) * factor

    return fn
