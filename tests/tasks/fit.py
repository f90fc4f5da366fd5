"""Test helpers: a tiny plain-Adam loop on a fixed batch, independent of taskset.optimizers."""

from __future__ import annotations

import tensorflow as tf

from taskset.tasks import batch_seed


def grads_and_loss(task, params, batch):
    with tf.GradientTape() as tape:
        tape.watch(params)
        loss = task.loss(params, batch)
    return loss, tape.gradient(loss, params)


def adam_steps(task, params, batch, steps: int = 20, lr: float = 1e-3):
    """Runs `steps` of textbook Adam on one fixed batch; returns (first loss, last loss)."""
    m = {k: tf.zeros_like(v) for k, v in params.items()}
    v = {k: tf.zeros_like(p) for k, p in params.items()}

    @tf.function
    def step(params, m, v, t):
        loss, grads = grads_and_loss(task, params, batch)
        new_p, new_m, new_v = {}, {}, {}
        for k in params:
            g = grads[k] if grads[k] is not None else tf.zeros_like(params[k])
            new_m[k] = 0.9 * m[k] + 0.1 * g
            new_v[k] = 0.999 * v[k] + 0.001 * g * g
            mhat = new_m[k] / (1 - 0.9 ** t)
            vhat = new_v[k] / (1 - 0.999 ** t)
            new_p[k] = params[k] - lr * mhat / (tf.sqrt(vhat) + 1e-8)
        return new_p, new_m, new_v, loss

    first = None
    for t in range(1, steps + 1):
        params, m, v, loss = step(params, m, v, tf.constant(float(t)))
        first = float(loss) if first is None else first
    final = float(task.loss(params, batch))
    return first, final


def fixed_batch(task, split: str = "train"):
    return task.sample_batch(split, batch_seed(0, split, 0))
