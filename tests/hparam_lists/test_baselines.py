import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hparam_lists.baselines import (bayes_opt_curves, bayes_opt_run, best_single, nearest_untried,
                                    random_search_curves, random_search_mean_curve, random_search_weights,
                                    unit_coordinates)
from taskset.errors import ConfigError
from taskset.optimizers.base import Dim

SPACE = (Dim("lr", "log", 1e-4, 1.0), Dim("beta1", "one_minus_log", 1e-3, 1.0), Dim("nesterov", "bool"),
         Dim("frac", "linear", 0.0, 1.0), Dim("warmup", "log", 1e-5, 1e-1, zero_prob=0.5))


def brute_force(scores: np.ndarray, k: int) -> float:
    subsets = list(itertools.combinations(range(len(scores)), k))
    return float(np.mean([min(scores[list(s)]) for s in subsets]))


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 8), elements=st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.9, 1.0])))
def test_random_search_expectation_equals_enumeration_of_all_subsets(pool):
    curves = random_search_curves(pool[None, :], len(pool))
    expected = [brute_force(pool, k) for k in range(1, len(pool) + 1)]
    np.testing.assert_allclose(curves[0], expected, atol=1e-12)


def test_weights_are_a_distribution_and_stable_for_large_pools():
    weights = random_search_weights(10_000, 50)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert (weights >= 0).all()
    # P(best of k is the smallest) = k / n.
    np.testing.assert_allclose(weights[:, 0], np.arange(1, 51) / 10_000)
    with pytest.raises(ConfigError, match="got 11"):
        random_search_weights(10, 11)


def test_mean_curve_starts_at_one_and_ends_at_the_pool_best():
    scores = np.array([[0.2, 0.8, 0.5], [0.9, 0.1, 0.4]])
    curve = random_search_mean_curve(scores)
    assert curve[0] == 1.0 and curve[-1] == pytest.approx(0.15)
    np.testing.assert_allclose(curve[1:], random_search_curves(scores, 3).mean(axis=0))


def test_best_single_breaks_ties_by_lowest_index():
    assert best_single(np.array([[0.5, 0.2, 0.2], [0.5, 0.2, 0.2]])) == 1


def test_unit_coordinates_follow_each_dimension_kind():
    points = unit_coordinates(SPACE, [{"lr": 1e-2, "beta1": 0.9, "nesterov": 1.0, "frac": 0.25, "warmup": 0.0},
                                      {"lr": 1.0, "beta1": 0.0, "nesterov": 0.0, "frac": 2.0, "warmup": 1e-3}])
    np.testing.assert_allclose(points, [[0.5, 2 / 3, 1.0, 0.25, 0.0], [1.0, 1.0, 0.0, 1.0, 0.5]])
    with pytest.raises(ConfigError, match="'frac'"):
        unit_coordinates(SPACE, [{"lr": 1e-2, "beta1": 0.9, "nesterov": 1.0, "warmup": 0.0}])


def test_nearest_untried_skips_tried_configs_and_counts_category_mismatches():
    pool = np.array([[0.1, 0.0], [0.1, 1.0], [0.9, 0.0]])
    categorical = np.array([False, True])
    assert nearest_untried(np.array([0.1, 1.0]), pool, categorical, np.zeros(3, bool)) == 1
    assert nearest_untried(np.array([0.1, 1.0]), pool, categorical, np.array([False, True, False])) == 0
    assert nearest_untried(np.array([0.5, 0.0]), pool, categorical, np.zeros(3, bool)) == 0  # Tie: lowest index.


def _pool(n: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    hparams = [{"lr": float(10 ** rng.uniform(-4, 0)), "beta1": float(1 - 10 ** rng.uniform(-3, 0)),
                "nesterov": float(rng.integers(2)), "frac": float(rng.uniform()),
                "warmup": 0.0 if rng.uniform() < 0.5 else float(10 ** rng.uniform(-5, -1))} for _ in range(n)]
    points = unit_coordinates(SPACE, hparams)
    # A smooth objective with its optimum at lr = 1e-2 (unit 0.5).
    observe = (points[:, 0] - 0.5) ** 2 + 0.1 * points[:, 3]
    return points, observe


def test_bayes_opt_is_deterministic_for_a_seed_and_tries_distinct_configs():
    points, observe = _pool()
    first = bayes_opt_run(SPACE, points, observe, observe, 8, seed=3, initial_points=3)
    again = bayes_opt_run(SPACE, points, observe, observe, 8, seed=3, initial_points=3)
    np.testing.assert_array_equal(first, again)
    assert (np.diff(first) <= 0).all()
    # With every config tried, BO has found the pool's best.
    everything = bayes_opt_run(SPACE, points[:10], observe[:10], observe[:10], 10, seed=0, initial_points=3)
    assert everything[-1] == observe[:10].min()


def test_bayes_opt_curves_average_seeds_and_report_the_report_split():
    points, observe = _pool(20)
    report = 1.0 - observe  # Reported scores differ from what BO is guided by.
    calls = []
    curves = bayes_opt_curves(SPACE, points, np.stack([observe, observe]), np.stack([report, report]), 4,
                              seeds=(0, 1), progress=lambda: calls.append(1))
    assert curves.shape == (2, 4) and len(calls) == 4
    single = [bayes_opt_run(SPACE, points, observe, report, 4,
                            int(np.random.SeedSequence([s, 0]).generate_state(1)[0])) for s in (0, 1)]
    np.testing.assert_allclose(curves[0], np.mean(single, axis=0))
    assert set(np.concatenate(single)) <= set(report)
    with pytest.raises(ConfigError, match="at least one seed"):
        bayes_opt_curves(SPACE, points, observe[None], report[None], 4, seeds=())
    with pytest.raises(ConfigError, match="BO workers must be an integer >= 1, got 0"):
        bayes_opt_curves(SPACE, points, observe[None], report[None], 4, seeds=(0,), workers=0)
