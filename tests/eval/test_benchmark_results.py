"""score_run and find_baselines on hand-made curve frames (no training, no Parquet)."""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pandas as pd
import pytest

from eval.benchmark.contenders import KIND_CONFIG, Contender
from eval.benchmark.pipeline import find_baselines
from eval.benchmark.reference import Reference
from eval.benchmark.results import RUN_PREFIX, score_run
from taskset.optimizers import get_optimizer_config
from taskset.optimizers.base import OptimizerConfig

NAN = float("nan")
STEPS = [0, 10, 20]
ADAM = get_optimizer_config("adam_default")
SGD = OptimizerConfig("sgdm_seed0", "sgdm", {"lr": 0.1, "momentum": 0.9})


def rows(task: str, curves: dict[str, list[float]], configs: dict[str, OptimizerConfig]) -> list[dict]:
    out = []
    for name, values in curves.items():
        config = configs[name]
        out.append({"task": task, "family": "quadratic", "optimizer_family": config.family, "optimizer": name,
                    "hparams": json.dumps(config.hparams, sort_keys=True), "replica": 0,
                    "status": "diverged" if any(math.isnan(v) for v in values) else "ok",
                    "steps": np.array(STEPS), "valid_inner": np.array(values, dtype=np.float32)})
    return out


REF_CONFIGS = {"adam_default": ADAM, "b": OptimizerConfig("b", "adam1p", {"lr": 0.01}),
               "c": OptimizerConfig("c", "adam1p", {"lr": 10.0})}
REFERENCE = pd.DataFrame(
    rows("t1", {"adam_default": [2.0, 1.5, 1.0], "b": [2.0, 1.8, 1.6], "c": [2.0, NAN, NAN]}, REF_CONFIGS)
    + rows("t2", {"adam_default": [4.0, 3.0, 2.0], "b": [4.0, 1.0, 0.0], "c": [4.0, 4.0, 4.0]}, REF_CONFIGS))
CONTENDER = Contender("sgdm_seed0", KIND_CONFIG, SGD)
RUN = pd.DataFrame(rows("t1", {"sgdm_seed0": [2.0, 1.0, 0.5]}, {"sgdm_seed0": SGD})
                   + rows("t2", {"sgdm_seed0": [4.0, 3.5, 3.0]}, {"sgdm_seed0": SGD}))


def reference() -> Reference:
    return Reference(name="hand", path=pathlib.Path("."), curves=REFERENCE,
                     schedules={"t1": (20, 10), "t2": (20, 10)}, manifest_sha256=None)


def test_adam_default_baseline_comes_from_the_reference():
    baselines, to_train, notes = find_baselines(reference(), [CONTENDER])
    assert [(b.key, b.column, b.source) for b in baselines[:1]] == [("adam_default", "adam_default", "reference")]
    assert "adam_default" not in [c.name for c in to_train]


def test_a_note_says_when_the_list_baseline_was_fitted_on_benchmark_tasks():
    from hparam_lists import load_list

    fitted_on = load_list("nadamw-mini").fit.train_tasks
    _, _, notes = find_baselines(reference(), [CONTENDER])  # tasks t1, t2: not among them
    assert not any("in-sample" in note for note in notes)
    seen = Reference(name="hand", path=pathlib.Path("."), curves=REFERENCE, manifest_sha256=None,
                     schedules={fitted_on[0]: (20, 10), "t2": (20, 10)})
    _, _, notes = find_baselines(seen, [CONTENDER])
    assert f"list:nadamw-mini:0 was fitted on 1 of these 2 tasks (in-sample there): {fitted_on[0]}" in notes


def test_a_baseline_missing_from_the_reference_is_trained_or_taken_from_a_contender():
    no_adam = Reference(name="hand", path=pathlib.Path("."), curves=REFERENCE[REFERENCE["optimizer"] != "adam_default"],
                        schedules={}, manifest_sha256=None)
    baselines, to_train, _ = find_baselines(no_adam, [CONTENDER])
    assert (baselines[0].column, baselines[0].source) == (RUN_PREFIX + "adam_default", "run")
    assert "adam_default" in [c.name for c in to_train]
    as_contender = Contender("adam_default", KIND_CONFIG, ADAM)
    baselines, to_train, _ = find_baselines(no_adam, [as_contender])
    assert baselines[0].column == RUN_PREFIX + "adam_default"
    assert "adam_default" not in [c.name for c in to_train]


