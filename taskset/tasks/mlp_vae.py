"""`mlp_vae`: fully connected variational auto-encoders on flattened images (TaskSet's mlp_vae family).

Sampled: dataset uniform over the vector pool (examples flattened and mapped to
[0, 1] by `taskset.tasks.flat_images`); 1-4 encoder and 1-3 decoder layers of
log-int [32, 128] units; activation and initialiser from TaskSet's weighted
pools; likelihood quantized_normal or bernoulli (fair coin); batch size log-int
[8, 512] (TaskSet used the dataset's default batch size).

Model (TaskSet's layout): the latent size is the last encoder width L. The
encoder's hidden layers are all encoder widths but the last, each followed by
the activation; a final dense layer gives 2L outputs, the mean and log standard
deviation of q(z|x) = N(mean, std^2). The prior is N(0, I); the KL term is the
closed form (`nn.gaussian_kl_to_standard`). One reparameterised sample
z = mean + std * eps is decoded by the decoder's hidden layers (with the
activation) and a final dense layer into the likelihood's parameters:

- quantized_normal (TaskSet's QuantizedNormal, our reading of it): 2D outputs,
  a per-pixel mean and log std, both clipped to [-10, 10] as in TaskSet;
  log p(x|z) = sum_pixels [log N(x + u; mean, std^2) + log(1/255)], with
  dequantisation noise u ~ U(-1/510, 1/510) per pixel. This is the continuous
  density of the dequantised pixel times the bin width 1/255, i.e. a one-sample
  estimate of the Gaussian's mass on the pixel's bin, not the exact integral.
- bernoulli: D logits; log p(x|z) = sum_pixels [x log p + (1 - x) log(1 - p)],
  used with the continuous intensities in [0, 1] as targets (the common
  practice; it is not a normalised density for non-binary x).

Loss: -ELBO per example, -(log p(x|z) - KL(q(z|x) || p(z))), averaged over the
batch. Randomness (eps, u) comes from `batch["rng"]`, folded with fixed
constants into separate stateless seeds, so the loss is a pure function.
Parameters: `encoder<i>/{w,b}` and `decoder<i>/{w,b}`, all layers with biases.
"""

from __future__ import annotations

import math

from taskset.lazy import tf
from taskset.sampling import choice, field_rng, log_int, uniform_int
from taskset.tasks import nn
from taskset.tasks.base import TaskFamily, frozen_config
from taskset.tasks.catalogue import register_family
from taskset.tasks.flat_images import FlatImageTask
from taskset.tasks.image import VECTOR_POOL, check_dataset

LIKELIHOODS = ("quantized_normal", "bernoulli")
BIN_SIZE = 1.0 / 255.0
DECODER_CLIP = 10.0
_LATENT_NOISE, _DEQUANTISATION_NOISE = 1, 2  # fold-in constants separating the two noise streams


@frozen_config
class MlpVaeConfig:
    dataset: str
    encoder_sizes: tuple[int, ...]
    decoder_sizes: tuple[int, ...]
    activation: str
    initializer: str
    init_scale: float
    likelihood: str
    batch_size: int

    def validate(self) -> None:
        check_dataset(self.dataset, VECTOR_POOL)
        for field in ("encoder_sizes", "decoder_sizes"):
            sizes = getattr(self, field)
            if not sizes or any(h < 1 for h in sizes):
                raise ValueError(f"{field} must be a non-empty list of positive widths, got {sizes!r}")
        if self.activation not in nn.ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; accepted: {sorted(nn.ACTIVATIONS)!r}")
        if self.initializer not in nn.INITIALIZER_POOL:
            raise ValueError(f"unknown initializer {self.initializer!r}; accepted: {list(nn.INITIALIZER_POOL)!r}")
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {self.likelihood!r}; accepted: {list(LIKELIHOODS)!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size!r}")


def quantized_normal_log_likelihood(x, mean, log_std, noise):
    """Per-example log-likelihood of pixels `x` under TaskSet's quantised normal.

    Args:
      x: [batch, D] pixels in [0, 1].
      mean, log_std: [batch, D] parameters of the per-pixel Gaussian.
      noise: [batch, D] dequantisation noise, uniform in [-BIN_SIZE/2, BIN_SIZE/2].

    Returns:
      [batch] sums over pixels of log N(x + noise; mean, std^2) + log BIN_SIZE.
    """
    return tf.reduce_sum(nn.gaussian_log_density(x + noise, mean, log_std) + math.log(BIN_SIZE), axis=-1)


