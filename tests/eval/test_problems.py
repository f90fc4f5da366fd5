"""The evaluation problems: ResNet-50's textbook size, the transformer's by formula, presets, configs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from eval.problems import PROBLEMS, PRESETS, task_from_config
from eval.resnet import ResNet50Config, ResNet50Task, block_plan
from taskset.errors import ConfigError, UnknownNameError
from taskset.tasks import batch_seed
from tests.tasks.fit import adam_steps, fixed_batch, grads_and_loss


def test_resnet50_full_width_has_the_textbook_parameter_count():
    # torchvision's resnet50: conv kernels (no bias), batch norm gamma/beta, fc weights and bias.
    task = ResNet50Task("r", ResNet50Config(dataset="imagenet2012", image_size=224, width_multiplier=1.0,
                                            batch_size=256))
    assert task.num_params == 25_557_032
    shapes = task.param_shapes()
    convs = [name for name in shapes if name.endswith("conv/w")]
    # 49 convolutions on the main path + 4 projection shortcuts; 49 + fc = the "50 layers".
    assert len(convs) == 53 and sum("shortcut" in c for c in convs) == 4
    assert shapes["stem/conv/w"] == (7, 7, 3, 64)
    assert shapes["stage3/block2/c/conv/w"] == (1, 1, 512, 2048)
    assert shapes["fc/w"] == (2048, 1000) and shapes["fc/b"] == (1000,)
    assert [len([p for p in block_plan(1.0) if p[0].startswith(f"stage{s}/")]) for s in range(4)] == [3, 4, 6, 3]


def test_resnet_width_multiplier_scales_every_layer_and_classes_follow_the_dataset():
    task = ResNet50Task("r", ResNet50Config(dataset="mnist5k", image_size=32, width_multiplier=0.125, batch_size=8))
    shapes = task.param_shapes()
    assert shapes["stem/conv/w"] == (7, 7, 3, 8)
    assert shapes["stage0/block0/a/conv/w"] == (1, 1, 8, 8)
    assert shapes["stage3/block0/c/conv/w"] == (1, 1, 64, 256)
    assert shapes["fc/w"] == (256, 10)


def test_resnet_tiny_preset_runs_and_adam_lowers_the_loss():
    task = PROBLEMS.get("resnet50").task("tiny")
    params = task.init(0)
    assert sorted(params) == sorted(task.param_shapes())
    assert all(tuple(params[k].shape) == task.param_shapes()[k] for k in params)
    batch = fixed_batch(task)
    assert batch["image"].shape == (32, 32, 32, 3)  # mnist5k 28x28x1 -> 32x32x3
    assert float(tf.reduce_min(batch["image"])) >= -1.0 and float(tf.reduce_max(batch["image"])) <= 1.0
    loss, grads = grads_and_loss(task, params, batch)
    assert np.isfinite(float(loss)) and all(g is not None for g in grads.values())
    assert float(task.loss(params, batch)) == float(loss)  # pure
    accuracy = float(task.accuracy(params, batch))
    assert 0.0 <= accuracy <= 1.0
    first, last = adam_steps(task, params, batch, steps=8, lr=1e-2)
    assert last < 0.5 * first, (first, last)


def test_transformer_parameter_count_matches_the_formula():
    for preset in PRESETS:
        task = PROBLEMS.get("transformer").task(preset)
        c = task.config
        v, w, t, layers = task.vocab_size, c.width, c.sequence_length, c.num_layers
        # embeddings + learned positions + per layer (QKV, out, 4x MLP, 2 LNs) + final LN + output layer
        expected = v * w + t * w + layers * (12 * w * w + 13 * w) + 2 * w + w * v + v
        assert task.num_params == expected, preset


def test_transformer_tiny_preset_lowers_the_loss():
    task = PROBLEMS.get("transformer").task("tiny")
    params = task.init(0)
    batch = task.sample_batch("train", batch_seed(0, "train", 0))
    first, last = adam_steps(task, params, batch, steps=8, lr=1e-2)
    assert last < first - 0.5, (first, last)


@pytest.mark.parametrize("problem", ["resnet50", "transformer"])
def test_presets_round_trip_through_json_configs(problem):
    for preset in PRESETS:
        task = PROBLEMS.get(problem).task(preset)
        again = task_from_config(json.loads(json.dumps(task.config_dict)), name=task.name)
        assert again.config == task.config and again.param_shapes() == task.param_shapes()


def test_bad_configs_and_names_say_what_is_accepted():
    with pytest.raises(ConfigError, match=r"image_size must be >= 32 \(five stride-2 steps\), got 16"):
        task_from_config({**PROBLEMS.get("resnet50").config("tiny"), "image_size": 16})
    with pytest.raises(ConfigError, match="'digits' is not usable by resnet50; accepted"):
        PROBLEMS.get("resnet50").task("tiny", dataset="digits")
    with pytest.raises(UnknownNameError, match="unknown preset 'huge' of transformer"):
        PROBLEMS.get("transformer").task("huge")
    with pytest.raises(UnknownNameError, match="did you mean 'resnet50'"):
        PROBLEMS.get("resnet5")


def test_imagenet_sets_say_how_to_get_them_without_touching_the_network(tmp_path, monkeypatch):
    from taskset.datasets import DATASETS
    from taskset.datasets.tfds_sets import _is_prepared
    from taskset.errors import DataNotAvailableError

    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    _is_prepared.cache_clear()
    for name, classes in (("imagenette", 10), ("imagenet2012", 1000)):
        dataset = DATASETS.get(name)
        assert dataset.info.num_classes == classes and not dataset.is_available()
        with pytest.raises(DataNotAvailableError, match=f"taskset-bench data prepare {name}"):
            dataset.splits()
    _is_prepared.cache_clear()


def test_center_crop_keeps_the_central_square_of_any_image():
    from eval.datasets import center_crop

    # A 200x300 image, black but for a white middle third: resized to 146x219
    # (shorter side 128 x 256/224), the band covers columns 73-146, i.e. crop
    # columns 28-101 of the central 128, whose edge columns stay black.
    image = np.zeros((200, 300, 3), np.uint8)
    image[:, 100:200] = 255
    out = center_crop(tf.constant(image), 128).numpy()
    assert out.shape == (128, 128, 3) and out.dtype == np.uint8
    assert out[:, 40:88].min() == 255 and out[:, 0].max() < 255 and out[:, -1].max() < 255
