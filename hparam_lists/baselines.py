"""Baselines a list is compared with, on the same tasks and the same config pool.

* Random search: the exact expected best score of k configs drawn uniformly
  without replacement from the pool. With the pool's n scores on a task sorted,
  s_(1) <= ... <= s_(n), the best of k draws is s_(j) with probability
  C(n-j, k-1) / C(n, k) (the j-th smallest is drawn and the other k-1 draws come
  from the n-j larger ones), so E[best of k] = sum_j s_(j) C(n-j, k-1) / C(n, k).
  The weights are computed as differences of the survival function
  P(best > s_(j)) = C(n-j, k) / C(n, k), built by a running product, so no
  binomial coefficient is ever formed (n = 10^4 is fine).
* Bayesian optimisation with scikit-optimize over the family's space (see
  `bayes_opt_curves`), answered from the pool: BO can only try configs that were
  actually trained.
* Single defaults: one fixed config tried first, `adam_default` if the curves
  hold it, and the best single config on the training tasks.

References: Metz et al. 2020, arXiv:2002.11887 (TaskSet), section 5;
  Snoek et al. 2012, arXiv:1206.2944 (GP-based BO).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from taskset.errors import ConfigError
from taskset.optimizers.base import Dim, skopt_space

ADAM_DEFAULT = "adam_default"


def random_search_weights(pool_size: int, trials: int) -> np.ndarray:
    """W[k-1, j-1] = P(the best of k draws is the j-th smallest of the pool), k = 1..trials.

    Args:
      pool_size: n, the number of configs in the pool.
      trials: the largest k, 1 <= trials <= n.

    Returns:
      A (trials, n) float64 array whose rows sum to 1.
    """
    if not 1 <= trials <= pool_size:
        raise ConfigError(f"random search trials must be in [1, {pool_size}] (the pool size), got {trials!r}")
    k = np.arange(1, trials + 1, dtype=np.float64)[:, None]
    j = np.arange(1, pool_size + 1, dtype=np.float64)[None, :]
    # survival[k, j] = C(n-j, k) / C(n, k) = prod_{i<=j} (n-i+1-k) / (n-i+1).
    ratios = np.maximum(pool_size - j + 1 - k, 0.0) / (pool_size - j + 1)
    survival = np.cumprod(ratios, axis=1)
    previous = np.concatenate([np.ones((trials, 1)), survival[:, :-1]], axis=1)
    return previous - survival


def random_search_curves(scores: np.ndarray, trials: int) -> np.ndarray:
    """Expected best score of k random configs without replacement, for every task and k.

    Args:
      scores: (tasks, pool) scores of the pool's configs.
      trials: the largest k.

    Returns:
      (tasks, trials) array; column k-1 is E[min of k draws] on each task.
    """
    scores = np.sort(np.asarray(scores, dtype=np.float64), axis=1)
    return scores @ random_search_weights(scores.shape[1], trials).T


def random_search_mean_curve(scores: np.ndarray) -> np.ndarray:
    """Mean over tasks of the expected best of k random draws, for k = 0..pool size.

    Entry 0 is 1.0: with no trial nothing was trained, and the initial loss
    scores 1 by the normalisation. Used to convert a list's scores into the
    number of random-search trials that match them (`evaluate.trials_to_match`).
    Averaging the sorted scores first makes this O(n^2), not O(tasks n^2).
    """
    scores = np.sort(np.asarray(scores, dtype=np.float64), axis=1)
    mean_sorted = scores.mean(axis=0)
    return np.concatenate([[1.0], random_search_weights(scores.shape[1], scores.shape[1]) @ mean_sorted])


def best_single(scores: np.ndarray, weights: np.ndarray | None = None) -> int:
    """The column with the lowest mean score over tasks, weighted by `weights` (one per task, summing
    to 1; None: equal), the lowest index among equals."""
    scores = np.asarray(scores, dtype=np.float64)
    means = scores.mean(axis=0) if weights is None else np.asarray(weights, dtype=np.float64) @ scores
    return int(np.argmin(means))


def unit_coordinates(space: Sequence[Dim], hparams: Sequence[dict[str, float]]) -> np.ndarray:
    """Configs as points of [0, 1]^d, the space BO searches and distances are measured in.

    Each coordinate is `Dim.to_unit` of the value: log and linear dims scaled
    into [0, 1] as they are drawn (values outside the range clipped), bool and
    choice dims the index itself (distances treat them as categories).

    Raises:
      ConfigError: a config lacks one of the space's hyperparameters.
    """
    out = np.empty((len(hparams), len(space)))
    for i, config in enumerate(hparams):
        for d, dim in enumerate(space):
            if dim.name not in config:
                raise ConfigError(f"a pool config lacks hyperparameter {dim.name!r} of the family's space; "
                                  f"it has {sorted(config)!r}")
            out[i, d] = dim.to_unit(float(config[dim.name]))
    return out


def nearest_untried(point: np.ndarray, pool: np.ndarray, categorical: np.ndarray, tried: np.ndarray) -> int:
    """The untried pool config closest to `point` in unit coordinates.

    Distance: squared differences on continuous dims plus 1 per categorical dim
    that differs; ties go to the lowest index (configs are sorted by name).
    """
    diff = np.where(categorical, (pool != point).astype(np.float64), (pool - point) ** 2).sum(axis=1)
    diff[tried] = np.inf
    return int(np.argmin(diff))


def bayes_opt_run(space: Sequence[Dim], pool: np.ndarray, observe: np.ndarray, report: np.ndarray,
                  trials: int, seed: int, initial_points: int = 5) -> np.ndarray:
    """One BO run on one task: the best reported score after each of `trials` pool configs.

    skopt's `Optimizer` (GP with expected improvement, the acquisition optimised by
    sampling) proposes a point of the unit space; the nearest untried pool config
    answers it, and BO is told that config's own coordinates and its score on the
    observation split. The first `initial_points` proposals are skopt's random ones.

    Args:
      space: the family's dimensions.
      pool: (n, d) unit coordinates of the pool (`unit_coordinates`).
      observe: (n,) scores BO sees (the fitting split, e.g. valid_inner).
      report: (n,) scores reported (e.g. test), min over the tried configs.
      trials: number of configs tried, <= n.
      seed: skopt's random_state; the same seed gives the same run.
      initial_points: random proposals before the GP is used.

    Returns:
      (trials,) running minimum of `report` over the tried configs.
    """
    from skopt import Optimizer
    from skopt.utils import cook_estimator
    from threadpoolctl import threadpool_limits

    if not 1 <= trials <= len(pool):
        raise ConfigError(f"BO trials must be in [1, {len(pool)}] (the pool size), got {trials!r}")
    categorical = np.array([dim.categorical for dim in space])
    dims = skopt_space(space)
    # skopt's default GP restarts its kernel fit 3 times; one fit per tell is
    # 3x cheaper and, on the <= 50 points of a run, rarely a worse model.
    gp = cook_estimator("GP", space=dims, n_restarts_optimizer=0, random_state=seed)
    optimizer = Optimizer(dims, base_estimator=gp, acq_func="EI", acq_optimizer="sampling",
                          n_initial_points=min(initial_points, trials), random_state=seed,
                          acq_optimizer_kwargs={"n_points": 2000})
    tried = np.zeros(len(pool), dtype=bool)
    best, out = np.inf, np.empty(trials)
    # The GP's matrices are tiny: BLAS threads only contend (4x slower on 2 cores).
    with threadpool_limits(limits=1):
        for k in range(trials):
            proposal = np.asarray(optimizer.ask(), dtype=np.float64)
            index = nearest_untried(proposal, pool, categorical, tried)
            tried[index] = True
            best = min(best, float(report[index]))
            out[k] = best
            if k + 1 < trials:  # The last answer would only fit a GP nobody asks again.
                optimizer.tell([float(v) for v in pool[index]], float(observe[index]))
    return out


@dataclasses.dataclass(frozen=True)
class BOTask:
    """One task's BO runs (one per seed), as a worker process receives them (see `bayes_opt_curves`)."""

    index: int
    space: tuple[Dim, ...]
    pool: np.ndarray
    observe: np.ndarray
    report: np.ndarray
    trials: int
    seeds: tuple[int, ...]


