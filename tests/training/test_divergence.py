"""The divergence rule and the freezing helpers."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from taskset.training.divergence import divergence_limit, freeze, has_diverged, loss_diverged, nan_after


def test_limit_is_a_million_times_the_initial_loss():
    assert divergence_limit(2.5) == 2.5e6
    assert divergence_limit(-3.0) == 3e6
    assert divergence_limit(0.0) == math.inf
    assert math.isnan(divergence_limit(float("nan"))) and math.isnan(divergence_limit(float("inf")))


def test_loss_diverged_agrees_with_has_diverged():
    limit = divergence_limit(2.0)
    for loss in (1.0, 2e6, 2.1e6, float("nan"), float("inf"), -float("inf")):
        assert loss_diverged(loss, limit) == bool(has_diverged(tf.constant(loss), limit).numpy()), loss
    assert loss_diverged(1.0, divergence_limit(float("inf")))


def test_has_diverged():
    losses = tf.constant([1.0, 2e6, 3e6, float("nan"), float("inf"), -float("inf")])
    assert has_diverged(losses, 2e6).numpy().tolist() == [False, False, True, True, True, True]
    assert has_diverged(tf.constant(1.0), float("nan")).numpy()
    assert not has_diverged(tf.constant(1e30), math.inf).numpy()


def test_freeze_keeps_old_values_of_frozen_members():
    new, old = {"a": tf.constant([1.0, 2.0]), "b": (tf.constant(3),)}, {"a": tf.constant([5.0, 6.0]), "b": (tf.constant(7),)}
    kept = freeze(tf.constant(False), new, old)
    assert kept["a"].numpy().tolist() == [5.0, 6.0] and int(kept["b"][0]) == 7
    assert freeze(tf.constant(True), new, old)["a"].numpy().tolist() == [1.0, 2.0]


def test_nan_after():
    steps = np.array([0, 5, 10, 15])
    values = np.array([4.0, 3.0, 2.0, 1.0], np.float32)
    np.testing.assert_array_equal(nan_after(values, steps, 10), [4.0, 3.0, np.nan, np.nan])
    np.testing.assert_array_equal(nan_after(values, steps, None), values)
    assert values[3] == 1.0  # a copy
