"""Executors: run a job function over many jobs in-process, in local processes, or on Dask.

Every executor takes a picklable `fn(job) -> result` and yields an `Outcome`
per job as jobs finish, in any order. An exception inside `fn` becomes an
outcome with the error and its traceback (captured on the worker, so it
survives pickling), and the run goes on. Jobs must be idempotent (the curve
jobs are: a finished shard is never rewritten), because a job whose worker
died is run again.

- `InProcessExecutor`: one job after another in this process (tests, debugging).
- `ProcessExecutor`: a pool of `spawn`ed local processes, one per core by
  default, each limited to `threads` TensorFlow threads so that N workers use
  N cores. When a worker process dies (killed, out of memory), the jobs that
  were in flight run again one at a time on a fresh pool; a job that kills
  its worker when running alone is recorded as failed. Workers die with the
  process that started them (see `die_with_parent`), so a `kill -9` of the
  driver leaves no worker and no `resource_tracker` behind.
- `DaskExecutor`: a Dask distributed cluster, either a `LocalCluster` on
  127.0.0.1 or an existing scheduler (`tcp://host:port`, e.g. one started by
  dask-jobqueue on Slurm or by the Dask Kubernetes operator). Its workers share
  no filesystem with the client (`shared_filesystem` is False): the job
  function must return its results, not write them. The scheduler reruns a task
  whose worker died (up to its `allowed-failures`, 3 by default) before
  reporting it lost. A LocalCluster's nannies and workers are Dask
  `AsyncProcess`es, which exit when their parent's pipe closes, so they too die
  with the driver.

`shared_filesystem` tells the job's author whether a worker's writes land
where the client reads: True for the in-process and local-process executors.
"""

from __future__ import annotations

import abc
import concurrent.futures
import dataclasses
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback as traceback_lib
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, Sequence

from curves.errors import ExecutorError
from curves.jobs import Job

