"""Independent NumPy (float64) transcriptions of TaskSet's published TF1 optimizer updates.

Written from the google-research sources, line by line, not from this package's
pieces (which compose the same math differently: bias correction as a schedule,
penalties as transforms), so agreement checks the semantics:
  nadamw:  task_set/optimizers/nadamw.py, NAdamWOptimizer._apply_dense (the
           `grad - var * l2`, m_t, v_t, lr_t, nesterov and AdamW lines) and
           get_cosine_learning_rate_fn; opt_list/opt_list/tf_opt_list.py holds
           the same class and schedule.
  adam1p/adam4p:  task_set/optimizers/adam.py get_adam1p / get_adam4p, i.e.
           tf.train.AdamOptimizer (lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),
           p -= lr_t m / (sqrt(v) + eps)).
  adam6p/adam8p:  task_set/optimizers/adam8p.py Adam8POptimizer.apply_gradients
           and compute_gradients; get_adam6p passes training_steps, get_adam8p does not.
Beta powers are the accumulators TF1 keeps (start at b, multiplied after each
update), here in float64. Hyperparameters are rounded to float32 first, as
the TF rules receive them.
"""

from __future__ import annotations

import math

import numpy as np


def as_f32(hparams: dict[str, float]) -> dict[str, float]:
    return {k: float(np.float32(v)) for k, v in hparams.items()}


def cosine_learning_rate(global_step: int, training_steps: int, learning_rate: float, min_learning_rate_mult: float,
                         constant_fraction: float, warmup_fraction: float) -> float:
    """get_cosine_learning_rate_fn(...)(global_step), TaskSet's TF version (min of the fractions)."""
    float_training_steps = float(training_steps)
    global_step = min(float(global_step), float_training_steps)
    constant_steps = float_training_steps * constant_fraction
    x = max(global_step, constant_steps)
    min_learning_rate = min_learning_rate_mult * learning_rate
    if warmup_fraction:
        warmup_steps = float_training_steps * min(warmup_fraction, constant_fraction)
        is_warmup = float(warmup_steps > global_step)
        warmup_lr = (global_step / warmup_steps) * learning_rate if is_warmup else 0.0
    else:
        warmup_lr = learning_rate
        is_warmup = 0.0
    step = x - constant_steps
    constant_and_decay = (learning_rate - min_learning_rate) * (
        math.cos(step * math.pi / (float_training_steps - constant_steps)) / 2.0 + 0.5) + min_learning_rate
    return constant_and_decay * (1.0 - is_warmup) + is_warmup * warmup_lr


class NAdamW:
    """NAdamWOptimizer(learning_rate=schedule, beta1, beta2, epsilon, adamw, l2, use_nesterov)."""

    def __init__(self, hp: dict[str, float], training_steps: int):
        self.hp = as_f32(hp)
        self.training_steps = training_steps
        self.beta1_power, self.beta2_power = self.hp["beta1"], self.hp["beta2"]
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def apply(self, grads: dict[str, np.ndarray], params: dict[str, np.ndarray], global_step: int) -> dict:
        hp = self.hp
        lr = cosine_learning_rate(global_step, self.training_steps, hp["lr"], hp["min_lr_mult"],
                                  hp["constant_fraction"], hp["warmup_fraction"])
        beta1, beta2, epsilon = hp["beta1"], hp["beta2"], hp["eps"]
        out = {}
        for name, var in params.items():
            grad = np.asarray(grads[name], np.float64) - var * hp["l2_weight_decay"]
            m = self.m.get(name, np.zeros_like(var))
            v = self.v.get(name, np.zeros_like(var))
            m_t = beta1 * m + (1.0 - beta1) * grad
            v_t = beta2 * v + (1.0 - beta2) * grad * grad
            lr_t = lr * math.sqrt(1.0 - self.beta2_power) / (1.0 - self.beta1_power)
            if hp["nesterov"]:
                step = lr_t * ((beta1 * m_t + (1.0 - beta1) * grad) / (np.sqrt(v_t) + epsilon))
            else:
                step = lr_t * m_t / (np.sqrt(v_t) + epsilon)
            step = step + lr_t * hp["adamw_weight_decay"] * var
            out[name] = var - step
            self.m[name], self.v[name] = m_t, v_t
        # AdamOptimizer._finish: the beta powers advance after every variable is updated.
        self.beta1_power *= beta1
        self.beta2_power *= beta2
        return out


