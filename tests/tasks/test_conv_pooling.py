"""conv_pooling: stride patterns, the VALID->SAME fallback, output sizes against TensorFlow, pooling."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from taskset.datasets import DATASETS
from taskset.errors import ConfigError
from taskset.tasks import TASK_FAMILIES, sample_task, task_from_config
from taskset.tasks import conv, nn
from taskset.tasks.conv_pooling import ConvPoolingTask
from taskset.tasks.image import IMAGE_POOL

INPUT_SHAPES = sorted({DATASETS.get(name).info.feature_shape for name in IMAGE_POOL})
DATASET_OF_SHAPE = {DATASETS.get(name).info.feature_shape: name for name in IMAGE_POOL}


def test_stride_patterns():
    assert conv.pattern_strides("all_two", 5) == (2, 2, 2, 2, 2)
    assert conv.pattern_strides("one_two", 5) == (1, 2, 1, 2, 1)
    assert conv.pattern_strides("two_one", 3) == (2, 1, 2)
    with pytest.raises(ValueError, match="'three'"):
        conv.pattern_strides("three", 2)


def test_fit_paddings_falls_back_to_same_only_where_valid_collapses():
    # 8 -VALID/2-> 3 -VALID/2-> 1, so the third VALID layer would see 1 < 3 pixels.
    assert conv.fit_paddings((8, 8), (2, 2, 2, 2), ("VALID",) * 4) == ("VALID", "VALID", "SAME", "SAME")
    assert conv.fit_paddings((28, 28), (2, 2, 2), ("VALID",) * 3) == ("VALID",) * 3
    assert conv.stack_output_shape((8, 8, 1), (4, 5, 6), (2, 2, 2), ("VALID", "VALID", "SAME")) == (1, 1, 6)


@pytest.mark.parametrize("shape", INPUT_SHAPES)
def test_sampled_stacks_run_on_every_pool_shape(shape):
    """For many seeds, moved onto each input shape: TF's output matches param_shapes' arithmetic."""
    dataset = DATASET_OF_SHAPE[shape]
    for seed in range(0, 100, 4):
        cfg = TASK_FAMILIES.get("conv_pooling").sample_config(seed)
        paddings = conv.fit_paddings(shape[:2], cfg.strides, cfg.paddings)
        cfg = dataclasses.replace(cfg, dataset=dataset, paddings=paddings)
        cfg.validate()
        task = ConvPoolingTask(f"conv_pooling_seed{seed}", cfg)
        params = task.init(0)
        features = task.features(params, {"image": tf.zeros((2, *shape))})
        expected = task.conv_output_shape()
        assert tuple(features.shape) == (2, *expected) and min(expected) > 0, (seed, dataset)
        assert tuple(task.head(params, features).shape) == (2, task.num_classes)


def test_every_catalogue_config_is_valid_for_its_dataset():
    seen_patterns, pools = set(), set()
    for seed in range(100):
        cfg = TASK_FAMILIES.get("conv_pooling").sample_config(seed)
        cfg.validate()
        shape = DATASETS.get(cfg.dataset).info.feature_shape
        assert min(conv.stack_output_shape(shape, cfg.channels, cfg.strides, cfg.paddings)) > 0
        assert 1 <= len(cfg.channels) <= 5 and all(8 <= c <= 64 for c in cfg.channels)
        assert 8 <= cfg.batch_size <= 512
        seen_patterns.add(cfg.strides[:2])
        pools.add(cfg.pool)
    assert {(2, 2), (1, 2), (2, 1)} <= seen_patterns
    assert pools == set(nn.GLOBAL_POOLS)


def test_collapsing_valid_config_is_rejected_with_a_fix():
    data = sample_task("conv_pooling", 0).config_dict
    data.update(dataset="digits", channels=[8, 8, 8], strides=[2, 2, 2], paddings=["VALID"] * 3)
    with pytest.raises(ConfigError, match=r"\['VALID', 'VALID', 'VALID'\].*'SAME'"):
        task_from_config(data)
    data.update(pool="min")
    data.update(paddings=["VALID", "VALID", "SAME"])
    with pytest.raises(ConfigError, match="'min'"):
        task_from_config(data)


def test_global_pools_against_numpy():
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(nn.global_pool(tf.constant(x), "mean"), x.mean(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(nn.global_pool(tf.constant(x), "max"), x.max(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(nn.global_pool(tf.constant(x), "squared_mean"), (x ** 2).mean(axis=(1, 2)),
                               rtol=1e-5)


def test_use_bias_adds_conv_biases():
    cfg = TASK_FAMILIES.get("conv_pooling").sample_config(0)
    with_bias = ConvPoolingTask("a", dataclasses.replace(cfg, use_bias=True)).param_shapes()
    without = ConvPoolingTask("b", dataclasses.replace(cfg, use_bias=False)).param_shapes()
    assert sorted(set(with_bias) - set(without)) == [f"conv{i}/b" for i in range(len(cfg.channels))]
    assert "logits/b" in without
