"""`conv_fc`: a conv stack, flattened, then a small MLP classifier (TaskSet's conv_fc family).

Sampled: the conv stack of `taskset.tasks.conv` (dataset from the 2-D image
pool, 1-5 3x3 layers, stride pattern, channels log-int [8, 64], SAME/VALID per
layer with the VALID->SAME fallback, use_bias, activation, initialiser,
center_data, batch size log-int [8, 512]), then 0-3 dense hidden layers of
log-int [32, 128] units. The dense layers always have biases and use the stack's
activation and initialiser (TaskSet's `snt.nets.MLP` defaults); the last dense
layer gives the logits and has no activation.
"""

from __future__ import annotations

import math

from taskset.lazy import tf
from taskset.sampling import field_rng, log_int, uniform_int
from taskset.tasks import nn
from taskset.tasks.base import TaskFamily, frozen_config
from taskset.tasks.catalogue import register_family
from taskset.tasks.conv import ConvStackConfig, ConvStackTask, sample_conv_stack


@frozen_config
class ConvFcConfig(ConvStackConfig):
    fc_sizes: tuple[int, ...]

    def validate(self) -> None:
        super().validate()
        if any(h < 1 for h in self.fc_sizes):
            raise ValueError(f"fc_sizes must be positive, got {self.fc_sizes!r}")


class ConvFcTask(ConvStackTask):
    family = "conv_fc"

    def head_shapes(self) -> dict[str, tuple[int, ...]]:
        sizes = [math.prod(self.conv_output_shape()), *self.config.fc_sizes, self.num_classes]
        shapes = {}
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            name = "logits" if i == len(sizes) - 2 else f"fc{i}"
            shapes[f"{name}/w"] = (fan_in, fan_out)
            shapes[f"{name}/b"] = (fan_out,)
        return shapes

    def head(self, params, features):
        x = tf.reshape(features, [tf.shape(features)[0], -1])
        act = nn.ACTIVATIONS[self.config.activation]
        for i in range(len(self.config.fc_sizes)):
            x = act(nn.dense(x, params[f"fc{i}/w"], params[f"fc{i}/b"]))
        return nn.dense(x, params["logits/w"], params["logits/b"])


class ConvFcFamily(TaskFamily):
    name = "conv_fc"
    config_class = ConvFcConfig
    task_class = ConvFcTask
    description = "conv nets with a dense head: depth, strides, channels, padding, dense widths, dataset"

    def sample_config(self, seed: int) -> ConvFcConfig:
        layers = uniform_int(field_rng(self.name, seed, "num_fc_layers"), 0, 3)
        width_rng = field_rng(self.name, seed, "fc_sizes")
        return ConvFcConfig(**sample_conv_stack(self.name, seed),
                            fc_sizes=tuple(log_int(width_rng, 32, 128) for _ in range(layers)))


register_family(ConvFcFamily())
