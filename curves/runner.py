"""Generating a curve dataset: run every job of a plan that has no shard yet.

`execute_job` is what a worker runs: rebuild the task from its config, train
the population, and either write the shard (local workers, which share the
client's filesystem) or return it (`ShardPayload`: the Parquet bytes, the job
key and their sha256) for the client to write, as Dask workers on other
machines do. `generate` is the driver: it locks the directory, skips jobs whose
shard exists (and, unless asked, jobs that failed before), hands the rest to an
executor, largest estimated cost first so the long jobs do not straggle at the
end, writes returned shards atomically into the directory exactly as a local
worker would, and records each shard or failure in the manifest.

Nothing is counted that is not in the directory: every shard a worker reports
as written is checked on the client (size and sha256), and so is every shard
of the plan at the end of the run; a shard that is not there is a failed job,
so `generate` cannot report success while the curves lie elsewhere.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import pathlib
import sys
import time
from typing import Any, Callable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from curves import partials
from curves.errors import CorruptShardError
from curves.executors import Executor, InProcessExecutor
from curves.jobs import Job
from curves.schema import curves_to_table
from curves.store import (Store, member_jobs, parquet_options, shard_entry, shard_relpath, write_new_shard,
                          write_shard)
from taskset.paths import file_sha256

# Same signature as `taskset.training.train`.
TrainFn = Callable[..., list]


@dataclasses.dataclass(frozen=True)
class JobResult:
    """What a worker reports back: the shard's manifest entry and whether it wrote it."""

    key: str
    entry: dict[str, Any]
    wrote: bool
    seconds: float


@dataclasses.dataclass(frozen=True)
class ShardPayload:
    """A finished shard sent back to the client: what `write_shard_bytes` writes.

    Attributes:
      key: the job's key (the shard's name).
      data: the shard's Parquet bytes, exactly as a local worker writes them.
      sha256: hex digest of `data`, checked by the client before and after writing.
      seconds: wall time the job took on the worker.
    """

    key: str
    data: bytes
    sha256: str
    seconds: float


