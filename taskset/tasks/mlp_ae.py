"""`mlp_ae`: fully connected auto-encoders on flattened images (TaskSet's mlp_ae family).

Sampled: dataset uniform over the vector pool (every image set plus mnist1d;
examples flattened and mapped to [0, 1] by `taskset.tasks.flat_images`); 1-6
encoder layers of log-int [32, 128] units; activation and initialiser from
TaskSet's weighted pools; output activation (TaskSet's weights) tanh x2,
sigmoid x2, linear_center x1, linear x1; loss l2 x2, l1 x1; reduction mean or
sum; batch size log-int [8, 512] (TaskSet used the dataset's default batch size,
this family samples it like the other image families).

Architecture: the decoder mirrors the encoder. Encoder widths h1..hn, decoder
widths h(n-1)..h1, then a dense layer back to the input size; every hidden
layer (the code layer hn included) applies the activation, the last layer
applies the output activation. Layers are `dense<i>` in order, all with biases.

Targets match the output's range: for tanh and linear_center the data are
centred to [-1, 1] (x * 2 - 1), for sigmoid and linear they stay in [0, 1];
the network reads the same (centred or not) data it reconstructs, as in TaskSet.

Loss: per example, the squared (l2) or absolute (l1) error reduced over the
features by mean or sum; then the mean over the batch.
"""

from __future__ import annotations

from taskset.lazy import tf
from taskset.sampling import choice, field_rng, log_int, uniform_int
from taskset.tasks import nn
from taskset.tasks.base import TaskFamily, frozen_config
from taskset.tasks.catalogue import register_family
from taskset.tasks.flat_images import FlatImageTask
from taskset.tasks.image import VECTOR_POOL, check_dataset

OUTPUT_ACTIVATIONS = ("tanh", "sigmoid", "linear_center", "linear")
OUTPUT_WEIGHTS = (2, 2, 1, 1)
CENTERED_OUTPUTS = frozenset({"tanh", "linear_center"})
LOSSES = ("l2", "l1")
LOSS_WEIGHTS = (2, 1)
REDUCTIONS = ("mean", "sum")


@frozen_config
class MlpAeConfig:
    dataset: str
    hidden_sizes: tuple[int, ...]
    activation: str
    initializer: str
    init_scale: float
    output_activation: str
    loss: str
    reduction: str
    batch_size: int

    def validate(self) -> None:
        check_dataset(self.dataset, VECTOR_POOL)
        if not self.hidden_sizes or any(h < 1 for h in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must be positive, got {self.hidden_sizes!r}")
        if self.activation not in nn.ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; accepted: {sorted(nn.ACTIVATIONS)!r}")
        if self.initializer not in nn.INITIALIZER_POOL:
            raise ValueError(f"unknown initializer {self.initializer!r}; accepted: {list(nn.INITIALIZER_POOL)!r}")
        if self.output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"unknown output_activation {self.output_activation!r}; "
                             f"accepted: {list(OUTPUT_ACTIVATIONS)!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; accepted: {list(LOSSES)!r}")
        if self.reduction not in REDUCTIONS:
            raise ValueError(f"unknown reduction {self.reduction!r}; accepted: {list(REDUCTIONS)!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size!r}")


def output_activation(name: str, x):
    """Applies the auto-encoder's output activation `name` to pre-activations `x`."""
    if name == "tanh":
        return tf.tanh(x)
    if name == "sigmoid":
        return tf.sigmoid(x)
    return x


class MlpAeTask(FlatImageTask):
    family = "mlp_ae"

    def layer_sizes(self) -> list[int]:
        """Widths from the input through the code layer and the mirrored decoder to the output."""
        encoder = list(self.config.hidden_sizes)
        return [self.input_size, *encoder, *reversed(encoder[:-1]), self.input_size]

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        sizes = self.layer_sizes()
        shapes = {}
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            shapes[f"dense{i}/w"] = (fan_in, fan_out)
            shapes[f"dense{i}/b"] = (fan_out,)
        return shapes

    def init(self, seed: int):
        return nn.init_weights_and_biases(self.param_shapes(), self.config.initializer, self.config.init_scale,
                                          seed)

    def targets(self, batch):
        """The data in the output's range: [-1, 1] for centred outputs, else [0, 1]."""
        x = batch["image"]
        return x * 2.0 - 1.0 if self.config.output_activation in CENTERED_OUTPUTS else x

    def reconstruct(self, params, x):
        """The auto-encoder's output for inputs `x` (already in the target range)."""
        act = nn.ACTIVATIONS[self.config.activation]
        last = len(self.layer_sizes()) - 2
        for i in range(last):
            x = act(nn.dense(x, params[f"dense{i}/w"], params[f"dense{i}/b"]))
        return output_activation(self.config.output_activation,
                                 nn.dense(x, params[f"dense{last}/w"], params[f"dense{last}/b"]))

    def loss(self, params, batch):
        target = self.targets(batch)
        error = self.reconstruct(params, target) - target
        error = tf.square(error) if self.config.loss == "l2" else tf.abs(error)
        reduce = tf.reduce_mean if self.config.reduction == "mean" else tf.reduce_sum
        return tf.reduce_mean(reduce(error, axis=1))


class MlpAeFamily(TaskFamily):
    name = "mlp_ae"
    config_class = MlpAeConfig
    task_class = MlpAeTask
    description = "MLP auto-encoders: depth, widths, activation, output range, l1/l2 loss, reduction, dataset"

    def sample_config(self, seed: int) -> MlpAeConfig:
        def rng(field):
            return field_rng(self.name, seed, field)

        layers = uniform_int(rng("num_layers"), 1, 6)
        width_rng = rng("hidden_sizes")
        initializer, scale = nn.sample_initializer(rng("initializer"))
        return MlpAeConfig(
            dataset=choice(rng("dataset"), VECTOR_POOL),
            hidden_sizes=tuple(log_int(width_rng, 32, 128) for _ in range(layers)),
            activation=nn.sample_activation(rng("activation")),
            initializer=initializer,
            init_scale=scale,
            output_activation=choice(rng("output_activation"), OUTPUT_ACTIVATIONS, OUTPUT_WEIGHTS),
            loss=choice(rng("loss"), LOSSES, LOSS_WEIGHTS),
            reduction=choice(rng("reduction"), REDUCTIONS),
            batch_size=log_int(rng("batch_size"), 8, 512),
        )


register_family(MlpAeFamily())