class TF1Adam:
    """tf.train.AdamOptimizer(learning_rate, beta1, beta2, epsilon): adam1p and adam4p."""

    def __init__(self, hp: dict[str, float], training_steps: int):
        self.hp = as_f32({"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, **hp})
        self.beta1_power, self.beta2_power = self.hp["beta1"], self.hp["beta2"]
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def apply(self, grads, params, global_step):
        b1, b2, eps = self.hp["beta1"], self.hp["beta2"], self.hp["eps"]
        lr_t = self.hp["lr"] * math.sqrt(1 - self.beta2_power) / (1 - self.beta1_power)
        out = {}
        for name, var in params.items():
            g = np.asarray(grads[name], np.float64)
            m = b1 * self.m.get(name, np.zeros_like(var)) + (1 - b1) * g
            v = b2 * self.v.get(name, np.zeros_like(var)) + (1 - b2) * g * g
            out[name] = var - lr_t * m / (np.sqrt(v) + eps)
            self.m[name], self.v[name] = m, v
        self.beta1_power *= b1
        self.beta2_power *= b2
        return out


class Adam8P:
    """Adam8POptimizer(**cfg, training_steps=...): compute_gradients adds the penalties to the loss."""

    def __init__(self, hp: dict[str, float], training_steps: int, l1_l2: bool):
        self.hp = as_f32(hp)
        self.l1 = self.hp["l1"] if l1_l2 else 0.0
        self.l2 = self.hp["l2"] if l1_l2 else 0.0
        self.training_steps = training_steps
        self.beta1_power, self.beta2_power = self.hp["beta1"], self.hp["beta2"]
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def apply(self, grads, params, global_step):
        hp = self.hp
        rescale_global_step = float(10000) / self.training_steps * float(global_step)
        exp_factor = math.exp(-hp["exponential_decay"] * rescale_global_step)
        linear_factor = max(1 - hp["linear_decay"] * rescale_global_step, 0.0)
        lr = exp_factor * linear_factor * hp["lr"]
        out = {}
        for name, param in params.items():
            # d/dp of loss + l1 * sum|p| + l2 * sum p^2
            grad = np.asarray(grads[name], np.float64) + self.l1 * np.sign(param) + self.l2 * 2.0 * param
            next_m = hp["beta1"] * self.m.get(name, np.zeros_like(param)) + (1.0 - hp["beta1"]) * grad
            next_v = hp["beta2"] * self.v.get(name, np.zeros_like(param)) + (1.0 - hp["beta2"]) * np.square(grad)
            next_m_hat = next_m / (1 - self.beta1_power)
            next_v_hat = next_v / (1 - self.beta2_power)
            update = next_m_hat / (np.sqrt(next_v_hat + 1e-10) + hp["eps"])
            out[name] = param - lr * update
            self.m[name], self.v[name] = next_m, next_v
        self.beta1_power *= hp["beta1"]
        self.beta2_power *= hp["beta2"]
        return out


def make(family: str, hp: dict[str, float], total_steps: int):
    """The reference optimizer of a `*_tf1` family, as TaskSet's getter builds it for a `total_steps` run."""
    if family == "nadamw_tf1":
        return NAdamW(hp, total_steps)
    if family in ("adam1p_tf1", "adam4p_tf1"):
        return TF1Adam(hp, total_steps)
    if family == "adam6p_tf1":
        return Adam8P(hp, total_steps, l1_l2=False)  # get_adam6p: training_steps passed
    if family == "adam8p_tf1":
        return Adam8P(hp, 10000, l1_l2=True)  # get_adam8p: training_steps left at its default
    raise ValueError(f"no TF1 reference for {family!r}")


def trajectory(family: str, hp: dict[str, float], params: dict, grads: list[dict], total_steps: int) -> list[dict]:
    """Params after each of the given gradient steps (open loop)."""
    optimizer = make(family, hp, total_steps)
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    out = []
    for step, g in enumerate(grads):
        p = optimizer.apply(g, p, step)
        out.append({k: x.copy() for k, x in p.items()})
    return out
