"""transformer_lm: causal masking, width rounding, positions, parameter layout."""

import math

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

from taskset.errors import ConfigError
from taskset.tasks import TASK_FAMILIES, task_from_config
from taskset.tasks.transformer_lm import round_width, sinusoidal_positions


def make_task(**overrides):
    config = {"family": "transformer_lm", "dataset": "shakespeare_words", "num_layers": 2, "width": 24,
              "num_heads": 3, "sequence_length": 10, "positions": "learned", "batch_size": 2, **overrides}
    return task_from_config(config)


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_a_later_token_never_changes_an_earlier_prediction(positions):
    task = make_task(positions=positions)
    params = task.init(0)
    # Random params, not the init, so attention is far from uniform.
    params = {k: v + 0.3 * tf.random.stateless_normal(v.shape, [1, i]) for i, (k, v) in enumerate(params.items())}
    inputs = np.random.default_rng(0).integers(3, 500, size=(2, 10)).astype(np.int32)
    base = task.logits(params, tf.constant(inputs)).numpy()
    for t in (0, 4, 9):
        changed = inputs.copy()
        changed[:, t] = (changed[:, t] + 17) % 500 + 3
        logits = task.logits(params, tf.constant(changed)).numpy()
        np.testing.assert_allclose(logits[:, :t], base[:, :t], atol=1e-5)
        assert np.abs(logits[:, t:] - base[:, t:]).max(axis=-1).min() > 1e-6


@given(width=st.integers(32, 256), heads=st.integers(1, 8))
def test_round_width_gives_a_multiple_of_heads_in_range(width, heads):
    rounded = round_width(width, heads)
    assert rounded % heads == 0 and 32 <= rounded <= 256 and abs(rounded - width) <= heads


def test_sampled_configs_are_valid():
    family = TASK_FAMILIES.get("transformer_lm")
    configs = [family.sample_config(seed) for seed in range(100)]
    assert all(c.width % c.num_heads == 0 for c in configs)
    assert {c.num_heads for c in configs} == set(range(1, 9)) and {c.num_layers for c in configs} == {1, 2, 3, 4}
    assert {c.dataset.endswith("words") for c in configs} == {True, False}


def test_sinusoidal_positions():
    table = sinusoidal_positions(5, 7).numpy()
    assert table.shape == (5, 7)
    np.testing.assert_allclose(table[0], [0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(table[3, 0], math.sin(3.0), rtol=1e-6)


def test_parameter_layout_and_validation():
    task = make_task()
    w, v, t = 24, task.vocab_size, 10
    per_layer = 2 * w + 3 * w * w + 3 * w + w * w + w + 2 * w + 4 * w * w + 4 * w + 4 * w * w + w
    assert task.num_params == v * w + t * w + 2 * per_layer + 2 * w + w * v + v
    assert "pos/table" not in make_task(positions="sinusoidal").param_shapes()
    with pytest.raises(ConfigError, match="width 25 is not divisible by num_heads 3"):
        make_task(width=25)
    with pytest.raises(ConfigError, match="dataset 'mnist' is not usable here"):
        make_task(dataset="mnist")
