"""mlp_vae: closed-form KL, the likelihoods, the ELBO and its explicit randomness."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from taskset.errors import ConfigError
from taskset.tasks import TASK_FAMILIES, nn, sample_task, task_from_config
from taskset.tasks.mlp_vae import BIN_SIZE, MlpVaeConfig, MlpVaeTask, quantized_normal_log_likelihood
from tests.tasks.fit import fixed_batch


def make(likelihood="quantized_normal", **overrides) -> MlpVaeTask:
    fields = dict(dataset="digits", encoder_sizes=(40, 12), decoder_sizes=(36,), activation="relu",
                  initializer="he_normal", init_scale=1.0, likelihood=likelihood, batch_size=8)
    fields.update(overrides)
    config = MlpVaeConfig(**fields)
    config.validate()
    return MlpVaeTask("vae", config)


def test_kl_matches_closed_form_and_monte_carlo():
    mean = np.array([[1.0, 0.0, -0.5]], np.float32)
    log_std = np.log(np.array([[2.0, 1.0, 0.3]], np.float32))
    expected = sum(0.5 * (m * m + s * s - 1.0) - math.log(s) for m, s in zip([1.0, 0.0, -0.5], [2.0, 1.0, 0.3]))
    kl = float(nn.gaussian_kl_to_standard(tf.constant(mean), tf.constant(log_std))[0])
    assert kl == pytest.approx(expected, rel=1e-6)
    assert kl == pytest.approx(0.5 * 4 - math.log(2.0) + 0.5 * (0.25 + 0.09 - 1) - math.log(0.3), rel=1e-6)
    # Monte Carlo E_q[log q - log p] with 200k samples agrees to ~1%.
    z = mean + np.exp(log_std) * np.random.default_rng(0).standard_normal((200_000, 3))
    mc = np.mean(np.sum(stats.norm.logpdf(z, mean, np.exp(log_std)) - stats.norm.logpdf(z), axis=1))
    assert mc == pytest.approx(expected, rel=0.02)
    assert float(nn.gaussian_kl_to_standard(tf.zeros((1, 5)), tf.zeros((1, 5)))[0]) == 0.0


def test_likelihood_helpers_against_scipy():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(2, 7)).astype(np.float32)
    mean, log_std = rng.normal(size=(2, 7)).astype(np.float32), rng.normal(size=(2, 7)).astype(np.float32) * 0.3
    np.testing.assert_allclose(nn.gaussian_log_density(x, mean, log_std),
                               stats.norm.logpdf(x, mean, np.exp(log_std)), rtol=1e-5)
    logits = rng.normal(size=(2, 7)).astype(np.float32)
    p = 1.0 / (1.0 + np.exp(-logits))
    np.testing.assert_allclose(nn.bernoulli_log_likelihood(logits, x), x * np.log(p) + (1 - x) * np.log(1 - p),
                               rtol=1e-5)
    no_noise = quantized_normal_log_likelihood(x, mean, log_std, tf.zeros_like(x)).numpy()
    np.testing.assert_allclose(no_noise, np.sum(stats.norm.logpdf(x, mean, np.exp(log_std)), axis=1)
                               + 7 * math.log(BIN_SIZE), rtol=1e-5)


@pytest.mark.parametrize("likelihood,out", [("quantized_normal", 128), ("bernoulli", 64)])
def test_param_shapes(likelihood, out):
    shapes = make(likelihood).param_shapes()
    assert shapes == {"encoder0/w": (64, 40), "encoder0/b": (40,), "encoder1/w": (40, 24), "encoder1/b": (24,),
                      "decoder0/w": (12, 36), "decoder0/b": (36,), "decoder1/w": (36, out), "decoder1/b": (out,)}


@pytest.mark.parametrize("likelihood", ["quantized_normal", "bernoulli"])
def test_loss_is_minus_elbo_and_randomness_comes_from_the_batch(likelihood):
    task = make(likelihood)
    params = task.init(0)
    batch = fixed_batch(task)
    log_px, kl = task.elbo_terms(params, batch)
    assert log_px.shape == (8,) and kl.shape == (8,) and np.all(kl.numpy() >= 0)
    loss = float(task.loss(params, batch))
    assert loss == pytest.approx(-float(tf.reduce_mean(log_px - kl)), rel=1e-6)
    assert float(task.loss(params, batch)) == loss
    reseeded = {**batch, "rng": batch["rng"] + tf.constant([0, 1], batch["rng"].dtype)}
    assert float(task.loss(params, reseeded)) != loss
    # Only the sample of z (and the dequantisation noise) differs, not the KL.
    np.testing.assert_allclose(task.elbo_terms(params, reseeded)[1], kl, rtol=1e-6)


def test_sampled_ranges():
    likelihoods = set()
    for seed in range(100):
        cfg = TASK_FAMILIES.get("mlp_vae").sample_config(seed)
        assert 1 <= len(cfg.encoder_sizes) <= 4 and 1 <= len(cfg.decoder_sizes) <= 3
        assert all(32 <= h <= 128 for h in cfg.encoder_sizes + cfg.decoder_sizes)
        likelihoods.add(cfg.likelihood)
    assert likelihoods == {"quantized_normal", "bernoulli"}


def test_bad_config_names_the_value():
    data = {**sample_task("mlp_vae", 0).config_dict, "likelihood": "poisson"}
    with pytest.raises(ConfigError, match="'poisson'"):
        task_from_config(data)
    data = {**sample_task("mlp_vae", 0).config_dict, "decoder_sizes": []}
    with pytest.raises(ConfigError, match="decoder_sizes"):
        task_from_config(data)