def test_scores_by_hand():
    baselines, _, _ = find_baselines(reference(), [CONTENDER])
    scores = score_run(REFERENCE, RUN, [CONTENDER], baselines[:1], ["t1", "t2"])
    (result,) = scores.contenders
    t1, t2 = result.tasks["t1"], result.tasks["t2"]
    # t1: initial 2 (mean step-0 loss of the reference), best 1.0 (adam_default's final loss): the
    # reference alone sets the bounds, so the run's 0.5 scores below 0 (not clipped).
    assert t1.score == pytest.approx(-0.5)
    assert scores.baseline_scores["adam_default"]["t1"] == pytest.approx(0.0)
    assert t1.percentile == 100.0
    assert t1.target == pytest.approx(1.6)  # sorted finals 1.0, 1.6, diverged: the middle one
    assert t1.time_to_target == 10
    assert t1.win == {"adam_default": 1.0}
    # t2: initial 4, best 0 (config b): the run's final 3 scores 0.75; it beats only c (4.0).
    assert t2.score == pytest.approx(0.75)
    assert t2.score_mean == pytest.approx(np.mean([1.0, 3.5 / 4, 0.75]))
    assert t2.percentile == pytest.approx(100 / 3)
    assert t2.target == pytest.approx(2.0) and t2.time_to_target is None
    assert t2.win == {"adam_default": 0.0}
    # Both tasks are "quadratic": one family, so each task weighs one half.
    assert scores.weights == {"t1": 0.5, "t2": 0.5}
    assert result.mean_score == pytest.approx(0.125)
    assert result.families["quadratic"].tasks == 2
    assert result.families["quadratic"].score == pytest.approx(0.125)
    assert result.win_rate["adam_default"] == pytest.approx(0.5)  # wins t1, loses t2
    assert result.reached_target == 1
    assert scores.best_reference == ("adam_default", pytest.approx((0.0 + 0.5) / 2))
    # Profile of [contender, adam_default] on scores clipped at 0: a tie on t1, adam_default best on t2.
    assert scores.solvers == ("sgdm_seed0", "adam_default")
    assert scores.profile[0].tolist() == [0.5, 1.0]
    assert scores.curves["t1"]["optimizers"]["sgdm_seed0"] == [2.0, 1.0, 0.5]
    assert scores.curves["t1"]["reference_quantiles"]["0.5"][0] == 2.0
    assert scores.curves["t1"]["diverged_at"] == {"sgdm_seed0": None, "adam_default": None}


def test_families_weigh_equally():
    """Three tasks, two families: the lone task of family B weighs as much as the two of family A."""
    frame = pd.concat([REFERENCE, REFERENCE[REFERENCE["task"] == "t2"].assign(task="t3", family="other")])
    run = pd.concat([RUN, RUN[RUN["task"] == "t2"].assign(task="t3", family="other")])
    baselines, _, _ = find_baselines(reference(), [CONTENDER])
    scores = score_run(frame, run, [CONTENDER], baselines[:1], ["t1", "t2", "t3"])
    (result,) = scores.contenders
    assert scores.weights == {"t1": 0.25, "t2": 0.25, "t3": 0.5}
    assert result.mean_score == pytest.approx(0.25 * -0.5 + 0.25 * 0.75 + 0.5 * 0.75)
    assert result.win_rate["adam_default"] == pytest.approx(0.25 * 1 + 0.25 * 0 + 0.5 * 0)
    assert set(result.families) == {"quadratic", "other"}


