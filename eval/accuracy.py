"""Accuracy of selected trials, measured on their parameters at their best step.

The trainer returns loss curves, not parameters, so accuracy (for problems
whose task has `accuracy(params, batch)`, i.e. ResNet) is measured by
replaying the training of the trials that need it with the trainer's own
`Population`, up to each trial's best step: same init (`task.init(replica)`),
same batches, same compiled member step (with the trainer's XLA choice) and
the same `total_steps` for the schedules, so the parameters are the ones the
trial had at that step. (The trainer documents that a member's numbers do not
depend on the population it is trained in.) Divergence checks can be left out
of the replay: a trial's best step comes before any divergence.

All replayed trials form one population, trained segment by segment to the
next best step, where the members that stop there are measured: accuracy is
the mean over the `eval_batches` evaluation batches the trainer drew at that
step (`taskset.training.schedule.eval_batch_seed`), on `valid_outer` and `test`.
The replay also evaluates the losses there with the population's own compiled
evaluation, so the caller can check that the replay reproduced the trial
(`Measurement.valid_inner` must equal the curve's value at that step).
Cost: one population run up to the largest best step, one compilation.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from taskset import config as config_lib
from taskset.datasets.base import SPLITS
from taskset.lazy import tf
from taskset.optimizers import OptimizerConfig

ACCURACY_SPLITS = ("valid_outer", "test")


@dataclasses.dataclass(frozen=True)
class AccuracyJob:
    """Replay `optimizers` on one task and measure accuracy at `stops[i]` for member i.

    Attributes:
      task, task_config: the task's name and config.
      optimizers: the configs to replay.
      stops: the step at which each config is measured (its best step).
      total_steps: the length of the original runs (the schedules depend on it).
      eval_batches, replica: as in the original runs.
    """

    task: str
    task_config: dict[str, Any]
    optimizers: tuple[OptimizerConfig, ...]
    stops: tuple[int, ...]
    total_steps: int
    eval_batches: int
    replica: int

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "task_config": self.task_config,
                "optimizers": [o.to_json() for o in self.optimizers], "stops": list(self.stops),
                "total_steps": self.total_steps, "eval_batches": self.eval_batches, "replica": self.replica}

    @property
    def key(self) -> str:
        """sha256 of the job's canonical JSON."""
        return hashlib.sha256(config_lib.to_json(self.to_json()).encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One replayed trial at its stop step: split -> accuracy, and its `valid_inner` loss there."""

    accuracy: dict[str, float]
    valid_inner: float


def run_accuracy_job(job: AccuracyJob) -> list[Measurement]:
    """A `Measurement` for each member of `job`, in order (what a worker runs)."""
    from eval.problems import task_from_config
    from taskset.optimizers import get_rule
    from taskset.training.compile_rule import use_xla
    from taskset.training.population import Population
    from taskset.training.schedule import eval_batch_seed

    task = task_from_config(job.task_config, name=job.task)
    task.check_data()
    tf.config.experimental.enable_op_determinism()  # as the trainer does, for the same numbers
    population = Population(task, job.optimizers, {c.family: get_rule(c.family) for c in job.optimizers},
                            job.replica, job.total_steps, use_xla(task))
    states = population.initial_states(task.init(job.replica))
    replica = tf.constant(job.replica, tf.int64)

    @tf.function
    def mean_accuracy(params, split, step):
        total = tf.constant(0.0)
        for i in range(job.eval_batches):
            batch = task.sample_batch(split, eval_batch_seed(replica, split, step, i, job.eval_batches))
            total += task.accuracy(params, batch)
        return total / job.eval_batches

    out: list[Measurement | None] = [None] * len(job.optimizers)
    done = 0
    for stop in sorted(set(job.stops)):
        if stop > done:
            states = population.train(states, done, stop - done)
            done = stop
        losses = population.evaluate(states, stop, job.eval_batches).numpy()
        for k, member_stop in enumerate(job.stops):
            if member_stop == stop:
                step = tf.constant(stop, tf.int64)
                out[k] = Measurement({split: float(mean_accuracy(states[k].params, split, step))
                                      for split in ACCURACY_SPLITS},
                                     float(losses[SPLITS.index("valid_inner"), k]))
    return out
