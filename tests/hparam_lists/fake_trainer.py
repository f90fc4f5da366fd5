"""A trainer stand-in whose curves depend on the hyperparameters, for end-to-end list tests.

Each task has an optimal learning rate near 1e-3 (shifted per task by a hash of
its name); a config's final loss grows with the distance of its log lr from it,
so a learned list has something to learn. Learning rates above 0.3 diverge.
Same (task, config, replica) gives the same numbers. Module-level, so any
executor can pickle it.
"""

from __future__ import annotations

import zlib

import numpy as np

from taskset.optimizers import OptimizerConfig
from taskset.training.curve import Curve


def _curve(task, config: OptimizerConfig, steps: int, eval_every: int, replica_seed: int) -> Curve:
    optimum = -3.0 + (zlib.crc32(task.name.encode()) % 1000) / 1000.0 - 0.5
    rng = np.random.default_rng(zlib.crc32(f"{task.name}/{config.name}/{replica_seed}".encode()))
    xs = np.arange(0, steps + 1, eval_every, dtype=np.int64)
    lr = config.hparams["lr"]
    floor = 0.1 + 0.5 * min(abs(np.log10(lr) - optimum), 3.0)
    base = floor + (2.0 - floor) * np.exp(-xs / (0.3 * steps))
    metrics = {m: (base * rng.uniform(0.99, 1.01, xs.shape)).astype(np.float32)
               for m in ("train", "valid_inner", "valid_outer", "test")}
    diverged = lr > 0.3
    if diverged:
        for values in metrics.values():
            values[len(xs) // 2:] = np.nan
    return Curve(task.name, task.config_dict, config, replica_seed, replica_seed, xs, status="diverged" if diverged else "ok",
                 diverged_step=int(xs[len(xs) // 2]) if diverged else None, seconds_per_step=1e-3, **metrics)


def train(task, optimizer_configs, steps, eval_every, replica_seed=0, eval_batches=5):
    return [_curve(task, c, steps, eval_every, replica_seed) for c in optimizer_configs]
