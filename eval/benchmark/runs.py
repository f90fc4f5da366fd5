"""Training the contenders: curve jobs run by the curves executors and stored by the curves store.

Every (task, replica) is trained as `curves` jobs and written with
`curves.runner.generate`, so the benchmark's curves are an ordinary curve
directory (same Parquet schema, manifest, `curves verify`), and a rerun into the
same directory skips the jobs whose shards exist. Per task and replica:
  - one job holds every contender with a registered family (configs, list
    entries, and baselines the reference lacks): one population, as in a sweep;
  - each factory contender ("rule:" and "keras:" families) gets a job of its
    own, whose key also hashes the factory's source file (`BenchmarkJob`).
`train_contenders` is the trainer these jobs call: the population trainer
`taskset.training.train` for registered families and (through its `rules`
argument) factory rules, the Keras loop of `eval.benchmark.keras_run` for Keras
optimizers.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Sequence

from curves.jobs import Job, estimate_cost
from taskset.optimizers.base import OptimizerConfig, UpdateRule

from eval.benchmark.contenders import (KIND_KERAS, Contender, SpecError, call_factory, load_factory,
                                       parse_user_family)


class RunFailedError(Exception):
    """A training job failed (an internal or user-code failure, not bad input)."""


@dataclasses.dataclass(frozen=True)
class BenchmarkJob(Job):
    """A curve job whose key also covers the source of a factory contender.

    Attributes:
      source_sha256: sha256 of the factory module's source file, or None.
    """

    source_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = super().to_json()
        if self.source_sha256 is not None:
            data["source_sha256"] = self.source_sha256
        return data


def plan_jobs(tasks: Sequence[Any], contenders: Sequence[Contender], baselines: Sequence[OptimizerConfig],
              schedules: dict[str, tuple[int, int]], replicas: int, eval_batches: int) -> list[BenchmarkJob]:
    """The jobs that train every contender and baseline on every task and replica.

    Args:
      tasks: the tasks (`taskset.tasks.Task`).
      contenders: the optimizers under test.
      baselines: extra configs of registered families to train (those the reference lacks).
      schedules: task name -> (steps, eval_every), as in the reference.
      replicas: replica seeds 0..replicas-1.
      eval_batches: batches per split and evaluation.
    """
    pooled = [c.config for c in contenders if parse_user_family(c.config.family) is None] + list(baselines)
    alone = [c for c in contenders if parse_user_family(c.config.family) is not None]
    jobs = []
    for task in tasks:
        steps, eval_every = schedules[task.name]
        batch = int(task.config_dict.get("batch_size", 1))

        def job(configs, sha=None, replica=0):
            cost = estimate_cost(task.num_params, batch, len(configs), steps, eval_every, eval_batches)
            return BenchmarkJob(task=task.name, task_config=task.config_dict, optimizers=tuple(configs),
                                replica=replica, steps=steps, eval_every=eval_every, eval_batches=eval_batches,
                                cost=cost, source_sha256=sha)

        for replica in range(replicas):
            if pooled:
                jobs.append(job(pooled, replica=replica))
            jobs += [job([c.config], c.source_sha256, replica) for c in alone]
    return jobs


def run_jobs(jobs: Sequence[BenchmarkJob], root: str | os.PathLike, executor=None, progress: bool = False) -> int:
    """Runs the jobs without a shard under `root` (see `curves.runner.generate`); returns how many ran.

    Raises:
      RunFailedError: a job failed; the message gives its error (the traceback
        is in `root`/manifest.json).
      StoreError: `root` is unusable or locked by another run.
    """
    from curves.runner import generate

    summary = generate(jobs, root, executor=executor, retry_failed=True, train_fn=train_contenders,
                       progress=progress)
    if summary.failed:
        first = summary.failed[0]
        raise RunFailedError(f"{len(summary.failed)} training job(s) failed, e.g. {first['optimizers']!r} on "
                             f"{first['task']} replica {first['replica']}: {first['error']} (tracebacks in "
                             f"{os.fspath(root)}/manifest.json)")
    return summary.written + summary.raced


def train_contenders(task, optimizer_configs: Sequence[OptimizerConfig], steps: int, eval_every: int,
                     replica_seed: int = 0, eval_batches: int = 5) -> list:
    """`taskset.training.train` for every kind of contender (the benchmark jobs' trainer).

    Configs of registered families go to the population trainer as they are. A
    job of a factory contender holds that one config: its factory is imported
    and called again here (in the worker), and a rule trains in the population
    trainer (passed as `rules`, so no registry is touched), a Keras optimizer in
    `eval.benchmark.keras_run.train_keras`.

    Raises:
      SpecError: the factory cannot be imported or returns something else now.
      RuntimeError: a factory config shares its job with other configs (a planning bug).
    """
    from taskset.training import train

    configs = list(optimizer_configs)
    user = [parse_user_family(c.family) for c in configs]
    if not any(user):
        return train(task, configs, steps, eval_every, replica_seed=replica_seed, eval_batches=eval_batches)
    if len(configs) != 1:
        raise RuntimeError(f"a factory contender must be trained alone, got {[c.name for c in configs]!r}")
    (config,), ((kind, target),) = configs, user
    if kind == KIND_KERAS:
        from eval.benchmark.keras_run import train_keras

        return [train_keras(task, load_factory(target), config, steps, eval_every, replica_seed, eval_batches)]
    made_kind, rule, _ = call_factory(target)
    if made_kind != kind:
        raise SpecError(f"--optimizer {target!r} returned a {made_kind} in the worker but a {kind} when resolved")
    return train(task, configs, steps, eval_every, replica_seed=replica_seed, eval_batches=eval_batches,
                 rules={config.family: UpdateRule(rule.init, rule.update)})
