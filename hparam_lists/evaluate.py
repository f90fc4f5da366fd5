"""Held-out evaluation of a list against random search, Bayesian optimisation and defaults.

Protocols (each held-out task is scored exactly once per protocol):
  kfold                  tasks shuffled with `seed` and cut into `folds` near-equal
                         folds; the list is refitted on the other folds for each.
  leave_one_family_out   each task family in turn is held out, the list refitted on
                         the other families (skipped with fewer than two families).
  as_given               the given list, unchanged, on every task of the curves
                         (in-sample where its training tasks are among them; the
                         count is recorded). Skipped when an entry's config was not
                         run in these curves.
For k = 1..trials each method's score on a task is the best reporting-split
score (default: test) among the first k configs it tries, and a protocol reports
the mean over its held-out tasks (and per task family):
  list           the greedy list refitted on the training tasks (fitting split,
                 e.g. valid_inner; tasks weighted by `weighting`, by default each
                 task family one unit); its first k entries.
  random_search  exact expectation over k uniform draws without replacement from
                 the family's pool (`baselines.random_search_curves`).
  bayes_opt      skopt GP-BO over the family's space answered from the pool,
                 guided by the fitting split, mean over `bo_seeds` runs per task.
  best_single    the config (any family in the curves) with the best weighted mean
                 fitting score on the training tasks; constant in k.
  adam_default   `adam_default` when the curves hold it; constant in k.
Random search, BO and adam_default do not use the training tasks, so they are
computed once per task and shared by the protocols.

Speed-up: `trials_to_match[k-1]` is the number of random-search trials whose
expected mean score equals the list's score after k trials, reading the
random-search curve R(m), m = 0..n (R(0) = 1: nothing trained scores 1) as
piecewise linear in m; `speedup[k-1] = trials_to_match[k-1] / k`. Interpolation
keeps the number continuous (a list matching 2.5 random trials shows 2.5, not 3).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

from hparam_lists.artifact import HparamList
from hparam_lists.baselines import (ADAM_DEFAULT, bayes_opt_curves, best_single, random_search_curves,
                                    random_search_mean_curve, unit_coordinates)
from hparam_lists.greedy import fit_weights, greedy_order
from hparam_lists.matrix import ScoreMatrix
from hparam_lists.normalize import REPORT_SPLIT, check_split, score_matrix
from hparam_lists.weighting import DEFAULT_WEIGHTING, check_weighting
from taskset.errors import ConfigError

RESULT_FORMAT = "taskset-list-evaluation"
RESULT_VERSION = 1
METHODS = ("list", "random_search", "bayes_opt", "best_single", "adam_default")
PROTOCOLS = ("kfold", "leave_one_family_out", "as_given")
# Matches of a list score by random search are computed with this slack, so that
# a list that equals the whole pool's best is not reported as unmatched by rounding.
_MATCH_TOLERANCE = 1e-12


@dataclasses.dataclass(frozen=True)
class EvaluationSettings:
    """What was evaluated and how; stored with the results."""

    family: str
    fit_split: str
    report_split: str
    aggregation: str
    trials: int
    folds: int
    bo_seeds: tuple[int, ...]
    seed: int
    dataset: str = ""
    manifest_sha256: str | None = None
    pool_size: int = 0
    num_tasks: int = 0
    weighting: str = DEFAULT_WEIGHTING

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["bo_seeds"] = list(self.bo_seeds)
        return data


@dataclasses.dataclass(frozen=True)
class ProtocolResult:
    """One protocol's curves: index k-1 holds the value after k trials.

    Attributes:
      name: the protocol ("kfold", "leave_one_family_out", "as_given").
      methods: method -> mean over the held-out tasks of the best score after k trials.
      per_family: task family -> method -> the same mean over that family's tasks.
      tasks_per_family: task family -> number of held-out tasks.
      trials_to_match: random-search trials matching the list after k trials.
      speedup: trials_to_match[k-1] / k.
      holdouts: the held-out task sets, one per fold (or family).
      chosen_defaults: per held-out set, the `best_single` config that was chosen.
      in_sample_tasks: held-out tasks that were also training tasks (as_given only).
    """

    name: str
    methods: dict[str, tuple[float, ...]]
    per_family: dict[str, dict[str, tuple[float, ...]]]
    tasks_per_family: dict[str, int]
    trials_to_match: tuple[float, ...]
    speedup: tuple[float, ...]
    holdouts: tuple[tuple[str, ...], ...]
    chosen_defaults: tuple[str, ...] = ()
    in_sample_tasks: int = 0

    @property
    def family_balanced(self) -> dict[str, tuple[float, ...]]:
        """method -> the mean over task families, each family weighted equally.

        `methods` weights every task equally, so a family with many tasks (the
        cheap quadratics of taskset-mini) dominates it; this is the other view.
        """
        families = list(self.per_family.values())
        return {m: tuple(float(v) for v in np.mean([f[m] for f in families], axis=0))
                for m in self.methods if families and all(m in f for f in families)}

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "methods": {m: list(v) for m, v in self.methods.items()},
                "per_family": {f: {m: list(v) for m, v in ms.items()} for f, ms in self.per_family.items()},
                "tasks_per_family": dict(self.tasks_per_family), "trials_to_match": list(self.trials_to_match),
                "speedup": list(self.speedup), "holdouts": [list(h) for h in self.holdouts],
                "chosen_defaults": list(self.chosen_defaults), "in_sample_tasks": self.in_sample_tasks}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ProtocolResult":
        return cls(name=data["name"], methods={m: tuple(v) for m, v in data["methods"].items()},
                   per_family={f: {m: tuple(v) for m, v in ms.items()} for f, ms in data["per_family"].items()},
                   tasks_per_family=dict(data["tasks_per_family"]), trials_to_match=tuple(data["trials_to_match"]),
                   speedup=tuple(data["speedup"]), holdouts=tuple(tuple(h) for h in data["holdouts"]),
                   chosen_defaults=tuple(data["chosen_defaults"]), in_sample_tasks=int(data["in_sample_tasks"]))


@dataclasses.dataclass(frozen=True)
class EvaluationResult:
    """Every protocol's results, the settings, and why any protocol was skipped."""

    settings: EvaluationSettings
    protocols: dict[str, ProtocolResult]
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON data: {"format", "format_version", "settings", "protocols": {name: ...}, "skipped"}."""
        return {"format": RESULT_FORMAT, "format_version": RESULT_VERSION, "settings": self.settings.to_json(),
                "protocols": {n: p.to_json() for n, p in self.protocols.items()}, "skipped": dict(self.skipped)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "EvaluationResult":
        """Rebuilds a result from `to_json` data.

        Raises:
          ConfigError: not an evaluation result of this format version.
        """
        if not isinstance(data, dict) or data.get("format") != RESULT_FORMAT \
                or data.get("format_version") != RESULT_VERSION:
            raise ConfigError(f"not a list evaluation result of format {RESULT_FORMAT!r} version {RESULT_VERSION}")
        settings = dict(data["settings"])
        settings["bo_seeds"] = tuple(settings["bo_seeds"])
        settings.setdefault("weighting", "task")  # results written before weighting existed
        order = sorted(data["protocols"], key=lambda n: (PROTOCOLS.index(n) if n in PROTOCOLS else len(PROTOCOLS), n))
        return cls(EvaluationSettings(**settings),
                   {n: ProtocolResult.from_json(data["protocols"][n]) for n in order}, dict(data["skipped"]))


def trials_to_match(list_scores: Sequence[float], random_curve: Sequence[float]) -> np.ndarray:
    """Random-search trials needed to match each list score (module docstring).

    Args:
      list_scores: (K,) the list's mean best score after k = 1..K trials.
      random_curve: (n+1,) random search's expected mean best score after m = 0..n
        trials (non-increasing, random_curve[0] = 1).

    Returns:
      (K,) real numbers m in [0, n]: the first crossing of the piecewise-linear
      curve with the list score; n where even the whole pool does not match it
      (only possible through rounding, since the list is drawn from the pool).
    """
    curve = np.asarray(random_curve, dtype=np.float64)
    out = np.empty(len(list_scores))
    for i, score in enumerate(list_scores):
        reached = np.flatnonzero(curve <= score + _MATCH_TOLERANCE)
        if reached.size == 0:
            out[i] = len(curve) - 1
            continue
        m = int(reached[0])
        if m == 0:
            out[i] = 0.0
            continue
        above, below = curve[m - 1], curve[m]
        out[i] = (m - 1) + (above - score) / (above - below) if above > below else m
    return out


def kfold_holdouts(num_tasks: int, folds: int, seed: int) -> list[np.ndarray]:
    """Row indices of each fold: a seeded permutation of the tasks cut into near-equal parts.

    Raises:
      ConfigError: folds is not in [2, num_tasks].
    """
    if not isinstance(folds, int) or isinstance(folds, bool) or not 2 <= folds <= num_tasks:
        raise ConfigError(f"folds must be an integer in [2, {num_tasks}] (the number of tasks), got {folds!r}")
    order = np.random.Generator(np.random.PCG64(seed)).permutation(num_tasks)
    return [np.sort(part) for part in np.array_split(order, folds)]


def family_holdouts(task_families: Sequence[str]) -> list[tuple[str, np.ndarray]]:
    """(family, row indices) for every task family, families sorted by name."""
    families = np.asarray(task_families, dtype=object)
    return [(f, np.flatnonzero(families == f)) for f in sorted(set(task_families))]


def evaluate_matrices(fit: ScoreMatrix, report: ScoreMatrix, family: str, trials: int, folds: int = 5,
                      bo_seeds: Sequence[int] = (0, 1), seed: int = 0, given: HparamList | None = None,
                      progress: bool = False, dataset: str = "", manifest_sha256: str | None = None,
                      weighting: str = DEFAULT_WEIGHTING, workers: int = 1) -> EvaluationResult:
    """Runs every protocol on score matrices of the same tasks and configs.

    Args:
      fit: scores on the fitting split (lists are fitted, BO guided, defaults chosen on it).
      report: scores on the reporting split, same rows and columns as `fit`.
      family: the optimizer family of the list, random search and BO.
      trials: K, the largest number of trials scored.
      folds: number of k-fold folds.
      bo_seeds: BO runs per task (empty: skip BO).
      seed: the seed of the k-fold split.
      given: a fitted list to evaluate as it is (protocol "as_given"), or None.
      progress: show tqdm progress bars on stderr.
      dataset: name or path of the curves, recorded in the settings.
      manifest_sha256: the curves' manifest hash, recorded in the settings.
      weighting: how training tasks count in the refits and in `best_single`:
        "family" (each task family one unit) or "task" (`hparam_lists.weighting`).
      workers: local processes for BO, the dearest part (the result does not depend on it).

    Returns:
      The EvaluationResult.

    Raises:
      ConfigError: mismatched matrices, no config of `family`, or trials/folds out of range.
    """
    from tqdm import tqdm

    if fit.tasks != report.tasks or fit.configs != report.configs:
        raise ConfigError("the fitting and reporting score matrices must hold the same tasks and configs")
    pool = fit.family_columns(family)
    if not isinstance(trials, int) or isinstance(trials, bool) or not 1 <= trials <= len(pool):
        raise ConfigError(f"trials must be an integer in [1, {len(pool)}] (the {family!r} configs in the curves), "
                          f"got {trials!r}")
    holdouts = kfold_holdouts(len(fit.tasks), folds, seed)
    settings = EvaluationSettings(family=family, fit_split=fit.split, report_split=report.split,
                                  aggregation=fit.aggregation, trials=trials, folds=folds,
                                  bo_seeds=tuple(int(s) for s in bo_seeds), seed=seed, dataset=dataset,
                                  manifest_sha256=manifest_sha256, pool_size=len(pool), num_tasks=len(fit.tasks),
                                  weighting=weighting)
    check_weighting(weighting)

    shared = {"random_search": random_search_curves(report.scores[:, pool], trials)}
    if bo_seeds:
        from taskset.optimizers import get_family

        space = get_family(family).space
        coordinates = unit_coordinates(space, [fit.config_hparams[c] for c in pool])
        with tqdm(total=len(fit.tasks) * len(bo_seeds), desc="bayes_opt", disable=not progress,
                  leave=False) as bar:
            shared["bayes_opt"] = bayes_opt_curves(space, coordinates, fit.scores[:, pool], report.scores[:, pool],
                                                   trials, settings.bo_seeds, progress=bar.update,
                                                   workers=workers)
    if ADAM_DEFAULT in fit.configs:
        column = fit.configs.index(ADAM_DEFAULT)
        shared["adam_default"] = np.repeat(report.scores[:, [column]], trials, axis=1)

    protocols, skipped = {}, {}
    protocols["kfold"] = _cross_validate("kfold", fit, report, pool, trials, holdouts, shared, weighting)
    by_family = family_holdouts(fit.task_families)
    if len(by_family) >= 2:
        protocols["leave_one_family_out"] = _cross_validate(
            "leave_one_family_out", fit, report, pool, trials, [rows for _, rows in by_family], shared, weighting)
    else:
        skipped["leave_one_family_out"] = f"the curves hold one task family ({by_family[0][0]!r}); it needs two"
    if given is not None:
        reason = _as_given_problem(given, fit, family, trials)
        if reason:
            skipped["as_given"] = reason
        else:
            protocols["as_given"] = _as_given(given, report, pool, trials, shared)
    return EvaluationResult(settings, protocols, skipped)


def evaluate(curves, hparam_list: HparamList, trials: int | None = None, folds: int = 5,
             bo_seeds: Sequence[int] = (0, 1), seed: int = 0, report_split: str = REPORT_SPLIT,
             progress: bool = False, dataset: str = "", manifest_sha256: str | None = None,
             weighting: str | None = None, workers: int = 1) -> EvaluationResult:
    """Evaluates `hparam_list` and its fitting recipe on a curves DataFrame.

    The list's fit settings (family, split, aggregation) drive the refits; the
    list itself is scored as protocol "as_given".

    Args:
      curves: one row per curve, as returned by `curves.read`.
      hparam_list: the list (and recipe) to evaluate.
      trials: the largest k (default: the list's length, at most 20 and at most
        the number of the family's configs in `curves`).
      folds, bo_seeds, seed, progress, dataset, manifest_sha256, workers: see `evaluate_matrices`.
      report_split: the split scores are reported on.
      weighting: "family" or "task" for the refits; None follows the list's own recipe.

    Returns:
      The EvaluationResult.
    """
    check_split(report_split)
    recipe = hparam_list.fit
    fit = score_matrix(curves, recipe.split, recipe.aggregation)
    report = score_matrix(curves, report_split, recipe.aggregation)
    if trials is None:
        trials = min(len(hparam_list), 20, len(fit.family_columns(recipe.family)))
    return evaluate_matrices(fit, report, recipe.family, trials, folds, bo_seeds, seed, hparam_list, progress,
                             dataset, manifest_sha256, recipe.weighting if weighting is None else weighting,
                             workers)


def _cross_validate(name: str, fit: ScoreMatrix, report: ScoreMatrix, pool: np.ndarray, trials: int,
                    holdouts: list[np.ndarray], shared: dict[str, np.ndarray], weighting: str) -> ProtocolResult:
    per_task = {m: np.zeros((len(fit.tasks), trials)) for m in ("list", "best_single", *shared)}
    chosen = []
    for rows in holdouts:
        train = np.setdiff1d(np.arange(len(fit.tasks)), rows)
        weights = fit_weights([fit.task_families[i] for i in train], weighting)
        columns, _ = greedy_order(fit.scores[np.ix_(train, pool)], trials, weights)
        per_task["list"][rows] = np.minimum.accumulate(report.scores[np.ix_(rows, pool[columns])], axis=1)
        single = best_single(fit.scores[train], weights)
        chosen.append(fit.configs[single])
        per_task["best_single"][rows] = report.scores[rows, single][:, None]
        for method, curves in shared.items():
            per_task[method][rows] = curves[rows]
    scored = np.sort(np.concatenate(holdouts))
    return _summarise(name, per_task, scored, fit, report.scores[:, pool],
                      tuple(tuple(fit.tasks[i] for i in rows) for rows in holdouts), tuple(chosen))


def _as_given_problem(given: HparamList, fit: ScoreMatrix, family: str, trials: int) -> str:
    if given.fit.family != family:
        return f"the list is of family {given.fit.family!r}, the evaluation of {family!r}"
    if len(given) < trials:
        return f"the list has {len(given)} entries, fewer than the {trials} trials evaluated"
    missing = [e.optimizer for e in given.entries[:trials] if e.optimizer not in fit.configs]
    if missing:
        return f"entries {missing[:5]!r} were not run in these curves"
    return ""


def _as_given(given: HparamList, report: ScoreMatrix, pool: np.ndarray, trials: int,
              shared: dict[str, np.ndarray]) -> ProtocolResult:
    columns = report.config_indices(e.optimizer for e in given.entries[:trials])
    per_task = {"list": np.minimum.accumulate(report.scores[:, columns], axis=1), **shared}
    rows = np.arange(len(report.tasks))
    result = _summarise("as_given", per_task, rows, report, report.scores[:, pool], (report.tasks,), ())
    return dataclasses.replace(result, in_sample_tasks=len(set(given.fit.train_tasks) & set(report.tasks)))


def _summarise(name: str, per_task: dict[str, np.ndarray], rows: np.ndarray, matrix: ScoreMatrix,
               pool_report: np.ndarray, holdouts: tuple[tuple[str, ...], ...],
               chosen: tuple[str, ...]) -> ProtocolResult:
    def mean(selection: np.ndarray) -> dict[str, tuple[float, ...]]:
        return {m: tuple(float(v) for v in per_task[m][selection].mean(axis=0)) for m in METHODS if m in per_task}

    families = np.asarray(matrix.task_families, dtype=object)[rows]
    methods = mean(rows)
    matched = trials_to_match(methods["list"], random_search_mean_curve(pool_report[rows]))
    k = np.arange(1, len(matched) + 1)
    return ProtocolResult(name=name, methods=methods,
                          per_family={f: mean(rows[families == f]) for f in sorted(set(families))},
                          tasks_per_family={f: int((families == f).sum()) for f in sorted(set(families))},
                          trials_to_match=tuple(float(v) for v in matched),
                          speedup=tuple(float(v) for v in matched / k), holdouts=holdouts, chosen_defaults=chosen)
