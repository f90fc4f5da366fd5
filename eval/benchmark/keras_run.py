"""Training a task with a Keras 3 optimizer, on the trainer's schedule, into a `Curve`.

A Keras optimizer keeps its state in its own variables and updates
`tf.Variable`s in place, so it cannot join the population trainer's pure,
stacked members. This loop gives it the same experiment instead: the same
initial parameters (`task.init(replica_seed)`), the same train batch at every
step (`batch_seed(replica_seed, "train", step)`), the same evaluation steps and
evaluation batches (`taskset.training.schedule`), and the same divergence rule
(`taskset.training.divergence`: `has_diverged` on the minibatch loss before
each update, `loss_diverged` on the mean train loss at each evaluation, both
against `divergence_limit` of the initial loss; `nan_after` blanks the curve
from the first failing step on, and training stops there). Only the loop
over the schedule's intervals is its own: the trainer's drives stacked,
frozen-on-divergence members, this one a single Keras optimizer.

What differs: one config per run (the factory is called afresh for every
(task, replica), since an optimizer builds its slots for one set of
variables), and no XLA, so it is slower than a built-in config and its losses
may differ from the trainer's in the last bits where the trainer uses XLA.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from taskset.datasets.base import SPLITS
from taskset.lazy import tf
from taskset.optimizers.base import OptimizerConfig
from taskset.tasks.base import Task, batch_seed
from taskset.training import STATUS_DIVERGED, STATUS_OK, Curve
from taskset.training.divergence import divergence_limit, has_diverged, loss_diverged, nan_after
from taskset.training.population import loss_and_grads
from taskset.training.schedule import eval_batch_seed, eval_steps


def train_keras(task: Task, make_optimizer: Callable[[], Any], config: OptimizerConfig, steps: int, eval_every: int,
                replica_seed: int = 0, eval_batches: int = 5) -> Curve:
    """Trains `task` with a fresh `make_optimizer()` and returns its curve (see the module docstring).

    Args:
      task: the task; its data must be available.
      make_optimizer: returns a new `keras.optimizers.Optimizer`.
      config: what the curve records as its optimizer.
      steps, eval_every, replica_seed, eval_batches: as for `taskset.training.train`.

    Raises:
      DataNotAvailableError: the task's data is missing.
    """
    task.check_data()
    tf.config.experimental.enable_op_determinism()
    init = task.init(replica_seed)
    names = list(init)
    variables = {name: tf.Variable(init[name], name=f"param{i}") for i, name in enumerate(names)}
    var_list = [variables[name] for name in names]
    optimizer = make_optimizer()
    optimizer.build(var_list)
    seed = tf.constant(replica_seed, tf.int64)

    @tf.function
    def train_chunk(start, count, limit):
        """Steps start..start+count-1; returns the step whose loss diverged, else -1."""
        diverged_at = tf.constant(-1, tf.int64)
        for step in tf.range(start, start + count):
            batch = task.sample_batch("train", batch_seed(seed, "train", step))
            loss, grads = loss_and_grads(task, variables, batch)
            if has_diverged(tf.cast(loss, tf.float32), limit):
                diverged_at = step
                break
            optimizer.apply_gradients([(grads[name], variables[name]) for name in names])
        return diverged_at

    @tf.function
    def evaluate(step):
        rows = []
        for split in SPLITS:
            total = tf.constant(0.0, tf.float32)
            for index in tf.range(tf.constant(eval_batches, tf.int64)):
                batch = task.sample_batch(split, eval_batch_seed(seed, split, step, index, eval_batches))
                total += tf.cast(task.loss(variables, batch), tf.float32)
            rows.append(total / eval_batches)
        return tf.stack(rows)

    schedule = eval_steps(steps, eval_every)
    values = np.full((len(schedule), len(SPLITS)), np.nan, np.float32)
    values[0] = evaluate(tf.constant(0, tf.int64)).numpy()
    limit = divergence_limit(values[0][0])
    diverged: int | None = 0 if loss_diverged(float(values[0][0]), limit) else None
    elapsed, trained = 0.0, 0
    for e in range(1, len(schedule)):
        if diverged is not None:
            break
        start, count = int(schedule[e - 1]), int(schedule[e] - schedule[e - 1])
        began = time.perf_counter()
        at = int(train_chunk(tf.constant(start, tf.int64), tf.constant(count, tf.int64),
                             tf.constant(limit, tf.float32)))
        elapsed += time.perf_counter() - began
        trained += count
        if at >= 0:
            diverged = at
            break
        values[e] = evaluate(tf.constant(int(schedule[e]), tf.int64)).numpy()
        if loss_diverged(float(values[e][0]), limit):
            diverged = int(schedule[e])
    losses = {split: nan_after(values[:, i], schedule, diverged) for i, split in enumerate(SPLITS)}
    return Curve(task=task.name, task_config=task.config_dict, optimizer=config, replica_seed=replica_seed,
                 init_seed=replica_seed, steps=schedule, **losses,
                 status=STATUS_OK if diverged is None else STATUS_DIVERGED, diverged_step=diverged,
                 seconds_per_step=elapsed / trained if trained else float("nan"))
