"""The convolutional stack shared by `conv_pooling` and `conv_fc` (TaskSet's ConvNet2D part).

A stack is `len(channels)` 3x3 convolutions, each followed by the activation
(TaskSet's `activate_final=True`), with per-layer strides and paddings and an
optional bias. Kernels are HWIO and named `conv<i>/w`, biases `conv<i>/b`.

Stride patterns (TaskSet's, truncated to the number of layers):
  all_two: every layer has stride 2            (2, 2, 2, 2, 2)
  one_two: stride 1 first, then alternating    (1, 2, 1, 2, 1)
  two_one: stride 2 first, then alternating    (2, 1, 2, 1, 2)

Paddings are sampled SAME or VALID per layer. A VALID 3x3 convolution needs an
input at least 3 pixels wide; where the sampled stack would feed a smaller map
to a VALID layer (this happens on the 8x8 `digits`), the sampler records SAME
for that layer instead, so every stored config is valid for its dataset and
`validate` rejects hand-written configs that are not.
"""

from __future__ import annotations

import abc
from typing import Any

from taskset.datasets.base import DATASETS
from taskset.sampling import choice, coin, field_rng, log_int, uniform_int
from taskset.tasks import nn
from taskset.tasks.base import frozen_config
from taskset.tasks.image import IMAGE_POOL, ImageClassifierTask, check_dataset

KERNEL_SIZE = 3
STRIDE_PATTERNS = ("all_two", "one_two", "two_one")
PADDINGS = ("SAME", "VALID")


def pattern_strides(pattern: str, num_layers: int) -> tuple[int, ...]:
    """The per-layer strides of a stride pattern (see the module docstring)."""
    cycles = {"all_two": (2,), "one_two": (1, 2), "two_one": (2, 1)}
    if pattern not in cycles:
        raise ValueError(f"unknown stride pattern {pattern!r}; accepted: {list(STRIDE_PATTERNS)!r}")
    cycle = cycles[pattern]
    return tuple(cycle[i % len(cycle)] for i in range(num_layers))


def fit_paddings(spatial: tuple[int, int], strides: tuple[int, ...],
                 paddings: tuple[str, ...]) -> tuple[str, ...]:
    """`paddings` with VALID replaced by SAME wherever VALID would leave no output pixel."""
    height, width = spatial
    fitted = []
    for stride, padding in zip(strides, paddings):
        if padding == "VALID" and min(height, width) < KERNEL_SIZE:
            padding = "SAME"
        fitted.append(padding)
        height = nn.conv_output_size(height, KERNEL_SIZE, stride, padding)
        width = nn.conv_output_size(width, KERNEL_SIZE, stride, padding)
    return tuple(fitted)


def stack_output_shape(input_shape: tuple[int, int, int], channels: tuple[int, ...],
                       strides: tuple[int, ...], paddings: tuple[str, ...]) -> tuple[int, int, int]:
    """(height, width, channels) after the stack, as TensorFlow computes it."""
    height, width, depth = input_shape
    for out, stride, padding in zip(channels, strides, paddings):
        height = nn.conv_output_size(height, KERNEL_SIZE, stride, padding)
        width = nn.conv_output_size(width, KERNEL_SIZE, stride, padding)
        depth = out
    return height, width, depth


