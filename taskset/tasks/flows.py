"""Normalising flows on plain TF ops, and the shared task of the `nvp` and `maf` families.

Direction convention: `forward` maps data to the base (noise) space and returns the
per-example log |det d forward / d input|, which is what a likelihood needs:
log p(x) = log N(forward(x); 0, I) + log_det. `inverse` maps base samples back to data.

Pieces (all pure functions of tensors):
- affine coupling (RealNVP, Dinh et al. 2017): the first `num_masked` inputs pass
  through and condition a shift and log-scale for the rest;
- masked autoregressive transform (MAF, Papamakarios et al. 2017): every input is
  shifted and scaled by a MADE network (Germain et al. 2015) of the inputs before it;
- fixed permutations between bijectors, and the data preprocessing (logit or affine).

Stabilisation: every log-scale is bounded, s = B tanh(raw / B) with B =
`LOG_SCALE_BOUND`, so one bijector rescales a dimension by at most e^B. The bound
keeps the loss finite for any initialiser in TaskSet's pool while behaving like
the unbounded raw value near zero (the gradient of s at raw = 0 is 1). Shifts are
not bounded, and every conditioner layer, the output layer included, takes the
sampled initialiser as in TaskSet (no zero-initialised identity start), so initial
losses vary widely across configs: 3 to 2,000 nats per dimension on `digits`.

The task: pixels are dequantised, x = (k + u) / L for the integer level k, L levels
per pixel (256 for uint8 images, 17 for `digits`) and u ~ U[0, 1) drawn from the
batch's stateless seed; x is preprocessed, sent through the flow, and the loss is
the mean over the batch of the negative log-likelihood in nats per dimension of the
discrete pixels, -log p(x) / D + log L (the dequantisation bound of Theis et al.
2016 on -log P(k) / D; a uniform model scores log L). The preprocessing log-det is
counted, so "logit" and "affine" tasks report comparable numbers.

References: arXiv 1605.08803 (RealNVP), 1705.07057 (MAF), 1502.03509 (MADE).
"""

from __future__ import annotations

import abc
import math
from typing import Callable

import numpy as np

from taskset.datasets.base import DATASETS
from taskset.lazy import tf
from taskset.sampling import choice, field_rng, log_int, uniform_int
from taskset.tasks import nn
from taskset.tasks.base import Task, frozen_config, gather_batch, split_tensors
from taskset.tasks.image import IMAGE_POOL, check_dataset

LOG_SCALE_BOUND = 2.0
LOGIT_ALPHA = 0.05  # RealNVP's boundary margin: logit(alpha + (1 - 2 alpha) x) stays within +-2.94
PREPROCESSINGS = ("logit", "affine")
# Quantisation levels of a dataset's pixels: uint8 images have 256; `digits` stores k/16.
_FLOAT_PIXEL_LEVELS = {"digits": 17}
_UINT8_LEVELS = 256

ShiftAndLogScale = Callable[[object], tuple[object, object]]


# --- building blocks ------------------------------------------------------------

def bounded_log_scale(raw, bound: float = LOG_SCALE_BOUND):
    """bound * tanh(raw / bound): a log-scale in (-bound, bound) with unit slope at 0."""
    return bound * tf.tanh(raw / bound)


def mlp(x, layers, activation: Callable):
    """A dense network: `activation` after every (w, b) layer but the last."""
    for i, (w, b) in enumerate(layers):
        x = nn.dense(x, w, b)
        if i < len(layers) - 1:
            x = activation(x)
    return x


def split_shift_and_log_scale(out):
    """Splits [B, 2n] network outputs into a shift and a bounded log-scale, each [B, n]."""
    shift, raw = tf.split(out, 2, axis=-1)
    return shift, bounded_log_scale(raw)


def standard_normal_log_prob(z):
    """log N(z; 0, I), summed over the last axis."""
    dims = tf.cast(tf.shape(z)[-1], z.dtype)
    return -0.5 * tf.reduce_sum(tf.square(z), axis=-1) - 0.5 * math.log(2.0 * math.pi) * dims


# --- affine coupling (RealNVP) --------------------------------------------------

def affine_coupling_forward(x, num_masked: int, shift_and_log_scale: ShiftAndLogScale):
    """z = [x1, x2 * exp(s(x1)) + t(x1)] with x1 = x[:, :num_masked].

    Returns:
      (z, log_det): z like x; log_det [B] = sum of s.
    """
    x1, x2 = x[:, :num_masked], x[:, num_masked:]
    shift, log_scale = shift_and_log_scale(x1)
    z2 = x2 * tf.exp(log_scale) + shift
    return tf.concat([x1, z2], axis=1), tf.reduce_sum(log_scale, axis=1)


def affine_coupling_inverse(z, num_masked: int, shift_and_log_scale: ShiftAndLogScale):
    """The inverse of `affine_coupling_forward`: x2 = (z2 - t(z1)) * exp(-s(z1))."""
    z1, z2 = z[:, :num_masked], z[:, num_masked:]
    shift, log_scale = shift_and_log_scale(z1)
    return tf.concat([z1, (z2 - shift) * tf.exp(-log_scale)], axis=1)


