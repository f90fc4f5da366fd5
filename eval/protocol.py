"""The evaluation protocol: spend k training runs four ways and compare the best results.

For a problem (a task), an optimizer list and a trial budget k, train

  (a) `list`          the first k entries of the list,
  (b) `random`        k random configs of the list's family, `random_repeats` times,
  (c) `adam_lr_grid`  Adam at k log-spaced learning rates,
  (d) `bayes_opt`     k asks of scikit-optimize BO over the family's space, `bo_seeds` times,

(see `eval.methods` for each), every run `steps` long on the same replica (same
initial parameters and batches: common random numbers), and report after each
of the k trials the best validation loss so far, with the per-trial curves and
the wall time.

Scores (see `eval.trials`): a trial's score is its lowest `valid_inner` loss
over the evaluation steps; it is what BO is told and what "best" selects on.
The report adds, for the trial selected after j trials, `valid_outer` and
`test` at its best step, which no method selected on, and for problems with
accuracy (ResNet) its accuracy at that step on the same splits (see
`eval.accuracy`; measured for every trial that is selected after some j).

Execution: every trainer call is a job run through the curves executors
(`curves.executors`: in-process, local processes or Dask; they accept any
picklable job with a `key`). First the list, random and grid configs, which
do not depend on any result: one population (members train independently, so
this only saves compilations), split into jobs of `max_population` configs for
parallel workers. Then BO, one ask per BO seed at a time, since each ask needs
the previous answers. Then, for accuracy, one replay job.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from typing import Any, Iterator, Sequence

import numpy as np

from taskset.errors import ConfigError
from taskset.optimizers import OptimizerConfig

from eval import methods
from eval.accuracy import ACCURACY_SPLITS, AccuracyJob, run_accuracy_job
from eval.trials import REPORT_SPLITS, Slot, Trial, TrialJob, TrainFn, run_trial_job


@dataclasses.dataclass(frozen=True)
class ProtocolSettings:
    """What to run.

    Attributes:
      trials: k, the budget of training runs per method run.
      steps: training steps per run.
      eval_every: steps between evaluations; must divide `steps`.
      eval_batches: batches per evaluation of a split.
      random_repeats: independent random-search runs (different configs).
      bo_seeds: independent BO runs (BO random states 0, 1, ...).
      replica: the replica seed of every run (init and data order).
      max_population: most configs trained in one job (None: all the list,
        random and grid configs in one job).
    """

    trials: int
    steps: int
    eval_every: int
    eval_batches: int = 5
    random_repeats: int = 3
    bo_seeds: int = 1
    replica: int = 0
    max_population: int | None = None

    def validate(self) -> None:
        """Raises ConfigError naming the first bad field."""
        methods.check_trials(self.trials)
        for field in ("steps", "eval_every", "eval_batches", "random_repeats", "bo_seeds", "max_population"):
            value = getattr(self, field)
            if field == "max_population" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{field} must be a positive integer, got {value!r}")
        if self.steps % self.eval_every:
            raise ConfigError(f"eval_every={self.eval_every!r} must divide steps={self.steps!r}; "
                              f"e.g. eval_every={default_eval_every(self.steps)}")
        if isinstance(self.replica, bool) or not isinstance(self.replica, int) or self.replica < 0:
            raise ConfigError(f"replica must be an integer >= 0, got {self.replica!r}")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def default_eval_every(steps: int, evaluations: int = 10) -> int:
    """The divisor of `steps` closest to steps / evaluations (ties: the larger).

    Raises:
      ConfigError: steps < 1.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"steps must be a positive integer, got {steps!r}")
    divisors = [d for d in range(1, steps + 1) if steps % d == 0]
    return min(divisors, key=lambda d: (abs(d - steps / evaluations), -d))


