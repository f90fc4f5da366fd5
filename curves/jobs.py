"""Jobs: one task, a chunk of optimizer configs trained as one population, one replica.

A job carries everything a worker needs (the task's config, the optimizer
configs' hyperparameters), so a worker on another machine rebuilds it without
resolving names. Its key is the sha256 of its canonical JSON, which includes
the curve schema version: the same work always has the same key, and the key
names the shard the job writes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from typing import Any

from taskset import config as config_lib
from taskset.optimizers.base import OptimizerConfig

from curves.schema import SCHEMA_VERSION
from curves.spec import SweepSpec

SPLITS_EVALUATED = 4


@dataclasses.dataclass(frozen=True)
class Job:
    """One unit of work: `optimizers` trained together on `task` for one replica.

    Attributes:
      task: the task's name.
      task_config: the task's config (`Task.config_dict`), rebuilds the task anywhere.
      optimizers: the population's configs, in spec order.
      replica: replica index; the trainer's replica seed is `replica`.
      steps, eval_every, eval_batches: the training and evaluation schedule.
      cost: estimated relative cost (see `estimate_cost`); not part of the key.
    """

    task: str
    task_config: dict[str, Any]
    optimizers: tuple[OptimizerConfig, ...]
    replica: int
    steps: int
    eval_every: int
    eval_batches: int
    cost: float = dataclasses.field(default=0.0, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The job as JSON-ready data (what its key hashes)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "task": self.task,
            "task_config": self.task_config,
            "optimizers": [o.to_json() for o in self.optimizers],
            "replica": self.replica,
            "steps": self.steps,
            "eval_every": self.eval_every,
            "eval_batches": self.eval_batches,
        }

    @property
    def key(self) -> str:
        """sha256 hex digest of the canonical JSON of `to_json()`."""
        return hashlib.sha256(config_lib.to_json(self.to_json()).encode()).hexdigest()

    @property
    def optimizer_names(self) -> list[str]:
        return [o.name for o in self.optimizers]


def num_evaluations(steps: int, eval_every: int) -> int:
    """Evaluation points at 0, eval_every, ..., steps (`eval_every` divides `steps`)."""
    return steps // eval_every + 1


def estimate_cost(num_params: int, batch_size: int, configs: int, steps: int, eval_every: int,
                  eval_batches: int) -> float:
    """A relative cost: parameters x examples processed, summed over the population.

    Training processes `batch_size` examples per step; each evaluation
    processes `eval_batches` batches of each of the four splits without a
    backward pass, counted as a third of a training batch.
    """
    evaluated = num_evaluations(steps, eval_every) * SPLITS_EVALUATED * eval_batches / 3.0
    return float(num_params) * batch_size * configs * (steps + evaluated)


def plan(spec: SweepSpec) -> list[Job]:
    """The jobs of a sweep: tasks x replicas x population-sized chunks of configs.

    The order is stable (tasks, then replicas, then chunks, as in the spec);
    executors may run jobs in any order.
    """
    settings = spec.settings
    size = settings.population
    chunks = [spec.optimizers[i:i + size] for i in range(0, len(spec.optimizers), size)]
    jobs = []
    for task in spec.tasks:
        config = task.config_dict
        batch_size = int(config.get("batch_size", 1))
        for replica in range(settings.replicas):
            for chunk in chunks:
                cost = estimate_cost(task.num_params, batch_size, len(chunk), settings.steps,
                                     settings.eval_every, settings.eval_batches)
                jobs.append(Job(task=task.name, task_config=config, optimizers=tuple(chunk), replica=replica,
                                steps=settings.steps, eval_every=settings.eval_every,
                                eval_batches=settings.eval_batches, cost=cost))
    return jobs


def total_cost(jobs: list[Job]) -> float:
    """Sum of the jobs' estimated costs (0 for an empty list)."""
    return math.fsum(job.cost for job in jobs)