def bayes_opt_task(task: BOTask) -> np.ndarray:
    """The sum over `task.seeds` of task `task.index`'s BO curves: (trials,).

    The run with seed s uses random_state derived from (s, index), so tasks do not
    share proposals and a run is the same in any process.
    """
    out = np.zeros(task.trials)
    for seed in task.seeds:
        state = int(np.random.SeedSequence([int(seed), task.index]).generate_state(1)[0])
        out += bayes_opt_run(task.space, task.pool, task.observe, task.report, task.trials, state)
    return out


def bayes_opt_curves(space: Sequence[Dim], pool: np.ndarray, observe: np.ndarray, report: np.ndarray,
                     trials: int, seeds: Sequence[int], progress=None, workers: int = 1) -> np.ndarray:
    """BO on every task, averaged over `seeds`: (tasks, trials) mean best reported score.

    Args:
      space: the family's dimensions.
      pool: (n, d) unit coordinates of the pool.
      observe: (tasks, n) scores BO sees.
      report: (tasks, n) scores reported.
      trials: configs tried per run.
      seeds: one BO run per seed and task (see `bayes_opt_task`).
      progress: optional callable invoked once per finished run (e.g. tqdm.update).
      workers: local processes the tasks are spread over (1: this process). BO is
        the evaluation's dearest part (seconds per run) and its runs are
        independent, so N cores take about 1/N of the time, with the same result.

    Returns:
      (tasks, trials) array.

    Raises:
      ConfigError: no seed, or `workers` below 1.
      ExecutorError: a worker process failed.
    """
    if not seeds:
        raise ConfigError("Bayesian optimisation needs at least one seed")
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ConfigError(f"BO workers must be an integer >= 1, got {workers!r}")
    tasks = [BOTask(t, tuple(space), pool, observe[t], report[t], trials, tuple(int(s) for s in seeds))
             for t in range(len(observe))]
    out = np.zeros((len(observe), trials))
    for task, curve in _run_tasks(tasks, workers):
        out[task.index] = curve
        if progress is not None:
            for _ in seeds:
                progress()
    return out / len(seeds)


def _run_tasks(tasks: list[BOTask], workers: int):
    """Yields (task, `bayes_opt_task(task)`) as tasks finish, in this process or in `workers` processes."""
    if workers == 1:
        for task in tasks:
            yield task, bayes_opt_task(task)
        return
    from curves.errors import ExecutorError
    from curves.executors import ProcessExecutor

    with ProcessExecutor(workers=workers, threads=None) as executor:
        for outcome in executor.run(bayes_opt_task, tasks):
            if outcome.error:
                raise ExecutorError(f"BO on task {outcome.job.index} failed: {outcome.error}\n{outcome.traceback}")
            yield outcome.job, outcome.result
