"""`conv_pooling`: a conv stack, a global pool, then a linear classifier (TaskSet's conv_pooling family).

Sampled: the conv stack of `taskset.tasks.conv` (dataset from the 2-D image
pool, 1-5 3x3 layers, stride pattern, channels log-int [8, 64], SAME/VALID per
layer with the VALID->SAME fallback, use_bias, activation, initialiser,
center_data, batch size log-int [8, 512]) and the global pool over height and
width, uniform over mean, max and squared_mean (the mean of the squared
activations). The classifier is a dense layer with bias, drawn from the same
initialiser as the convolutions (as in TaskSet).
"""

from __future__ import annotations

from taskset.sampling import choice, field_rng
from taskset.tasks import nn
from taskset.tasks.base import TaskFamily, frozen_config
from taskset.tasks.catalogue import register_family
from taskset.tasks.conv import ConvStackConfig, ConvStackTask, sample_conv_stack


@frozen_config
class ConvPoolingConfig(ConvStackConfig):
    pool: str

    def validate(self) -> None:
        super().validate()
        if self.pool not in nn.GLOBAL_POOLS:
            raise ValueError(f"unknown pool {self.pool!r}; accepted: {list(nn.GLOBAL_POOLS)!r}")


class ConvPoolingTask(ConvStackTask):
    family = "conv_pooling"

    def head_shapes(self) -> dict[str, tuple[int, ...]]:
        depth = self.config.channels[-1]
        return {"logits/w": (depth, self.num_classes), "logits/b": (self.num_classes,)}

    def head(self, params, features):
        return nn.dense(nn.global_pool(features, self.config.pool), params["logits/w"], params["logits/b"])


class ConvPoolingFamily(TaskFamily):
    name = "conv_pooling"
    config_class = ConvPoolingConfig
    task_class = ConvPoolingTask
    description = "conv nets with global pooling: depth, strides, channels, padding, pool, activation, dataset"

    def sample_config(self, seed: int) -> ConvPoolingConfig:
        return ConvPoolingConfig(**sample_conv_stack(self.name, seed),
                                 pool=choice(field_rng(self.name, seed, "pool"), nn.GLOBAL_POOLS))


register_family(ConvPoolingFamily())
