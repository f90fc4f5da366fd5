"""`run_benchmark`: reference, baselines, training, scoring, in that order.

1. Load the reference curves of the suite's tasks at the requested steps
   (`eval.benchmark.reference`); their schedule is the run's schedule.
2. Find the baselines: `adam_default`, and entry 0 of the shipped list
   `BASELINE_LIST` when it is shipped. A baseline's curves come from the
   reference when it holds a config of the same family and hparams, else from
   a contender that is the same config, else the run trains it.
3. Train every contender (and missing baseline) on every task and replica into
   the curve directory `curves_dir` (`eval.benchmark.runs`).
4. Score (`eval.benchmark.results.score_run`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Sequence

from taskset.errors import ConfigError
from taskset.optimizers.base import OptimizerConfig

from eval.benchmark.contenders import Contender
from eval.benchmark.reference import COLUMNS, Reference, load_reference
from eval.benchmark.results import RUN_PREFIX, Baseline, Scores, score_run
from eval.benchmark.runs import plan_jobs, run_jobs

BASELINE_LIST = "nadamw-mini"
"""The shipped list whose first entry is a baseline (when `hparam_lists.shipped_lists()` has it)."""
ADAM_DEFAULT = "adam_default"
EVAL_BATCHES = 5
"""Batches per split and evaluation: the trainer's and the sweep specs' default, as the references use."""


@dataclasses.dataclass(frozen=True)
class BenchmarkSettings:
    """What to run.

    Attributes:
      suite: the suite's name (a label for reports).
      tasks: the tasks, in report order.
      reference: the reference curves (a directory or a registered curve dataset name).
      steps: the run length; None takes the reference's.
      replicas: replica seeds 0..replicas-1 of every contender on every task.
      eval_batches: batches per split and evaluation.
    """

    suite: str
    tasks: tuple[str, ...]
    reference: str
    steps: int | None = None
    replicas: int = 1
    eval_batches: int = EVAL_BATCHES

    def validate(self) -> None:
        """Raises ConfigError naming the first bad field."""
        if not self.tasks:
            raise ConfigError("the benchmark has no tasks; pass --suite or --tasks PATTERN")
        for field in ("steps", "replicas", "eval_batches"):
            value = getattr(self, field)
            if field == "steps" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{field} must be a positive integer, got {value!r}")


@dataclasses.dataclass(frozen=True)
class BenchmarkResult:
    """A finished benchmark: its settings, reference, scores and cost.

    `wall_seconds` covers the whole call; `jobs_run` of the `jobs` training jobs ran in it, the
    others' curves were already in `curves_dir` (a rerun rescores them), so the time is a
    training time only when the two are equal.
    """

    settings: BenchmarkSettings
    reference: Reference
    scores: Scores
    curves_dir: str
    wall_seconds: float
    package_version: str
    notes: tuple[str, ...] = ()
    jobs: int = 0
    jobs_run: int = 0


def run_benchmark(contenders: Sequence[Contender], settings: BenchmarkSettings, curves_dir: str | os.PathLike,
                  executor=None, progress: bool = False) -> BenchmarkResult:
    """Trains the contenders on the suite and scores them against the reference (module docstring).

    Args:
      contenders: the optimizers under test (distinct SPECs).
      settings: tasks, reference and schedule.
      curves_dir: where the run's curves are written (a curve directory; a rerun skips stored jobs).
      executor: a `curves.executors.Executor` (default: this process).
      progress: show a progress bar of training jobs.

    Raises:
      ConfigError: bad settings, duplicate SPECs.
      MissingReferenceError: the reference lacks curves for a task or the steps.
      DataNotAvailableError: a task's data is missing.
      RunFailedError: a training job failed.
    """
    import curves
    from taskset import __version__
    from taskset.tasks import get_task

    start = time.perf_counter()
    settings.validate()
    specs = [c.spec for c in contenders]
    if not specs or len(set(specs)) != len(specs):
        raise ConfigError(f"--optimizer must name at least one optimizer, each once; got {specs!r}")
    reference = load_reference(settings.reference, settings.tasks, settings.steps)
    baselines, to_train, notes = find_baselines(reference, contenders)
    tasks = [get_task(name) for name in settings.tasks]
    for task in tasks:
        task.check_data()
    jobs = plan_jobs(tasks, contenders, to_train, reference.schedules, settings.replicas, settings.eval_batches)
    jobs_run = run_jobs(jobs, curves_dir, executor=executor, progress=progress)
    keys = {job.key for job in jobs}
    stored = curves.read(curves_dir, tasks=list(settings.tasks), columns=[*COLUMNS, "job_key"])
    # The directory may hold earlier runs' curves too: keep exactly this run's jobs.
    run = stored[stored["job_key"].astype(str).isin(keys)].drop(columns="job_key").reset_index(drop=True)
    scores = score_run(reference.curves, run, contenders, baselines, settings.tasks, reference.tie_scores)
    return BenchmarkResult(settings=settings, reference=reference, scores=scores, curves_dir=os.fspath(curves_dir),
                           wall_seconds=time.perf_counter() - start, package_version=__version__, notes=tuple(notes),
                           jobs=len(jobs), jobs_run=jobs_run)


def find_baselines(reference: Reference, contenders: Sequence[Contender]
                   ) -> tuple[list[Baseline], list[OptimizerConfig], list[str]]:
    """The baselines, the configs the run must train for them, and notes on those left out.

    Returns:
      (baselines, configs to train, notes): `adam_default` always, the list
      entry when the list is shipped (else a note says why it is missing).
    """
    from hparam_lists import load_list, shipped_lists
    from taskset.optimizers import get_optimizer_config, make_config

    wanted = [("adam_default", ADAM_DEFAULT, get_optimizer_config(ADAM_DEFAULT))]
    notes = []
    if BASELINE_LIST in shipped_lists():
        shipped = load_list(BASELINE_LIST)
        entry = shipped.entries[0]
        label = f"list:{BASELINE_LIST}:0"
        wanted.append(("list", label, make_config(entry.family, entry.hparams, label)))
        seen = sorted(set(shipped.fit.train_tasks) & set(reference.schedules))
        if seen:
            notes.append(f"{label} was fitted on {len(seen)} of these {len(reference.schedules)} tasks "
                         f"(in-sample there): {', '.join(seen[:5])}{', ...' if len(seen) > 5 else ''}")
    else:
        notes.append(f"no win rate against a list: the list {BASELINE_LIST!r} is not shipped "
                     f"(shipped: {shipped_lists() or 'none'})")
    baselines, to_train = [], []
    for key, label, config in wanted:
        column = _same_config(reference, config)
        source = "reference"
        if column is None:
            same = [c for c in contenders if (c.config.family, c.config.hparams) == (config.family, config.hparams)]
            source = "run"
            column = RUN_PREFIX + (same[0].spec if same else label)
            if not same:
                to_train.append(config)
        baselines.append(Baseline(key=key, label=label, config=config, column=column, source=source))
    return baselines, to_train, notes


def _same_config(reference: Reference, config: OptimizerConfig) -> str | None:
    """The reference config with `config`'s family and hparams (its own name first), or None."""
    frame = reference.curves.drop_duplicates("optimizer")
    candidates = sorted(frame.itertuples(index=False), key=lambda row: str(row.optimizer) != config.name)
    for row in candidates:
        if str(row.optimizer_family) == config.family and json.loads(row.hparams) == config.hparams:
            return str(row.optimizer)
    return None

