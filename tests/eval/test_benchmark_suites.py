"""The standard suite's definition, and progress lines for logged runs."""

from __future__ import annotations

import io
import json

import pytest

from curves.executors import InProcessExecutor
from curves.jobs import Job
from eval.benchmark.progress import LineProgress, duration
from eval.benchmark.suites import (STANDARD_EXCLUDED_FAMILIES, STANDARD_REFERENCE, STANDARD_STEPS, STANDARD_TASKS,
                                   get_suite, pick_per_family)


def test_pick_per_family_takes_the_cheapest_and_leaves_out_families():
    costs = {"a1": ("a", 3.0), "a2": ("a", 1.0), "a3": ("a", 2.0), "b1": ("b", 9.0), "q1": ("quadratic", 0.1)}
    assert pick_per_family(costs) == {"a": ("a2", "a3"), "b": ("b1",)}
    assert pick_per_family(costs, per_family=1, exclude=()) == {"a": ("a2",), "b": ("b1",), "quadratic": ("q1",)}


def test_standard_suite_is_the_rule_applied_to_the_reference_and_its_pilot():
    import curves

    frame = curves.read(STANDARD_REFERENCE, columns=["task", "family"]).drop_duplicates("task")
    family = dict(zip(frame["task"].astype(str), frame["family"].astype(str)))
    with open("curves/specs/taskset_mini_pilot.json") as f:
        pilot = json.load(f)["tasks"]
    costs = {t["name"]: (family[t["name"]], t["seconds_per_config_step"]) for t in pilot if t["name"] in family}
    assert pick_per_family(costs) == STANDARD_TASKS
    suite = get_suite("standard")
    assert suite.reference == STANDARD_REFERENCE and suite.steps == STANDARD_STEPS == 1000
    assert suite.tasks == tuple(t for tasks in STANDARD_TASKS.values() for t in tasks)
    assert not set(STANDARD_TASKS) & set(STANDARD_EXCLUDED_FAMILIES)
    assert all(family[t] == f for f, tasks in STANDARD_TASKS.items() for t in tasks)


@pytest.mark.parametrize("seconds, text", [(0.4, "0s"), (42, "42s"), (185, "3m05s"), (3720, "1h02m")])
def test_duration(seconds, text):
    assert duration(seconds) == text


def test_line_progress_writes_one_line_per_job_with_a_cost_weighted_estimate():
    jobs = [Job(task=f"t{i}", task_config={}, optimizers=(), replica=0, steps=10, eval_every=5, eval_batches=1,
                cost=cost) for i, cost in enumerate((3.0, 1.0))]
    ticks = iter([0.0, 30.0, 40.0])
    stream = io.StringIO()
    with LineProgress(InProcessExecutor(), stream, clock=lambda: next(ticks)) as executor:
        outcomes = list(executor.run(lambda job: job.task, jobs))
    assert [o.result for o in outcomes] == ["t0", "t1"]
    assert stream.getvalue().splitlines() == [
        # Half the jobs and 3 of 4 cost units in 30 s: 0.625 done, 30 * 0.375 / 0.625 = 18 s left.
        "benchmark: 1/2 jobs done (t0 replica 0), 30s elapsed, about 18s left",
        "benchmark: 2/2 jobs done (t1 replica 0), 40s elapsed"]
