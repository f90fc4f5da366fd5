"""Schedules, penalties and bias correction against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from taskset.optimizers.moments import bias_correction
from taskset.optimizers.penalties import decayed_weights, penalty_gradient
from taskset.optimizers.schedules import taskset_decay, warmup_constant_cosine


def f32(x):
    return tf.constant(x, tf.float32)


@pytest.mark.parametrize("step,total,ld,ed,expected", [
    (0, 1000, 1e-4, 1e-4, 1.0),
    # s = 5000: exp(-0.5) * (1 - 0.5)
    (500, 1000, 1e-4, 1e-4, 0.5 * 0.6065306597126334),
    # s = 5000 on a 100-step run: exp(-0.05) * (1 - 0.1)
    (50, 100, 2e-5, 1e-5, 0.9 * 0.951229424500714),
    # the linear factor reaches 0 at the end of the run and stays there
    (1000, 1000, 1e-4, 1e-6, 0.0),
    (2000, 1000, 1e-4, 1e-6, 0.0),
])
def test_taskset_decay(step, total, ld, ed, expected):
    assert float(taskset_decay(step, total, f32(ld), f32(ed))) == pytest.approx(expected, rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("step,warmup,constant,min_mult,expected", [
    (0, 0.1, 0.5, 0.1, 0.0),        # warmup starts from 0
    (5, 0.1, 0.5, 0.1, 0.5),        # halfway through the 10 warmup steps
    (10, 0.1, 0.5, 0.1, 1.0),       # warmup done, constant phase
    (50, 0.1, 0.5, 0.1, 1.0),       # last constant step
    (75, 0.1, 0.5, 0.1, 0.55),      # half the cosine: 0.1 + 0.9 * (1 + cos(pi / 2)) / 2
    (100, 0.1, 0.5, 0.1, 0.1),      # the end: min_lr_mult
    (150, 0.1, 0.5, 0.1, 0.1),      # past the end: stays at the floor
    (100, 0.1, 0.5, 0.0, 0.0),      # decay to zero
    (0, 0.0, 0.3, 0.0, 1.0),        # no warmup: full rate at step 0
    (100, 0.0, 1.0, 0.0, 1.0),      # constant_fraction 1: no decay at all
    (2, 0.1, 0.04, 0.2, 0.5),       # warmup capped at the 4 constant steps
    (4, 0.1, 0.04, 0.2, 1.0),
    (52, 0.1, 0.04, 0.2, 0.6),      # (52 - 4) / 96 = half the cosine: 0.2 + 0.8 / 2
    (90, 0.0, 0.0, 0.0, 0.5 * (1 + math.cos(math.pi * 0.9))),
])
def test_warmup_constant_cosine(step, warmup, constant, min_mult, expected):
    value = warmup_constant_cosine(step, 100, f32(warmup), f32(constant), f32(min_mult))
    assert float(value) == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_schedules_take_tensor_steps_and_broadcast_over_stacked_configs():
    step, total = tf.constant(75, tf.int64), tf.constant(100, tf.int32)
    values = warmup_constant_cosine(step, total, f32([0.1, 0.0]), f32([0.5, 1.0]), f32([0.1, 0.3]))
    np.testing.assert_allclose(values.numpy(), [0.55, 1.0], rtol=1e-6)
    decays = taskset_decay(tf.constant(500.0), 1000, f32([1e-4, 0.0]), f32([0.0, 1e-4]))
    np.testing.assert_allclose(decays.numpy(), [0.5, math.exp(-0.5)], rtol=1e-6)


def test_penalty_gradient_and_decoupled_decay():
    p = f32([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(penalty_gradient(p, 0.5, 0.1).numpy(), [-0.5 - 0.2, 0.0, 0.5 + 0.3], rtol=1e-6)
    np.testing.assert_allclose(decayed_weights(p, 0.01).numpy(), [-0.02, 0.0, 0.03], rtol=1e-6)


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.999, 1 - 1e-5, 1 - 1e-6])
def test_bias_correction_is_accurate_for_beta_near_one(beta):
    beta32 = np.float32(beta)
    for t in (1, 2, 10, 100, 1000, 10000):
        exact = 1.0 - float(beta32) ** t if beta else 1.0
        # 1 - beta**t done directly in float32 is ~5e-5 off at beta = 1 - 1e-6, t = 100.
        assert float(bias_correction(f32(beta32), f32(t))) == pytest.approx(exact, rel=1e-6), t
