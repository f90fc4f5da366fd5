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

Scores. A trial's validation loss is the lowest `valid_inner` loss over its
evaluation steps (the loss a user would keep with early stopping; a diverged
run keeps what it reached before diverging). It is what BO is told and what
"best" selects on; the report adds, for the selected trial, `valid_outer` and
`test` at that step, which no method saw. For problems with accuracy (ResNet),
the selected trial's accuracy at the end of training on `valid_outer` and
`test`, over `eval_batches` batches (see `TrialJob.accuracy`).

Execution. Every training run is a `TrialJob`: one population of configs
trained by `taskset.training.train` (configs of a method run together share
one compiled loop; `max_population` splits them). Jobs run through the curves
executors (`curves.executors`: in-process, local processes or Dask), which take
any picklable job with a `key`: first the list, random and grid jobs together,
then BO, one ask per BO seed at a time (each ask needs the previous answers).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import time
from typing import Any, Callable, Sequence

import numpy as np

from taskset import config as config_lib
from taskset.errors import ConfigError
from taskset.optimizers import OptimizerConfig

from eval import methods

SELECT_SPLIT = "valid_inner"
REPORT_SPLITS = ("valid_outer", "test")
KEPT_SPLITS = ("train", SELECT_SPLIT, *REPORT_SPLITS)
ACCURACY_SPLITS = ("valid_outer", "test")

# Same signature as `taskset.training.train`.
TrainFn = Callable[..., list]


