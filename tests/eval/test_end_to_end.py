"""The protocol with the real trainer: a micro transformer by default, the tiny presets in the slow set."""

from __future__ import annotations

import math

import pytest

from eval.problems import PROBLEMS, task_from_config
from eval.protocol import ProtocolSettings, run_protocol
from eval.report import write_report
from tests.eval.conftest import make_list

MICRO_TRANSFORMER = {"family": "transformer_lm", "dataset": "shakespeare_bytes", "num_layers": 1, "width": 16,
                     "num_heads": 2, "sequence_length": 16, "positions": "learned", "batch_size": 4}


def check_result(result, trials: int, steps: int) -> None:
    first = result.runs[0].trials[0]
    for run in result.runs:
        assert len(run.trials) == trials
        for trial in run.trials:
            assert trial.steps[0] == 0 and trial.steps[-1] == steps
            # Common random numbers: every trial starts from the same parameters and batches.
            assert trial.curves["valid_inner"][0] == first.curves["valid_inner"][0]
            assert math.isfinite(trial.best_valid) and trial.seconds > 0


def test_protocol_trains_a_micro_transformer_for_real():
    task = task_from_config(MICRO_TRANSFORMER, name="micro_transformer")
    settings = ProtocolSettings(trials=2, steps=4, eval_every=2, eval_batches=1, random_repeats=1, bo_seeds=1)
    result = run_protocol(task, make_list(), settings, list_name="mini")
    check_result(result, trials=2, steps=4)
    assert [r.method for r in result.runs] == ["list", "random", "adam_lr_grid", "bayes_opt"]
    assert not result.has_accuracy and result.accuracy_seconds == 0.0
    # Adam at lr 1e-1 moves a fresh transformer's loss within 4 steps.
    grid = result.runs_of("adam_lr_grid")[0].trials
    assert min(t.best_valid for t in grid) < grid[0].curves["valid_inner"][0]


@pytest.mark.slow
@pytest.mark.parametrize("problem", ["resnet50", "transformer"])
def test_tiny_presets_run_the_whole_protocol(problem, tmp_path):
    task = PROBLEMS.get(problem).task("tiny")
    settings = ProtocolSettings(trials=2, steps=20, eval_every=10, eval_batches=2, random_repeats=2, bo_seeds=1)
    result = run_protocol(task, make_list(), settings, list_name="mini", problem=problem, preset="tiny")
    check_result(result, trials=2, steps=20)
    best = min(r.best_so_far()[-1] for r in result.runs)
    assert best < result.runs[0].trials[0].curves["valid_inner"][0]  # something learned
    if problem == "resnet50":
        # Accuracy of every selected trial, from a replay that reproduced its validation loss
        # (run_protocol raises otherwise).
        assert result.has_accuracy and result.accuracy_seconds > 0
        for run in result.runs:
            for j in (1, 2):
                accuracy = run.selected(j).accuracy
                assert set(accuracy) == {"valid_outer", "test"}
                assert all(0.0 <= v <= 1.0 for v in accuracy.values())
        summary = result.summary()
        assert len(summary["list"]["test_accuracy_mean"]) == 2
    readme = write_report(result, tmp_path, f"taskset-bench eval {problem} ...").read_text()
    assert ("accuracy" in readme) == (problem == "resnet50")