class MlpVaeTask(FlatImageTask):
    family = "mlp_vae"

    @property
    def latent_size(self) -> int:
        return self.config.encoder_sizes[-1]

    def _stack_sizes(self) -> dict[str, list[int]]:
        out = self.input_size * (2 if self.config.likelihood == "quantized_normal" else 1)
        return {"encoder": [self.input_size, *self.config.encoder_sizes[:-1], 2 * self.latent_size],
                "decoder": [self.latent_size, *self.config.decoder_sizes, out]}

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = {}
        for stack, sizes in self._stack_sizes().items():
            for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
                shapes[f"{stack}{i}/w"] = (fan_in, fan_out)
                shapes[f"{stack}{i}/b"] = (fan_out,)
        return shapes

    def init(self, seed: int):
        return nn.init_weights_and_biases(self.param_shapes(), self.config.initializer, self.config.init_scale,
                                          seed)

    def _mlp(self, params, stack: str, x):
        act = nn.ACTIVATIONS[self.config.activation]
        last = len(self._stack_sizes()[stack]) - 2
        for i in range(last):
            x = act(nn.dense(x, params[f"{stack}{i}/w"], params[f"{stack}{i}/b"]))
        return nn.dense(x, params[f"{stack}{last}/w"], params[f"{stack}{last}/b"])

    def encode(self, params, x):
        """(mean, log_std) of q(z|x), each [batch, latent_size]."""
        out = self._mlp(params, "encoder", x)
        return out[:, :self.latent_size], out[:, self.latent_size:]

    def elbo_terms(self, params, batch):
        """(log p(x|z), KL(q(z|x) || N(0, I))), each [batch], for one sample z per example."""
        x = batch["image"]
        mean, log_std = self.encode(params, x)
        eps = tf.random.stateless_normal(tf.shape(mean), self._seed(batch, _LATENT_NOISE))
        decoded = self._mlp(params, "decoder", mean + tf.exp(log_std) * eps)
        if self.config.likelihood == "bernoulli":
            log_px = tf.reduce_sum(nn.bernoulli_log_likelihood(decoded, x), axis=-1)
        else:
            decoded = tf.clip_by_value(decoded, -DECODER_CLIP, DECODER_CLIP)
            noise = tf.random.stateless_uniform(tf.shape(x), self._seed(batch, _DEQUANTISATION_NOISE),
                                                -0.5 * BIN_SIZE, 0.5 * BIN_SIZE)
            log_px = quantized_normal_log_likelihood(x, decoded[:, :self.input_size],
                                                     decoded[:, self.input_size:], noise)
        return log_px, nn.gaussian_kl_to_standard(mean, log_std)

    def loss(self, params, batch):
        log_px, kl = self.elbo_terms(params, batch)
        return -tf.reduce_mean(log_px - kl)

    @staticmethod
    def _seed(batch, stream: int):
        return tf.random.experimental.stateless_fold_in(tf.cast(batch["rng"], tf.int64), stream)


class MlpVaeFamily(TaskFamily):
    name = "mlp_vae"
    config_class = MlpVaeConfig
    task_class = MlpVaeTask
    description = "MLP VAEs: encoder/decoder depth and widths, activation, likelihood, dataset"

    def sample_config(self, seed: int) -> MlpVaeConfig:
        def rng(field):
            return field_rng(self.name, seed, field)

        width_rng = rng("widths")
        encoder_layers = uniform_int(rng("num_encoder_layers"), 1, 4)
        decoder_layers = uniform_int(rng("num_decoder_layers"), 1, 3)
        initializer, scale = nn.sample_initializer(rng("initializer"))
        return MlpVaeConfig(
            dataset=choice(rng("dataset"), VECTOR_POOL),
            encoder_sizes=tuple(log_int(width_rng, 32, 128) for _ in range(encoder_layers)),
            decoder_sizes=tuple(log_int(width_rng, 32, 128) for _ in range(decoder_layers)),
            activation=nn.sample_activation(rng("activation")),
            initializer=initializer,
            init_scale=scale,
            likelihood=choice(rng("likelihood"), LIKELIHOODS),
            batch_size=log_int(rng("batch_size"), 8, 512),
        )


register_family(MlpVaeFamily())
