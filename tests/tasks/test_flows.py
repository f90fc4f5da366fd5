"""Flow building blocks: invertibility, log-determinants against numeric Jacobians, MADE masks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from taskset.tasks import flows, task_from_config
from tests.tasks.fit import fixed_batch

DIMS = 6


def random_layers(sizes, seed, scale=0.5):
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = tf.random.stateless_normal((fan_in, fan_out), seed=[seed, 2 * i]) * scale
        b = tf.random.stateless_normal((fan_out,), seed=[seed, 2 * i + 1]) * scale
        layers.append((w, b))
    return layers


def coupling_net(num_masked, seed=0):
    layers = random_layers([num_masked, 8, 2 * (DIMS - num_masked)], seed)
    return lambda x1: flows.split_shift_and_log_scale(flows.mlp(x1, layers, tf.tanh))


def made_net(hidden_sizes=(12, 10), seed=1):
    masks = flows.made_masks(DIMS, hidden_sizes)
    layers = [(w * m, b) for (w, b), m in zip(random_layers([DIMS, *hidden_sizes, 2 * DIMS], seed), masks)]
    return lambda x: flows.split_shift_and_log_scale(flows.mlp(x, layers, tf.tanh))


def points(batch=3, seed=5):
    return tf.random.stateless_normal((batch, DIMS), seed=[seed, 0])


def numeric_log_det(fn, x):
    """log |det J| of fn at each row of x, from tf.GradientTape.jacobian."""
    out = []
    for row in tf.unstack(x):
        row = row[None, :]
        with tf.GradientTape() as tape:
            tape.watch(row)
            y = fn(row)
        jac = tf.reshape(tape.jacobian(y, row), (row.shape[1], row.shape[1]))
        out.append(tf.linalg.slogdet(tf.cast(jac, tf.float64))[1])
    return tf.stack(out)


@pytest.mark.parametrize("num_masked", [1, 3, 5])
def test_affine_coupling_inverts_and_log_det_matches_jacobian(num_masked):
    net = coupling_net(num_masked)
    x = points()
    z, log_det = flows.affine_coupling_forward(x, num_masked, net)
    np.testing.assert_allclose(flows.affine_coupling_inverse(z, num_masked, net), x, atol=1e-5)
    np.testing.assert_array_equal(z[:, :num_masked], x[:, :num_masked])
    expected = numeric_log_det(lambda r: flows.affine_coupling_forward(r, num_masked, net)[0], x)
    np.testing.assert_allclose(log_det, expected, rtol=1e-4, atol=1e-4)


def test_autoregressive_inverts_and_log_det_matches_jacobian():
    net = made_net()
    x = points()
    z, log_det = flows.autoregressive_forward(x, net)
    np.testing.assert_allclose(flows.autoregressive_inverse(z, net, DIMS), x, atol=1e-4)
    expected = numeric_log_det(lambda r: flows.autoregressive_forward(r, net)[0], x)
    np.testing.assert_allclose(log_det, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("hidden_sizes", [(3,), (12, 10), (40,)])
def test_made_outputs_depend_only_on_earlier_inputs(hidden_sizes):
    net = made_net(hidden_sizes)
    x = points(batch=1)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        shift, log_scale = net(x)
    for out in (shift, log_scale):
        jac = tf.reshape(tape.jacobian(out, x), (DIMS, DIMS)).numpy()
        # Output i may only see inputs j < i: the Jacobian is strictly lower triangular.
        assert np.all(np.triu(jac) == 0.0), jac
        # With enough hidden units every allowed connection exists somewhere in the network.
        if min(hidden_sizes) >= DIMS:
            assert np.all(jac[np.tril_indices(DIMS, -1)] != 0.0), jac


def test_made_masks_are_autoregressive_by_construction():
    masks = flows.made_masks(5, (7, 3))
    reach = masks[0] @ masks[1] @ masks[2]  # paths from input j to output i
    for half in (reach[:, :5], reach[:, 5:]):
        assert np.all(np.triu(half.T) == 0), half


def test_log_scale_is_bounded_with_unit_slope_at_zero():
    raw = tf.constant([-1e4, -1.0, 0.0, 1.0, 1e4])
    s = flows.bounded_log_scale(raw)
    assert np.all(np.abs(s.numpy()) <= flows.LOG_SCALE_BOUND)
    with tf.GradientTape() as tape:
        zero = tf.constant(0.0)
        tape.watch(zero)
        value = flows.bounded_log_scale(zero)
    assert float(tape.gradient(value, zero)) == pytest.approx(1.0)


@pytest.mark.parametrize("pre,post", [(flows.logit_preprocess, flows.logit_postprocess),
                                      (flows.affine_preprocess, flows.affine_postprocess)])
def test_preprocessing_inverts_and_log_det_matches_jacobian(pre, post):
    x = tf.random.stateless_uniform((3, DIMS), seed=[3, 3])
    y, log_det = pre(x)
    np.testing.assert_allclose(post(y), x, atol=1e-5)
    np.testing.assert_allclose(log_det, numeric_log_det(lambda r: pre(r)[0], x), rtol=1e-4, atol=1e-4)


def test_permutations_are_seeded_and_invertible():
    a = flows.flow_permutations(11, 4, 9)
    b = flows.flow_permutations(11, 4, 9)
    assert len(a) == 3 and all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[0], flows.flow_permutations(12, 4, 9)[0])
    x = points()
    x9 = tf.concat([x, x[:, :3]], axis=1)
    np.testing.assert_array_equal(flows.permute(flows.permute(x9, a[0]), np.argsort(a[0])), x9)


def test_standard_normal_log_prob():
    z = tf.constant([[0.0, 0.0], [1.0, -2.0]])
    expected = [-math.log(2 * math.pi), -math.log(2 * math.pi) - 2.5]
    np.testing.assert_allclose(flows.standard_normal_log_prob(z), expected, rtol=1e-6)


def digits_task(family, preprocessing="logit", num_bijectors=3):
    return task_from_config({"family": family, "dataset": "digits", "num_bijectors": num_bijectors,
                             "hidden_sizes": [16], "activation": "tanh", "initializer": "glorot_normal",
                             "init_scale": 1.0, "preprocessing": preprocessing, "permutation_seed": 3,
                             "batch_size": 4})


@pytest.mark.parametrize("family", ["nvp", "maf"])
def test_whole_flow_log_det_matches_jacobian(family):
    task = digits_task(family)
    params = task.init(1)
    y = tf.random.stateless_normal((2, task.num_dims), seed=[1, 2])
    _, log_det = task.flow_forward(params, y)
    expected = numeric_log_det(lambda r: task.flow_forward(params, r)[0], y)
    np.testing.assert_allclose(log_det, expected, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("family", ["nvp", "maf"])
@pytest.mark.parametrize("preprocessing", ["logit", "affine"])
def test_loss_is_nll_per_dimension_of_dequantised_pixels(family, preprocessing):
    task = digits_task(family, preprocessing)
    params = task.init(0)
    batch = fixed_batch(task)
    levels = batch["image"].numpy()
    assert levels.shape == (4, 64) and levels.min() >= 0 and levels.max() <= 16
    np.testing.assert_array_equal(levels, np.round(levels))
    loss = float(task.loss(params, batch))
    assert np.isfinite(loss) and loss == float(task.loss(params, batch))
    other = dict(batch, rng=batch["rng"] + [0, 1])
    assert float(task.loss(params, other)) != loss  # fresh dequantisation noise
    # With identity bijectors (zero output layers) the loss is the base density of the preprocessed data.
    identity = {k: tf.zeros_like(v) if "dense1" in k else v for k, v in params.items()}
    noise = tf.random.stateless_uniform(levels.shape, seed=batch["rng"] + [0, 7_919])
    x = (levels + noise) / 17.0
    pre = flows.logit_preprocess if preprocessing == "logit" else flows.affine_preprocess
    y, log_det = pre(x)
    log_px = flows.standard_normal_log_prob(y) + log_det
    expected = float(tf.reduce_mean(-log_px / 64 + math.log(17.0)))
    assert float(task.loss(identity, batch)) == pytest.approx(expected, rel=1e-5)


def test_config_validation_names_the_bad_value():
    from taskset.errors import ConfigError

    base = digits_task("nvp").config_dict
    for field, bad in (("dataset", "mnist1d"), ("preprocessing", "probit"), ("num_bijectors", 0)):
        with pytest.raises(ConfigError, match=repr(bad)):
            task_from_config({**base, field: bad})


def test_maf_stores_masked_weights():
    task = digits_task("maf")
    params = task.init(0)
    for j, mask in enumerate(task.masks):
        w = params[f"bijector0/dense{j}/w"].numpy()
        assert np.all(w[mask == 0] == 0) and np.any(w[mask == 1] != 0)

