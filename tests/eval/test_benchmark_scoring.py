"""The benchmark's scoring functions on hand-made losses, scores and curves."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eval.benchmark import scoring

NAN = float("nan")


@pytest.mark.parametrize("loss, reference, expected", [
    (0.5, [1.0, 2.0, 3.0, 4.0], 100.0),            # beats all
    (5.0, [1.0, 2.0, 3.0, 4.0], 0.0),              # beats none
    (2.5, [1.0, 2.0, 3.0, 4.0], 50.0),             # beats two of four
    (2.0, [1.0, 2.0, 3.0, 4.0], 62.5),             # one tie counts half: (2 + 0.5) / 4
    (3.0, [1.0, NAN, 3.0, math.inf], 62.5),        # diverged configs are worse than any finite loss
    (NAN, [1.0, NAN, 3.0, NAN], 25.0),             # a failure ties the failures: 0.5 * 2 / 4
    (NAN, [1.0, 2.0], 0.0),
    (2.0 * (1 + 5e-8), [1.0, 2.0, 3.0, 4.0], 62.5),  # float32 rounding of a rerun is a tie
    (2.0 * (1 + 5e-4), [1.0, 2.0, 3.0, 4.0], 62.5),  # so is a rerun on another CPU (within TIE_RTOL)
    (2.0 * (1 + 5e-3), [1.0, 2.0, 3.0, 4.0], 50.0),  # beyond it, it is worse than 2.0
    (2.0, [1.0, 2.0, 2.0, 4.0], 50.0),             # two equals: (1 + 0.5 * 2) / 4
    # Taken as the closest tied config (2.0), which beats 2.0018 and 3.0 and ties itself.
    (2.0 * (1 + 2e-4), [2.0, 2.0 * (1 + 9e-4), 3.0], 100 * 2.5 / 3),
    (2.0 * (1 + 8e-4), [2.0, 2.0 * (1 + 9e-4), 3.0], 100 * 1.5 / 3),  # closest is 2.0018 now
])
def test_percentile(loss, reference, expected):
    assert scoring.percentile(loss, reference) == pytest.approx(expected)


def test_percentile_without_reference_is_nan():
    assert math.isnan(scoring.percentile(1.0, []))


@given(st.floats(allow_nan=True, allow_infinity=True),
       st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=20))
@settings(max_examples=200, deadline=None)
def test_percentile_is_in_range_and_monotone(loss, reference):
    value = scoring.percentile(loss, reference)
    assert 0.0 <= value <= 100.0
    if math.isfinite(loss):
        # A lower loss never ranks lower.
        assert scoring.percentile(loss - 1.0, reference) >= value


@pytest.mark.parametrize("reference, expected", [
    ([3.0, 1.0, 2.0], 2.0),                   # odd: the middle config
    ([4.0, 1.0, 3.0, 2.0], 2.0),              # even: the better of the two middle ones (rank (n - 1) // 2)
    ([NAN, 1.0, 2.0], 2.0),                   # diverged configs sort last
    ([NAN, NAN, 1.0], None),                  # the median config diverged: no target
    ([], None),
])
def test_median_target(reference, expected):
    assert scoring.median_target(reference) == expected


def test_time_to_target():
    steps = [0, 10, 20, 30]
    assert scoring.time_to_target(steps, [5.0, 3.0, 2.0, 1.0], 2.5) == 20
    assert scoring.time_to_target(steps, [5.0, 3.0, 2.0, 1.0], 2.0) == 20  # reaching means <=
    assert scoring.time_to_target(steps, [5.0, 3.0, 2.0, 1.0], 0.5) is None
    assert scoring.time_to_target(steps, [5.0, NAN, NAN, NAN], 4.0) is None  # NaN never reaches it
    assert scoring.time_to_target(steps, [1.0, 1.0, 1.0, 1.0], None) is None
    assert scoring.time_to_target(steps, [1.0, 3.0, 2.0, 1.0], 1.0) == 0


def test_mean_curve_is_nan_where_a_replica_is():
    curve = scoring.mean_curve([[1.0, 2.0, 3.0], [3.0, NAN, 5.0]])
    np.testing.assert_array_equal(curve, [2.0, NAN, 4.0])


def test_bootstrap_is_deterministic_and_covers_the_mean():
    values = [0.1, 0.4, 0.35, 0.8, 0.05, 0.6, 0.2]
    first = scoring.bootstrap_ci(values)
    assert first == scoring.bootstrap_ci(values)
    assert first != scoring.bootstrap_ci(values, seed=1)
    low, high = first
    assert low < np.mean(values) < high
    assert min(values) <= low and high <= max(values)
    narrow = scoring.bootstrap_ci(values, confidence=0.5)
    assert low <= narrow[0] <= narrow[1] <= high


def test_bootstrap_edge_cases():
    assert scoring.bootstrap_ci([0.3, 0.3, 0.3]) == pytest.approx((0.3, 0.3))
    assert all(math.isnan(v) for v in scoring.bootstrap_ci([]))


def test_bootstrap_covers_replicas_and_weighs_families():
    # One task with spread-out replicas: the interval is the replicas' spread, not a point.
    low, high = scoring.bootstrap_ci([[0.1, 0.5, 0.3, 0.7]])
    assert 0.1 <= low < 0.4 < high <= 0.7
    # Family A (two tasks at 0) and family B (one task at 1): the family-weighted mean is 0.5, and
    # the interval of a resampling over two families spans both.
    low, high = scoring.bootstrap_ci([[0.0], [0.0], [1.0]], ["A", "A", "B"])
    assert (low, high) == (0.0, 1.0)
    assert scoring.bootstrap_ci([[0.2], [0.2], [0.2]], ["A", "A", "B"]) == pytest.approx((0.2, 0.2))


def test_compare_and_win_rate():
    wins = scoring.compare([0.1, 0.5, 0.3, 1.537172, NAN, NAN], [0.2, 0.4, 0.3, 1.536999, 1.0, NAN])
    assert wins.tolist() == [1.0, 0.0, 0.5, 0.5, 0.0, 0.5]  # win, loss, tie, rerun on another CPU, failures
    assert scoring.win_rate(wins) == pytest.approx(2.5 / 6)
    assert scoring.win_rate([1.0, NAN], [0.5, 0.5]) == 1.0  # NaN tasks are left out
    assert scoring.win_rate([1.0, 0.0, 0.0], [0.5, 0.25, 0.25]) == pytest.approx(0.5)  # weighted
    assert math.isnan(scoring.win_rate([NAN]))


def test_losses_tied_is_symmetric():
    a, b = 1.0, 1.0 + 0.999e-3
    assert scoring.losses_tied(a, b) and scoring.losses_tied(b, a)
    assert not scoring.losses_tied(1.0, 1.0011)
    assert scoring.losses_tied(math.inf, NAN) and not scoring.losses_tied(1.0, NAN)


def test_normalised_score_is_capped_at_1_and_not_clipped_at_0():
    values = scoring.normalised_score([3.0, 2.0, 1.5, 1.0, 0.5, NAN, math.inf], 2.0, 1.0)
    assert values.tolist() == [1.0, 1.0, 0.5, 0.0, -0.5, 1.0, 1.0]
    assert scoring.normalised_score(0.5, 1.0, 1.0) == 1.0  # unusable bounds: no progress anywhere
    assert scoring.bounds([2.0, 2.2, NAN], [2.0, 1.0, NAN, 0.5]) == pytest.approx((2.1, 0.5))


def test_performance_profile_by_hand():
    # Three tasks, two solvers; epsilon 0.1 keeps the arithmetic readable.
    scores = np.array([[0.0, 0.1],     # ratios 1, 2
                       [0.3, 0.1],     # ratios 2, 1
                       [0.9, 0.9]])    # ratios 1, 1
    ratios = scoring.performance_ratios(scores, epsilon=0.1)
    np.testing.assert_allclose(ratios, [[1.0, 2.0], [2.0, 1.0], [1.0, 1.0]])
    rho = scoring.performance_profile(scores, [1.0, 1.5, 2.0], epsilon=0.1)
    np.testing.assert_allclose(rho, [[2 / 3, 2 / 3], [2 / 3, 2 / 3], [1.0, 1.0]])


def test_performance_profile_missing_score_is_a_failure():
    rho = scoring.performance_profile(np.array([[0.0, NAN]]), scoring.profile_taus())
    assert rho[0].tolist() == [1.0, 0.0]
    assert rho[-1].tolist() == [1.0, 1.0]  # the largest tau covers even a failure


@given(st.lists(st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3), min_size=1, max_size=8))
@settings(max_examples=100, deadline=None)
def test_profile_is_a_non_decreasing_fraction_reaching_one(rows):
    rho = scoring.performance_profile(np.array(rows), scoring.profile_taus())
    assert ((0.0 <= rho) & (rho <= 1.0)).all()
    assert (np.diff(rho, axis=0) >= 0).all()
    assert (rho[-1] == 1.0).all()
    assert (rho[0] > 0).any()  # some solver is the best on every task
