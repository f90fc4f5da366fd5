"""From curves to results: every contender's per-task and per-family numbers, aggregates and profile.

`score_run(reference, run_curves, contenders, baselines, tasks)` scores every
contender on every task against the reference curves alone (`eval.benchmark.scoring`:
the normalisation bounds, percentiles and targets come from the reference, so a
contender's numbers never depend on the other contenders of the run), compares
each of its replicas with the baselines' same replica, and aggregates over tasks
with family weights (each task family one unit). The run's configs are named
`RUN_PREFIX + name`, so that a contender that is also a reference config, e.g.
`adam_default`, is scored beside it, not merged with it. See
`BenchmarkResult.to_json` for what comes out.
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
RESULT_VERSION = 3
"""3: ties within the larger of `scoring.TIE_RTOL` and the reference's replica noise (`tie_scores`);
2: scores against the reference alone, family-weighted aggregates with per-family rows, per-replica
comparisons."""
QUANTILES = (0.1, 0.5, 0.9)
WEIGHTING = "family"


@dataclasses.dataclass(frozen=True)
class Baseline:
    """An optimizer every contender is compared with (win rate, profile).

    Attributes:
      key: "adam_default" or "list".
      label: how reports name it, e.g. "adam_default" or "list:nadamw-mini:0".
      config: its optimizer config.
      column: the config name of its curves (a reference config, or RUN_PREFIX + a run config).
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
    """One contender on one task; every number is the mean over its replicas.

    Attributes:
      score: normalised score of the final evaluation (`scoring.normalised_score`, not clipped at 0).
      score_mean: normalised score averaged over the curve.
      final_loss: final validation loss (NaN if a replica diverged).
      percentile: share (%) of reference configs beaten on final loss, replica against same replica.
      win: baseline key -> 1 win, 0.5 tie, 0 loss against the baseline's same replica (`scoring.compare`).
      target: the reference median config's final loss (`scoring.median_target`).
      time_to_target: first evaluation step reaching `target`, on the replica-mean curve.
      diverged: replicas that diverged.
      replicas: replicas trained.
      replica_scores: `score` of each replica (the bootstrap resamples them).
    """

    score: float
    score_mean: float
    final_loss: float
    percentile: float
    win: dict[str, float]
    target: float | None
    time_to_target: int | None
    diverged: int
    replicas: int
    replica_scores: tuple[float, ...]

    def to_json(self) -> dict[str, Any]:
        out = {k: json_number(v) for k, v in dataclasses.asdict(self).items()
               if k not in ("win", "replica_scores")}
        out["win"] = {k: json_number(v) for k, v in sorted(self.win.items())}
        out["replica_scores"] = [json_number(v) for v in self.replica_scores]
        return out


@dataclasses.dataclass(frozen=True)
class FamilyResult:
    """One contender on one task family: plain means over the family's tasks.

    Attributes:
      tasks: the family's tasks in the suite.
      score, percentile: mean over those tasks.
      win_rate: baseline key -> mean win over those tasks.
    """

    tasks: int
    score: float
    percentile: float
    win_rate: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"tasks": self.tasks, "score": json_number(self.score), "percentile": json_number(self.percentile),
                "win_rate": {k: json_number(v) for k, v in sorted(self.win_rate.items())}}


@dataclasses.dataclass(frozen=True)
class ContenderResult:
    """One contender on the suite; every mean is family-weighted (each family one unit).

    Attributes:
      contender: the optimizer.
      tasks: task name -> its TaskResult.
      families: family -> its FamilyResult.
      mean_score: weighted mean over tasks of `score`.
      score_ci: hierarchical bootstrap interval of `mean_score` (`scoring.bootstrap_ci`).
      mean_score_mean: weighted mean over tasks of `score_mean`.
      mean_percentile: weighted mean over tasks of `percentile`.
      win_rate: baseline key -> weighted mean over tasks of `win`.
      reached_target: tasks whose target it reached (a count).
    """

    contender: Contender
    tasks: dict[str, TaskResult]
    families: dict[str, FamilyResult]
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
                "families": {f: r.to_json() for f, r in self.families.items()},
                "tasks": {task: r.to_json() for task, r in self.tasks.items()}}


