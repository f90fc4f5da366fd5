"""The `test_functions` family: known minima, wrappers, noise, validation and sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from taskset import config as config_lib
from taskset.errors import ConfigError
from taskset.tasks import TASK_FAMILIES, sample_task, task_from_config
from taskset.tasks import losg
from taskset.tasks.test_functions import PROBLEMS
from tests.tasks.fit import adam_steps, fixed_batch, grads_and_loss

FAMILY = TASK_FAMILIES.get("test_functions")


def value_and_grad(fn, x):
    x = tf.constant(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = fn(x)
    return float(value), tape.gradient(value, x).numpy()


def minimum_cases():
    st = losg.STYBLINSKI_TANG_MINIMIZER
    cases = [
        ("rosenbrock", losg.rosenbrock, [1.0, 1.0], 0.0),
        ("rosenbrock5", losg.rosenbrock, [1.0] * 5, 0.0),
        ("ackley", losg.ackley, [0.0] * 4, 0.0),
        ("beale", losg.beale, [3.0, 0.5], 0.0),
        ("styblinski_tang", losg.styblinski_tang, [st] * 3, 3 * losg.STYBLINSKI_TANG_MINIMUM_PER_DIM),
        ("michalewicz", losg.michalewicz, [2.20290552, 1.57079633], -1.8013034),
        ("matyas", losg.matyas, [0.0, 0.0], 0.0),
        ("dependency_chain", losg.dependency_chain, [0.0] * 6, 0.0),
        ("min_max_well", losg.min_max_well, [1.0, -1.0, 1.0, 1.0], 0.0),
        ("bowl", lambda x: losg.bowl(x, losg.bowl_matrix(30.0, math.pi / 3)), [0.0, 0.0], 0.0),
    ]
    cases += [(f"branin{i}", losg.branin, list(m), losg.BRANIN_MINIMUM) for i, m in enumerate(losg.BRANIN_MINIMIZERS)]
    return cases


@pytest.mark.parametrize("name,fn,minimizer,minimum", minimum_cases(), ids=[c[0] for c in minimum_cases()])
def test_known_minimum_value_and_stationarity(name, fn, minimizer, minimum):
    value, grad = value_and_grad(fn, minimizer)
    assert value == pytest.approx(minimum, abs=1e-4)
    assert np.all(np.isfinite(grad))
    if name != "min_max_well":  # its minimum is a kink of max/min: a subgradient only
        np.testing.assert_allclose(grad, 0.0, atol=2e-3)
    # No point of a random cloud around the minimiser does better.
    rng = np.random.default_rng(0)
    cloud = np.asarray(minimizer) + rng.normal(scale=0.3, size=(50, len(minimizer)))
    assert min(float(fn(tf.constant(p, tf.float32))) for p in cloud) >= minimum - 1e-4


def test_known_values_from_the_literature():
    assert losg.BRANIN_MINIMUM == pytest.approx(0.397887, abs=1e-6)
    assert float(losg.rosenbrock(tf.constant([0.0, 0.0]))) == pytest.approx(1.0)
    assert float(losg.beale(tf.constant([0.0, 0.0]))) == pytest.approx(1.5**2 + 2.25**2 + 2.625**2)
    # Ackley at 1 in every coordinate: 20 + e - 20 exp(-0.2) - e.
    assert float(losg.ackley(tf.constant([1.0, 1.0]))) == pytest.approx(20 - 20 * math.exp(-0.2), rel=1e-5)


def test_bowl_condition_number_and_angle():
    for cond, angle in ((0.01, 0.0), (50.0, math.pi / 4)):
        x = tf.constant([0.3, -0.7])
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                value = losg.bowl(x, losg.bowl_matrix(cond, angle))
            grad = inner.gradient(value, x)
        eig = np.linalg.eigvalsh(outer.jacobian(grad, x).numpy())
        assert eig.max() / eig.min() == pytest.approx(max(cond, 1 / cond), rel=1e-4)


def test_norm_minimum_is_epsilon_scaled():
    w, y = losg.gaussian_linear_system(5, np.random.default_rng(3))
    x_star = np.linalg.solve(w.astype(np.float64), y.astype(np.float64)).astype(np.float32)
    for power in (2.0, 1.0):
        value = float(losg.norm(tf.constant(x_star), w, y, power))
        assert value == pytest.approx(losg.EPSILON * 5 ** (1 / power), rel=0.05, abs=2e-6)
        assert float(losg.norm(tf.constant(x_star + 0.1), w, y, power)) > value


def test_sum_of_quadratics_is_zero_at_origin_over_a_symmetric_dataset():
    data = losg.symmetric_gaussian(50, 4, np.random.default_rng(1))
    value, grad = value_and_grad(lambda x: losg.sum_of_quadratics(x, data), [0.0] * 4)
    assert value == pytest.approx(0.0, abs=1e-5)
    np.testing.assert_allclose(grad, 0.0, atol=1e-5)
    assert float(losg.sum_of_quadratics(tf.constant([0.5, 0.0, 0.0, 0.0]), data)) == pytest.approx(0.25)


def test_outward_snake_path_leaves_only_the_radial_term():
    data = np.random.default_rng(2).standard_normal((7, 5)).astype(np.float32)
    x = [0.4]
    for _ in range(4):
        x.append(math.pi * math.cos(x[-1]))
    x = np.asarray(x, np.float32)
    radial = float(np.mean(data[:, 0]) / (np.linalg.norm(x) + 1e-6))
    assert float(losg.outward_snake(tf.constant(x), data)) == pytest.approx(radial, rel=1e-4, abs=1e-5)


def test_softmax_regression_matches_numpy():
    rng = np.random.default_rng(4)
    emb, w, b = (rng.normal(size=s).astype(np.float32) for s in ((2, 3), (3, 2), (2,)))
    ids, labels = losg.noisy_parity(6, 2, rng)
    logits = emb[ids].sum(axis=1) @ w + b
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -log_softmax[np.arange(6), labels].mean() + 1e-3 * np.mean([np.sum(p**2) for p in (emb, w, b)])
    assert float(losg.softmax_regression(emb, w, b, ids, labels)) == pytest.approx(expected, rel=1e-5)
    assert set(np.unique(labels)) <= {0, 1} and ids.shape == (6, 5)


def test_min_max_well_gradient_reaches_only_the_extremes():
    _, grad = value_and_grad(losg.min_max_well, [0.5, 2.0, -1.2, 0.9])
    assert np.count_nonzero(grad) == 2 and grad[1] != 0 and grad[0] != 0


# --- the family's tasks ---------------------------------------------------------

def clean_config(problem: str) -> dict:
    """The first sampled config of `problem`, without noise or wrappers."""
    for seed in range(1000):
        config = FAMILY.sample_config(seed)
        if config.problem == problem:
            return {"family": "test_functions", **config_lib.to_dict(config), "noise_stdev": 0.0,
                    "zero_probability": 0.0, "param_scale": 1.0, "log_objective": False}
    raise AssertionError(f"no seed samples {problem!r}")


def with_fields(problem: str, **fields):
    return task_from_config({**clean_config(problem), **fields})


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_every_problem_descends_without_noise(problem):
    task = with_fields(problem)
    assert task.required_datasets() == () and task.is_runnable()
    params = task.init(0)
    assert {k: tuple(v.shape) for k, v in params.items()} == task.param_shapes()
    batch = fixed_batch(task)
    loss, grads = grads_and_loss(task, params, batch)
    assert np.isfinite(float(loss)) and all(np.all(np.isfinite(g.numpy())) for g in grads.values())
    first, last = adam_steps(task, params, batch, steps=20, lr=1e-3)
    assert last < first, (problem, first, last)


def test_gradient_noise_changes_the_gradient_not_the_value():
    clean = with_fields("rosenbrock", dim=3)
    noisy = with_fields("rosenbrock", dim=3, noise_stdev=0.5)
    params = {"x": tf.constant([1.0, 1.0, 1.0])}  # the minimiser: the clean gradient is exactly 0
    batch = fixed_batch(noisy)
    assert float(batch["noise"].numpy().std()) > 0
    loss_c, grad_c = grads_and_loss(clean, params, fixed_batch(clean))
    loss_n, grad_n = grads_and_loss(noisy, params, batch)
    assert float(loss_n) == float(loss_c)
    np.testing.assert_array_equal(grad_c["x"], 0.0)
    np.testing.assert_allclose(grad_n["x"], batch["noise"].numpy(), rtol=1e-6)
    other = noisy.sample_batch("train", tf.constant([0, 1], tf.int64))
    assert not np.array_equal(other["noise"].numpy(), batch["noise"].numpy())


def test_sparse_masks_zero_exactly_the_masked_gradients():
    task = with_fields("min_max_well", dim=400, zero_probability=0.9, noise_stdev=0.1)
    params = task.init(0)
    batch = fixed_batch(task)
    keep = batch["keep"].numpy()
    assert 0.05 < keep.mean() < 0.15
    loss, grads = grads_and_loss(task, params, batch)
    clean = with_fields("min_max_well", dim=400)
    assert float(loss) == float(clean.loss(params, fixed_batch(clean)))
    g = grads["x"].numpy()
    assert np.all(g[~keep] == 0.0) and np.all(g[keep] != 0.0)  # noise reaches every kept entry


def test_rescale_scales_parameters_not_the_objective():
    plain = with_fields("beale")
    scaled = with_fields("beale", param_scale=100.0)
    p_plain, p_scaled = plain.init(2), scaled.init(2)
    assert not np.allclose(p_scaled["x"], 100.0 * p_plain["x"])  # a different config, a different start
    params = {"x": p_plain["x"] * 100.0}
    loss_s, grad_s = grads_and_loss(scaled, params, fixed_batch(scaled))
    loss_p, grad_p = grads_and_loss(plain, p_plain, fixed_batch(plain))
    assert float(loss_s) == pytest.approx(float(loss_p), rel=1e-6)
    np.testing.assert_allclose(grad_s["x"] * 100.0, grad_p["x"], rtol=1e-4)
    low, high = -4.5 * 100, 4.5 * 100
    assert np.all((p_scaled["x"].numpy() >= low) & (p_scaled["x"].numpy() <= high))


@pytest.mark.parametrize("problem,minimizer", [("rosenbrock", [1.0, 1.0]),
                                               ("styblinski_tang", [losg.STYBLINSKI_TANG_MINIMIZER] * 2),
                                               ("branin", list(losg.BRANIN_MINIMIZERS[1]))])
def test_log_objective_is_zero_at_the_minimum_and_log_of_the_gap_elsewhere(problem, minimizer):
    task = with_fields(problem, dim=2, log_objective=True)
    plain = with_fields(problem, dim=2)
    batch = fixed_batch(task)
    at_min = float(task.loss({"x": tf.constant(minimizer)}, batch))
    # float32 rounding leaves a gap of a few ulps of the minimum value, which the log magnifies.
    floor = PROBLEMS[problem].floor(2)
    ulps = 4 * float(np.spacing(np.float32(max(abs(floor), 1.0))))
    assert 0.0 <= at_min <= math.log(ulps + losg.EPSILON) - math.log(losg.EPSILON)
    start = plain.init(0)
    gap = float(plain.loss(start, fixed_batch(plain))) - floor
    expected = math.log(gap + losg.EPSILON) - math.log(losg.EPSILON)
    assert float(task.loss(start, batch)) == pytest.approx(expected, rel=1e-5)


def test_data_pools_are_fixed_per_split_and_batches_are_seeded():
    task = with_fields("sum_of_quadratics", batch_size=8, num_examples=100)
    seed = tf.constant([3, 4], tf.int64)
    a, b = task.sample_batch("train", seed), task.sample_batch("train", seed)
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    assert a["data"].shape == (8, task.config.dim)
    train, test = task._pool("train")["data"].numpy(), task._pool("test")["data"].numpy()
    assert train.shape == (100, task.config.dim) and not np.array_equal(train, test)
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-6)  # vectors and their negatives
    again = with_fields("sum_of_quadratics", batch_size=8, num_examples=100)
    np.testing.assert_array_equal(again._pool("train")["data"].numpy(), train)
    first = next(iter(task.datasets(0)["valid_inner"]))
    assert set(first) == {"noise", "keep", "data"}


def test_init_depends_on_seed_and_config():
    task = with_fields("ackley", dim=3)
    a, b, c = task.init(0)["x"].numpy(), task.init(0)["x"].numpy(), task.init(1)["x"].numpy()
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.all(np.abs(a) <= 32.768)
    branin = with_fields("branin").init(5)["x"].numpy()
    assert -5 <= branin[0] <= 10 and 0 <= branin[1] <= 15


@pytest.mark.parametrize("fields,bad", [
    ({"problem": "rastrigin"}, "rastrigin"),
    ({"condition_number": 3.0}, 3.0),          # rosenbrock has no condition number
    ({"dim": 1}, 1),                            # rosenbrock needs two coordinates
    ({"zero_probability": 1.0}, 1.0),
])
def test_validation_names_the_bad_value(fields, bad):
    with pytest.raises(ConfigError, match=repr(bad).replace(".", r"\.")):
        task_from_config({**clean_config("rosenbrock"), **fields})


def test_log_objective_needs_a_lower_bound():
    with pytest.raises(ConfigError, match="'outward_snake'"):
        with_fields("outward_snake", log_objective=True)
    with pytest.raises(ConfigError, match="accepted: 2"):
        with_fields("beale", dim=3)


def test_sampler_covers_problems_wrappers_and_ranges():
    configs = [FAMILY.sample_config(seed) for seed in range(300)]
    assert {c.problem for c in configs} == set(PROBLEMS)
    assert any(c.zero_probability > 0 for c in configs)
    assert any(c.param_scale != 1.0 for c in configs)
    assert any(c.log_objective for c in configs)
    assert any(c.noise_stdev > 0 for c in configs) and any(c.noise_stdev == 0 for c in configs)
    for c in configs:
        spec = PROBLEMS[c.problem]
        assert spec.dims[0] <= c.dim <= spec.dims[1]
        assert c.noise_stdev == 0 or 0.01 <= c.noise_stdev <= 10
        assert c.param_scale == 1.0 or 0.001 <= c.param_scale <= 1000
        assert c.zero_probability == 0 or 0.9 <= c.zero_probability <= 0.99
        wrappers = (c.zero_probability > 0) + (c.param_scale != 1.0) + c.log_objective
        assert wrappers <= 1 and (spec.wrappable or wrappers == 0)
        if c.param_scale != 1.0 or c.log_objective:
            assert c.noise_stdev == 0
