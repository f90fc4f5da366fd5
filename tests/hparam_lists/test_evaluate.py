import dataclasses
import json

import numpy as np
import pytest

from hparam_lists.artifact import FitSettings, HparamList, ListEntry
from hparam_lists.baselines import random_search_curves
from hparam_lists.evaluate import (EvaluationResult, ProtocolResult, evaluate, evaluate_matrices, family_holdouts,
                                   kfold_holdouts, trials_to_match)
from hparam_lists.matrix import ScoreMatrix
from taskset.errors import ConfigError
from tests.hparam_lists.rows import adam1p_frame


def test_family_balanced_weights_each_family_equally_whatever_its_task_count():
    protocol = ProtocolResult(
        name="kfold", methods={"list": (0.2, 0.1), "random_search": (0.5, 0.3)},
        per_family={"big": {"list": (0.0, 0.0), "random_search": (0.4, 0.2)},
                    "small": {"list": (1.0, 0.5), "random_search": (0.9, 0.7)}},
        tasks_per_family={"big": 8, "small": 2}, trials_to_match=(1.0, 2.0), speedup=(1.0, 1.0), holdouts=())
    balanced = protocol.family_balanced
    np.testing.assert_allclose(balanced["list"], [0.5, 0.25])
    np.testing.assert_allclose(balanced["random_search"], [0.65, 0.45])


def test_trials_to_match_interpolates_the_random_search_curve():
    curve = [1.0, 0.5, 0.3, 0.2]
    np.testing.assert_allclose(trials_to_match([0.4, 0.5, 1.0, 0.2, 0.1], curve), [1.5, 1.0, 0.0, 3.0, 3.0])


def test_kfold_holdouts_partition_the_tasks_deterministically():
    folds = kfold_holdouts(10, 3, seed=4)
    assert sorted(np.concatenate(folds).tolist()) == list(range(10))
    assert [len(f) for f in folds] == [4, 3, 3]
    assert all((a == b).all() for a, b in zip(folds, kfold_holdouts(10, 3, seed=4)))
    for folds_ in (1, 11):
        with pytest.raises(ConfigError, match=f"folds must be an integer in \\[2, 10\\].*got {folds_}"):
            kfold_holdouts(10, folds_, seed=0)


def test_family_holdouts_group_rows_by_family():
    groups = family_holdouts(["b", "a", "b"])
    assert [(f, rows.tolist()) for f, rows in groups] == [("a", [1]), ("b", [0, 2])]


def synthetic(num_tasks: int = 12, pool: int = 30, seed: int = 0) -> tuple[ScoreMatrix, ScoreMatrix]:
    """adam1p configs whose quality depends on the distance of log lr to each task's optimum near 1e-3."""
    rng = np.random.default_rng(seed)
    lrs = np.sort(10 ** rng.uniform(-6, 0, pool))
    lrs[7] = 1e-3
    optimum = rng.normal(-3, 0.3, num_tasks)
    scores = np.clip(np.abs(np.log10(lrs)[None, :] - optimum[:, None]) / 3, 0, 1)
    configs = tuple(f"adam1p_seed{j:02d}" for j in range(pool))
    configs = configs[:7] + ("adam_default",) + configs[8:]
    order = np.argsort(configs)
    tasks = tuple(f"task{i:02d}" for i in range(num_tasks))
    families = tuple("mlp" if i % 2 else "quadratic" for i in range(num_tasks))
    hparams = tuple({"lr": float(lrs[j])} for j in order)

    def matrix(values, split):
        return ScoreMatrix(values[:, order], tasks, families, tuple(configs[j] for j in order),
                           ("adam1p",) * pool, hparams, split, "final")

    return matrix(scores, "valid_inner"), matrix(np.clip(scores + rng.normal(0, 0.02, scores.shape), 0, 1), "test")


