"""Family weighting of the list objective (issue 15): each task family's tasks share one unit."""

import numpy as np
import pytest

from hparam_lists.baselines import best_single
from hparam_lists.greedy import fit_matrix, greedy_order
from hparam_lists.matrix import ScoreMatrix
from hparam_lists.weighting import task_weights
from taskset.errors import ConfigError


def test_family_weights_give_each_family_one_unit():
    weights = task_weights(["q", "q", "q", "mlp"], "family")
    np.testing.assert_allclose(weights, [1 / 6, 1 / 6, 1 / 6, 1 / 2])
    np.testing.assert_allclose(task_weights(["q", "q", "mlp"], "task"), [1 / 3] * 3)


def test_unknown_weighting_is_refused_by_name():
    with pytest.raises(ConfigError, match="'tasks'"):
        task_weights(["a"], "tasks")


def _matrix():
    # Three cheap tasks of family "q" prefer config 0; one "mlp" task strongly prefers config 1.
    scores = np.array([[0.0, 0.5], [0.0, 0.5], [0.0, 0.5], [1.0, 0.0]])
    return ScoreMatrix(scores, ("q0", "q1", "q2", "m0"), ("q", "q", "q", "mlp"), ("c0", "c1"),
                       ("nadamw", "nadamw"), ({}, {}))


def test_family_weighting_lets_a_small_family_win_the_first_entry():
    matrix = _matrix()
    by_task = fit_matrix(matrix, "nadamw", 1, weighting="task")
    by_family = fit_matrix(matrix, "nadamw", 1, weighting="family")
    assert by_task.entries[0].optimizer == "c0"  # 0.25 vs 0.375: the quadratics outvote the MLP
    assert by_family.entries[0].optimizer == "c1"  # 0.5 vs 0.25 once each family counts once
    assert by_family.fit.weighting == "family" and by_task.fit.weighting == "task"
    assert by_family.entries[0].train_score == pytest.approx(0.25)


def test_equal_weights_reproduce_the_unweighted_order():
    rng = np.random.default_rng(0)
    scores = rng.random((7, 20))
    plain, objective = greedy_order(scores, 10)
    weighted, weighted_objective = greedy_order(scores, 10, np.full(7, 1 / 7))
    np.testing.assert_array_equal(plain, weighted)
    np.testing.assert_allclose(objective, weighted_objective)


def test_best_single_uses_the_weights():
    scores = _matrix().scores
    assert best_single(scores) == 0
    assert best_single(scores, task_weights(["q", "q", "q", "mlp"], "family")) == 1


def test_weighting_round_trips_through_the_artifact(tmp_path):
    from hparam_lists import load_list, save_list

    fitted = fit_matrix(_matrix(), "nadamw", 2, weighting="family")
    fitted = type(fitted)(entries=tuple(e.__class__(family="nadamw", optimizer=f"nadamw_seed{i}",
                                                    hparams=_hparams(i), train_score=e.train_score)
                                        for i, e in enumerate(fitted.entries)),
                          fit=fitted.fit, dataset="x")
    save_list(fitted, tmp_path / "l.json")
    assert load_list(str(tmp_path / "l.json")).fit.weighting == "family"


def _hparams(seed):
    from taskset.optimizers import get_optimizer_config

    return dict(get_optimizer_config(f"nadamw_seed{seed}").hparams)
