"""The XLA rule reads convolution cost from the traced loss graph."""

from __future__ import annotations

import pytest

from taskset import get_task, task_from_config
from taskset.training.compile_rule import CONV_MACS_LIMIT, conv_macs, use_xla

CONV = {"family": "conv_pooling", "channels": [32, 32, 32], "strides": [1, 2, 1], "paddings": ["SAME"] * 3,
        "activation": "relu", "initializer": "glorot_uniform", "init_scale": 1.0, "use_bias": True, "pool": "mean",
        "center_data": True}


def test_mlp_has_no_convolutions_and_uses_xla():
    task = get_task("mlp_seed23")
    assert conv_macs(task) == 0 and use_xla(task)


def test_small_conv_net_uses_xla():
    task = task_from_config({**CONV, "dataset": "digits", "batch_size": 64})
    # 8x8x32 outputs over 3x3x1 windows, then 4x4x32 twice over 3x3x32 windows, per example.
    assert conv_macs(task) == 64 * (8 * 8 * 32 * 9 + 2 * 4 * 4 * 32 * 9 * 32)
    assert use_xla(task)


def test_large_conv_net_runs_without_xla():
    task = task_from_config({**CONV, "dataset": "mnist5k", "batch_size": 128, "strides": [2, 1, 2]})
    assert conv_macs(task) > CONV_MACS_LIMIT and not use_xla(task)


def test_recurrent_tasks_use_xla():
    task = get_task("char_rnn_lm_seed0")
    if not task.is_runnable():
        pytest.skip(f"{task.name} needs data that is not here")
    assert use_xla(task)