@dataclasses.dataclass(frozen=True)
class MethodRun:
    """One run of one method: its trials in the order they were spent."""

    method: str
    run: int
    trials: tuple[Trial, ...]

    def best_so_far(self) -> list[float]:
        """Lowest validation loss among the first j trials, for j = 1..k."""
        return [float(v) for v in np.minimum.accumulate([t.best_valid for t in self.trials])]

    def selected(self, count: int) -> Trial:
        """The trial with the lowest validation loss among the first `count` (ties: the earliest)."""
        return min(self.trials[:count], key=lambda t: (t.best_valid, t.index))

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "run": self.run, "trials": [t.to_json() for t in self.trials]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "MethodRun":
        return cls(data["method"], data["run"], tuple(Trial.from_json(t) for t in data["trials"]))


@dataclasses.dataclass(frozen=True)
class ProblemResult:
    """The protocol's result on one evaluation problem: what was run, every trial, and the time it took.

    (Named apart from `hparam_lists.evaluate.ProtocolResult`, a list's result on held-out curve tasks.)

    Attributes:
      problem, preset: the problem and its size (free text for custom tasks).
      task, task_config: the task trained.
      list_name, list_family: the list evaluated and its optimizer family.
      settings: the protocol settings.
      runs: every method run, in METHODS order, then by run.
      wall_seconds: wall time of the whole protocol.
      accuracy_seconds: wall time of the accuracy replay (0 without accuracy).
      package_version: the taskset version that ran it.
    """

    problem: str
    preset: str
    task: str
    task_config: dict[str, Any]
    list_name: str
    list_family: str
    settings: ProtocolSettings
    runs: tuple[MethodRun, ...]
    wall_seconds: float
    accuracy_seconds: float
    package_version: str

    @property
    def has_accuracy(self) -> bool:
        return any(t.accuracy for r in self.runs for t in r.trials)

    def runs_of(self, method: str) -> list[MethodRun]:
        return [r for r in self.runs if r.method == method]

    def method_seconds(self, method: str) -> float:
        """Training wall time spent on `method`, summed over its trials."""
        return float(sum(t.seconds for r in self.runs_of(method) for t in r.trials))

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per method, over its runs, after each of the k trials (lists of length k).

        Keys per method: "best_valid_mean", "best_valid_min", "best_valid_max";
        "<split>_at_best_mean" for REPORT_SPLITS and, with accuracy,
        "<split>_accuracy_mean" for ACCURACY_SPLITS, of the trial selected after
        j trials; "runs"; "final": the trial selected after k trials in each run
        (run, optimizer, hparams, best_valid, best_step, losses and accuracy at
        best); "seconds": training time spent on the method.
        """
        out = {}
        for method in methods.METHODS:
            runs = self.runs_of(method)
            if not runs:
                continue
            k = len(runs[0].trials)
            curves = np.array([r.best_so_far() for r in runs])
            chosen = [[r.selected(j) for j in range(1, k + 1)] for r in runs]
            entry: dict[str, Any] = {"best_valid_mean": curves.mean(axis=0).tolist(),
                                     "best_valid_min": curves.min(axis=0).tolist(),
                                     "best_valid_max": curves.max(axis=0).tolist()}
            for split in REPORT_SPLITS:
                entry[f"{split}_at_best_mean"] = np.mean([[t.at_best[split] for t in c] for c in chosen],
                                                         axis=0).tolist()
            if self.has_accuracy:
                for split in ACCURACY_SPLITS:
                    entry[f"{split}_accuracy_mean"] = np.mean([[t.accuracy[split] for t in c] for c in chosen],
                                                              axis=0).tolist()
            entry["runs"] = len(runs)
            entry["final"] = [{"run": r.run, "optimizer": c[-1].optimizer.name, "hparams": c[-1].optimizer.hparams,
                               "best_valid": c[-1].best_valid, "best_step": c[-1].best_step,
                               **{f"{s}_at_best": c[-1].at_best[s] for s in REPORT_SPLITS},
                               **{f"{s}_accuracy": v for s, v in c[-1].accuracy.items()}}
                              for r, c in zip(runs, chosen)]
            entry["seconds"] = self.method_seconds(method)
            out[method] = entry
        return out

    def to_json(self) -> dict[str, Any]:
        return {"problem": self.problem, "preset": self.preset, "task": self.task, "task_config": self.task_config,
                "list": {"name": self.list_name, "family": self.list_family}, "settings": self.settings.to_json(),
                "wall_seconds": self.wall_seconds, "accuracy_seconds": self.accuracy_seconds,
                "package_version": self.package_version, "summary": self.summary(),
                "runs": [r.to_json() for r in self.runs]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ProblemResult":
        return cls(problem=data["problem"], preset=data["preset"], task=data["task"],
                   task_config=data["task_config"], list_name=data["list"]["name"],
                   list_family=data["list"]["family"], settings=ProtocolSettings(**data["settings"]),
                   runs=tuple(MethodRun.from_json(r) for r in data["runs"]), wall_seconds=data["wall_seconds"],
                   accuracy_seconds=data["accuracy_seconds"], package_version=data["package_version"])


def planned_trials(family: str, hparam_list, settings: ProtocolSettings) -> list[tuple[Slot, OptimizerConfig]]:
    """The (slot, config) pairs of the methods that need no results: list, random, grid."""
    plan: list[tuple[Slot, OptimizerConfig]] = []
    plan += [(("list", 0, i), c) for i, c in enumerate(methods.list_trials(hparam_list.entries, settings.trials))]
    for r in range(settings.random_repeats):
        plan += [(("random", r, i), c) for i, c in enumerate(methods.random_trials(family, settings.trials, r))]
    plan += [(("adam_lr_grid", 0, i), c) for i, c in enumerate(methods.adam_grid_trials(settings.trials))]
    return plan


def run_protocol(task, hparam_list, settings: ProtocolSettings, list_name: str, problem: str = "",
                 preset: str = "", executor=None, train_fn: TrainFn | None = None,
                 progress: bool = False) -> ProblemResult:
    """Runs the four methods on `task` and collects every trial.

    Args:
      task: the task to train (an evaluation problem or any catalogue task).
      hparam_list: an `hparam_lists.HparamList` (its entries share one family).
      settings: budget and schedule.
      list_name: how to name the list in results (its name or path).
      problem, preset: labels for the report.
      executor: a `curves.executors.Executor` (default: this process).
      train_fn: the trainer (default `taskset.training.train`).
      progress: show a progress bar of trainer calls.

    Raises:
      ConfigError: bad settings, or more trials than the list has entries.
      DataNotAvailableError: the task's data is missing (checked before training).
      RuntimeError: a training run failed (the message holds the worker's traceback).
    """
    from tqdm import tqdm

    from curves.executors import InProcessExecutor
    from taskset import __version__

    settings.validate()
    family = hparam_list.fit.family
    plan = planned_trials(family, hparam_list, settings)
    task.check_data()
    executor = executor or InProcessExecutor()
    with_accuracy = hasattr(task, "accuracy")

    def trial_job(pairs: Sequence[tuple[Slot, OptimizerConfig]]) -> TrialJob:
        return TrialJob(task=task.name, task_config=task.config_dict, optimizers=tuple(c for _, c in pairs),
                        slots=tuple(s for s, _ in pairs), steps=settings.steps, eval_every=settings.eval_every,
                        eval_batches=settings.eval_batches, replica=settings.replica)

    size = settings.max_population or len(plan)
    batch_jobs = [trial_job(plan[i:i + size]) for i in range(0, len(plan), size)]
    total = len(batch_jobs) + settings.bo_seeds * settings.trials + int(with_accuracy)
    trials: dict[Slot, Trial] = {}
    start = time.perf_counter()
    with tqdm(total=total, unit="run", disable=not progress, dynamic_ncols=True) as bar:
        run = functools.partial(_execute, executor, bar)
        for _, result in run(functools.partial(run_trial_job, train_fn=train_fn), batch_jobs):
            trials.update(((t.method, t.run, t.index), t) for t in result)
        searches = [methods.BayesOptSearch(family, seed) for seed in range(settings.bo_seeds)]
        for i in range(settings.trials):
            asks = [trial_job([(("bayes_opt", seed, i), search.ask())]) for seed, search in enumerate(searches)]
            for _, (trial,) in run(functools.partial(run_trial_job, train_fn=train_fn), asks):
                if not math.isfinite(trial.best_valid):
                    raise RuntimeError(f"BO trial {trial.optimizer.name!r} on {task.name} has no finite validation "
                                       "loss, not even at step 0: the task's initial loss is not finite")
                searches[trial.run].tell(trial.optimizer, trial.best_valid)
                trials[(trial.method, trial.run, trial.index)] = trial
        runs = _method_runs(trials)
        accuracy_start = time.perf_counter()
        if with_accuracy:
            runs = _with_accuracy(runs, task, settings, run)
    accuracy_seconds = time.perf_counter() - accuracy_start if with_accuracy else 0.0
    return ProblemResult(problem=problem, preset=preset, task=task.name, task_config=task.config_dict,
                          list_name=list_name, list_family=family, settings=settings, runs=tuple(runs),
                          wall_seconds=time.perf_counter() - start, accuracy_seconds=accuracy_seconds,
                          package_version=__version__)


def _execute(executor, bar, fn, jobs) -> Iterator[tuple[Any, Any]]:
    """Yields (job, result) as jobs finish; a failed job stops the protocol with its traceback."""
    for outcome in executor.run(fn, jobs):
        if not outcome.ok:
            names = [o.name for o in outcome.job.optimizers]
            raise RuntimeError(f"training {names!r} on {outcome.job.task} failed: {outcome.error}\n"
                               f"{outcome.traceback}")
        bar.update(1)
        yield outcome.job, outcome.result


def _method_runs(trials: dict[Slot, Trial]) -> list[MethodRun]:
    by_run: dict[tuple[str, int], list[Trial]] = {}
    for (method, run, _), trial in sorted(trials.items(), key=lambda kv: (methods.METHODS.index(kv[0][0]),
                                                                          kv[0][1], kv[0][2])):
        by_run.setdefault((method, run), []).append(trial)
    return [MethodRun(method, run, tuple(ts)) for (method, run), ts in by_run.items()]


def _with_accuracy(runs: list[MethodRun], task, settings: ProtocolSettings, run) -> list[MethodRun]:
    """`runs` with accuracy filled in for every trial selected after some j (one replay job)."""
    needed = {(r.method, r.run, r.selected(j).index): r.selected(j)
              for r in runs for j in range(1, len(r.trials) + 1)}
    slots = sorted(needed, key=lambda s: (methods.METHODS.index(s[0]), s[1], s[2]))
    job = AccuracyJob(task=task.name, task_config=task.config_dict,
                      optimizers=tuple(needed[s].optimizer for s in slots),
                      stops=tuple(needed[s].best_step for s in slots), total_steps=settings.steps,
                      eval_batches=settings.eval_batches, replica=settings.replica)
    ((_, measurements),) = list(run(run_accuracy_job, [job]))
    for slot, measured in zip(slots, measurements):
        if not math.isclose(measured.valid_inner, needed[slot].best_valid, rel_tol=1e-5):
            raise RuntimeError(f"replaying {needed[slot].optimizer.name!r} to step {needed[slot].best_step} gave "
                               f"valid_inner loss {measured.valid_inner!r}, but training gave "
                               f"{needed[slot].best_valid!r}: the replay does not reproduce the trainer")
    accuracy = {slot: measured.accuracy for slot, measured in zip(slots, measurements)}
    return [MethodRun(r.method, r.run, tuple(dataclasses.replace(t, accuracy=accuracy[(r.method, r.run, t.index)])
                                             if (r.method, r.run, t.index) in accuracy else t for t in r.trials))
            for r in runs]