@dataclasses.dataclass(frozen=True)
class Scores:
    """Everything `score_run` computes (see `BenchmarkResult` for the run's metadata).

    Attributes:
      tasks: the tasks, in report order.
      families: task -> its family.
      weights: task -> its weight in every aggregate (family weighting, summing to 1).
      contenders: one result per contender, in order.
      baselines: the baselines.
      baseline_scores: baseline key -> task -> its score (mean over its replicas).
      baseline_means: baseline key -> its family-weighted mean score.
      reference_configs: the reference's config names, sorted.
      reference_scores: task -> the score of each reference config (in `reference_configs` order).
      best_reference: (config, family-weighted mean score) of the best reference config.
      solvers: the profile's solvers (contenders, then baselines that are not contenders).
      taus, profile: the performance profile (`scoring.performance_profile`).
      curves: per task, the curves the report plots (`_curves`).
    """

    tasks: tuple[str, ...]
    families: dict[str, str]
    weights: dict[str, float]
    contenders: tuple[ContenderResult, ...]
    baselines: tuple[Baseline, ...]
    baseline_scores: dict[str, dict[str, float]]
    baseline_means: dict[str, float]
    reference_configs: tuple[str, ...]
    reference_scores: dict[str, list[float]]
    best_reference: tuple[str, float]
    solvers: tuple[str, ...]
    taus: np.ndarray
    profile: np.ndarray
    curves: dict[str, dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class _Config:
    """One config's curves on one task: replica -> (final loss, curve, ok?), the steps, divergence steps."""

    steps: np.ndarray
    replicas: dict[int, tuple[float, np.ndarray, bool]]
    diverged_steps: dict[int, int]

    def finals(self) -> dict[int, float]:
        """replica -> final loss; NaN for a failed curve (whatever it logged before failing)."""
        return {r: (loss if ok else math.nan) for r, (loss, _, ok) in self.replicas.items()}

    def final_at(self, replica: int) -> float:
        """The final loss of `replica`, or the replica-mean where this config lacks it (NaN if any failed)."""
        finals = self.finals()
        return finals[replica] if replica in finals else float(np.mean(list(finals.values())))

    def mean_curve(self) -> np.ndarray:
        return scoring.mean_curve([curve for _, curve, _ in self.replicas.values()])


class _Task:
    """The reference of one task: its bounds, tie tolerance, its configs' curves and final losses."""

    def __init__(self, frame, tie_score: float = 0.0) -> None:
        self.configs = _configs(frame)
        curves = [curve for config in self.configs.values() for _, curve, _ in config.replicas.values()]
        self.initial, self.best = scoring.bounds([c[0] for c in curves if len(c)],
                                                 np.concatenate(curves) if curves else [])
        self.atol = scoring.tie_atol(tie_score, self.initial, self.best)
        self.target = scoring.median_target([self.configs[n].final_at(0) if 0 in self.configs[n].replicas
                                             else float(np.mean(list(self.configs[n].finals().values())))
                                             for n in sorted(self.configs)])

    def losses_at(self, replica: int, names: Sequence[str]) -> np.ndarray:
        """Final losses of configs `names` on `replica` (each config's replica mean where it lacks it)."""
        return np.array([self.configs[n].final_at(replica) for n in names], dtype=np.float64)

    def score(self, config: _Config, aggregation: str = "final") -> list[float]:
        """Per replica (in replica order): the normalised score of `config` (1 for a failed curve)."""
        out = []
        for _, (loss, curve, ok) in sorted(config.replicas.items()):
            if not ok:
                out.append(1.0)
            elif aggregation == "final":
                out.append(float(scoring.normalised_score(loss, self.initial, self.best)))
            else:
                out.append(float(np.mean(scoring.normalised_score(curve, self.initial, self.best))))
        return out


def score_run(reference_curves, run_curves, contenders: Sequence[Contender], baselines: Sequence[Baseline],
              tasks: Sequence[str], tie_scores: dict[str, float] | None = None) -> Scores:
    """Scores every contender on every task against the reference (see the module docstring).

    Args:
      reference_curves: DataFrame of the reference's curves of `tasks` (`eval.benchmark.reference.COLUMNS`).
      run_curves: DataFrame of this run's curves (same columns), named by the contenders' SPECs and the
        trained baselines' labels.
      contenders: the optimizers under test, in report order.
      baselines: the baselines found or trained.
      tasks: the tasks, in report order.
      tie_scores: task family -> tie tolerance in score units (`Reference.tie_scores`); absent or None: 0.
    """
    from hparam_lists.weighting import task_weights

    tasks = tuple(tasks)
    run = run_curves.copy()
    run["optimizer"] = RUN_PREFIX + run["optimizer"].astype(str)
    ref_task = reference_curves["task"].astype(str)
    run_task = run["task"].astype(str)
    families = {t: str(reference_curves.loc[ref_task == t, "family"].astype(str).iloc[0]) for t in tasks}
    refs = {t: _Task(reference_curves[ref_task == t], (tie_scores or {}).get(families[t], 0.0)) for t in tasks}
    runs = {t: _configs(run[run_task == t]) for t in tasks}
    weights = task_weights([families[t] for t in tasks], WEIGHTING)
    weight = dict(zip(tasks, map(float, weights)))
    reference_configs = tuple(sorted(set(reference_curves["optimizer"].astype(str))))

    def baseline_config(b: Baseline, task: str) -> _Config:
        return (refs[task].configs if b.source == "reference" else runs[task])[b.column]

    baseline_scores = {b.key: {t: float(np.mean(refs[t].score(baseline_config(b, t)))) for t in tasks}
                       for b in baselines}
    results = [_contender_result(c, tasks, refs, runs, baselines, baseline_config, families, weights,
                                 reference_configs) for c in contenders]
    reference_scores = {t: [float(np.mean(refs[t].score(refs[t].configs[n]))) if n in refs[t].configs else 1.0
                            for n in reference_configs] for t in tasks}
    ref_means = np.array([[reference_scores[t][k] for t in tasks] for k in range(len(reference_configs))]) @ weights
    best = int(np.argmin(ref_means))
    # A baseline that is also a contender (e.g. `adam_default`) appears once, as the contender.
    extra = [b for b in baselines if b.label not in {c.spec for c in contenders}]
    solvers = tuple(c.spec for c in contenders) + tuple(b.label for b in extra)
    solver_scores = np.array([[r.tasks[t].score for r in results] + [baseline_scores[b.key][t] for b in extra]
                              for t in tasks])
    taus = scoring.profile_taus()
    return Scores(
        tasks=tasks, families=families, weights=weight, contenders=tuple(results), baselines=tuple(baselines),
        baseline_scores=baseline_scores,
        baseline_means={k: scoring.weighted_mean([v[t] for t in tasks], weights) for k, v in baseline_scores.items()},
        reference_configs=reference_configs, reference_scores=reference_scores,
        best_reference=(reference_configs[best], float(ref_means[best])),
        solvers=solvers, taus=taus, profile=scoring.performance_profile(solver_scores, taus),
        curves=_curves(refs, runs, tasks, contenders, extra, baseline_config))


def _contender_result(contender: Contender, tasks, refs, runs, baselines, baseline_config, families, weights,
                      reference_configs) -> ContenderResult:
    """One contender's TaskResults, FamilyResults and family-weighted aggregates."""
    per_task = {}
    for task in tasks:
        ref, mine = refs[task], runs[task][RUN_PREFIX + contender.spec]
        finals = mine.finals()
        replica_scores = ref.score(mine)
        names = sorted(ref.configs)
        win = {}
        for b in baselines:
            theirs = baseline_config(b, task)
            win[b.key] = float(np.mean([scoring.compare(loss, theirs.final_at(r), atol=ref.atol)
                                        for r, loss in sorted(finals.items())]))
        per_task[task] = TaskResult(
            score=float(np.mean(replica_scores)), score_mean=float(np.mean(ref.score(mine, "mean"))),
            final_loss=float(np.mean(list(finals.values()))),
            percentile=float(np.mean([scoring.percentile(loss, ref.losses_at(r, names))
                                      for r, loss in sorted(finals.items())])),
            win=win, target=ref.target,
            time_to_target=scoring.time_to_target(mine.steps, mine.mean_curve(), ref.target, atol=ref.atol),
            diverged=sum(not ok for _, _, ok in mine.replicas.values()), replicas=len(mine.replicas),
            replica_scores=tuple(replica_scores))
    rows = [per_task[t] for t in tasks]
    by_family: dict[str, list[TaskResult]] = {}
    for task in tasks:
        by_family.setdefault(families[task], []).append(per_task[task])
    family_results = {f: FamilyResult(tasks=len(rs), score=float(np.mean([r.score for r in rs])),
                                      percentile=float(np.mean([r.percentile for r in rs])),
                                      win_rate={b.key: float(np.mean([r.win[b.key] for r in rs])) for b in baselines})
                      for f, rs in sorted(by_family.items())}
    return ContenderResult(
        contender=contender, tasks=per_task, families=family_results,
        mean_score=scoring.weighted_mean([r.score for r in rows], weights),
        score_ci=scoring.bootstrap_ci([r.replica_scores for r in rows], [families[t] for t in tasks]),
        mean_score_mean=scoring.weighted_mean([r.score_mean for r in rows], weights),
        mean_percentile=scoring.weighted_mean([r.percentile for r in rows], weights),
        win_rate={b.key: scoring.win_rate([r.win[b.key] for r in rows], weights) for b in baselines},
        reached_target=sum(r.time_to_target is not None for r in rows))


def _configs(frame) -> dict[str, _Config]:
    """config name -> its curves in `frame` (the rows of one task)."""
    out: dict[str, _Config] = {}
    names = frame["optimizer"].astype(str).to_numpy()
    statuses = frame["status"].astype(str).to_numpy()
    diverged = frame["diverged_step"].to_numpy() if "diverged_step" in frame else np.full(len(frame), np.nan)
    for name, replica, steps, values, status, at in zip(names, frame["replica"].to_numpy(), frame["steps"],
                                                        frame[SPLIT], statuses, diverged):
        curve = np.asarray(values, dtype=np.float64)
        steps = np.asarray(steps, dtype=np.int64)
        entry = out.setdefault(name, _Config(steps=steps, replicas={}, diverged_steps={}))
        entry.replicas[int(replica)] = (float(curve[-1]) if len(curve) else math.nan, curve, status == "ok")
        if status != "ok":
            # The recorded step; else the first evaluation that is NaN (hand-made frames have no column).
            nan = np.flatnonzero(~np.isfinite(curve))
            entry.diverged_steps[int(replica)] = int(at) if at is not None and np.isfinite(at) else \
                int(steps[nan[0]] if nan.size else steps[-1])
    return out


def _curves(refs, runs, tasks: Sequence[str], contenders: Sequence[Contender], baselines: Sequence[Baseline],
            baseline_config) -> dict[str, dict[str, Any]]:
    """Per task: steps, pointwise reference quantiles over configs, each solver's replica-mean curve, and
    the first step at which any of its replicas diverged (None if none did)."""
    out = {}
    for task in tasks:
        ref = refs[task]
        ref_values = np.array([c.mean_curve() for c in ref.configs.values()])
        steps = next(iter(ref.configs.values())).steps
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN step: every config had diverged
            quantiles = np.nanquantile(ref_values, QUANTILES, axis=0)
        solvers = {c.spec: runs[task][RUN_PREFIX + c.spec] for c in contenders}
        solvers.update({b.label: baseline_config(b, task) for b in baselines})
        out[task] = {"steps": steps.tolist(),
                     "reference_quantiles": {f"{q:g}": [json_number(v) for v in row]
                                             for q, row in zip(QUANTILES, quantiles)},
                     "optimizers": {name: [json_number(v) for v in config.mean_curve()]
                                    for name, config in solvers.items()},
                     "diverged_at": {name: _diverged_at(config) for name, config in solvers.items()}}
    return out


def _diverged_at(config: _Config) -> int | None:
    """The first training step at which any replica diverged; None if none did."""
    return min(config.diverged_steps.values()) if config.diverged_steps else None


def json_number(value):
    """A float for JSON: NaN and infinities become None; ints and None pass through."""
    if value is None or isinstance(value, (bool, int)):
        return value
    value = float(value)
    return value if math.isfinite(value) else None
