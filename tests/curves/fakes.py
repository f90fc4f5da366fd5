"""Fast stand-ins for the trainer, so store and executor tests run in milliseconds.

`fake_train` has `taskset.training.train`'s signature and returns curves with
its fields; the numbers are a deterministic function of (task, config, replica
seed), so two runs of the same job give identical rows. The other trainers
fail, die or stall in controlled ways. All are module-level, hence picklable
for process and Dask workers.
"""

from __future__ import annotations

import os
import pathlib
import signal
import time
import zlib

import numpy as np

from taskset.optimizers import OptimizerConfig
from taskset.training.curve import Curve

# Trainers that misbehave once look for this file (set through the environment,
# so that spawned and Dask workers see it too).
MARKER_ENV = "TASKSET_TEST_MARKER"


def fake_curve(task, config: OptimizerConfig, steps: int, eval_every: int, replica_seed: int) -> Curve:
    seed = zlib.crc32(f"{task.name}/{config.name}/{replica_seed}".encode())
    rng = np.random.default_rng(seed)
    xs = np.arange(0, steps + 1, eval_every, dtype=np.int64)
    start, floor, rate = 2.3, rng.uniform(0.1, 1.0), rng.uniform(1e-3, 5e-2)
    base = floor + (start - floor) * np.exp(-rate * xs)
    metrics = {m: (base * rng.uniform(0.98, 1.02, size=xs.shape)).astype(np.float32)
               for m in ("train", "valid_inner", "valid_outer", "test")}
    # A large learning rate diverges on replica 1 only: a config that fails on some seeds.
    diverged = config.hparams.get("lr", 0.0) > 0.1 and replica_seed == 1
    return Curve(task=task.name, task_config=task.config_dict, optimizer=config, replica_seed=replica_seed,
                 init_seed=replica_seed, steps=xs, status="diverged" if diverged else "ok",
                     diverged_step=int(xs[len(xs) // 2]) if diverged else None,
                     seconds_per_step=1e-3, **metrics)


def fake_train(task, optimizer_configs, steps, eval_every, replica_seed=0, eval_batches=5):
    return [fake_curve(task, c, steps, eval_every, replica_seed) for c in optimizer_configs]


def failing_train(task, optimizer_configs, steps, eval_every, replica_seed=0, eval_batches=5):
    """Fails on replica 1 (as a task with a bug would), trains the rest."""
    if replica_seed == 1:
        raise FloatingPointError(f"boom in {task.name} replica {replica_seed}")
    return fake_train(task, optimizer_configs, steps, eval_every, replica_seed, eval_batches)


def _first_time() -> bool:
    """True for the first caller across processes (creates the marker file)."""
    marker = pathlib.Path(os.environ[MARKER_ENV])
    try:
        marker.touch(exist_ok=False)
        return True
    except FileExistsError:
        return False


def dies_once_train(task, optimizer_configs, steps, eval_every, replica_seed=0, eval_batches=5):
    """The first call anywhere kills its own worker process; later calls train."""
    if _first_time():
        os.kill(os.getpid(), signal.SIGKILL)
    return fake_train(task, optimizer_configs, steps, eval_every, replica_seed, eval_batches)


def kills_on_seed16_train(task, optimizer_configs, steps, eval_every, replica_seed=0, eval_batches=5):
    """Kills its worker process on every replica-0 job of mlp_seed16 (a segfaulting task)."""
    if task.name == "mlp_seed16" and replica_seed == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return fake_train(task, optimizer_configs, steps, eval_every, replica_seed, eval_batches)


def stalls_once_train(task, optimizer_configs, steps, eval_every, replica_seed=0, eval_batches=5):
    """The first call anywhere writes the marker with its pid and hangs (to be killed)."""
    if _first_time():
        pathlib.Path(os.environ[MARKER_ENV]).write_text(str(os.getpid()))
        time.sleep(600)
    return fake_train(task, optimizer_configs, steps, eval_every, replica_seed, eval_batches)
