"""Trials: training runs as executor jobs, and the scores read off their curves.

A `TrialJob` is one call of the trainer: a population of optimizer configs on
one task, each config tagged with the slot it fills (method, run, trial index).
It carries the task's config, so a worker on another machine rebuilds the task
without resolving names, and a `key` (sha256 of its JSON), which the Dask
executor uses to name the job. `run_trial_job` is the module-level function a
worker calls.

Score of a trial: the lowest `valid_inner` loss over its evaluation steps (what
a user keeps with early stopping; a diverged run keeps what it reached before
diverging), with `valid_outer` and `test` at that step.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from typing import Any, Callable, Sequence

import numpy as np

from taskset import config as config_lib
from taskset.optimizers import OptimizerConfig

SELECT_SPLIT = "valid_inner"
REPORT_SPLITS = ("valid_outer", "test")
KEPT_SPLITS = ("train", SELECT_SPLIT, *REPORT_SPLITS)

# Same signature as `taskset.training.train`.
TrainFn = Callable[..., list]
Slot = tuple[str, int, int]  # (method, run, trial index)


@dataclasses.dataclass(frozen=True)
class TrialJob:
    """One trainer call: `optimizers[i]` fills `slots[i]`.

    Attributes:
      task, task_config: the task's name and config.
      optimizers: the population, trained together.
      slots: (method, run, trial index) of each config.
      steps, eval_every, eval_batches, replica: the training schedule.
    """

    task: str
    task_config: dict[str, Any]
    optimizers: tuple[OptimizerConfig, ...]
    slots: tuple[Slot, ...]
    steps: int
    eval_every: int
    eval_batches: int
    replica: int

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "task_config": self.task_config,
                "optimizers": [o.to_json() for o in self.optimizers], "slots": [list(s) for s in self.slots],
                "steps": self.steps, "eval_every": self.eval_every, "eval_batches": self.eval_batches,
                "replica": self.replica}

    @property
    def key(self) -> str:
        """sha256 of the job's canonical JSON."""
        return hashlib.sha256(config_lib.to_json(self.to_json()).encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Trial:
    """One trained config: its curves and the scores read off them.

    Attributes:
      method, run, index: the slot it filled.
      optimizer: the config (name, family, hparams).
      status: "ok" or "diverged".
      steps, curves: evaluation steps and split -> losses at those steps (KEPT_SPLITS).
      best_valid: lowest finite `valid_inner` loss (inf if none is finite).
      best_step: the step of `best_valid`.
      at_best: split -> loss at `best_step`, for REPORT_SPLITS.
      accuracy: split -> accuracy at `best_step`, where measured (see `eval.accuracy`).
      seconds: wall time of the trainer call that trained it, divided by its population.
    """

    method: str
    run: int
    index: int
    optimizer: OptimizerConfig
    status: str
    steps: list[int]
    curves: dict[str, list[float]]
    best_valid: float
    best_step: int
    at_best: dict[str, float]
    seconds: float
    accuracy: dict[str, float] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["optimizer"] = self.optimizer.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Trial":
        o = data["optimizer"]
        return cls(**{**data, "optimizer": OptimizerConfig(o["name"], o["family"], dict(o["hparams"]))})


def score_curve(steps: Sequence[int], curves: dict[str, Sequence[float]]) -> tuple[float, int, dict[str, float]]:
    """(best valid_inner loss, its step, REPORT_SPLITS losses at that step) of one curve.

    Non-finite losses (a diverged run) are skipped; with none finite the score is
    (inf, last step, nan for each split).
    """
    valid = np.asarray(curves[SELECT_SPLIT], dtype=np.float64)
    finite = np.isfinite(valid)
    if not finite.any():
        return math.inf, int(steps[-1]), {split: math.nan for split in REPORT_SPLITS}
    index = int(np.argmin(np.where(finite, valid, np.inf)))
    return float(valid[index]), int(steps[index]), {split: float(curves[split][index]) for split in REPORT_SPLITS}


def _default_train(task, optimizer_configs, steps, eval_every, replica_seed=0, eval_batches=5):
    from taskset.training import train

    return train(task, optimizer_configs, steps, eval_every, replica_seed=replica_seed, eval_batches=eval_batches)


def run_trial_job(job: TrialJob, train_fn: TrainFn | None = None) -> list[Trial]:
    """Trains `job`'s population and scores every member, in the job's order.

    Args:
      job: the job.
      train_fn: the trainer (default `taskset.training.train`); module-level, so
        that process and Dask workers can unpickle it.

    Raises:
      RuntimeError: the trainer returned curves for other configs.
      Whatever the task or the trainer raises (the executor records it).
    """
    from eval.problems import task_from_config

    start = time.perf_counter()
    task = task_from_config(job.task_config, name=job.task)
    curves = (train_fn or _default_train)(task, list(job.optimizers), job.steps, job.eval_every,
                                          replica_seed=job.replica, eval_batches=job.eval_batches)
    expected = [o.name for o in job.optimizers]
    if [c.optimizer.name for c in curves] != expected:
        raise RuntimeError(f"trainer returned curves for {[c.optimizer.name for c in curves]!r}, "
                           f"expected {expected!r}")
    seconds = (time.perf_counter() - start) / len(curves)
    trials = []
    for (method, run, index), curve in zip(job.slots, curves):
        splits = {split: [float(v) for v in getattr(curve, split)] for split in KEPT_SPLITS}
        steps = [int(s) for s in curve.steps]
        best, step, at_best = score_curve(steps, splits)
        trials.append(Trial(method=method, run=run, index=index, optimizer=curve.optimizer, status=str(curve.status),
                            steps=steps, curves=splits, best_valid=best, best_step=step, at_best=at_best,
                            seconds=seconds))
    return trials
