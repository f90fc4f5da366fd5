"""The four ways of spending a budget of k training runs that the protocol compares.

- `list`: the first k entries of a learned hyperparameter list, in list order.
- `random`: k configs sampled from the list's optimizer family. Repetition r
  tries `<family>_seed<RANDOM_SEED_BASE + r * RANDOM_SEED_STRIDE + i>` for
  i < k, so a repetition's first trials do not depend on k, and the seeds lie
  far above the 0..N used to build curve pools, so random search does not
  replay the configs a list was fitted on.
- `adam_lr_grid`: Adam (`adam1p`) at k learning rates log-spaced over
  [ADAM_LR_RANGE] = [1e-5, 1e-1] (both ends included; k = 1 gives the
  geometric centre, 1e-3, Adam's default). The grid is trained in farthest-
  point order starting from the centre (e.g. k = 5: 1e-3, 1e-5, 1e-1, 1e-4,
  1e-2), so "best after j trials" is a coarse-to-fine sweep and the value after
  all k trials is exactly the best of the k-point grid.
- `bayes_opt`: scikit-optimize's GP with expected improvement over the family's
  space; every ask is one real training run, whose best validation loss is told
  back. See `BayesOptSearch` for the encoding of the space.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from taskset.errors import ConfigError
from taskset.optimizers import OptimizerConfig, get_family, make_config
from taskset.optimizers.adam import adam_lr_name
from taskset.optimizers.base import Dim, skopt_space

METHODS = ("list", "random", "adam_lr_grid", "bayes_opt")
RANDOM_SEED_BASE = 1_000_000
RANDOM_SEED_STRIDE = 10_000
ADAM_LR_RANGE = (1e-5, 1e-1)
BO_INITIAL_POINTS = 3


def check_trials(trials: int, limit: int | None = None, what: str = "trials") -> None:
    """Raises ConfigError unless 1 <= trials (<= limit)."""
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"{what} must be a positive integer, got {trials!r}")
    if limit is not None and trials > limit:
        raise ConfigError(f"{what}={trials!r} exceeds the {limit} entries available; pass at most {limit}")


def list_trials(entries: Sequence[Any], trials: int) -> list[OptimizerConfig]:
    """The first `trials` entries of a list (objects with family, optimizer, hparams) as configs.

    Each config is named `list<i>_<pool config name>`, so two entries taken from
    the same pool config stay distinguishable.
    """
    check_trials(trials, len(entries), "trials for the list")
    return [make_config(e.family, e.hparams, f"list{i}_{e.optimizer}") for i, e in enumerate(entries[:trials])]


def random_trials(family: str, trials: int, repetition: int) -> list[OptimizerConfig]:
    """Repetition `repetition`'s `trials` random configs of `family` (see the module docstring)."""
    check_trials(trials, RANDOM_SEED_STRIDE)
    fam = get_family(family)
    base = RANDOM_SEED_BASE + repetition * RANDOM_SEED_STRIDE
    return [fam.sample(base + i) for i in range(trials)]


def farthest_point_order(count: int) -> list[int]:
    """Indices 0..count-1, starting at the centre, each next one farthest from those taken (ties: lowest)."""
    if count < 1:
        return []
    order = [(count - 1) // 2]
    while len(order) < count:
        taken = np.array(order)
        distance = [np.abs(taken - i).min() if i not in order else -1 for i in range(count)]
        order.append(int(np.argmax(distance)))
    return order


def adam_lr_grid(trials: int, low: float = ADAM_LR_RANGE[0], high: float = ADAM_LR_RANGE[1]) -> list[float]:
    """The grid's learning rates in training order (see the module docstring)."""
    check_trials(trials)
    if trials == 1:
        return [math.sqrt(low * high)]
    grid = np.logspace(math.log10(low), math.log10(high), trials)
    return [float(grid[i]) for i in farthest_point_order(trials)]


def adam_grid_trials(trials: int) -> list[OptimizerConfig]:
    """The Adam learning-rate grid as `adam1p` configs named like the fixed ones (`adam_lr_1e-03`)."""
    return [make_config("adam1p", {"lr": lr}, adam_lr_name(lr)) for lr in adam_lr_grid(trials)]


def from_unit(space: Sequence[Dim], point: Sequence[float]) -> dict[str, float]:
    """A point of the unit cube (categorical dims: the value) as hyperparameters of `space`.

    Each value is `Dim.from_unit` of its coordinate, the inverse of the encoding
    `hparam_lists.baselines.unit_coordinates` uses for its BO (`Dim.to_unit`).
    """
    return {dim.name: dim.from_unit(u) for dim, u in zip(space, point)}


class BayesOptSearch:
    """Sequential BO over one optimizer family's space: ask a config, train it, tell its loss.

    The space is searched in unit coordinates (see `from_unit`): continuous dims
    as skopt `Real(0, 1)`, bool and choice dims as `Categorical`. The model is
    skopt's GP (Matern kernel) with expected improvement, optimised by sampling;
    the first `initial_points` asks are uniform random points.

    Args:
      family: the optimizer family to search.
      seed: skopt's random_state; the same seed and answers give the same asks.
      initial_points: random asks before the GP is used.

    References: Snoek et al. 2012, arXiv:1206.2944; scikit-optimize's `Optimizer`.
    """

    def __init__(self, family: str, seed: int, initial_points: int = BO_INITIAL_POINTS) -> None:
        from skopt import Optimizer

        self.family = get_family(family)
        self.seed = seed
        self._optimizer = Optimizer(skopt_space(self.family.space), base_estimator="GP", acq_func="EI", acq_optimizer="sampling",
                                    n_initial_points=initial_points, random_state=seed)
        self._asked: dict[str, list[float]] = {}

    def ask(self) -> OptimizerConfig:
        """The next config to train, named `bo<seed>_<ask index>_<family>`."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):  # tiny GP matrices: BLAS threads only contend
            point = [float(v) for v in self._optimizer.ask()]
        name = f"bo{self.seed}_{len(self._asked)}_{self.family.name}"
        self._asked[name] = point
        return self.family.make_config(name, from_unit(self.family.space, point))

    def tell(self, config: OptimizerConfig, loss: float) -> None:
        """Records the objective (lower is better) of an asked config; non-finite losses are errors."""
        if not math.isfinite(loss):
            raise ValueError(f"BO objective of {config.name!r} must be finite, got {loss!r}")
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            self._optimizer.tell(self._asked[config.name], float(loss))