def test_a_contender_equal_to_a_reference_config_is_scored_beside_it():
    same = Contender("adam_default", KIND_CONFIG, ADAM)
    run = REFERENCE[REFERENCE["optimizer"] == "adam_default"]
    baselines, _, _ = find_baselines(reference(), [same])
    scores = score_run(REFERENCE, run, [same], baselines[:1], ["t1", "t2"])
    (result,) = scores.contenders
    assert [r.score for r in result.tasks.values()] == list(scores.baseline_scores["adam_default"].values())
    assert result.win_rate["adam_default"] == 0.5  # all ties
    assert result.tasks["t1"].percentile == pytest.approx(100 * (2 + 0.5) / 3)  # ties itself


def test_each_replica_is_compared_with_the_same_replica_of_the_reference():
    """Reference configs on replicas 0 and 1; the run's replica 1 beats adam_default's replica 1 only."""
    ref = pd.DataFrame(
        rows("t1", {"adam_default": [2.0, 1.5, 1.0], "b": [2.0, 1.8, 1.6]}, REF_CONFIGS)
        + [{**r, "replica": 1} for r in rows("t1", {"adam_default": [2.0, 1.5, 1.4], "b": [2.0, 1.8, 1.2]},
                                             REF_CONFIGS)])
    run = pd.DataFrame(rows("t1", {"sgdm_seed0": [2.0, 1.5, 1.2]}, {"sgdm_seed0": SGD})
                       + [{**r, "replica": 1} for r in rows("t1", {"sgdm_seed0": [2.0, 1.5, 1.3]},
                                                            {"sgdm_seed0": SGD})])
    baselines, _, _ = find_baselines(reference(), [CONTENDER])
    scores = score_run(ref, run, [CONTENDER], baselines[:1], ["t1"])
    t1 = scores.contenders[0].tasks["t1"]
    # Replica 0: 1.2 loses to adam's 1.0, beats b's 1.6; replica 1: 1.3 beats adam's 1.4, loses to b's 1.2.
    assert t1.win == {"adam_default": 0.5}
    assert t1.percentile == pytest.approx(50.0)
    assert t1.replicas == 2 and t1.final_loss == pytest.approx(1.25)
    # Bounds from all reference curves: initial 2, best 1.0; per-replica scores 0.2 and 0.3.
    assert t1.replica_scores == pytest.approx((0.2, 0.3)) and t1.score == pytest.approx(0.25)
    # A replica the reference lacks is compared with each config's replica mean (adam: 1.2).
    run2 = run.assign(replica=run["replica"] + 1)  # replicas 1 and 2
    t1 = score_run(ref, run2, [CONTENDER], baselines[:1], ["t1"]).contenders[0].tasks["t1"]
    assert t1.win == {"adam_default": (1.0 + 0.0) / 2}  # 1.2 vs 1.4 on replica 1 wins; 1.3 vs mean 1.2 loses


def test_a_difference_within_the_familys_replica_noise_is_a_tie_and_beyond_it_a_verdict():
    baselines, _, _ = find_baselines(reference(), [CONTENDER])
    # t1: initial 2.0, best 1.0, so a tolerance of 0.05 score units is a loss difference of 0.05.
    near = pd.DataFrame(rows("t1", {"sgdm_seed0": [2.0, 1.2, 0.96]}, {"sgdm_seed0": SGD}))
    far = pd.DataFrame(rows("t1", {"sgdm_seed0": [2.0, 1.2, 0.94]}, {"sgdm_seed0": SGD}))

    def verdict(run, tie_scores):
        result = score_run(REFERENCE, run, [CONTENDER], baselines[:1], ["t1"], tie_scores).contenders[0]
        return result.tasks["t1"].win["adam_default"], result.tasks["t1"].percentile

    # 0.96 against adam_default's 1.0: beyond the relative 1e-3, within 0.05 of noise.
    assert verdict(near, None) == (1.0, 100.0)
    # The win is a tie; the percentile, a rank among 3 reference configs, uses machine noise only.
    assert verdict(near, {"quadratic": 0.05}) == (0.5, 100.0)
    assert verdict(far, {"quadratic": 0.05}) == (1.0, 100.0)
    assert verdict(near, {"another_family": 0.05}) == (1.0, 100.0)