def test_evaluation_runs_every_protocol_and_method():
    fit, report = synthetic()
    result = evaluate_matrices(fit, report, "adam1p", trials=4, folds=3, bo_seeds=(0,), seed=1)
    assert set(result.protocols) == {"kfold", "leave_one_family_out"} and not result.skipped
    kfold = result.protocols["kfold"]
    assert set(kfold.methods) == {"list", "random_search", "bayes_opt", "best_single", "adam_default"}
    assert all(len(v) == 4 for v in kfold.methods.values())
    assert sorted(t for h in kfold.holdouts for t in h) == list(fit.tasks)
    for method in ("list", "random_search", "bayes_opt"):
        assert (np.diff(kfold.methods[method]) <= 1e-12).all()
    np.testing.assert_allclose(kfold.methods["random_search"], random_search_curves(report.scores, 4).mean(axis=0))
    # Every task wants lr near 1e-3, so lists fitted on other tasks beat random search at once.
    assert kfold.methods["list"][0] < kfold.methods["random_search"][0]
    assert kfold.speedup[0] > 1 and kfold.trials_to_match[0] > 1
    np.testing.assert_allclose(kfold.methods["adam_default"], report.scores[:, fit.configs.index("adam_default")]
                               .mean())
    lofo = result.protocols["leave_one_family_out"]
    assert [set(h) for h in lofo.holdouts] == [{t for t, f in zip(fit.tasks, fit.task_families) if f == fam}
                                               for fam in ("mlp", "quadratic")]
    assert lofo.tasks_per_family == {"mlp": 6, "quadratic": 6}
    np.testing.assert_allclose(np.mean([lofo.per_family[f]["list"] for f in ("mlp", "quadratic")], axis=0),
                               lofo.methods["list"])


def test_results_round_trip_through_json():
    fit, report = synthetic(num_tasks=6, pool=10)
    result = evaluate_matrices(fit, report, "adam1p", trials=3, folds=2, bo_seeds=())
    again = EvaluationResult.from_json(json.loads(json.dumps(result.to_json())))
    assert again == result and "bayes_opt" not in result.protocols["kfold"].methods
    data = result.to_json()
    data["protocols"] = dict(reversed(list(data["protocols"].items())))  # e.g. a sort_keys dump
    assert list(EvaluationResult.from_json(data).protocols) == ["kfold", "leave_one_family_out"]
    with pytest.raises(ConfigError, match="not a list evaluation result"):
        EvaluationResult.from_json({"format": "other"})


def test_one_task_family_skips_leave_one_family_out():
    fit, report = synthetic(num_tasks=4, pool=10)
    one = [ScoreMatrix(m.scores, m.tasks, ("mlp",) * 4, m.configs, m.config_families, m.config_hparams, m.split)
           for m in (fit, report)]
    result = evaluate_matrices(*one, "adam1p", trials=2, folds=2, bo_seeds=())
    assert "leave_one_family_out" not in result.protocols
    assert "one task family ('mlp')" in result.skipped["leave_one_family_out"]


def test_trials_beyond_the_pool_are_an_error():
    fit, report = synthetic(num_tasks=4, pool=10)
    with pytest.raises(ConfigError, match=r"trials must be an integer in \[1, 10\].*got 11"):
        evaluate_matrices(fit, report, "adam1p", trials=11, folds=2, bo_seeds=())


def test_evaluate_on_curves_scores_the_given_list_as_is():
    rng = np.random.default_rng(0)
    lrs = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    finals = rng.uniform(0.1, 1.9, (6, 5))
    finals[:, 2] = 0.05  # lr 1e-2 is best everywhere.
    curves = adam1p_frame(finals, lrs, task_families=["mlp", "conv"] * 3)
    given = HparamList((ListEntry("adam1p", "adam1p_seed002", {"lr": 1e-2}),
                        ListEntry("adam1p", "adam1p_seed000", {"lr": 1e-4})),
                       FitSettings("adam1p", 2, "valid_inner", "final", ("task00", "elsewhere"), 5))
    result = evaluate(curves, given, folds=2, bo_seeds=())
    assert result.settings.trials == 2 and result.settings.report_split == "test"
    as_given = result.protocols["as_given"]
    assert as_given.methods["list"] == (0.0, 0.0) and as_given.in_sample_tasks == 1
    assert result.protocols["kfold"].methods["list"][0] == 0.0

    longer = HparamList(given.entries * 4, dataclasses.replace(given.fit, size=8))
    assert evaluate(curves, longer, folds=2, bo_seeds=()).settings.trials == 5  # The pool holds 5 configs.

    unknown = HparamList((ListEntry("adam1p", "adam1p_seed999", {"lr": 1e-2}),), FitSettings(
        "adam1p", 1, "valid_inner", "final", (), 5))
    result = evaluate(curves, unknown, folds=2, bo_seeds=())
    assert "adam1p_seed999" in result.skipped["as_given"]