def encode_shard(table: pa.Table) -> bytes:
    """`table` as shard bytes, with the same Parquet options as `curves.store.write_shard`."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **parquet_options(table.schema))
    return sink.getvalue().to_pybytes()


def write_shard_bytes(root: pathlib.Path, key: str, data: bytes, sha256: str) -> tuple[dict[str, Any], bool]:
    """Writes a returned shard into `root` as `curves.store.write_shard` does, unless it exists.

    (Both write through `curves.store.write_new_shard`; `write_shard` encodes
    straight into the file so that local runs keep their exact code path.)

    The bytes are checked against `sha256`, written to a temporary name,
    fsynced and hard-linked into place (never over an existing shard), and the
    file is read back: its manifest entry must name job `key` and hash to `sha256`.

    Returns:
      (the shard's manifest entry, True if this call wrote it / False if it existed).

    Raises:
      CorruptShardError: the bytes do not hash to `sha256`, or the written file differs.
    """
    if hashlib.sha256(data).hexdigest() != sha256:
        raise CorruptShardError(f"the shard of job {key} arrived damaged (its bytes do not hash to the sha256 the "
                                "worker sent); rerun `curves generate` to recompute it")
    final, wrote = write_new_shard(root, key, lambda f: f.write(data))
    entry = shard_entry(root, key)
    if wrote and entry["sha256"] != sha256:
        raise CorruptShardError(f"shard {str(final)!r} differs from the bytes the worker sent; delete it and rerun "
                                "`curves generate`")
    return entry, bool(wrote)


def check_in_store(root: pathlib.Path, entry: dict[str, Any]) -> str | None:
    """None when `entry`'s file is in `root` with its size and sha256, else what is wrong."""
    path = root / entry["file"]
    try:
        size = path.stat().st_size
    except OSError:
        return (f"shard {entry['file']!r} is not in {str(root)!r} although a worker reported it written (do the "
                "workers write to another filesystem? use --scheduler, whose workers return their shards)")
    if size != entry["bytes"] or file_sha256(path) != entry["sha256"]:
        return f"shard {str(path)!r} does not match its manifest entry (size or sha256); run `curves verify`"
    return None


def _default_train(task, optimizer_configs, steps, eval_every, replica_seed=0, eval_batches=5):
    from taskset.training import train

    return train(task, optimizer_configs, steps, eval_every, replica_seed=replica_seed, eval_batches=eval_batches)


def job_trainer(job: Job, train_fn: TrainFn | None = None) -> Callable[[list], list]:
    """`configs -> curves` for `job`: its task rebuilt from its config, trained with the job's settings."""
    from taskset.tasks import task_from_config

    task = task_from_config(job.task_config, name=job.task)
    return functools.partial(train_fn or _default_train, task, steps=job.steps, eval_every=job.eval_every,
                             replica_seed=job.replica, eval_batches=job.eval_batches)


def assist_job(job: Job, root: str | os.PathLike, train_fn: TrainFn | None = None) -> list[range]:
    """Trains a running job's unsaved chunks from its end into `root` (`curves.partials.assist`), so
    an idle core shares the job with the `generate` worker that runs it. Run it on that worker's
    machine with its thread count: a chunk records no environment, and the shard records the
    forward worker's. Returns the chunks it saved."""
    root = pathlib.Path(root)
    shard = root / shard_relpath(job.key)
    return partials.assist(root, job, job_trainer(job, train_fn), finished=shard.exists)


def execute_job(job: Job, root: str | os.PathLike | None, train_fn: TrainFn | None = None,
                return_shard: bool = False) -> JobResult | ShardPayload:
    """Trains `job`'s population and writes its shard under `root` (unless it exists) or returns it.

    Args:
      job: the job.
      root: the curve directory, on the worker's filesystem; unused with `return_shard`.
      train_fn: the trainer, `taskset.training.train` by default.
      return_shard: return the shard's bytes (`ShardPayload`) instead of writing
        them, for workers that do not see the client's filesystem.

    Raises:
      RuntimeError: the trainer returned curves that do not match the job.
      Whatever the task or the trainer raises (the executor records it).
    """
    from taskset import __version__, machine

    start = time.perf_counter()
    key = job.key
    if not return_shard:
        root = pathlib.Path(root)
        if (root / shard_relpath(key)).exists():
            return JobResult(key, shard_entry(root, key), False, 0.0)
    train = job_trainer(job, train_fn)
    if return_shard:
        curves = train(list(job.optimizers))
    else:
        curves = partials.train_resumably(root, job, train)
    got = [c.optimizer.name for c in curves]
    if got != job.optimizer_names:
        raise RuntimeError(f"trainer returned curves for {got!r}, expected {job.optimizer_names!r}")
    meta = {"key": key, "task": job.task, "family": job.task_config["family"], "replica": job.replica,
            "steps": job.steps, "eval_every": job.eval_every, "eval_batches": job.eval_batches,
            "optimizer_families": sorted({o.family for o in job.optimizers}), "machine": machine.describe()}
    table = curves_to_table(curves, job.replica, key, __version__, meta)
    if return_shard:
        data = encode_shard(table)
        return ShardPayload(key, data, hashlib.sha256(data).hexdigest(), time.perf_counter() - start)
    entry, wrote = write_shard(root, key, table)
    partials.clear(root, key)
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
      failed: jobs that failed in this run, as {key, task, replica, error}; also
        jobs whose shard is not in the directory or does not match its entry.
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


def _settle(root: pathlib.Path, job: Job, result: JobResult | ShardPayload) -> tuple[dict[str, Any], bool]:
    """Makes sure a finished job's shard is in `root`: writes a returned shard, checks a written one.

    Returns:
      (the shard's manifest entry, whether this run wrote it).

    Raises:
      CorruptShardError: the shard is not in `root`, is damaged, or is another job's.
    """
    if result.key != job.key:
        raise CorruptShardError(f"the worker returned job {result.key}, not {job.key}")
    if isinstance(result, ShardPayload):
        return write_shard_bytes(root, result.key, result.data, result.sha256)
    problem = check_in_store(root, result.entry)
    if problem:
        raise CorruptShardError(problem)
    return result.entry, result.wrote


def _check_existing(store: Store, jobs: Sequence[Job], fail: Callable[..., None]) -> None:
    """Checks the shards of `jobs` (done before this run) against the manifest; a bad one fails its job.

    Each shard file is checked once (a pack holds many jobs).
    """
    owners = {job: key for key, entry in store.manifest.shards.items() for job in member_jobs(key, entry)}
    verdicts: dict[str, str | None] = {}
    for job in jobs:
        owner = owners[job.key]
        if owner not in verdicts:
            verdicts[owner] = check_in_store(store.root, store.manifest.shards[owner])
        if verdicts[owner]:
            fail(job, f"CorruptShardError: {verdicts[owner]}")


def _job_record(job: Job) -> dict[str, Any]:
    return {"task": job.task, "optimizers": job.optimizer_names, "replica": job.replica}


def generate(jobs: Sequence[Job], root: str | os.PathLike, executor: Executor | None = None,
             retry_failed: bool = False, train_fn: TrainFn | None = None, progress: bool | None = None,
             save_every_s: float = 5.0, largest_first: bool = True) -> GenerateSummary:
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
      largest_first: run the largest estimated jobs first (the shortest makespan); False keeps
        the order of `jobs`, e.g. cheapest first, so a run that will be stopped finishes many jobs.

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
                partials.clear(store.root, job.key)  # left when a worker stopped between shard and clean-up
            elif store.has_failed(job.key) and not retry_failed:
                summary.skipped_failed += 1
            else:
                todo.append(job)
        if largest_first:
            todo.sort(key=lambda job: job.cost, reverse=True)
        show = sys.stderr.isatty() if progress is None else progress
        # Workers that do not see `root` (a Dask cluster) return their shards; this process writes them.
        remote = not getattr(executor, "shared_filesystem", True)
        fn = functools.partial(execute_job, root=None if remote else str(store.root), train_fn=train_fn,
                               return_shard=remote)
        checked: set[str] = set()

        def fail(job: Job, error: str, tb: str = "") -> None:
            store.record_failure(job.key, _job_record(job), error, tb)
            summary.failed.append({"key": job.key, **_job_record(job), "error": error})

        with tqdm(total=len(todo), unit="job", disable=not show, dynamic_ncols=True) as bar:
            for outcome in executor.run(fn, todo):
                job = outcome.job
                if outcome.ok:
                    try:
                        entry, wrote = _settle(store.root, job, outcome.result)
                    except CorruptShardError as err:
                        fail(job, f"{type(err).__name__}: {err}")
                    else:
                        store.record_shard(job.key, entry)
                        checked.add(job.key)
                        if wrote:
                            summary.written += 1
                            summary.curves += entry["rows"]
                        else:
                            summary.raced += 1
                else:
                    fail(job, outcome.error, outcome.traceback)
                bar.update(1)
                elapsed = time.perf_counter() - start
                bar.set_postfix(curves_per_s=f"{summary.curves / max(elapsed, 1e-9):.1f}",
                                failed=len(summary.failed), refresh=False)
        _check_existing(store, [job for job in jobs if job.key not in checked and store.has_job(job.key)], fail)
    summary.seconds = time.perf_counter() - start
    return summary
