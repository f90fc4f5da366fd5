import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hparam_lists.greedy import fit, fit_matrix, greedy_order
from hparam_lists.matrix import ScoreMatrix
from taskset.errors import ConfigError, UnknownNameError
from tests.hparam_lists.rows import adam1p_frame

# Config 3 is the best single config; then 0 and 2 each fix one task (a tie, won
# by the lower index 0), then 2; config 1 never helps.
HAND_MADE = np.array([[0.0, 0.5, 1.0, 0.3],
                      [1.0, 0.5, 0.0, 0.3],
                      [1.0, 0.5, 1.0, 0.3]])


def reference_greedy(scores: np.ndarray, size: int) -> list[int]:
    """The definition, one candidate at a time."""
    chosen, best = [], np.full(scores.shape[0], np.inf)
    for _ in range(size):
        objective = {c: np.minimum(best, scores[:, c]).mean() for c in range(scores.shape[1]) if c not in chosen}
        pick = min(objective, key=lambda c: (objective[c], scores[:, c].mean(), c))
        chosen.append(pick)
        best = np.minimum(best, scores[:, pick])
    return chosen


def test_hand_made_matrix_gives_the_known_order():
    columns, objective = greedy_order(HAND_MADE, 4)
    assert columns.tolist() == [3, 0, 2, 1]
    np.testing.assert_allclose(objective, [0.3, 0.2, 0.1, 0.1])


def test_once_saturated_the_rest_follow_their_mean_score():
    scores = np.array([[0.0, 1.0, 0.5, 0.9], [0.0, 1.0, 0.5, 0.9]])
    assert greedy_order(scores, 4)[0].tolist() == [0, 2, 3, 1]


def test_complementary_configs_beat_two_good_similar_ones():
    # 0 and 1 are both decent everywhere; 2 and 3 are specialists that together solve everything.
    scores = np.array([[0.2, 0.21, 0.0, 1.0], [0.2, 0.21, 1.0, 0.0]])
    columns, _ = greedy_order(scores, 2)
    assert columns.tolist() == [0, 2]  # The first pick is the best single; then the specialist that helps most.
    columns, objective = greedy_order(scores, 3)
    assert columns.tolist() == [0, 2, 3] and objective[-1] == 0.0


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 7)),
              elements=st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])), st.data())
def test_matches_the_definition_with_documented_tie_breaks(scores, data):
    size = data.draw(st.integers(1, scores.shape[1]))
    columns, objective = greedy_order(scores, size)
    assert columns.tolist() == reference_greedy(scores, size)
    assert len(set(columns.tolist())) == size
    assert (np.diff(objective) <= 1e-12).all()


@pytest.mark.parametrize("size", [0, 5, 2.5, True])
def test_size_out_of_range_is_an_error(size):
    with pytest.raises(ConfigError, match=f"got {size!r}"):
        greedy_order(HAND_MADE, size)


def test_fit_on_curves_records_entries_and_settings():
    lrs = [1e-4, 1e-3, 1e-2, 1e-1]
    finals = np.array([[1.5, 0.1, 1.0, 2.0], [1.5, 1.0, 0.1, 2.0], [1.9, 0.5, 0.5, 0.0]])
    fitted = fit(adam1p_frame(finals, lrs), "adam1p", size=3, dataset="synthetic")
    assert [e.optimizer for e in fitted.entries] == ["adam1p_seed001", "adam1p_seed002", "adam1p_seed003"]
    assert fitted.entries[1].hparams == {"lr": 1e-2} and fitted.entries[0].family == "adam1p"
    assert fitted.entries[-1].train_score == pytest.approx(0.0)
    assert fitted.fit.train_tasks == ("task00", "task01", "task02") and fitted.fit.pool_size == 4
    assert (fitted.fit.split, fitted.fit.aggregation, fitted.dataset) == ("valid_inner", "final", "synthetic")


def test_fit_on_chosen_training_tasks_only():
    finals = np.array([[0.0, 1.0], [1.0, 0.0]])
    fitted = fit(adam1p_frame(finals, [1e-3, 1e-2]), "adam1p", size=1, train_tasks=["task01"])
    assert fitted.entries[0].optimizer == "adam1p_seed001" and fitted.fit.train_tasks == ("task01",)
    with pytest.raises(UnknownNameError, match="'task9'"):
        fit(adam1p_frame(finals, [1e-3, 1e-2]), "adam1p", size=1, train_tasks=["task9"])


def test_fit_needs_curves_of_the_family():
    matrix = ScoreMatrix.from_array(HAND_MADE, config_family="adam1p")
    with pytest.raises(ConfigError, match="no curves of optimizer family 'nadamw'.*'adam1p'"):
        fit_matrix(matrix, "nadamw", 2)
