"""Generating a curve dataset: run every job of a plan that has no shard yet.

`execute_job` is what a worker runs: rebuild the task from its config, train
the population, write the shard. `generate` is the driver: it locks the
directory, skips jobs whose shard exists (and, unless asked, jobs that failed
before), hands the rest to an executor, largest estimated cost first so the
long jobs do not straggle at the end, and records each shard or failure in
the manifest.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
import sys
import time
from typing import Any, Callable, Sequence

from curves.executors import Executor, InProcessExecutor
from curves.jobs import Job
from curves.schema import curves_to_table
from curves.store import Store, shard_entry, shard_relpath, write_shard

# Same signature as `taskset.training.train`.
TrainFn = Callable[..., list]


@dataclasses.dataclass(frozen=True)
class JobResult:
    """What a worker reports back: the shard's manifest entry and whether it wrote it."""

    key: str
    entry: dict[str, Any]
    wrote: bool
    seconds: float


def _default_train(task, optimizer_configs, steps, eval_every, replica_seed=0, eval_batches=5):
    from taskset.training import train

    return train(task, optimizer_configs, steps, eval_every, replica_seed=replica_seed, eval_batches=eval_batches)


def execute_job(job: Job, root: str | os.PathLike, train_fn: TrainFn | None = None) -> JobResult:
    """Trains `job`'s population and writes its shard under `root`, unless the shard exists.

    Args:
      job: the job.
      root: the curve directory (shared storage when workers are remote).
      train_fn: the trainer, `taskset.training.train` by default.

    Raises:
      RuntimeError: the trainer returned curves that do not match the job.
      Whatever the task or the trainer raises (the executor records it).
    """
    from taskset import __version__
    from taskset.tasks import task_from_config

    root = pathlib.Path(root)
    start = time.perf_counter()
    key = job.key
    if (root / shard_relpath(key)).exists():
        return JobResult(key, shard_entry(root, key), False, 0.0)
    task = task_from_config(job.task_config, name=job.task)
    curves = (train_fn or _default_train)(task, list(job.optimizers), job.steps, job.eval_every,
                                          replica_seed=job.replica, eval_batches=job.eval_batches)
    got = [c.optimizer.name for c in curves]
    if got != job.optimizer_names:
        raise RuntimeError(f"trainer returned curves for {got!r}, expected {job.optimizer_names!r}")
    meta = {"key": key, "task": job.task, "family": job.task_config["family"], "replica": job.replica,
            "steps": job.steps, "eval_every": job.eval_every, "eval_batches": job.eval_batches,
            "optimizer_families": sorted({o.family for o in job.optimizers})}
    table = curves_to_table(curves, job.replica, key, __version__, meta)
    entry, wrote = write_shard(root, key, table)
    return JobResult(key, entry, wrote, time.perf_counter() - start)


@dataclasses.dataclass
class GenerateSummary:
    """Counts of one `generate` run (the `--json` output of `curves generate`).

    Attributes:
      planned: jobs in the plan.
      existing: jobs skipped because their shard was already there.
      skipped_failed: jobs skipped because they failed before (see `retry_failed`).
      written: shards written by this run.
      raced: jobs that ran but found their shard written meanwhile (kept as it was).
      failed: jobs that failed in this run, as {key, task, replica, error}.
      curves: rows in the written shards.
      seconds: wall-clock time of the run.
    """

    planned: int = 0
    existing: int = 0
    skipped_failed: int = 0
    written: int = 0
    raced: int = 0
    failed: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    curves: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _job_record(job: Job) -> dict[str, Any]:
    return {"task": job.task, "optimizers": job.optimizer_names, "replica": job.replica}


def generate(jobs: Sequence[Job], root: str | os.PathLike, executor: Executor | None = None,
             retry_failed: bool = False, train_fn: TrainFn | None = None, progress: bool | None = None,
             save_every_s: float = 5.0) -> GenerateSummary:
    """Runs every job without a shard under `root` and records the results.

    Args:
      jobs: the plan (see `curves.jobs.plan`).
      root: the curve directory; created if missing.
      executor: where jobs run (default: in this process).
      retry_failed: also rerun jobs the manifest lists as failed.
      train_fn: the trainer (default `taskset.training.train`); must be
        picklable (a module-level function) for process and Dask executors.
      progress: show a progress bar (default: when stderr is a terminal).
      save_every_s: minimum seconds between manifest rewrites.

    Raises:
      StoreError: `root` is locked by another run or unusable.
      CorruptShardError, SchemaMismatchError: a shard on disk is damaged or foreign.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    summary = GenerateSummary(planned=len(jobs))
    executor = executor or InProcessExecutor()
    with Store.open(root, save_every_s=save_every_s) as store:
        todo = []
        for job in jobs:
            if store.has_job(job.key):
                summary.existing += 1
            elif store.has_failed(job.key) and not retry_failed:
                summary.skipped_failed += 1
            else:
                todo.append(job)
        todo.sort(key=lambda job: job.cost, reverse=True)
        show = sys.stderr.isatty() if progress is None else progress
        fn = functools.partial(execute_job, root=str(store.root), train_fn=train_fn)
        with tqdm(total=len(todo), unit="job", disable=not show, dynamic_ncols=True) as bar:
            for outcome in executor.run(fn, todo):
                job = outcome.job
                if outcome.ok:
                    result: JobResult = outcome.result
                    store.record_shard(job.key, result.entry)
                    if result.wrote:
                        summary.written += 1
                        summary.curves += result.entry["rows"]
                    else:
                        summary.raced += 1
                else:
                    store.record_failure(job.key, _job_record(job), outcome.error, outcome.traceback)
                    summary.failed.append({"key": job.key, **_job_record(job), "error": outcome.error})
                bar.update(1)
                elapsed = time.perf_counter() - start
                bar.set_postfix(curves_per_s=f"{summary.curves / max(elapsed, 1e-9):.1f}",
                                failed=len(summary.failed), refresh=False)
    summary.seconds = time.perf_counter() - start
    return summary
