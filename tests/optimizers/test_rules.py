"""Every family's update rule against an independent reference, for several steps.

References: the NumPy implementations of the documented formulas in
`tests/optimizers/reference.py` for sampled and hand-picked edge configs, and
Keras 3's Adam/AdamW/SGD where their formulas coincide with ours (Keras puts eps
outside sqrt(v_t) rather than sqrt(vh), so Adam matches only where eps is
negligible; Keras' Nadam uses a momentum-decay schedule and is not comparable).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from taskset.optimizers import (OPTIMIZER_FAMILIES, get_family, get_optimizer_config, get_rule, hparam_tensors,
                                make_config)
from taskset.optimizers.chain import ChainState
from taskset.optimizers.moments import AdamState
from tests.optimizers import reference

STEPS = 6
TOTAL_STEPS = 8  # Short, so that the schedules move during the checked steps.
SHAPES = {"dense/w": (3, 4), "dense/b": (4,)}


def initial_params(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=s).astype(np.float32) for k, s in SHAPES.items()}


def gradient_sequence(seed: int = 1, steps: int = STEPS) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{k: rng.normal(scale=0.5, size=s).astype(np.float32) for k, s in SHAPES.items()} for _ in range(steps)]


_STEP_FUNCTIONS: dict[str, object] = {}


def _step_function(family: str):
    # One traced function per family; hparams arrive as symbolic tensors, so a
    # Python branch on a hparam value inside a rule would fail to trace.
    if family not in _STEP_FUNCTIONS:
        rule = get_rule(family)
        _STEP_FUNCTIONS[family] = tf.function(
            lambda grads, state, params, hparams, step: rule.update(grads, state, params, hparams, step, TOTAL_STEPS))
    return _STEP_FUNCTIONS[family]


def run_rule(family: str, hparams: dict[str, float], params, grads) -> list[dict[str, np.ndarray]]:
    rule, step_fn = get_rule(family), _step_function(family)
    p = {k: tf.constant(v) for k, v in params.items()}
    state = rule.init(p)
    hp = hparam_tensors(hparams)
    out = []
    for step, g in enumerate(grads):
        p, state = step_fn({k: tf.constant(v) for k, v in g.items()}, state, p, hp, tf.constant(step, tf.int64))
        out.append({k: v.numpy() for k, v in p.items()})
    return out


def assert_trajectories_close(actual, expected, params, rtol=1e-5):
    # Absolute slack at float32 resolution of the largest value or step seen:
    # p - lr * d can cancel to ~0, where a relative test means nothing.
    before = [params] + expected[:-1]
    scale = max(max(np.max(np.abs(e[k])), np.max(np.abs(e[k] - b[k]))) for e, b in zip(expected, before) for k in e)
    for step, (a, e) in enumerate(zip(actual, expected)):
        for k in e:
            np.testing.assert_allclose(a[k], e[k], rtol=rtol, atol=2e-6 * scale, err_msg=f"step {step} {k}")


EDGE_CONFIGS = [
    ("adam1p", {"lr": 0.1}),
    ("adam4p", {"lr": 0.01, "beta1": 0.0, "beta2": 1 - 1e-6, "eps": 1e-10}),
    # eps large against sqrt(vh): the placement of eps decides the step.
    ("adam4p", {"lr": 2.0, "beta1": 0.5, "beta2": 0.9, "eps": 1e3}),
    ("adam6p", {"lr": 0.3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "linear_decay": 1e-4,
                "exponential_decay": 1e-3}),
    ("adam8p", {"lr": 0.05, "beta1": 0.99, "beta2": 0.9999, "eps": 1e-6, "linear_decay": 3e-5,
                "exponential_decay": 1e-4, "l1": 0.3, "l2": 2.0}),
    ("nadamw", {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "nesterov": 1.0, "adamw_weight_decay": 0.05,
                "l2_weight_decay": 0.02, "warmup_fraction": 0.1, "min_lr_mult": 0.1, "constant_fraction": 0.4}),
    ("nadamw", {"lr": 0.1, "beta1": 0.5, "beta2": 0.99, "eps": 1e-3, "nesterov": 0.0, "adamw_weight_decay": 0.0,
                "l2_weight_decay": 0.1, "warmup_fraction": 0.0, "min_lr_mult": 0.0, "constant_fraction": 0.0}),
    # Warmup longer than the constant phase is capped at it.
    ("nadamw", {"lr": 1.0, "beta1": 0.999, "beta2": 0.99999, "eps": 1e4, "nesterov": 1.0, "adamw_weight_decay": 0.1,
                "l2_weight_decay": 0.0, "warmup_fraction": 0.1, "min_lr_mult": 1e-5, "constant_fraction": 0.05}),
    ("sgdm", {"lr": 0.1, "momentum": 0.9, "nesterov": 0.0}),
    ("sgdm", {"lr": 3.0, "momentum": 0.999, "nesterov": 1.0}),
]


@pytest.mark.parametrize("family,hparams", EDGE_CONFIGS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(EDGE_CONFIGS)])
def test_edge_configs_match_numpy_reference(family, hparams):
    make_config(family, hparams, "edge")  # the configs are inside the space
    params, grads = initial_params(), gradient_sequence()
    assert_trajectories_close(run_rule(family, hparams, params, grads),
                              reference.reference(family, hparams, params, grads, TOTAL_STEPS), params)


@pytest.mark.parametrize("family", sorted(OPTIMIZER_FAMILIES.list()))
def test_sampled_configs_match_numpy_reference(family):
    params, grads = initial_params(2), gradient_sequence(3)
    for seed in range(4):
        hparams = get_optimizer_config(f"{family}_seed{seed}").hparams
        assert_trajectories_close(run_rule(family, hparams, params, grads),
                                  reference.reference(family, hparams, params, grads, TOTAL_STEPS), params)


def keras_trajectory(optimizer, params, grads) -> list[dict[str, np.ndarray]]:
    names = sorted(params)
    variables = [keras.Variable(params[k]) for k in names]
    out = []
    for g in grads:
        optimizer.apply([tf.constant(g[k]) for k in names], variables)
        out.append({k: v.numpy() for k, v in zip(names, variables)})
    return out


KERAS_CASES = [
    # eps = 1e-8 against |g| ~ 0.5: Keras' eps-hat differs by < 1e-6 relative.
    ("adam1p", {"lr": 0.01}, lambda: keras.optimizers.Adam(0.01, 0.9, 0.999, epsilon=1e-8)),
    ("adam4p", {"lr": 0.3, "beta1": 0.5, "beta2": 0.99, "eps": 1e-10},
     lambda: keras.optimizers.Adam(0.3, 0.5, 0.99, epsilon=1e-10)),
    # No L2, no warmup, constant_fraction 1 (no decay), plain Adam: Keras AdamW.
    ("nadamw", {"lr": 0.05, "beta1": 0.8, "beta2": 0.995, "eps": 1e-8, "nesterov": 0.0, "adamw_weight_decay": 0.08,
                "l2_weight_decay": 0.0, "warmup_fraction": 0.0, "min_lr_mult": 0.0, "constant_fraction": 1.0},
     lambda: keras.optimizers.AdamW(0.05, weight_decay=0.08, beta_1=0.8, beta_2=0.995, epsilon=1e-8)),
    ("sgdm", {"lr": 0.2, "momentum": 0.9, "nesterov": 0.0}, lambda: keras.optimizers.SGD(0.2, 0.9, nesterov=False)),
    ("sgdm", {"lr": 0.2, "momentum": 0.7, "nesterov": 1.0}, lambda: keras.optimizers.SGD(0.2, 0.7, nesterov=True)),
]


@pytest.mark.parametrize("family,hparams,make_keras", KERAS_CASES,
                         ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(KERAS_CASES)])
def test_matches_keras_where_formulas_coincide(family, hparams, make_keras):
    params, grads = initial_params(4), gradient_sequence(5)
    assert_trajectories_close(run_rule(family, hparams, params, grads), keras_trajectory(make_keras(), params, grads),
                              params)


def test_eps_is_added_outside_the_bias_corrected_sqrt_not_keras_eps_hat():
    hparams = {"lr": 1.0, "beta1": 0.9, "beta2": 0.999, "eps": 1.0}
    params, grads = initial_params(), gradient_sequence(steps=1)
    ours = run_rule("adam4p", hparams, params, grads)[0]
    g = grads[0]["dense/b"].astype(np.float64)
    # One step: mh = g, vh = g^2, so the step is g / (|g| + eps).
    np.testing.assert_allclose(params["dense/b"] - ours["dense/b"], g / (np.abs(g) + 1.0), rtol=1e-5)
    keras_step = params["dense/b"] - keras_trajectory(keras.optimizers.Adam(1.0, 0.9, 0.999, epsilon=1.0),
                                                      params, grads)[0]["dense/b"]
    assert not np.allclose(params["dense/b"] - ours["dense/b"], keras_step, rtol=1e-2)


def test_l2_weight_decay_shrinks_weights_towards_zero():
    hparams = {**get_optimizer_config("nadamw_seed0").hparams, "adamw_weight_decay": 0.0, "l2_weight_decay": 0.1,
               "warmup_fraction": 0.0, "constant_fraction": 1.0, "lr": 0.01}
    params = initial_params()
    zero_grads = [{k: np.zeros_like(v) for k, v in params.items()} for _ in range(3)]
    final = run_rule("nadamw", hparams, params, zero_grads)[-1]
    for k in params:
        assert np.all(np.abs(final[k]) < np.abs(params[k])), k
        assert np.all(np.sign(final[k]) == np.sign(params[k])), k


def test_warmup_from_zero_makes_the_first_step_a_no_op():
    hparams = {**get_optimizer_config("nadamw_seed1").hparams, "warmup_fraction": 0.1, "constant_fraction": 0.5}
    params, grads = initial_params(), gradient_sequence(steps=2)
    first, second = run_rule("nadamw", hparams, params, grads)
    for k in params:
        np.testing.assert_array_equal(first[k], params[k])
        assert not np.array_equal(second[k], first[k])


def test_state_structure_and_purity():
    rule = get_rule("adam8p")
    hparams = hparam_tensors(get_optimizer_config("adam8p_seed5").hparams)
    params = {k: tf.constant(v) for k, v in initial_params().items()}
    grads = {k: tf.constant(v) for k, v in gradient_sequence(steps=1)[0].items()}
    state = rule.init(params)
    assert isinstance(state, ChainState)
    adam_state = next(s for s in state.states if isinstance(s, AdamState))
    assert sorted(adam_state.m) == sorted(params)
    new_params, new_state = rule.update(grads, state, params, hparams, 0, 10)
    again_params, again_state = rule.update(grads, state, params, hparams, 0, 10)
    tf.nest.assert_same_structure(state, new_state)
    for a, b in zip(tf.nest.flatten((new_params, new_state)), tf.nest.flatten((again_params, again_state))):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # The inputs are untouched (no hidden variables, no in-place updates).
    np.testing.assert_array_equal(params["dense/w"].numpy(), initial_params()["dense/w"])


def test_stacked_configs_vectorise_under_xla():
    family = "nadamw"
    configs = [get_optimizer_config(f"{family}_seed{s}") for s in range(3)]
    names = [d.name for d in get_family(family).space]
    stacked_hp = {k: tf.constant([c.hparams[k] for c in configs], tf.float32) for k in names}
    params = initial_params(6)
    grads = gradient_sequence(7, steps=3)
    rule = get_rule(family)
    stacked = {k: tf.stack([tf.constant(v)] * len(configs)) for k, v in params.items()}
    state = rule.init(stacked)
    total = tf.constant(TOTAL_STEPS)

    @tf.function(jit_compile=True)
    def step_all(grads, state, params, hparams, step):
        return tf.vectorized_map(lambda a: rule.update(a[0], a[1], a[2], a[3], step, total),
                                 (grads, state, params, hparams))

    for step, g in enumerate(grads):
        g_stacked = {k: tf.stack([tf.constant(v)] * len(configs)) for k, v in g.items()}
        stacked, state = step_all(g_stacked, state, stacked, stacked_hp, tf.constant(float(step)))
    for i, config in enumerate(configs):
        expected = reference.nadamw(config.hparams, params, grads, TOTAL_STEPS)
        assert_trajectories_close([{k: v[i].numpy() for k, v in stacked.items()}], expected[-1:], params)


def test_rule_names_a_missing_hparam():
    from taskset.errors import ConfigError

    rule = get_rule("adam4p")
    params = {k: tf.constant(v) for k, v in initial_params().items()}
    with pytest.raises(ConfigError, match="'beta1'"):
        rule.update(params, rule.init(params), params, hparam_tensors({"lr": 0.1}), 0, 10)
