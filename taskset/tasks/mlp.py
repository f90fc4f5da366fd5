"""`mlp`: fully connected classifiers on flattened images (TaskSet's mlp family).

Sampled: 1-6 hidden layers of log-int [16, 128] units, activation and
initialiser from TaskSet's weighted pools, center_data, batch size log-int
[8, 512], dataset from the image pool. Fixed tasks may add `dropout` and a
`normalization` ("layer_norm" or "batch_norm", applied before the activation).
"""

from __future__ import annotations

import math

from taskset.lazy import tf
from taskset.sampling import choice, coin, field_rng, log_int, uniform_int
from taskset.tasks import nn
from taskset.tasks.base import TaskFamily, frozen_config
from taskset.tasks.catalogue import register_family
from taskset.tasks.image import VECTOR_POOL, ImageClassifierTask, check_dataset

NORMALIZATIONS = ("none", "layer_norm", "batch_norm")


@frozen_config
class MlpConfig:
    dataset: str
    hidden_sizes: tuple[int, ...]
    activation: str
    initializer: str
    init_scale: float
    center_data: bool
    batch_size: int
    dropout: float = 0.0
    normalization: str = "none"

    def validate(self) -> None:
        check_dataset(self.dataset, VECTOR_POOL)
        if not self.hidden_sizes or any(h < 1 for h in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must be positive, got {self.hidden_sizes!r}")
        if self.activation not in nn.ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; accepted: {sorted(nn.ACTIVATIONS)!r}")
        if self.initializer not in nn.INITIALIZER_POOL:
            raise ValueError(f"unknown initializer {self.initializer!r}; accepted: {list(nn.INITIALIZER_POOL)!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"unknown normalization {self.normalization!r}; accepted: {list(NORMALIZATIONS)!r}")


class MlpTask(ImageClassifierTask):
    family = "mlp"

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        sizes = [math.prod(self.input_shape), *self.config.hidden_sizes, self.num_classes]
        shapes = {}
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            shapes[f"dense{i}/w"] = (fan_in, fan_out)
            shapes[f"dense{i}/b"] = (fan_out,)
            if self.config.normalization != "none" and i < len(sizes) - 2:
                shapes[f"norm{i}/gain"] = (fan_out,)
        return shapes

    def init(self, seed: int):
        params = {}
        for name, shape in self.param_shapes().items():
            if name.endswith("/w"):
                params[name] = nn.initialize(self.config.initializer, shape, nn.param_seed(seed, name),
                                             self.config.init_scale)
            elif name.endswith("/gain"):
                params[name] = tf.ones(shape)
            else:
                params[name] = tf.zeros(shape)
        return params

    def logits(self, params, batch):
        x = tf.reshape(batch["image"], [tf.shape(batch["image"])[0], -1])
        act = nn.ACTIVATIONS[self.config.activation]
        layers = len(self.config.hidden_sizes)
        for i in range(layers):
            x = nn.dense(x, params[f"dense{i}/w"], params[f"dense{i}/b"])
            if self.config.normalization == "layer_norm":
                x = nn.layer_norm(x, params[f"norm{i}/gain"], 0.0)
            elif self.config.normalization == "batch_norm":
                x = nn.batch_norm(x, params[f"norm{i}/gain"], 0.0)
            x = act(x)
            if self.config.dropout:
                x = nn.dropout(x, self.config.dropout, batch["rng"] + [0, 1_000_003 * (i + 1)])
        return nn.dense(x, params[f"dense{layers}/w"], params[f"dense{layers}/b"])


class MlpFamily(TaskFamily):
    name = "mlp"
    config_class = MlpConfig
    task_class = MlpTask
    description = "fully connected classifiers: depth, widths, activation, initialiser, batch size, dataset"

    def sample_config(self, seed: int) -> MlpConfig:
        def rng(field):
            return field_rng(self.name, seed, field)

        layers = uniform_int(rng("num_layers"), 1, 6)
        width_rng = rng("hidden_sizes")
        initializer, scale = nn.sample_initializer(rng("initializer"))
        return MlpConfig(
            dataset=choice(rng("dataset"), VECTOR_POOL),
            hidden_sizes=tuple(log_int(width_rng, 16, 128) for _ in range(layers)),
            activation=nn.sample_activation(rng("activation")),
            initializer=initializer,
            init_scale=scale,
            center_data=coin(rng("center_data")),
            batch_size=log_int(rng("batch_size"), 8, 512),
        )


register_family(MlpFamily())