# --- masked autoregressive transform (MAF / MADE) ---------------------------------

def made_masks(num_inputs: int, hidden_sizes: tuple[int, ...]) -> list[np.ndarray]:
    """MADE connectivity masks, one [fan_in, fan_out] 0/1 float32 array per layer.

    Inputs have degrees 1..D in order (permutations between bijectors vary the
    order); hidden degrees are spread evenly over 1..D-1 (deterministic, no seed);
    the network has 2D outputs (shift, log-scale), output i of each half having
    degree i, so it sees only inputs of degree < i. A hidden unit connects to units
    of greater or equal degree.
    """
    in_degrees = np.arange(1, num_inputs + 1)
    degrees = [in_degrees]
    span = max(num_inputs - 1, 1)
    for width in hidden_sizes:
        degrees.append(1 + (np.arange(width) * span) // width)
    masks = [(d_out[None, :] >= d_in[:, None]).astype(np.float32) for d_in, d_out in zip(degrees[:-1], degrees[1:])]
    out_degrees = np.concatenate([in_degrees, in_degrees])
    masks.append((out_degrees[None, :] > degrees[-1][:, None]).astype(np.float32))
    return masks


def autoregressive_forward(x, shift_and_log_scale: ShiftAndLogScale):
    """z_i = (x_i - mu_i(x_<i)) * exp(-a_i(x_<i)), in one pass.

    Returns:
      (z, log_det): z like x; log_det [B] = -sum of a.
    """
    shift, log_scale = shift_and_log_scale(x)
    return (x - shift) * tf.exp(-log_scale), -tf.reduce_sum(log_scale, axis=1)


def autoregressive_inverse(z, shift_and_log_scale: ShiftAndLogScale, num_dims: int):
    """x_i = z_i * exp(a_i(x_<i)) + mu_i(x_<i), one dimension per pass (D passes).

    After pass i the first i coordinates are exact, because output i depends only
    on inputs before it.
    """
    x = tf.zeros_like(z)
    for _ in range(num_dims):
        shift, log_scale = shift_and_log_scale(x)
        x = z * tf.exp(log_scale) + shift
    return x


# --- permutations and preprocessing ------------------------------------------------

def flow_permutations(seed: int, num_bijectors: int, num_dims: int) -> list[np.ndarray]:
    """The fixed permutations placed between consecutive bijectors (NumPy, seeded)."""
    return [np.random.Generator(np.random.PCG64([seed, i])).permutation(num_dims).astype(np.int32)
            for i in range(num_bijectors - 1)]


def permute(x, permutation):
    """Reorders the last axis by `permutation` (volume preserving: log-det 0)."""
    return tf.gather(x, permutation, axis=-1)


def logit_preprocess(x, alpha: float = LOGIT_ALPHA):
    """y = logit(alpha + (1 - 2 alpha) x) for x in [0, 1]; returns (y, log_det [B])."""
    s = alpha + (1.0 - 2.0 * alpha) * x
    y = tf.math.log(s) - tf.math.log1p(-s)
    log_det = math.log(1.0 - 2.0 * alpha) - tf.math.log(s) - tf.math.log1p(-s)
    return y, tf.reduce_sum(log_det, axis=-1)


def logit_postprocess(y, alpha: float = LOGIT_ALPHA):
    """The inverse of `logit_preprocess`."""
    return (tf.sigmoid(y) - alpha) / (1.0 - 2.0 * alpha)


def affine_preprocess(x):
    """y = 2x - 1, mapping [0, 1] to [-1, 1]; returns (y, log_det [B] = D log 2)."""
    dims = tf.cast(tf.shape(x)[-1], x.dtype)
    return 2.0 * x - 1.0, tf.fill(tf.shape(x)[:1], dims * math.log(2.0))


def affine_postprocess(y):
    """The inverse of `affine_preprocess`."""
    return (y + 1.0) / 2.0


# --- the shared task -------------------------------------------------------------

@frozen_config
class FlowConfig:
    dataset: str
    num_bijectors: int
    hidden_sizes: tuple[int, ...]
    activation: str
    initializer: str
    init_scale: float
    preprocessing: str
    permutation_seed: int
    batch_size: int

    def validate(self) -> None:
        check_dataset(self.dataset, IMAGE_POOL)
        if self.num_bijectors < 1:
            raise ValueError(f"num_bijectors must be >= 1, got {self.num_bijectors!r}")
        if not self.hidden_sizes or any(h < 1 for h in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must be a non-empty list of positive widths, got {self.hidden_sizes!r}")
        if self.activation not in nn.ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; accepted: {sorted(nn.ACTIVATIONS)!r}")
        if self.initializer not in nn.INITIALIZER_POOL:
            raise ValueError(f"unknown initializer {self.initializer!r}; accepted: {list(nn.INITIALIZER_POOL)!r}")
        if self.preprocessing not in PREPROCESSINGS:
            raise ValueError(f"unknown preprocessing {self.preprocessing!r}; accepted: {list(PREPROCESSINGS)!r}")
        if self.permutation_seed < 0:
            raise ValueError(f"permutation_seed must be >= 0, got {self.permutation_seed!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size!r}")


def sample_flow_config(family: str, seed: int) -> FlowConfig:
    """TaskSet's nvp/maf sampler: 1-4 bijectors, 1-2 hidden layers of log-int [16, 128].

    Activation and initialiser come from TaskSet's weighted pools, the dataset from
    the image pool; batch size is log-int [8, 512] as in `mlp`.
    """
    def rng(field):
        return field_rng(family, seed, field)

    layers = uniform_int(rng("num_layers"), 1, 2)
    width_rng = rng("hidden_sizes")
    initializer, scale = nn.sample_initializer(rng("initializer"))
    return FlowConfig(
        dataset=choice(rng("dataset"), IMAGE_POOL),
        num_bijectors=uniform_int(rng("num_bijectors"), 1, 4),
        hidden_sizes=tuple(log_int(width_rng, 16, 128) for _ in range(layers)),
        activation=nn.sample_activation(rng("activation")),
        initializer=initializer,
        init_scale=scale,
        preprocessing=choice(rng("preprocessing"), PREPROCESSINGS),
        permutation_seed=uniform_int(rng("permutation_seed"), 0, 2**31 - 1),
        batch_size=log_int(rng("batch_size"), 8, 512),
    )


def pixel_levels(dataset: str) -> int:
    """How many values a pixel of `dataset` takes (its quantisation levels)."""
    return _FLOAT_PIXEL_LEVELS.get(dataset, _UINT8_LEVELS)


class FlowTask(Task):
    """A flow density model of flattened images; subclasses give the bijector and its parameters.

    Parameters are keyed `bijector{i}/dense{j}/w|b`; the conditioner of bijector i
    is an MLP of `hidden_sizes` with the config's activation and initialiser.
    """

    def required_datasets(self) -> tuple[str, ...]:
        return (self.config.dataset,)

    @property
    def num_dims(self) -> int:
        return math.prod(DATASETS.get(self.config.dataset).info.feature_shape)

    @abc.abstractmethod
    def layer_sizes(self) -> list[int]:
        """Widths from a conditioner's input to its output, e.g. [D/2, 64, D]."""

    @abc.abstractmethod
    def bijector_forward(self, layers, y):
        """One bijector from data towards noise: returns (z, log_det [B])."""

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        sizes = self.layer_sizes()
        shapes = {}
        for i in range(self.config.num_bijectors):
            for j, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
                shapes[f"bijector{i}/dense{j}/w"] = (fan_in, fan_out)
                shapes[f"bijector{i}/dense{j}/b"] = (fan_out,)
        return shapes

    def init(self, seed: int):
        params = {}
        for name, shape in self.param_shapes().items():
            if name.endswith("/w"):
                params[name] = nn.initialize(self.config.initializer, shape, nn.param_seed(seed, name),
                                             self.config.init_scale)
            else:
                params[name] = tf.zeros(shape)
        return params

    def conditioner_layers(self, params, bijector: int) -> list[tuple[object, object]]:
        """The (w, b) pairs of one bijector's conditioner."""
        depth = len(self.layer_sizes()) - 1
        return [(params[f"bijector{bijector}/dense{j}/w"], params[f"bijector{bijector}/dense{j}/b"])
                for j in range(depth)]

    def flow_forward(self, params, y):
        """All bijectors with the fixed permutations between them: (z, log_det [B])."""
        permutations = flow_permutations(self.config.permutation_seed, self.config.num_bijectors, self.num_dims)
        log_det = tf.zeros(tf.shape(y)[:1])
        for i in range(self.config.num_bijectors):
            if i > 0:
                y = permute(y, permutations[i - 1])
            y, ld = self.bijector_forward(self.conditioner_layers(params, i), y)
            log_det += ld
        return y, log_det

    def sample_batch(self, split: str, seed):
        batch = gather_batch(split_tensors(self.config.dataset, split), self.config.batch_size, seed)
        image = tf.reshape(batch["image"], [self.config.batch_size, self.num_dims])
        if image.dtype == tf.uint8:
            levels = tf.cast(image, tf.float32)
        else:  # float pixels in [0, 1] holding k / (L - 1)
            levels = tf.round(tf.cast(image, tf.float32) * (pixel_levels(self.config.dataset) - 1))
        return {"image": levels, "rng": seed}

    def loss(self, params, batch):
        num_levels = pixel_levels(self.config.dataset)
        levels = batch["image"]
        noise = tf.random.stateless_uniform(tf.shape(levels), seed=batch["rng"] + [0, 7_919])
        x = (levels + noise) / num_levels
        preprocess = logit_preprocess if self.config.preprocessing == "logit" else affine_preprocess
        y, log_det = preprocess(x)
        z, flow_log_det = self.flow_forward(params, y)
        log_px = standard_normal_log_prob(z) + flow_log_det + log_det
        return tf.reduce_mean(-log_px / self.num_dims + math.log(num_levels))