@dataclasses.dataclass(frozen=True)
class ProtocolSettings:
    """What to run.

    Attributes:
      trials: k, the budget of training runs per method run.
      steps: training steps per run.
      eval_every: steps between evaluations (step 0 and the last step included).
      eval_batches: batches per evaluation of a split.
      random_repeats: independent random-search runs (different configs).
      bo_seeds: independent BO runs (different random states).
      replica: the replica seed every run uses (init and data order).
      max_population: most configs trained together in one job (None: a
        method run's k configs at once).
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
        for field in ("steps", "eval_every", "eval_batches", "random_repeats", "bo_seeds"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{field} must be a positive integer, got {value!r}")
        if self.max_population is not None and (not isinstance(self.max_population, int)
                                                or self.max_population < 1):
            raise ConfigError(f"max_population must be a positive integer or None, got {self.max_population!r}")
        if self.replica < 0:
            raise ConfigError(f"replica must be >= 0, got {self.replica!r}")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class TrialJob:
    """One training run: `optimizers` trained together on one task; what an executor runs.

    Attributes:
      method, run: the method and its run index (random repetition or BO seed).
      first_trial: trial number of `optimizers[0]` within the method run.
      task, task_config: the task's name and config (rebuilds it on any worker).
      optimizers: the population.
      steps, eval_every, eval_batches, replica: the training schedule.
      accuracy: also measure the final parameters' accuracy (needs a task with
        `accuracy(params, batch)`).
    """

    method: str
    run: int
    first_trial: int
    task: str
    task_config: dict[str, Any]
    optimizers: tuple[OptimizerConfig, ...]
    steps: int
    eval_every: int
    eval_batches: int
    replica: int
    accuracy: bool

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["optimizers"] = [o.to_json() for o in self.optimizers]
        return data

    @property
    def key(self) -> str:
        """sha256 of the job's canonical JSON (names the job on a Dask scheduler)."""
        return hashlib.sha256(config_lib.to_json(self.to_json()).encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Trial:
    """One trained config: its curves and the scores the protocol reads off them.

    Attributes:
      method, run, index: where it sits (index = trial number in the method run).
      optimizer: the config (name, family, hparams).
      status: "ok" or "diverged".
      steps, curves: evaluation steps and split -> losses at those steps.
      best_valid: lowest finite `valid_inner` loss (inf if none is finite).
      best_step: the step of `best_valid`.
      at_best: split -> loss at `best_step` for REPORT_SPLITS.
      accuracy: split -> final accuracy (empty for problems without accuracy).
      seconds: wall time of the job that trained it, divided by its population.
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
    accuracy: dict[str, float]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["optimizer"] = self.optimizer.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Trial":
        o = data["optimizer"]
        return cls(**{**data, "optimizer": OptimizerConfig(o["name"], o["family"], dict(o["hparams"]))})


def default_eval_every(steps: int, evaluations: int = 10) -> int:
    """The divisor of `steps` closest to steps / evaluations (ties: the larger), so the last step is evaluated.

    Raises:
      ConfigError: steps < 1.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"steps must be a positive integer, got {steps!r}")
    divisors = [d for d in range(1, steps + 1) if steps % d == 0]
    return min(divisors, key=lambda d: (abs(d - steps / evaluations), -d))


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
    """Trains `job` and scores every member (what a worker runs).

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
    for i, curve in enumerate(curves):
        splits = {split: [float(v) for v in getattr(curve, split)] for split in KEPT_SPLITS}
        steps = [int(s) for s in curve.steps]
        best, step, at_best = score_curve(steps, splits)
        trials.append(Trial(method=job.method, run=job.run, index=job.first_trial + i, optimizer=curve.optimizer,
                            status=str(curve.status), steps=steps, curves=splits, best_valid=best, best_step=step,
                            at_best=at_best, accuracy={}, seconds=seconds))
    return trials


@dataclasses.dataclass(frozen=True)
class MethodRun:
    """One run of one method: its trials in the order they were spent."""

    method: str
    run: int
    trials: tuple[Trial, ...]

    def best_so_far(self) -> list[float]:
        """Lowest validation loss among the first j + 1 trials, for each j."""
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
class ProtocolResult:
    """Everything a report needs: what was run, every trial, and the time it took.

    Attributes:
      problem, preset: the problem and its size (free text for custom tasks).
      task, task_config: the task trained.
      list_name, list_family: the list evaluated and its optimizer family.
      settings: the protocol settings.
      runs: every method run.
      wall_seconds: wall time of the whole protocol.
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
    package_version: str

    def runs_of(self, method: str) -> list[MethodRun]:
        return [r for r in self.runs if r.method == method]

    def method_seconds(self, method: str) -> float:
        """Training wall time spent on `method`, summed over its trials."""
        return float(sum(t.seconds for r in self.runs_of(method) for t in r.trials))

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per method: best validation loss after each trial (mean, min, max over runs) and more.

        Keys per method: "best_valid_mean", "best_valid_min", "best_valid_max"
        (lists of length k), "final" (the selected trial after k trials, per run:
        optimizer, best_valid, REPORT_SPLITS at its best step, accuracy), "seconds".
        """
        out = {}
        for method in methods.METHODS:
            runs = self.runs_of(method)
            if not runs:
                continue
            curves = np.array([r.best_so_far() for r in runs])
            finals = []
            for r in runs:
                chosen = r.selected(len(r.trials))
                finals.append({"run": r.run, "optimizer": chosen.optimizer.name, "hparams": chosen.optimizer.hparams,
                               "best_valid": chosen.best_valid, "best_step": chosen.best_step,
                               **{f"{split}_at_best": chosen.at_best[split] for split in REPORT_SPLITS},
                               **{f"{split}_accuracy": chosen.accuracy[split] for split in chosen.accuracy}})
            out[method] = {"best_valid_mean": curves.mean(axis=0).tolist(), "best_valid_min": curves.min(axis=0).tolist(),
                           "best_valid_max": curves.max(axis=0).tolist(), "runs": len(runs), "final": finals,
                           "seconds": self.method_seconds(method)}
        return out

    def to_json(self) -> dict[str, Any]:
        return {"problem": self.problem, "preset": self.preset, "task": self.task, "task_config": self.task_config,
                "list": {"name": self.list_name, "family": self.list_family}, "settings": self.settings.to_json(),
                "wall_seconds": self.wall_seconds, "package_version": self.package_version,
                "summary": self.summary(), "runs": [r.to_json() for r in self.runs]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ProtocolResult":
        return cls(problem=data["problem"], preset=data["preset"], task=data["task"],
                   task_config=data["task_config"], list_name=data["list"]["name"],
                   list_family=data["list"]["family"], settings=ProtocolSettings(**data["settings"]),
                   runs=tuple(MethodRun.from_json(r) for r in data["runs"]), wall_seconds=data["wall_seconds"],
                   package_version=data["package_version"])


def _chunks(configs: Sequence[OptimizerConfig], size: int | None) -> list[tuple[int, tuple[OptimizerConfig, ...]]]:
    size = size or len(configs)
    return [(i, tuple(configs[i:i + size])) for i in range(0, len(configs), size)]


def run_protocol(task, hparam_list, settings: ProtocolSettings, list_name: str, problem: str = "",
                 preset: str = "", executor=None, train_fn: TrainFn | None = None,
                 progress: bool = False) -> ProtocolResult:
    """Runs the four methods on `task` and collects every trial.

    Args:
      task: the task to train (an evaluation problem or any catalogue task).
      hparam_list: an `hparam_lists.HparamList` (entries and the family they share).
      settings: budget and schedule.
      list_name: how to name the list in results (its name or path).
      problem, preset: labels for the report.
      executor: a `curves.executors.Executor` (default: in this process).
      train_fn: the trainer (default `taskset.training.train`).
      progress: show a progress bar of training runs.

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
    list_configs = methods.list_trials(hparam_list.entries, settings.trials)
    task.check_data()
    executor = executor or InProcessExecutor()
    fn = functools.partial(run_trial_job, train_fn=train_fn)

    def job(method, run, first, configs):
        return TrialJob(method=method, run=run, first_trial=first, task=task.name, task_config=task.config_dict,
                        optimizers=configs, steps=settings.steps, eval_every=settings.eval_every,
                        eval_batches=settings.eval_batches, replica=settings.replica, accuracy=False)

    planned = {("list", 0): list_configs, ("adam_lr_grid", 0): methods.adam_grid_trials(settings.trials)}
    for r in range(settings.random_repeats):
        planned[("random", r)] = methods.random_trials(family, settings.trials, r)
    batch_jobs = [job(method, run, first, chunk) for (method, run), configs in planned.items()
                  for first, chunk in _chunks(configs, settings.max_population)]
    total = len(batch_jobs) + settings.bo_seeds * settings.trials
    trials: dict[tuple[str, int], list[Trial]] = {key: [] for key in planned}
    start = time.perf_counter()
    with tqdm(total=total, unit="run", disable=not progress, dynamic_ncols=True) as bar:
        def execute(jobs):
            for outcome in executor.run(fn, jobs):
                if not outcome.ok:
                    j = outcome.job
                    raise RuntimeError(f"training run {j.method}[{j.run}] of {[o.name for o in j.optimizers]!r} "
                                       f"on {j.task} failed: {outcome.error}\n{outcome.traceback}")
                bar.update(1)
                yield outcome.job, outcome.result

        for done, result in execute(batch_jobs):
            trials[(done.method, done.run)].extend(result)
        searches = {seed: methods.BayesOptSearch(family, seed) for seed in range(settings.bo_seeds)}
        bo_trials: dict[int, list[Trial]] = {seed: [] for seed in searches}
        for i in range(settings.trials):
            asks = [job("bayes_opt", seed, i, (search.ask(),)) for seed, search in searches.items()]
            for done, result in execute(asks):
                (trial,) = result
                if not math.isfinite(trial.best_valid):
                    raise RuntimeError(f"BO trial {trial.optimizer.name!r} on {task.name} has no finite validation "
                                       "loss, not even at step 0; the task's initial loss is not finite")
                searches[done.run].tell(trial.optimizer, trial.best_valid)
                bo_trials[done.run].append(trial)
    runs = [MethodRun(method, run, tuple(sorted(ts, key=lambda t: t.index))) for (method, run), ts in trials.items()]
    runs += [MethodRun("bayes_opt", seed, tuple(ts)) for seed, ts in bo_trials.items()]
    runs.sort(key=lambda r: (methods.METHODS.index(r.method), r.run))
    return ProtocolResult(problem=problem, preset=preset, task=task.name, task_config=task.config_dict,
                          list_name=list_name, list_family=family, settings=settings, runs=tuple(runs),
                          wall_seconds=time.perf_counter() - start, package_version=__version__)
