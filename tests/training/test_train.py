"""The trainer's contract: schedule, common init and batches, divergence isolation, determinism."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import tensorflow as tf

from taskset import get_task
from taskset.datasets import SPLITS
from taskset.errors import ConfigError, UnknownNameError
from taskset.optimizers.base import OptimizerConfig, UpdateRule
from taskset.training import STATUS_DIVERGED, STATUS_OK, train
from taskset.training.population import GROUP_SIZE, member_groups
from taskset.training.schedule import eval_batch_seed
from tests.training.conftest import sgd

TASK = "mlp_seed23"  # 877 parameters on mnist1d: compiles and runs in seconds
STEPS, EVAL_EVERY, EVAL_BATCHES = 6, 2, 3
SANE = [sgd(0.5), sgd(0.1)]
ABSURD = sgd(1e12)


def run(configs, **kwargs):
    kwargs.setdefault("jit_compile", False)
    return train(get_task(TASK), configs, steps=STEPS, eval_every=EVAL_EVERY, eval_batches=EVAL_BATCHES,
                 replica_seed=3, **kwargs)


@pytest.fixture(scope="module")
def with_absurd():
    return run([SANE[0], ABSURD, SANE[1]])


@pytest.fixture(scope="module")
def without_absurd():
    return run(SANE)


def assert_same_curves(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.optimizer == y.optimizer and x.status == y.status and x.diverged_step == y.diverged_step
        np.testing.assert_array_equal(x.steps, y.steps)
        for split in SPLITS:
            # Bitwise: same bytes, NaN included.
            assert x.split(split).tobytes() == y.split(split).tobytes(), (x.optimizer.name, split)


def test_clean_run_is_ok_and_well_formed(without_absurd):
    for curve in without_absurd:
        assert curve.status == STATUS_OK and curve.diverged_step is None
        assert curve.steps.dtype == np.int64 and curve.steps.tolist() == [0, 2, 4, 6]
        for split in SPLITS:
            values = curve.split(split)
            assert values.dtype == np.float32 and values.shape == (4,) and np.all(np.isfinite(values))
        assert curve.seconds_per_step > 0
        assert curve.task == TASK and curve.task_config == get_task(TASK).config_dict
        assert curve.replica_seed == 3 and curve.init_seed == 3
    # Common init: every member starts from the same parameters and batches.
    first = [[c.split(s)[0] for s in SPLITS] for c in without_absurd]
    assert first[0] == first[1]
    # ...and then they differ, having different learning rates, and learn.
    assert without_absurd[0].train[-1] != without_absurd[1].train[-1]
    assert without_absurd[0].train[-1] < without_absurd[0].train[0]


def test_diverged_member_is_frozen_and_marked(with_absurd):
    curve = with_absurd[1]
    assert curve.status == STATUS_DIVERGED
    assert 0 < curve.diverged_step <= STEPS
    for split in SPLITS:
        values = curve.split(split)
        assert np.isfinite(values[0])
        assert np.all(np.isnan(values[curve.steps >= curve.diverged_step]))
        assert np.all(np.isfinite(values[curve.steps < curve.diverged_step]))


def test_diverged_member_does_not_affect_the_others(with_absurd, without_absurd):
    assert_same_curves([with_absurd[0], with_absurd[2]], without_absurd)


def test_runs_are_deterministic(with_absurd):
    assert_same_curves(run([SANE[0], ABSURD, SANE[1]]), with_absurd)


def test_xla_runs_are_deterministic_and_close_to_graph_mode(without_absurd):
    first = run(SANE, jit_compile=True)
    assert_same_curves(run(SANE, jit_compile=True), first)
    for x, y in zip(first, without_absurd):
        for split in SPLITS:
            np.testing.assert_allclose(x.split(split), y.split(split), rtol=1e-4)


def test_step_zero_is_the_mean_loss_over_fresh_eval_batches(without_absurd):
    task = get_task(TASK)
    params = task.init(3)
    for split in SPLITS:
        losses = [task.loss(params, task.sample_batch(split, eval_batch_seed(3, split, 0, i, EVAL_BATCHES)))
                  for i in range(EVAL_BATCHES)]
        expected = np.float32(sum(np.float32(x) for x in losses) / np.float32(EVAL_BATCHES))
        np.testing.assert_allclose(without_absurd[0].split(split)[0], expected, rtol=1e-6)


def test_members_train_on_the_batches_of_task_datasets():
    """One SGD step by hand on batch 0 of `task.datasets(seed)` gives the step-1 evaluation."""
    task = get_task(TASK)
    [curve] = train(task, [sgd(0.3)], steps=1, eval_every=1, eval_batches=2, replica_seed=5, init_seed=8,
                    jit_compile=False)
    params = task.init(8)
    batch = next(iter(task.datasets(5)["train"]))
    with tf.GradientTape() as tape:
        tape.watch(params)
        loss = task.loss(params, batch)
    grads = tape.gradient(loss, params)
    stepped = {k: params[k] - 0.3 * grads[k] for k in params}
    for split in SPLITS:
        losses = [float(task.loss(stepped, task.sample_batch(split, eval_batch_seed(5, split, 1, i, 2))))
                  for i in range(2)]
        np.testing.assert_allclose(curve.split(split)[1], np.mean(losses), rtol=1e-5)
    assert curve.init_seed == 8 and curve.replica_seed == 5


def test_mixed_families_keep_their_order_and_numbers(without_absurd):
    curves = run([SANE[1], "adam_default", SANE[0]])
    assert [c.optimizer.name for c in curves] == [SANE[1].name, "adam_default", SANE[0].name]
    assert curves[1].optimizer.family == "adam1p" and curves[1].status == STATUS_OK
    assert_same_curves([curves[2], curves[0]], without_absurd)


def _count_calls(monkeypatch, owner, name: str, counts: dict) -> None:
    """Replaces `owner.name` by a wrapper that counts its Python calls (each one a trace)."""
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        counts[name] = counts.get(name, 0) + 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)


def _plain_sgd_update(grads, state, params, hparams, step, total_steps):
    TRACED["user_update"] = TRACED.get("user_update", 0) + 1
    return {k: params[k] - hparams["lr"] * grads[k] for k in params}, state


def _no_state(params):
    return ()


TRACED: dict = {}


def test_a_second_call_on_the_same_task_and_families_traces_nothing(monkeypatch, with_absurd):
    """Every traced Python function of the trainer runs during the first call only."""
    from taskset.training import population

    counts: dict = {}
    for name in ("member_step", "member_loss"):
        _count_calls(monkeypatch, population, name, counts)
    for name in ("_train_loop", "_evaluate_splits"):
        _count_calls(monkeypatch, population.Compiled, name, counts)
    monkeypatch.setattr(population, "_CACHE", collections.OrderedDict())
    TRACED.clear()
    user = OptimizerConfig("mine_lr0.1", "not_registered_sgd", {"lr": 0.1})

    def call():
        # A registered family (through the temporary test family), a named config
        # of another, and a user rule passed anew as a fresh tuple of the same functions.
        return run([SANE[0], ABSURD, "adam_default", user, SANE[1]],
                   rules={"not_registered_sgd": UpdateRule(_no_state, _plain_sgd_update)})

    first = call()
    traced, loops = dict(counts), len(next(iter(population._CACHE.values()))._train)
    assert traced["member_step"] > 0 and traced["_train_loop"] > 0 and traced["_evaluate_splits"] > 0
    assert TRACED["user_update"] > 0 and loops == 3
    user_traces = TRACED["user_update"]
    second = call()
    assert counts == traced and TRACED["user_update"] == user_traces
    assert len(next(iter(population._CACHE.values()))._train) == loops
    assert_same_curves(first, second)
    assert_same_curves([first[0], first[1], first[4]], with_absurd)


def test_a_user_rule_trains_like_the_same_registered_family(without_absurd):
    mine = [OptimizerConfig(c.name, "mine", c.hparams) for c in SANE]
    curves = run(mine, rules={"mine": UpdateRule(_no_state, _plain_sgd_update)})
    assert [c.optimizer for c in curves] == mine
    for x, y in zip(curves, without_absurd):
        for split in SPLITS:
            assert x.split(split).tobytes() == y.split(split).tobytes()


@pytest.mark.parametrize("rules, match", [
    ([("mine", None)], "rules must map family names"),
    ({"mine": lambda g: g}, r"rules\['mine'\] must be an update rule"),
])
def test_bad_rules_are_a_config_error(rules, match):
    with pytest.raises(ConfigError, match=match):
        train(get_task(TASK), SANE, steps=2, eval_every=1, rules=rules)


def test_a_family_neither_registered_nor_given_is_unknown():
    with pytest.raises(UnknownNameError, match="not_registered"):
        train(get_task(TASK), [OptimizerConfig("x", "not_registered", {"lr": 0.1})], steps=2, eval_every=1)


def test_member_groups_pad_short_groups_per_family():
    assert member_groups(["a", "b", "a", "a"], 2) == [("a", [0, 2]), ("a", [3, -1]), ("b", [1, -1])]
    assert member_groups(["a"] * 3, 3) == [("a", [0, 1, 2])]


def test_curves_do_not_depend_on_group_boundaries(without_absurd):
    # More members than one group holds, so the sane configs land in different,
    # padded groups next to other members; their numbers must not move.
    others = [sgd(0.01 * (k + 1)) for k in range(GROUP_SIZE + 1)]
    curves = run(others[:GROUP_SIZE - 1] + [SANE[0]] + others[GROUP_SIZE - 1:] + [SANE[1]])
    assert len(curves) == GROUP_SIZE + 3
    assert_same_curves([curves[GROUP_SIZE - 1], curves[-1]], without_absurd)


@pytest.mark.parametrize("kwargs, match", [
    ({"steps": 0}, "steps must be an integer >= 1, got 0"),
    ({"steps": 10, "eval_every": 3}, "eval_every=3 must divide steps=10; e.g. use eval_every=2"),
    ({"eval_every": 0}, "eval_every must be an integer >= 1, got 0"),
    ({"eval_batches": 0}, "eval_batches must be an integer >= 1"),
    ({"replica_seed": -1}, "replica_seed must be an integer >= 0, got -1"),
    ({"steps": 2.5}, "steps must be an integer >= 1, got 2.5"),
    ({"configs": []}, "non-empty list"),
    ({"configs": "adam_default"}, "non-empty list"),
    ({"configs": [3]}, "expected an OptimizerConfig or a config name, got 3"),
])
def test_bad_input_is_a_config_error(kwargs, match):
    args = {"configs": SANE, "steps": 4, "eval_every": 2, **kwargs}
    with pytest.raises(ConfigError, match=match):
        train(get_task(TASK), args.pop("configs"), **args)


def test_unknown_optimizer_name_suggests_close_names():
    with pytest.raises(UnknownNameError, match="adam_default"):
        train(get_task(TASK), ["adam_defualt"], steps=2, eval_every=1)


def test_divergence_found_by_the_evaluation_after_the_last_update():
    """With one step, no later minibatch sees the blow-up: the step-1 evaluation must."""
    curves = train(get_task(TASK), [SANE[1], ABSURD], steps=1, eval_every=1, eval_batches=1, jit_compile=False)
    assert [c.status for c in curves] == [STATUS_OK, STATUS_DIVERGED]
    assert curves[1].diverged_step == 1 and np.isnan(curves[1].train[1]) and np.isfinite(curves[1].train[0])