WORKER_DIED = "worker process died while running this job (killed, or out of memory)"
PARENT_POLL_S = 0.5
"""How often a local worker checks that its parent is alive (the fallback to PR_SET_PDEATHSIG)."""
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of one job: `result` on success, else `error` and `traceback`."""

    job: Job
    result: Any = None
    error: str | None = None
    traceback: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


def call_capturing(fn: Callable[[Job], Any], job: Job) -> tuple[Any, str | None, str]:
    """Runs `fn(job)` and returns (result, None, "") or (None, "Type: message", traceback)."""
    try:
        return fn(job), None, ""
    except Exception as err:  # noqa: BLE001 - any failure inside a task is recorded, not fatal
        return None, f"{type(err).__name__}: {err}", traceback_lib.format_exc()


def limit_tf_threads(threads: int | None) -> None:
    """Worker initialiser: at most `threads` TensorFlow threads (None: TF's default).

    Must run before TensorFlow starts its runtime, i.e. first thing in a fresh
    worker process; a worker whose runtime is already up keeps its settings.
    """
    if threads is None:
        return
    # TensorFlow's C++ start-up banner, once per worker, would bury the progress bar.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from taskset.lazy import tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # The runtime is already initialised (in-process cluster); its pools stay as they are.


def die_with_parent(parent_pid: int, use_pdeathsig: bool = True) -> None:
    """Makes this worker process exit as soon as the process `parent_pid` is gone.

    Why: a pool worker blocks on its task queue, whose write end it holds
    itself, so it never sees the parent's death and would wait forever with
    parent 1 (and keep multiprocessing's `resource_tracker` alive, which exits
    only when every holder of its pipe has). Two mechanisms:

    - Linux `prctl(PR_SET_PDEATHSIG, SIGKILL)`: the kernel kills the worker the
      moment its parent dies. Only used when the parent started the worker from
      its main thread (`use_pdeathsig`), because the signal fires when the
      *thread* that forked exits, not the process.
    - Everywhere: a daemon thread polls `os.getppid()` every `PARENT_POLL_S`
      seconds and exits the process (`os._exit`) once it differs from
      `parent_pid`. TensorFlow releases the GIL while it computes, so the
      thread runs during training too.

    Args:
      parent_pid: the pid of the process that started this worker.
      use_pdeathsig: also ask the kernel for SIGKILL on the parent's death.
    """
    if use_pdeathsig and sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl: the watchdog below still applies
    if os.getppid() != parent_pid:  # the parent died before we got here
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="taskset-parent-watchdog", daemon=True).start()


def init_local_worker(parent_pid: int, use_pdeathsig: bool, threads: int | None) -> None:
    """`ProcessExecutor`'s worker initialiser: `die_with_parent`, then `limit_tf_threads`."""
    die_with_parent(parent_pid, use_pdeathsig)
    limit_tf_threads(threads)


class Executor(abc.ABC):
    """Runs a job function over jobs; use as a context manager to release workers."""

    shared_filesystem: bool = True
    """Whether files a job writes are visible to the caller (False: return results instead)."""

    @abc.abstractmethod
    def run(self, fn: Callable[[Job], Any], jobs: Sequence[Job]) -> Iterator[Outcome]:
        """Yields one `Outcome` per job, as the jobs finish."""

    def close(self) -> None:
        """Releases workers and connections."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class InProcessExecutor(Executor):
    """Runs the jobs one after another in the calling process."""

    def run(self, fn, jobs):
        for job in jobs:
            result, error, tb = call_capturing(fn, job)
            yield Outcome(job, result, error, tb)


class ProcessExecutor(Executor):
    """A pool of `spawn`ed local worker processes.

    Args:
      workers: number of processes (default: one per CPU core).
      threads: TensorFlow threads per worker (None leaves TensorFlow's default).
    """

    def __init__(self, workers: int | None = None, threads: int | None = 1) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.threads = threads
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def _new_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        main_thread = threading.current_thread() is threading.main_thread()
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=init_local_worker, initargs=(os.getpid(), main_thread, self.threads))

    def run(self, fn, jobs):
        pending = list(reversed(jobs))  # pop() takes them in the given order
        suspects: list[Job] = []
        running: dict[concurrent.futures.Future, Job] = {}
        self._pool = self._pool or self._new_pool()
        while pending or suspects or running:
            # At most `workers` jobs are in flight, so a dying worker takes down
            # few jobs; those then run one at a time, which shows which one kills
            # its worker: only that one is recorded as failed.
            if suspects:
                if not running:
                    job = suspects.pop()
                    running[self._pool.submit(call_capturing, fn, job)] = job
            else:
                while pending and len(running) < self.workers:
                    job = pending.pop()
                    running[self._pool.submit(call_capturing, fn, job)] = job
            alone = len(running) == 1
            done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            lost = []
            for future in done:
                job = running.pop(future)
                try:
                    result, error, tb = future.result()
                except BrokenProcessPool:
                    lost.append(job)
                    continue
                yield Outcome(job, result, error, tb)
            if lost:
                lost += running.values()  # the rest of the pool went down with it
                running.clear()
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                if alone:
                    yield Outcome(lost[0], None, WORKER_DIED, "")
                else:
                    suspects.extend(lost)

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor(Executor):
    """Runs jobs on a Dask distributed cluster, whose workers need not share a filesystem.

    Args:
      scheduler: address of a running scheduler, e.g. "tcp://10.0.0.5:8786";
        None starts a `LocalCluster` listening on 127.0.0.1 only.
      workers: LocalCluster worker count (default: one per CPU core).
      threads: TensorFlow threads per worker process (None: TF's default).
      processes: LocalCluster with worker processes (True) or threads in this
        process (False, for tests).
      connect_timeout_s: how long to try reaching `scheduler`.
      resources: Dask resources each job needs, e.g. {"GPU": 1}: jobs then run
        only on workers started with `dask worker --resources "GPU=1"` (and at
        most as many at once as the worker has). A LocalCluster's workers get
        these resources themselves.

    Raises:
      ExecutorError: `scheduler` cannot be reached.
    """

    shared_filesystem = False

    def __init__(self, scheduler: str | None = None, workers: int | None = None, threads: int | None = 1,
                 processes: bool = True, connect_timeout_s: float = 30.0,
                 resources: dict[str, float] | None = None) -> None:
        from distributed import Client, LocalCluster

        self.resources = dict(resources) if resources else None
        self._cluster = None
        if scheduler is None:
            # TCP on the loopback interface, also for in-process workers: Dask's
            # in-process transport would probe the network for this host's address.
            self._cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                         processes=processes, host="127.0.0.1", protocol="tcp://",
                                         dashboard_address=None, resources=self.resources)
            self.client = Client(self._cluster)
        else:
            try:
                self.client = Client(scheduler, timeout=connect_timeout_s)
            except (OSError, ValueError, TypeError) as err:
                raise ExecutorError(f"cannot connect to the Dask scheduler {scheduler!r} ({err}); pass its address "
                                    "as tcp://host:port, or use --dask for a local cluster") from None
        if threads is not None and processes:
            from curves.dask_plugin import TFThreadsPlugin

            self.client.register_plugin(TFThreadsPlugin(threads), name="taskset-tf-threads")

    def run(self, fn, jobs):
        from distributed import as_completed

        futures = {self.client.submit(call_capturing, fn, job, key=f"curves-job-{job.key}", pure=False,
                                      resources=self.resources): job
                   for job in jobs}
        for future in as_completed(futures):
            job = futures.pop(future)
            try:
                result, error, tb = future.result()
            except Exception as err:  # noqa: BLE001 - KilledWorker, CancelledError: the job is lost, not the run
                result, error, tb = None, f"{type(err).__name__}: {err}", ""
            future.release()
            yield Outcome(job, result, error, tb)

    def close(self):
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

