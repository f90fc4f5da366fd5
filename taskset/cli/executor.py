"""The one executor builder of the CLI: `--workers N`, `--dask`, `--scheduler ADDR`.

`curves generate`, `benchmark` and `eval` take the same three options and
build their executor here, so they accept and reject the same combinations.
They differ only in what no option means (`default_workers`): one worker
process per core for `curves generate` and `benchmark`, this process for
`eval` (whose problems are few, large trainings).

  --workers 0        run in this process (`InProcessExecutor`)
  --workers N        N local `spawn`ed processes, one TensorFlow thread each
  --dask [--workers N]   a Dask LocalCluster on 127.0.0.1 (N workers, default one per core)
  --scheduler ADDR   an existing Dask scheduler; its workers need not share a
                     filesystem with this process (they return their results)
  --resources GPU=1  (with --dask or --scheduler) what each job needs of a
                     worker's Dask resources, e.g. to run only on GPU workers

Imports no TensorFlow and no Dask until an executor is built.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from taskset.errors import ConfigError

if TYPE_CHECKING:
    from curves.executors import Executor

PER_CORE = None
"""`default_workers` value meaning one local worker process per CPU core."""


def add_executor_options(parser: argparse.ArgumentParser, default_workers: int | None = PER_CORE) -> None:
    """Adds `--workers`, `--dask` and `--scheduler` to `parser`, documenting `default_workers`."""
    default = "one per core" if default_workers is None else (
        "0: this process" if default_workers == 0 else str(default_workers))
    parser.add_argument("--workers", type=int, metavar="N", default=None,
                        help=f"local worker processes, or Dask LocalCluster workers with --dask (default {default}); "
                             "0 runs in this process")
    parser.add_argument("--dask", action="store_true", help="run on a Dask LocalCluster on 127.0.0.1")
    parser.add_argument("--scheduler", metavar="ADDR",
                        help="run on an existing Dask scheduler, e.g. tcp://host:8786 (its workers return their "
                             "results; no shared filesystem needed)")
    parser.add_argument("--resources", metavar="NAME=N[,NAME=N]",
                        help="with --dask or --scheduler: Dask resources each job needs, e.g. GPU=1 (runs only on "
                             "workers started with `dask worker --resources GPU=1`)")


def parse_resources(text: str | None) -> dict[str, float] | None:
    """'GPU=1,MEM=2' -> {'GPU': 1.0, 'MEM': 2.0}; None for None or ''.

    Raises:
      ConfigError: a part is not NAME=NUMBER with NUMBER > 0.
    """
    if not text:
        return None
    out = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            amount = float(value)
        except ValueError:
            amount = -1.0
        if not sep or not name.strip() or not amount > 0 or amount == float("inf"):
            raise ConfigError(f"--resources {text!r}: each part must be NAME=NUMBER with NUMBER > 0, e.g. GPU=1")
        out[name.strip()] = amount
    return out


def build_executor(workers: int | None = None, dask: bool = False, scheduler: str | None = None,
                   default_workers: int | None = PER_CORE, resources: dict[str, float] | None = None) -> "Executor":
    """The executor the options name (see the module docstring).

    Args:
      workers: `--workers`, None when not given.
      dask: `--dask`.
      scheduler: `--scheduler`, None when not given.
      default_workers: what `workers=None` means without --dask or --scheduler:
        `PER_CORE` (None) for one process per core, 0 for this process, N for N.
      resources: `--resources`, parsed (Dask only).

    Raises:
      ConfigError: a negative worker count, or options that contradict each other.
      ExecutorError: the scheduler cannot be reached.
    """
    from curves.executors import DaskExecutor, InProcessExecutor, ProcessExecutor

    if workers is not None and (isinstance(workers, bool) or workers < 0):
        raise ConfigError(f"--workers must be >= 0, got {workers!r}")
    if scheduler and dask:
        raise ConfigError("pass either --dask (a local cluster) or --scheduler ADDR, not both")
    if resources and not (scheduler or dask):
        raise ConfigError("--resources applies to Dask workers only; add --dask or --scheduler ADDR")
    if scheduler:
        if workers is not None:
            raise ConfigError(f"--workers {workers} does not apply to --scheduler {scheduler!r}: the cluster's "
                              "workers are started where the scheduler runs; drop --workers")
        return DaskExecutor(scheduler=scheduler, resources=resources)
    if dask:
        return DaskExecutor(workers=workers or None, resources=resources)
    if workers is None:
        workers = default_workers
    if workers == 0:
        return InProcessExecutor()
    return ProcessExecutor(workers=workers)


def executor_from_args(args: argparse.Namespace, default_workers: int | None = PER_CORE) -> "Executor":
    """`build_executor` over the options `add_executor_options` added."""
    return build_executor(args.workers, getattr(args, "dask", False), getattr(args, "scheduler", None),
                          default_workers, parse_resources(getattr(args, "resources", None)))