@frozen_config
class ConvStackConfig:
    """Fields shared by the conv families; each family's config adds its head's fields."""

    dataset: str
    channels: tuple[int, ...]
    strides: tuple[int, ...]
    paddings: tuple[str, ...]
    activation: str
    initializer: str
    init_scale: float
    use_bias: bool
    center_data: bool
    batch_size: int

    def validate(self) -> None:
        check_dataset(self.dataset, IMAGE_POOL)
        if not self.channels or any(c < 1 for c in self.channels):
            raise ValueError(f"channels must be positive, got {self.channels!r}")
        if len(self.strides) != len(self.channels) or len(self.paddings) != len(self.channels):
            raise ValueError(f"channels, strides and paddings need one entry per layer, got "
                             f"{self.channels!r}, {self.strides!r}, {self.paddings!r}")
        if any(s < 1 for s in self.strides):
            raise ValueError(f"strides must be >= 1, got {self.strides!r}")
        bad = [p for p in self.paddings if p not in PADDINGS]
        if bad:
            raise ValueError(f"unknown padding {bad[0]!r}; accepted: {list(PADDINGS)!r}")
        if self.activation not in nn.ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; accepted: {sorted(nn.ACTIVATIONS)!r}")
        if self.initializer not in nn.INITIALIZER_POOL:
            raise ValueError(f"unknown initializer {self.initializer!r}; accepted: {list(nn.INITIALIZER_POOL)!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size!r}")
        shape = DATASETS.get(self.dataset).info.feature_shape
        fitted = fit_paddings(shape[:2], self.strides, self.paddings)
        if fitted != self.paddings:
            raise ValueError(f"paddings {list(self.paddings)!r} shrink {self.dataset!r} images of "
                             f"{shape[0]}x{shape[1]} below the {KERNEL_SIZE}x{KERNEL_SIZE} kernel; use SAME "
                             f"for those layers: {list(fitted)!r}")


def sample_conv_stack(family: str, seed: int) -> dict[str, Any]:
    """The `ConvStackConfig` fields of `<family>_seed<seed>`, each from its own generator.

    Sampled (TaskSet's ranges): dataset uniform over `IMAGE_POOL`; 1-5 layers;
    stride pattern uniform; channels log-int [8, 64] per layer; padding SAME or
    VALID per layer (then `fit_paddings`); activation and initialiser from the
    weighted pools; use_bias and center_data fair coins; batch size log-int [8, 512].
    """
    def rng(field):
        return field_rng(family, seed, field)

    dataset = choice(rng("dataset"), IMAGE_POOL)
    layers = uniform_int(rng("num_layers"), 1, 5)
    strides = pattern_strides(choice(rng("stride_pattern"), STRIDE_PATTERNS), layers)
    channel_rng, padding_rng = rng("channels"), rng("paddings")
    paddings = tuple(choice(padding_rng, PADDINGS) for _ in range(layers))
    initializer, scale = nn.sample_initializer(rng("initializer"))
    return dict(
        dataset=dataset,
        channels=tuple(log_int(channel_rng, 8, 64) for _ in range(layers)),
        strides=strides,
        paddings=fit_paddings(DATASETS.get(dataset).info.feature_shape[:2], strides, paddings),
        activation=nn.sample_activation(rng("activation")),
        initializer=initializer,
        init_scale=scale,
        use_bias=coin(rng("use_bias")),
        center_data=coin(rng("center_data")),
        batch_size=log_int(rng("batch_size"), 8, 512),
    )


class ConvStackTask(ImageClassifierTask):
    """A classifier whose body is the conv stack; subclasses add `head_shapes` and `head`."""

    def conv_output_shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of the stack's output."""
        c = self.config
        return stack_output_shape(self.input_shape, c.channels, c.strides, c.paddings)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = {}
        depth = self.input_shape[-1]
        for i, out in enumerate(self.config.channels):
            shapes[f"conv{i}/w"] = (KERNEL_SIZE, KERNEL_SIZE, depth, out)
            if self.config.use_bias:
                shapes[f"conv{i}/b"] = (out,)
            depth = out
        return {**shapes, **self.head_shapes()}

    @abc.abstractmethod
    def head_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of the parameters after the stack (kernels end in "/w", biases in "/b")."""

    @abc.abstractmethod
    def head(self, params, features):
        """Logits [batch, num_classes] from the stack's NHWC output."""

    def init(self, seed: int):
        return nn.init_weights_and_biases(self.param_shapes(), self.config.initializer, self.config.init_scale,
                                          seed)

    def features(self, params, batch):
        """The stack's NHWC output for `batch["image"]`."""
        x = batch["image"]
        act = nn.ACTIVATIONS[self.config.activation]
        for i, (stride, padding) in enumerate(zip(self.config.strides, self.config.paddings)):
            x = act(nn.conv2d(x, params[f"conv{i}/w"], params.get(f"conv{i}/b"), stride, padding))
        return x

    def logits(self, params, batch):
        return self.head(params, self.features(params, batch))
