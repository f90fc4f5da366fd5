import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hparam_lists.normalize import aggregate, curve_scores, normalize_losses, score_matrix
from taskset.errors import ConfigError
from tests.hparam_lists.rows import curve_row, frame

losses = st.floats(allow_nan=True, allow_infinity=True, width=32)


@settings(max_examples=200, deadline=None)
@given(st.lists(losses, min_size=1, max_size=20), st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
def test_scores_are_in_unit_interval_and_non_finite_losses_score_one(values, initial, best):
    scores = normalize_losses(values, initial, best)
    assert ((scores >= 0) & (scores <= 1)).all()
    values = np.asarray(values, dtype=np.float64)
    assert (scores[~np.isfinite(values)] == 1).all()
    if not initial > best:
        assert (scores == 1).all()


@settings(max_examples=100, deadline=None)
@given(st.floats(-1e3, 1e3), st.floats(1e-3, 1e3), st.floats(0, 1))
def test_initial_maps_to_one_best_to_zero_and_between_is_affine(best, span, fraction):
    initial = best + span
    scores = normalize_losses([initial, best, best + fraction * span, initial + span], initial, best)
    assert scores[0] == pytest.approx(1.0) and scores[1] == 0.0
    assert scores[2] == pytest.approx(fraction, abs=1e-9)
    assert scores[3] == 1.0  # Worse than the initial loss is clipped.


def test_aggregate_final_and_mean_respect_lengths():
    scores = np.array([[1.0, 0.5, 0.0], [1.0, 0.2, np.nan]])
    lengths = np.array([3, 2])
    assert aggregate(scores, lengths, "final").tolist() == [0.0, 0.2]
    assert aggregate(scores, lengths, "mean").tolist() == pytest.approx([0.5, 0.6])
    assert aggregate(scores[:, :0], np.array([0, 0]), "final").tolist() == [1.0, 1.0]
    with pytest.raises(ConfigError, match="'median'"):
        aggregate(scores, lengths, "median")


def test_curve_scores_use_each_tasks_own_bounds_and_fail_diverged_curves():
    values = np.array([[2.0, 1.0], [2.0, 0.0], [10.0, 5.0], [10.0, 8.0], [2.0, -1.0]])
    lengths = np.full(5, 2)
    failed = np.array([False, False, False, False, True])
    codes = np.array([0, 0, 1, 1, 0])
    scores = curve_scores(values, lengths, failed, codes, 2, "final")
    # Task 0: initial 2, best -1 (reached by the diverged curve before it failed).
    assert scores.tolist() == pytest.approx([2 / 3, 1 / 3, 0.0, 0.6, 1.0])


def test_score_matrix_from_rows_averages_replicas_and_sorts_names():
    rows = [curve_row("b", "adam1p_seed1", [4.0, 2.0], replica=0),
            curve_row("b", "adam1p_seed1", [4.0, 3.0], replica=1),
            curve_row("b", "adam1p_seed0", [4.0, 0.0]),
            curve_row("a", "adam1p_seed0", [1.0, math.nan], family="quadratic"),
            curve_row("a", "adam1p_seed1", [1.0, 0.5], status="diverged", family="quadratic")]
    matrix = score_matrix(frame(rows), "valid_inner", "final")
    assert matrix.tasks == ("a", "b") and matrix.task_families == ("quadratic", "mlp")
    assert matrix.configs == ("adam1p_seed0", "adam1p_seed1")
    # Task a: initial 1, best 0.5 (from the diverged curve); NaN and diverged both score 1.
    # Task b: initial 4, best 0; seed1 = mean(0.5, 0.75).
    np.testing.assert_allclose(matrix.scores, [[1.0, 1.0], [0.0, 0.625]])
    assert matrix.config_hparams[0] == {"lr": 1e-3}


def test_score_matrix_mean_aggregation_and_split_choice():
    rows = [curve_row("t", "x", {"valid_inner": [2.0, 1.0, 0.0], "test": [2.0, 2.0, 2.0]}),
            curve_row("t", "y", {"valid_inner": [2.0, 2.0, 1.0], "test": [2.0, 1.0, 0.0]})]
    inner = score_matrix(frame(rows), "valid_inner", "mean")
    np.testing.assert_allclose(inner.scores, [[0.5, 2.5 / 3]])
    test = score_matrix(frame(rows), "test", "final")
    np.testing.assert_allclose(test.scores, [[1.0, 0.0]])


def test_missing_pairs_score_one_with_a_warning():
    rows = [curve_row("t1", "x", [2.0, 1.0]), curve_row("t1", "y", [2.0, 0.0]), curve_row("t2", "x", [2.0, 0.0])]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        matrix = score_matrix(frame(rows))
    assert any("1 of 4" in str(w.message) for w in caught)
    assert matrix.scores[1, 1] == 1.0


@pytest.mark.parametrize("kwargs, message", [
    ({"split": "validation"}, "unknown loss split 'validation'"),
    ({"aggregation": "last"}, "unknown aggregation 'last'"),
])
def test_bad_split_or_aggregation_is_named(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        score_matrix(frame([curve_row("t", "x", [1.0, 0.5])]), **kwargs)


def test_missing_columns_and_clashing_families_are_errors():
    df = frame([curve_row("t", "x", [1.0, 0.5])])
    with pytest.raises(ConfigError, match="'status'"):
        score_matrix(df.drop(columns=["status"]))
    clash = frame([curve_row("t", "x", [1.0, 0.5], optimizer_family="adam1p"),
                   curve_row("t", "x", [1.0, 0.5], optimizer_family="adam4p", replica=1)])
    with pytest.raises(ConfigError, match="optimizer 'x' appears with several"):
        score_matrix(clash)
