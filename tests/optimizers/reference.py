"""Independent NumPy (float64) implementations of the documented update rules.

Written from the family docstrings, not from the library's pieces, so a test that
compares the two checks the formulas rather than re-running the same code. The
hparams are first rounded to float32, as the rules receive them.
"""

from __future__ import annotations

import math

import numpy as np


def as_f32(hparams: dict[str, float]) -> dict[str, float]:
    return {k: float(np.float32(v)) for k, v in hparams.items()}


def taskset_decay(step: int, total_steps: int, ld: float, ed: float) -> float:
    s = step * 10000.0 / total_steps
    return math.exp(-ed * s) * max(1.0 - ld * s, 0.0)


def warmup_constant_cosine(step: int, total_steps: int, warmup: float, constant: float, min_mult: float) -> float:
    t = min(step, total_steps)
    c_steps = constant * total_steps
    w_steps = min(warmup, constant) * total_steps
    if t < w_steps:
        return t / w_steps
    progress = 0.0 if total_steps == c_steps else max(t - c_steps, 0.0) / (total_steps - c_steps)
    return min_mult + (1.0 - min_mult) * (1.0 + math.cos(math.pi * progress)) / 2.0


def adam_family(family: str, hp: dict[str, float], params: dict, grads: list[dict], total_steps: int) -> list[dict]:
    """adam1p/4p/6p/8p; returns the params after each step."""
    hp = as_f32({"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, **hp})
    b1, b2, eps = hp["beta1"], hp["beta2"], hp["eps"]
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(x) for k, x in p.items()}
    out = []
    for step, g_step in enumerate(grads):
        t = step + 1
        decay = taskset_decay(step, total_steps, hp["linear_decay"], hp["exponential_decay"]) \
            if family in ("adam6p", "adam8p") else 1.0
        for k in p:
            g = np.asarray(g_step[k], np.float64)
            if family == "adam8p":
                g = g + hp["l1"] * np.sign(p[k]) + hp["l2"] * p[k]
            m[k] = b1 * m[k] + (1 - b1) * g
            v[k] = b2 * v[k] + (1 - b2) * g * g
            mh, vh = m[k] / (1 - b1 ** t), v[k] / (1 - b2 ** t)
            p[k] = p[k] - hp["lr"] * decay * mh / (np.sqrt(vh) + eps)
        out.append({k: x.copy() for k, x in p.items()})
    return out


def nadamw(hp: dict[str, float], params: dict, grads: list[dict], total_steps: int) -> list[dict]:
    hp = as_f32(hp)
    b1, b2, eps = hp["beta1"], hp["beta2"], hp["eps"]
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(x) for k, x in p.items()}
    out = []
    for step, g_step in enumerate(grads):
        t = step + 1
        lr = hp["lr"] * warmup_constant_cosine(step, total_steps, hp["warmup_fraction"], hp["constant_fraction"],
                                               hp["min_lr_mult"])
        for k in p:
            g = np.asarray(g_step[k], np.float64) + hp["l2_weight_decay"] * p[k]
            m[k] = b1 * m[k] + (1 - b1) * g
            v[k] = b2 * v[k] + (1 - b2) * g * g
            vh = v[k] / (1 - b2 ** t)
            if hp["nesterov"]:
                mh = b1 * m[k] / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1 ** t)
            else:
                mh = m[k] / (1 - b1 ** t)
            p[k] = p[k] - lr * (mh / (np.sqrt(vh) + eps) + hp["adamw_weight_decay"] * p[k])
        out.append({k: x.copy() for k, x in p.items()})
    return out


def sgdm(hp: dict[str, float], params: dict, grads: list[dict]) -> list[dict]:
    hp = as_f32(hp)
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    buf = {k: np.zeros_like(v) for k, v in p.items()}
    out = []
    for g_step in grads:
        for k in p:
            g = np.asarray(g_step[k], np.float64)
            buf[k] = hp["momentum"] * buf[k] + g
            direction = g + hp["momentum"] * buf[k] if hp["nesterov"] else buf[k]
            p[k] = p[k] - hp["lr"] * direction
        out.append({k: x.copy() for k, x in p.items()})
    return out


def reference(family: str, hp: dict[str, float], params: dict, grads: list[dict], total_steps: int) -> list[dict]:
    if family.endswith("_tf1"):  # TaskSet-exact variants: the transcription of TaskSet's TF1 code
        from tests.optimizers import taskset_tf1_reference

        return taskset_tf1_reference.trajectory(family, hp, params, grads, total_steps)
    if family == "nadamw":
        return nadamw(hp, params, grads, total_steps)
    if family == "sgdm":
        return sgdm(hp, params, grads)
    return adam_family(family, hp, params, grads, total_steps)
