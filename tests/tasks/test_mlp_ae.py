"""mlp_ae: mirrored layer sizes, data and output ranges, and the loss formula."""

from __future__ import annotations


import numpy as np
import pytest
import tensorflow as tf

from taskset.datasets import DATASETS
from taskset.errors import ConfigError
from taskset.tasks import TASK_FAMILIES, sample_task, task_from_config
from taskset.tasks.flat_images import value_range
from taskset.tasks.mlp_ae import OUTPUT_ACTIVATIONS, MlpAeConfig, MlpAeTask
from tests.tasks.fit import fixed_batch


def make(dataset="digits", **overrides) -> MlpAeTask:
    fields = dict(dataset=dataset, hidden_sizes=(48, 32, 40), activation="tanh", initializer="glorot_uniform",
                  init_scale=1.0, output_activation="sigmoid", loss="l2", reduction="mean", batch_size=16)
    fields.update(overrides)
    config = MlpAeConfig(**fields)
    config.validate()
    return MlpAeTask("ae", config)


def test_decoder_mirrors_the_encoder():
    assert make().layer_sizes() == [64, 48, 32, 40, 32, 48, 64]
    assert make(hidden_sizes=(33,)).layer_sizes() == [64, 33, 64]
    shapes = make().param_shapes()
    assert shapes["dense0/w"] == (64, 48) and shapes["dense5/w"] == (48, 64) and len(shapes) == 12


@pytest.mark.parametrize("dataset", ["digits", "mnist1d"])
def test_batches_are_in_unit_range(dataset):
    x = fixed_batch(make(dataset)).get("image").numpy()
    assert x.shape == (16, 64 if dataset == "digits" else 40)
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.5
    if dataset == "mnist1d":
        train = DATASETS.get("mnist1d").splits()["train"]["image"]
        assert value_range("mnist1d") == (float(train.min()), float(train.max()))


@pytest.mark.parametrize("output", OUTPUT_ACTIVATIONS)
def test_targets_and_outputs_share_a_range(output):
    task = make(output_activation=output, init_scale=1.0)
    batch = fixed_batch(task)
    target = task.targets(batch).numpy()
    centred = output in ("tanh", "linear_center")
    assert target.min() >= (-1.0 if centred else 0.0) and target.max() <= 1.0
    assert (target.min() < 0) == centred
    # Large weights push pre-activations far out: bounded outputs must stay in range.
    params = {k: v * 30.0 for k, v in task.init(0).items()}
    out = task.reconstruct(params, task.targets(batch)).numpy()
    if output == "tanh":
        assert out.min() >= -1.0 and out.max() <= 1.0
    elif output == "sigmoid":
        assert out.min() >= 0.0 and out.max() <= 1.0
    else:
        assert np.abs(out).max() > 1.0


@pytest.mark.parametrize("loss,reduction", [("l2", "mean"), ("l2", "sum"), ("l1", "mean"), ("l1", "sum")])
def test_loss_formula(loss, reduction):
    task = make(loss=loss, reduction=reduction, output_activation="linear")
    params = task.init(2)
    batch = fixed_batch(task)
    x = batch["image"].numpy()
    error = task.reconstruct(params, tf.constant(x)).numpy() - x
    error = error ** 2 if loss == "l2" else np.abs(error)
    per_example = error.mean(axis=1) if reduction == "mean" else error.sum(axis=1)
    assert float(task.loss(params, batch)) == pytest.approx(per_example.mean(), rel=1e-5)


def test_sampled_configs_cover_the_choices():
    seen = {"output_activation": set(), "loss": set(), "reduction": set(), "depth": set()}
    for seed in range(100):
        cfg = TASK_FAMILIES.get("mlp_ae").sample_config(seed)
        assert all(32 <= h <= 128 for h in cfg.hidden_sizes) and 8 <= cfg.batch_size <= 512
        seen["output_activation"].add(cfg.output_activation)
        seen["loss"].add(cfg.loss)
        seen["reduction"].add(cfg.reduction)
        seen["depth"].add(len(cfg.hidden_sizes))
    assert seen == {"output_activation": set(OUTPUT_ACTIVATIONS), "loss": {"l1", "l2"},
                    "reduction": {"mean", "sum"}, "depth": {1, 2, 3, 4, 5, 6}}


def test_bad_config_names_the_value():
    data = {**sample_task("mlp_ae", 0).config_dict, "loss": "huber"}
    with pytest.raises(ConfigError, match="'huber'.*'l2'"):
        task_from_config(data)
    data = {**sample_task("mlp_ae", 0).config_dict, "dataset": "lm1b"}
    with pytest.raises(ConfigError, match="'lm1b'"):
        task_from_config(data)
