"""The standard suite's definition, and progress lines for logged runs."""

from __future__ import annotations

import io
import json
import pathlib

import pytest

from curves.executors import InProcessExecutor
from curves.jobs import Job
from eval.benchmark.progress import LineProgress, duration
from eval.benchmark.suites import (STANDARD_EXCLUDED_FAMILIES, STANDARD_FIXED, STANDARD_REFERENCE, STANDARD_STEPS,
                                   STANDARD_TASKS, get_suite, pick_per_family, standard_choice)


def test_pick_per_family_takes_the_cheapest_and_leaves_out_families():
    costs = {"a1": ("a", 3.0), "a2": ("a", 1.0), "a3": ("a", 2.0), "b1": ("b", 9.0), "q1": ("quadratic", 0.1)}
    assert pick_per_family(costs) == {"a": ("a2", "a3"), "b": ("b1",)}
    assert pick_per_family(costs, per_family=1, exclude=()) == {"a": ("a2",), "b": ("b1",), "quadratic": ("q1",)}


def test_standard_choice_takes_the_replica_task_the_cheapest_other_and_the_cheapest_fixed_tasks():
    costs = {"a_seed1": ("a", 5.0), "a_seed2": ("a", 1.0), "a_seed3": ("a", 2.0), "b_seed1": ("b", 3.0),
             "fixed_a_x": ("a", 9.0), "fixed_a_y": ("a", 4.0), "fixed_b_x": ("b", 1.0), "fixed_c_x": ("c", 7.0),
             "quadratic_seed1": ("quadratic", 0.1)}
    chosen = standard_choice(costs, {"a": "a_seed1", "b": "b_seed1", "quadratic": "quadratic_seed1"}, fixed=2)
    # a: its replica task, then the cheapest other; b has no other; c has only a fixed task, dearer
    # than the two cheapest fixed ones, and no sampled task; quadratics are left out.
    assert chosen == {"a": ("a_seed1", "a_seed2", "fixed_a_y"), "b": ("b_seed1", "fixed_b_x")}


def _taskset_small_costs() -> tuple[dict, dict, set, tuple]:
    """taskset-small's tasks with (family, pilot cost), its replica tasks by family, its spec's task set,
    and the families whose pilot may still add tasks."""
    import sys

    import curves
    from taskset.tasks import list_tasks

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "scripts"))
    import make_mini
    import make_small

    family = {entry.name: entry.family for entry in list_tasks()}
    rows = {r["name"]: r for path in (make_mini.PILOT, make_small.PILOT) for r in json.loads(path.read_text())["tasks"]}
    spec = {task.name for task in curves.load_spec(make_small.SPEC).tasks}
    costs = {n: (family[n], rows[n]["seconds_per_config_step"]) for n in spec
             if "seconds_per_config_step" in rows.get(n, {})}
    replicas = {family[t]: t for t in make_small.replica_tasks(make_small.mini_tasks())}
    return costs, replicas, spec, make_small.PILOT_ALL


def test_standard_suite_is_the_rule_applied_to_taskset_small():
    costs, replicas, spec, still_growing = _taskset_small_costs()
    tasks = {t for family in STANDARD_TASKS.values() for t in family}
    assert tasks <= spec and len(tasks) == 28
    assert all(STANDARD_TASKS[f][0] == replicas[f] for f in STANDARD_TASKS)
    assert sum(t.startswith("fixed_") for t in tasks) == STANDARD_FIXED
    # The table is frozen: families whose taskset-small tasks the pilot may still add to (the rule's
    # "cheapest other" could move there) are checked for membership only; the others exactly.
    chosen = standard_choice(costs, replicas)
    settled = [f for f in STANDARD_TASKS if f not in still_growing]
    assert {f: chosen[f] for f in settled} == {f: STANDARD_TASKS[f] for f in settled}
    assert set(chosen) == set(STANDARD_TASKS)
    assert not set(STANDARD_TASKS) & set(STANDARD_EXCLUDED_FAMILIES)


def test_standard_suite_is_registered_on_its_reference_with_replicas():
    import curves

    suite = get_suite("standard")
    assert suite.reference == STANDARD_REFERENCE and suite.steps == STANDARD_STEPS == 1000
    assert suite.tasks == tuple(t for tasks in STANDARD_TASKS.values() for t in tasks)
    frame = curves.read(STANDARD_REFERENCE, columns=["task", "family", "optimizer", "replica"])
    family = dict(zip(frame["task"].astype(str), frame["family"].astype(str)))
    assert sorted(family) == sorted(suite.tasks)
    assert all(family[t] == f for f, tasks in STANDARD_TASKS.items() for t in tasks)
    adam = frame[frame["optimizer"].astype(str) == "adam_default"]
    assert all(set(group) == {0, 1, 2} for _, group in adam.groupby(adam["task"].astype(str))["replica"])
    # Each family's first task is its replica task: 33 configs on three replica seeds each, the noise
    # the tie rule reads (eval.benchmark.reference.replica_tolerances).
    frame["task"], frame["optimizer"] = frame["task"].astype(str), frame["optimizer"].astype(str)
    replicated = frame[frame["replica"] > 0].groupby("task")["optimizer"].nunique()
    assert {t: replicated.get(t, 0) for t in (tasks[0] for tasks in STANDARD_TASKS.values())} == \
        {tasks[0]: 33 for tasks in STANDARD_TASKS.values()}


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


def test_tie_tolerances_are_the_references_own_replica_noise():
    import curves
    from eval.benchmark.reference import replica_tolerances
    from hparam_lists.noise import replica_noise

    assert replica_tolerances("quick-reference") == {}  # no replicas: the relative 1e-3 alone
    tolerances = replica_tolerances(STANDARD_REFERENCE)
    assert set(tolerances) == set(STANDARD_TASKS)
    noise = replica_noise(curves.read(STANDARD_REFERENCE))  # every task with replicas, adam_default's included
    assert tolerances == {family: n.score_std_median for family, n in noise.items()}
    assert all(0.0 <= value < 0.1 for value in tolerances.values())
