"""The protocol's bookkeeping with a fast stand-in trainer, and the report it writes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from curves.executors import ProcessExecutor
from eval import protocol, trials
from eval.problems import PROBLEMS
from eval.report import load_result, write_report
from taskset.errors import ConfigError
from tests.curves.fakes import fake_train
from tests.eval.conftest import make_list

SETTINGS = protocol.ProtocolSettings(trials=3, steps=50, eval_every=10, random_repeats=2, bo_seeds=2)


@pytest.fixture(scope="module")
def result():
    task = PROBLEMS.get("transformer").task("tiny")
    return protocol.run_protocol(task, make_list(), SETTINGS, list_name="mini", problem="transformer",
                                 preset="tiny", train_fn=fake_train)


def test_every_method_spends_exactly_k_trials_per_run(result):
    counts = {(r.method, r.run): len(r.trials) for r in result.runs}
    assert counts == {("list", 0): 3, ("random", 0): 3, ("random", 1): 3, ("adam_lr_grid", 0): 3,
                      ("bayes_opt", 0): 3, ("bayes_opt", 1): 3}
    for run in result.runs:
        assert [t.index for t in run.trials] == [0, 1, 2]
    names = {r.method: [t.optimizer.name for t in r.trials] for r in result.runs if r.run == 0}
    assert names["list"] == ["list0_nadamw_seed0", "list1_nadamw_seed1", "list2_nadamw_seed2"]
    assert names["adam_lr_grid"] == ["adam_lr_1e-03", "adam_lr_1e-05", "adam_lr_1e-01"]
    assert names["bayes_opt"] == ["bo0_0_nadamw", "bo0_1_nadamw", "bo0_2_nadamw"]


def test_scores_are_the_best_validation_loss_and_best_so_far_is_monotone(result):
    for run in result.runs:
        for trial in run.trials:
            valid = trial.curves["valid_inner"]
            assert trial.best_valid == pytest.approx(min(valid))
            at = trial.steps.index(trial.best_step)
            assert trial.at_best == {"valid_outer": trial.curves["valid_outer"][at], "test": trial.curves["test"][at]}
        best = run.best_so_far()
        assert all(b <= a for a, b in zip(best, best[1:]))
        assert best[-1] == run.selected(3).best_valid
    summary = result.summary()
    random = np.array([r.best_so_far() for r in result.runs_of("random")])
    assert summary["random"]["best_valid_mean"] == pytest.approx(random.mean(axis=0))
    assert summary["random"]["runs"] == 2 and len(summary["random"]["final"]) == 2


def test_default_evaluation_interval_divides_the_steps():
    assert [protocol.default_eval_every(s) for s in (1, 7, 20, 25, 100, 150)] == [1, 1, 2, 1, 10, 15]


def test_diverged_points_are_skipped_by_the_score():
    steps = [0, 10, 20, 30]
    curves = {"valid_inner": [2.0, 1.0, math.nan, math.inf], "valid_outer": [2.1, 1.1, 0.0, 0.0],
              "test": [2.2, 1.2, 0.0, 0.0]}
    assert trials.score_curve(steps, curves) == (1.0, 10, {"valid_outer": 1.1, "test": 1.2})
    curves["valid_inner"] = [math.nan] * 4
    best, step, at = trials.score_curve(steps, curves)
    assert best == math.inf and step == 30 and all(math.isnan(v) for v in at.values())


def test_results_round_trip_and_the_report_is_written(result, tmp_path):
    readme = write_report(result, tmp_path, "taskset-bench eval transformer --list mini --trials 3 --steps 50")
    assert load_result(tmp_path) == result
    assert (tmp_path / "best_so_far.png").stat().st_size > 10_000 and (tmp_path / "curves.png").is_file()
    text = readme.read_text()
    assert "taskset-bench eval transformer --list mini --trials 3 --steps 50" in text
    assert "| list | " in text and "| bayes_opt | " in text and "| random | 0 |" in text
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["summary"]["list"]["best_valid_mean"] == result.summary()["list"]["best_valid_mean"]


def test_bad_settings_are_rejected_before_training():
    task = PROBLEMS.get("transformer").task("tiny")
    with pytest.raises(ConfigError, match="trials for the list=5 exceeds the 4 entries"):
        protocol.run_protocol(task, make_list(), protocol.ProtocolSettings(trials=5, steps=10, eval_every=5),
                              "mini", train_fn=fake_train)
    with pytest.raises(ConfigError, match="eval_every must be a positive integer, got 0"):
        protocol.run_protocol(task, make_list(), protocol.ProtocolSettings(trials=2, steps=10, eval_every=0),
                              "mini", train_fn=fake_train)


def test_population_chunks_and_process_workers_give_the_same_trials(result):
    task = PROBLEMS.get("transformer").task("tiny")
    chunked = protocol.ProtocolSettings(**{**SETTINGS.to_json(), "max_population": 2})
    with ProcessExecutor(workers=1, threads=None) as executor:  # threads=None: no TF import in the worker
        again = protocol.run_protocol(task, make_list(), chunked, list_name="mini", problem="transformer",
                                      preset="tiny", train_fn=fake_train, executor=executor)
    for a, b in zip(result.runs, again.runs):
        assert [(t.optimizer, t.curves) for t in a.trials] == [(t.optimizer, t.curves) for t in b.trials]


def test_a_failed_training_run_stops_the_protocol_with_its_traceback():
    from tests.curves.fakes import failing_train

    task = PROBLEMS.get("transformer").task("tiny")
    settings = protocol.ProtocolSettings(trials=2, steps=10, eval_every=5, replica=1)
    with pytest.raises(RuntimeError, match="failed: FloatingPointError: boom in transformer_tiny replica 1"):
        protocol.run_protocol(task, make_list(), settings, "mini", train_fn=failing_train)
