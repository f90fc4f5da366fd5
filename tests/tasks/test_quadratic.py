"""quadratic: the Hessian's spectrum, the optimum, the loss formula and the gradient noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from taskset.errors import ConfigError
from taskset.tasks import TASK_FAMILIES, sample_task, task_from_config
from taskset.tasks.quadratic import LOG_EPS, QuadraticConfig, QuadraticTask, quadratic_arrays


def make(**overrides) -> QuadraticTask:
    fields = dict(dimension=40, matrix="linspace", matrix_params=(0.5, 20.0), matrix_seed=123,
                  target="normal", target_params=(0.5, 1.0), initial="uniform", initial_params=(-1.0, 1.0),
                  grad_noise_std=0.0, loss_scale=0.25, output="identity")
    fields.update(overrides)
    config = QuadraticConfig(**fields)
    config.validate()
    return QuadraticTask("q", config)


def hessian(task):
    root, _ = task.arrays()
    return root.astype(np.float64).T @ root.astype(np.float64)


@pytest.mark.parametrize("matrix,params,expected", [
    ("linspace", (0.5, 20.0), np.linspace(0.5, 20.0, 40)),
    ("logspace", (1e-5, 300.0), np.logspace(-5, math.log10(300.0), 40)),
])
def test_spectral_hessians_have_the_sampled_eigenvalues(matrix, params, expected):
    eigenvalues = np.linalg.eigvalsh(hessian(make(matrix=matrix, matrix_params=params)))
    np.testing.assert_allclose(eigenvalues, expected, rtol=1e-4, atol=1e-4)


def test_uniform_eigenvalues_lie_in_their_range_and_normal_is_wtw_over_d():
    eigenvalues = np.linalg.eigvalsh(hessian(make(matrix="uniform", matrix_params=(0.2, 3.0))))
    assert eigenvalues.min() > 0.2 - 1e-4 and eigenvalues.max() < 3.0 + 1e-4
    assert np.ptp(eigenvalues) > 1.0  # random, not all equal
    h = hessian(make(matrix="normal", matrix_params=(0.3, 1.5)))
    assert np.allclose(h, h.T) and np.linalg.eigvalsh(h).min() > -1e-4
    # H = W^T W / d with entries of W ~ N(0.3, 1.5^2): E[H_ii] = 0.3^2 + 1.5^2.
    assert abs(np.mean(np.diag(h)) - (0.09 + 2.25)) < 0.3


def test_loss_is_zero_at_the_target_and_matches_the_formula():
    task = make()
    root, target = task.arrays()
    at_target = {"x": tf.constant(target)}
    batch = task.sample_batch("train", tf.constant([0, 0], tf.int64))
    assert float(task.loss(at_target, batch)) == pytest.approx(0.0, abs=1e-6)
    x = task.init(3)
    delta = x["x"].numpy().astype(np.float64) - target
    expected = 0.25 * 0.5 * delta @ hessian(task) @ delta
    assert float(task.loss(x, batch)) == pytest.approx(expected, rel=1e-4)
    log_task = make(output="log")
    assert float(log_task.loss(at_target, batch)) == pytest.approx(0.25 * math.log(LOG_EPS), rel=1e-3)
    assert float(log_task.loss(x, batch)) == pytest.approx(0.25 * math.log(expected / 0.25), rel=1e-4)


def test_gradient_noise_changes_the_gradient_not_the_loss():
    quiet, noisy = make(), make(grad_noise_std=0.5)
    params = quiet.init(1)
    seed = tf.constant([4, 9], tf.int64)
    quiet_batch, noisy_batch = quiet.sample_batch("train", seed), noisy.sample_batch("train", seed)
    assert not np.any(quiet_batch["noise"].numpy())
    grads = []
    for task, batch in ((quiet, quiet_batch), (noisy, noisy_batch)):
        with tf.GradientTape() as tape:
            tape.watch(params["x"])
            loss = task.loss(params, batch)
        grads.append((float(loss), tape.gradient(loss, params["x"]).numpy()))
    assert grads[0][0] == grads[1][0]
    np.testing.assert_allclose(grads[1][1] - grads[0][1], 0.25 * noisy_batch["noise"].numpy(), atol=1e-4)
    assert 0.3 < np.std(noisy_batch["noise"].numpy()) < 0.7
    again = noisy.sample_batch("train", seed)["noise"].numpy()
    np.testing.assert_array_equal(again, noisy_batch["noise"].numpy())


def test_problem_is_a_pure_function_of_matrix_seed():
    a, b = quadratic_arrays(make().config), quadratic_arrays(make().config)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    c = quadratic_arrays(make(matrix_seed=124).config)
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[1], c[1])
    # The loss scale and output do not enter the arrays.
    np.testing.assert_array_equal(a[0], quadratic_arrays(make(loss_scale=3.0, output="log").config)[0])


def test_catalogue_is_runnable_and_in_range():
    kinds = set()
    for seed in range(100):
        task = sample_task("quadratic", seed)
        cfg = task.config
        assert task.required_datasets() == () and task.is_runnable()
        assert 2 <= cfg.dimension <= 3000 and 1e-5 <= cfg.loss_scale <= 1e3
        assert cfg.grad_noise_std == 0.0 or 0.01 <= cfg.grad_noise_std <= 1.0
        kinds.add(cfg.matrix)
        cfg.validate()
    assert kinds == {"normal", "linspace", "uniform", "logspace"}
    assert TASK_FAMILIES.get("quadratic").num_seeds == 100


@pytest.mark.parametrize("updates,match", [
    ({"matrix": "wishart"}, "'wishart'"),
    ({"matrix": "linspace", "matrix_params": [-1.0, 3.0]}, "eigenvalues must be >= 0"),
    ({"matrix": "linspace", "matrix_params": [5.0, 3.0]}, "high >= low"),
    ({"target": "normal", "target_params": [0.0, -1.0]}, "std >= 0"),
    ({"initial_params": [1.0]}, "two numbers"),
    ({"output": "sqrt"}, "'sqrt'"),
    ({"loss_scale": 0.0}, "loss_scale"),
])
def test_bad_configs_are_rejected(updates, match):
    data = {**sample_task("quadratic", 2).config_dict, **updates}
    with pytest.raises(ConfigError, match=match):
        task_from_config(data)


def test_descends_under_plain_gradient_steps_in_graph_mode():
    task = make(dimension=300, matrix="logspace", matrix_params=(1e-5, 50.0))
    params = task.init(0)
    batch = task.sample_batch("train", tf.constant([0, 0], tf.int64))

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = task.loss({"x": x}, batch)
        return x - 0.01 / 0.25 * tape.gradient(loss, x), loss

    x, first = step(params["x"])
    for _ in range(20):
        x, last = step(x)
    assert float(last) < 0.5 * float(first)


def test_logspace_spectra_are_the_same_bits_on_every_cpu():
    """Literal values: NumPy's AVX-512 power and log10 round some values one ulp off the C library's."""
    from taskset.tasks.quadratic import spectrum

    assert spectrum("logspace", (1.0, 1000.0), 7, None).tolist() == [
        1.0, 3.1622776601683795, 10.0, 31.622776601683793, 100.0, 316.22776601683796, 1000.0]
