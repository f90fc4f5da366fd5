"""conv_fc: the flattened conv output feeds the dense head with the sizes param_shapes promises."""

from __future__ import annotations

import dataclasses

import pytest
import tensorflow as tf

from taskset.datasets import DATASETS
from taskset.tasks import TASK_FAMILIES, conv
from taskset.tasks.conv_fc import ConvFcTask
from taskset.tasks.image import IMAGE_POOL

INPUT_SHAPES = sorted({DATASETS.get(name).info.feature_shape for name in IMAGE_POOL})
DATASET_OF_SHAPE = {DATASETS.get(name).info.feature_shape: name for name in IMAGE_POOL}


@pytest.mark.parametrize("shape", INPUT_SHAPES)
def test_logits_from_every_pool_shape(shape):
    dataset = DATASET_OF_SHAPE[shape]
    for seed in range(1, 100, 4):
        cfg = TASK_FAMILIES.get("conv_fc").sample_config(seed)
        cfg = dataclasses.replace(cfg, dataset=dataset,
                                  paddings=conv.fit_paddings(shape[:2], cfg.strides, cfg.paddings))
        cfg.validate()
        task = ConvFcTask(f"conv_fc_seed{seed}", cfg)
        params = task.init(0)
        for name, shape_ in task.param_shapes().items():
            assert tuple(params[name].shape) == shape_
        logits = task.logits(params, {"image": tf.zeros((3, *shape))})
        assert tuple(logits.shape) == (3, task.num_classes), (seed, dataset)


def test_head_sizes_and_sampled_ranges():
    depths = set()
    for seed in range(100):
        cfg = TASK_FAMILIES.get("conv_fc").sample_config(seed)
        depths.add(len(cfg.fc_sizes))
        assert all(32 <= h <= 128 for h in cfg.fc_sizes)
        task = ConvFcTask("t", cfg)
        shapes = task.param_shapes()
        flat = 1
        for size in task.conv_output_shape():
            flat *= size
        first = "fc0/w" if cfg.fc_sizes else "logits/w"
        assert shapes[first][0] == flat
        assert shapes["logits/w"][1] == task.num_classes
        assert sum(name.startswith("fc") and name.endswith("/w") for name in shapes) == len(cfg.fc_sizes)
    assert depths == {0, 1, 2, 3}


def test_conv_families_sample_independently():
    a = TASK_FAMILIES.get("conv_fc").sample_config(3)
    b = TASK_FAMILIES.get("conv_pooling").sample_config(3)
    assert (a.dataset, a.channels, a.strides) != (b.dataset, b.channels, b.strides)
