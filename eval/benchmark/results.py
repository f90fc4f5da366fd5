"""From curves to results: every contender's per-task numbers, aggregates, baselines and profile.

`score_run(reference, run_curves, contenders, baselines)` puts the reference
curves and the curves this run trained into one pool (the run's configs renamed
`RUN_PREFIX + name`, so that a contender that is also a reference config, e.g.
`adam_default`, is scored beside it, not merged with it), scores the pool with
`hparam_lists.score_matrix` and reduces final losses with `curves.to_matrix`,
and applies the functions of `eval.benchmark.scoring`. See `BenchmarkResult.to_json`
for what comes out.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any, Sequence

import numpy as np

from taskset.optimizers.base import OptimizerConfig

from eval.benchmark import scoring
from eval.benchmark.contenders import Contender

RUN_PREFIX = "run:"
SPLIT = "valid_inner"
"""The loss all scores use: the validation split the reference configs were not selected on."""
RESULT_FORMAT = "taskset-benchmark"
RESULT_VERSION = 1
QUANTILES = (0.1, 0.5, 0.9)


@dataclasses.dataclass(frozen=True)
class Baseline:
    """An optimizer every contender is compared with (win rate, profile).

    Attributes:
      key: "adam_default" or "list".
      label: how reports name it, e.g. "adam_default" or "list:nadamw-mini:0".
      config: its optimizer config.
      column: the pool column holding its curves (a reference config, or RUN_PREFIX + a run config).
      source: "reference" (its curves come from the reference) or "run" (trained by this run).
    """

    key: str
    label: str
    config: OptimizerConfig
    column: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "family": self.config.family, "hparams": dict(sorted(self.config.hparams.items())),
                "source": self.source, "column": self.column}


@dataclasses.dataclass(frozen=True)
class TaskResult:
    """One contender on one task.

    Attributes:
      score: normalised score of the final evaluation (mean over replicas).
      score_mean: normalised score averaged over the curve.
      final_loss: final validation loss, mean over replicas (NaN if a replica diverged).
      percentile: share (%) of reference configs beaten on final loss (`scoring.percentile`).
      target: the reference median config's final loss (`scoring.median_target`).
      time_to_target: first evaluation step reaching `target`, on the replica-mean curve.
      diverged: replicas that diverged.
    """

    score: float
    score_mean: float
    final_loss: float
    percentile: float
    target: float | None
    time_to_target: int | None
    diverged: int

    def to_json(self) -> dict[str, Any]:
        return {k: json_number(v) for k, v in dataclasses.asdict(self).items()}


@dataclasses.dataclass(frozen=True)
class ContenderResult:
    """One contender on the suite.

    Attributes:
      contender: the optimizer.
      tasks: task name -> its TaskResult.
      mean_score: mean over tasks of `score`.
      score_ci: bootstrap interval of `mean_score` (`scoring.bootstrap_ci`).
      mean_score_mean: mean over tasks of `score_mean`.
      mean_percentile: mean over tasks of `percentile`.
      win_rate: baseline key -> share of tasks with a lower score than the baseline (ties half).
      reached_target: tasks whose target it reached.
    """

    contender: Contender
    tasks: dict[str, TaskResult]
    mean_score: float
    score_ci: tuple[float, float]
    mean_score_mean: float
    mean_percentile: float
    win_rate: dict[str, float]
    reached_target: int

    def to_json(self) -> dict[str, Any]:
        return {**self.contender.to_json(), "mean_score": json_number(self.mean_score),
                "score_ci": [json_number(v) for v in self.score_ci],
                "mean_score_curve_mean": json_number(self.mean_score_mean),
                "mean_percentile": json_number(self.mean_percentile),
                "win_rate": {k: json_number(v) for k, v in sorted(self.win_rate.items())},
                "tasks_reaching_target": self.reached_target,
                "tasks": {task: r.to_json() for task, r in self.tasks.items()}}


@dataclasses.dataclass(frozen=True)
class Scores:
    """Everything `score_run` computes (see `BenchmarkResult` for the run's metadata)."""

    tasks: tuple[str, ...]
    contenders: tuple[ContenderResult, ...]
    baselines: tuple[Baseline, ...]
    baseline_scores: dict[str, dict[str, float]]
    reference_configs: tuple[str, ...]
    reference_scores: dict[str, list[float]]
    best_reference: tuple[str, float]
    solvers: tuple[str, ...]
    taus: np.ndarray
    profile: np.ndarray
    curves: dict[str, dict[str, Any]]


def score_run(reference_curves, run_curves, contenders: Sequence[Contender], baselines: Sequence[Baseline],
              tasks: Sequence[str]) -> Scores:
    """Scores every contender on every task against the reference (see the module docstring).

    Args:
      reference_curves: DataFrame of the reference's curves of `tasks` (`eval.benchmark.reference.COLUMNS`).
      run_curves: DataFrame of this run's curves (same columns), named by the contenders' SPECs and the
        trained baselines' labels.
      contenders: the optimizers under test, in report order.
      baselines: the baselines found or trained.
      tasks: the tasks, in report order.
    """
    import pandas as pd

    from curves import to_matrix
    from hparam_lists import score_matrix

    run = run_curves.copy()
    run["optimizer"] = RUN_PREFIX + run["optimizer"].astype(str)
    pool = pd.concat([_plain(reference_curves), _plain(run)], ignore_index=True)
    final = score_matrix(pool, SPLIT, "final")
    mean = score_matrix(pool, SPLIT, "mean")
    losses = to_matrix(pool, metric=SPLIT, reduction="final", tasks=list(tasks), configs=list(final.configs))
    rows = final.task_indices(tasks)
    reference_configs = tuple(sorted(set(reference_curves["optimizer"].astype(str))))
    ref_columns = final.config_indices(reference_configs)
    final_scores, mean_scores = final.scores[rows], mean.scores[rows]

    def column(name: str) -> int:
        return int(final.config_indices([name])[0])

    baseline_scores = {b.key: final_scores[:, column(b.column)] for b in baselines}
    results = []
    for contender in contenders:
        j = column(RUN_PREFIX + contender.spec)
        per_task = {}
        for i, task in enumerate(tasks):
            reference_losses = losses.values[i, ref_columns]
            target = scoring.median_target(reference_losses)
            steps, curve, diverged = _run_curve(run, task, RUN_PREFIX + contender.spec)
            per_task[task] = TaskResult(score=float(final_scores[i, j]), score_mean=float(mean_scores[i, j]),
                                        final_loss=float(losses.values[i, j]),
                                        percentile=scoring.percentile(losses.values[i, j], reference_losses),
                                        target=target, time_to_target=scoring.time_to_target(steps, curve, target),
                                        diverged=diverged)
        scores = final_scores[:, j]
        results.append(ContenderResult(
            contender=contender, tasks=per_task, mean_score=float(scores.mean()),
            score_ci=scoring.bootstrap_ci(scores), mean_score_mean=float(mean_scores[:, j].mean()),
            mean_percentile=float(np.mean([r.percentile for r in per_task.values()])),
            win_rate={b.key: scoring.win_rate(scores, baseline_scores[b.key]) for b in baselines},
            reached_target=sum(r.time_to_target is not None for r in per_task.values())))
    # A baseline that is also a contender (e.g. `adam_default`) appears once, as the contender.
    extra = [b for b in baselines if b.label not in {c.spec for c in contenders}]
    solvers = tuple(c.spec for c in contenders) + tuple(b.label for b in extra)
    solver_columns = [column(RUN_PREFIX + c.spec) for c in contenders] + [column(b.column) for b in extra]
    taus = scoring.profile_taus()
    ref_means = final_scores[:, ref_columns].mean(axis=0)
    best = int(np.argmin(ref_means))
    return Scores(
        tasks=tuple(tasks), contenders=tuple(results), baselines=tuple(baselines),
        baseline_scores={k: dict(zip(tasks, map(float, v))) for k, v in baseline_scores.items()},
        reference_configs=reference_configs,
        reference_scores={task: final_scores[i, ref_columns].tolist() for i, task in enumerate(tasks)},
        best_reference=(reference_configs[best], float(ref_means[best])),
        solvers=solvers, taus=taus, profile=scoring.performance_profile(final_scores[:, solver_columns], taus),
        curves=_curves(reference_curves, run, tasks, contenders, extra))


def _plain(frame):
    """`frame` with string columns instead of categoricals, so frames with other categories concatenate."""
    frame = frame.copy()
    for name in ("task", "family", "optimizer_family", "optimizer", "status"):
        frame[name] = frame[name].astype(str)
    return frame


def _run_curve(run, task: str, name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(steps, replica-mean validation curve, diverged replicas) of run config `name` on `task`."""
    rows = run[(run["task"].astype(str) == task) & (run["optimizer"] == name)]
    steps = np.asarray(rows["steps"].iloc[0], dtype=np.int64)
    curve = scoring.mean_curve([np.asarray(v, dtype=np.float64) for v in rows[SPLIT]])
    return steps, curve, int((rows["status"].astype(str) != "ok").sum())


def _curves(reference, run, tasks: Sequence[str], contenders: Sequence[Contender],
            baselines: Sequence[Baseline]) -> dict[str, dict[str, Any]]:
    """Per task: steps, pointwise reference quantiles over configs, and each solver's replica-mean curve."""
    out = {}
    for task in tasks:
        ref_rows = reference[reference["task"].astype(str) == task]
        ref_values = np.array([np.asarray(v, dtype=np.float64) for v in ref_rows[SPLIT]])
        steps = np.asarray(ref_rows["steps"].iloc[0], dtype=np.int64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN step: every config had diverged
            quantiles = np.nanquantile(ref_values, QUANTILES, axis=0)
        solvers = {c.spec: _run_curve(run, task, RUN_PREFIX + c.spec)[1] for c in contenders}
        for b in baselines:
            if b.source == "run":
                solvers[b.label] = _run_curve(run, task, b.column)[1]
            else:
                rows = ref_rows[ref_rows["optimizer"].astype(str) == b.column]
                solvers[b.label] = scoring.mean_curve([np.asarray(v, dtype=np.float64) for v in rows[SPLIT]])
        out[task] = {"steps": steps.tolist(),
                     "reference_quantiles": {f"{q:g}": [json_number(v) for v in row]
                                             for q, row in zip(QUANTILES, quantiles)},
                     "optimizers": {name: [json_number(v) for v in curve] for name, curve in solvers.items()}}
    return out


def json_number(value):
    """A float for JSON: NaN and infinities become None; ints and None pass through."""
    if value is None or isinstance(value, (bool, int)):
        return value
    value = float(value)
    return value if math.isfinite(value) else None
