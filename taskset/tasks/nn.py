"""Pure building blocks shared by the task families: activations, initialisers, layers.

Everything here is a pure function of tensors (and explicit stateless seeds), so
tasks stay pure and the trainer can compile and stack them.
"""

from __future__ import annotations

import math
from typing import Callable

from taskset.lazy import tf
from taskset.sampling import choice, log_uniform, stable_hash

# --- activations ----------------------------------------------------------------

ACTIVATIONS: dict[str, Callable] = {
    "relu": lambda x: tf.nn.relu(x),
    "tanh": lambda x: tf.tanh(x),
    "cos": lambda x: tf.cos(x),
    "elu": lambda x: tf.nn.elu(x),
    "sigmoid": lambda x: tf.sigmoid(x),
    "swish": lambda x: x * tf.sigmoid(x),
    "leaky_relu4": lambda x: tf.nn.leaky_relu(x, alpha=0.4),
    "leaky_relu2": lambda x: tf.nn.leaky_relu(x, alpha=0.2),
    "leaky_relu1": lambda x: tf.nn.leaky_relu(x, alpha=0.1),
    "linear": lambda x: x,
}

# TaskSet's weighted activation pool: relu x6, tanh x3, the rest once.
ACTIVATION_POOL = ("relu", "tanh", "cos", "elu", "sigmoid", "swish", "leaky_relu4", "leaky_relu2", "leaky_relu1")
ACTIVATION_WEIGHTS = (6, 3, 1, 1, 1, 1, 1, 1, 1)


def sample_activation(rng) -> str:
    """An activation name from TaskSet's weighted pool."""
    return choice(rng, ACTIVATION_POOL, ACTIVATION_WEIGHTS)


# --- initialisers ---------------------------------------------------------------

# Each takes (shape, seed[2], scale). The fan-based ones follow Keras' definitions;
# the ones with a free scale multiply Keras' default width (0.05) or gain by `scale`,
# which TaskSet samples log-uniformly in [0.1, 10].
INITIALIZER_POOL = ("he_normal", "he_uniform", "glorot_normal", "glorot_uniform", "orthogonal",
                    "random_uniform", "random_normal", "truncated_normal", "variance_scaling")
INITIALIZER_WEIGHTS = (2, 2, 2, 2, 1, 1, 1, 1, 1)
SCALED_INITIALIZERS = frozenset({"orthogonal", "random_uniform", "random_normal", "truncated_normal",
                                 "variance_scaling"})
_TRUNC_STD = 0.87962566103423978  # std of a unit normal truncated at +-2


def sample_initializer(rng) -> tuple[str, float]:
    """(name, scale) from TaskSet's initialiser pool; scale is 1.0 where unused."""
    name = choice(rng, INITIALIZER_POOL, INITIALIZER_WEIGHTS)
    scale = log_uniform(rng, 0.1, 10.0) if name in SCALED_INITIALIZERS else 1.0
    return name, scale


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a dense [in, out] or conv [..., in, out] kernel."""
    if len(shape) < 2:
        return (shape[0] if shape else 1), (shape[0] if shape else 1)
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def initialize(name: str, shape: tuple[int, ...], seed, scale: float = 1.0):
    """A float32 tensor of `shape` drawn by initialiser `name` from stateless `seed`."""
    fan_in, fan_out = fans(shape)
    if name in ("he_normal", "glorot_normal", "variance_scaling"):
        denom = fan_in / 2.0 if name == "he_normal" else (fan_in + fan_out) / 2.0
        if name == "variance_scaling":
            denom = fan_in / scale
        std = math.sqrt(1.0 / denom) / _TRUNC_STD
        return tf.random.stateless_truncated_normal(shape, seed) * std
    if name in ("he_uniform", "glorot_uniform"):
        limit = math.sqrt(6.0 / fan_in) if name == "he_uniform" else math.sqrt(6.0 / (fan_in + fan_out))
        return tf.random.stateless_uniform(shape, seed, -limit, limit)
    if name == "random_uniform":
        return tf.random.stateless_uniform(shape, seed, -0.05 * scale, 0.05 * scale)
    if name == "random_normal":
        return tf.random.stateless_normal(shape, seed) * (0.05 * scale)
    if name == "truncated_normal":
        return tf.random.stateless_truncated_normal(shape, seed) * (0.05 * scale)
    if name == "orthogonal":
        rows, cols = math.prod(shape[:-1]) if len(shape) > 1 else 1, shape[-1]
        flat = tf.random.stateless_normal((max(rows, cols), min(rows, cols)), seed)
        q, r = tf.linalg.qr(flat)
        q = q * tf.sign(tf.linalg.diag_part(r))
        if rows < cols:
            q = tf.transpose(q)
        return tf.reshape(q, shape) * scale
    if name == "zeros":
        return tf.zeros(shape)
    if name == "ones":
        return tf.ones(shape)
    raise ValueError(f"unknown initializer {name!r}; known: {sorted(INITIALIZER_POOL + ('zeros', 'ones'))}")


def param_seed(seed: int, param_name: str):
    """The stateless seed of one parameter: init seed x a stable hash of its name."""
    return tf.constant([int(seed), stable_hash(param_name) & 0x7FFFFFFF], dtype=tf.int64)


# --- layers ---------------------------------------------------------------------

def dense(x, w, b=None):
    """x @ w + b."""
    y = tf.matmul(x, w)
    return y if b is None else y + b


def conv2d(x, w, b=None, stride: int = 1, padding: str = "SAME"):
    """2-D convolution of NHWC `x` with an HWIO kernel, plus bias."""
    y = tf.nn.conv2d(x, w, strides=stride, padding=padding)
    return y if b is None else y + b


def conv_output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """Spatial size after a convolution, as TensorFlow computes it."""
    if padding == "SAME":
        return -(-size // stride)
    return max(0, (size - kernel) // stride + 1)


def layer_norm(x, gain, bias, eps: float = 1e-5):
    """Layer normalisation over the last axis."""
    mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(var + eps) * gain + bias


def batch_norm(x, gain, bias, eps: float = 1e-5):
    """Batch normalisation with the current batch's statistics (training mode, no running state)."""
    axes = list(range(len(x.shape) - 1))
    mean, var = tf.nn.moments(x, axes=axes, keepdims=True)
    return (x - mean) * tf.math.rsqrt(var + eps) * gain + bias


def dropout(x, rate: float, seed):
    """Inverted dropout with a stateless seed (identity when rate is 0)."""
    if rate <= 0.0:
        return x
    keep = tf.random.stateless_uniform(tf.shape(x), seed) >= rate
    return tf.where(keep, x / (1.0 - rate), tf.zeros_like(x))


def softmax_cross_entropy(logits, labels):
    """Mean sparse softmax cross-entropy."""
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


# --- pooling and likelihoods ----------------------------------------------------

GLOBAL_POOLS = ("mean", "max", "squared_mean")


def global_pool(x, kind: str):
    """Pools NHWC `x` over height and width to [N, C]; "squared_mean" is the mean of x**2."""
    if kind == "mean":
        return tf.reduce_mean(x, axis=[1, 2])
    if kind == "max":
        return tf.reduce_max(x, axis=[1, 2])
    if kind == "squared_mean":
        return tf.reduce_mean(tf.square(x), axis=[1, 2])
    raise ValueError(f"unknown global pool {kind!r}; known: {list(GLOBAL_POOLS)!r}")


def gaussian_kl_to_standard(mean, log_std):
    """KL(N(mean, exp(log_std)^2) || N(0, 1)) summed over the last axis, in closed form.

    Per dimension: 0.5 * (mean^2 + std^2 - 1) - log_std.
    """
    return tf.reduce_sum(0.5 * (tf.square(mean) + tf.exp(2.0 * log_std) - 1.0) - log_std, axis=-1)


def gaussian_log_density(x, mean, log_std):
    """Elementwise log N(x; mean, exp(log_std)^2)."""
    z = (x - mean) * tf.exp(-log_std)
    return -0.5 * tf.square(z) - log_std - 0.5 * math.log(2.0 * math.pi)


def bernoulli_log_likelihood(logits, x):
    """Elementwise x log p + (1 - x) log(1 - p), p = sigmoid(logits), for x in [0, 1]."""
    return -tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)


def init_weights_and_biases(shapes: dict[str, tuple[int, ...]], initializer: str, scale: float, seed: int):
    """Initial params for `shapes`: names ending in "/w" drawn by `initializer`, the rest zeros."""
    return {name: initialize(initializer, shape, param_seed(seed, name), scale) if name.endswith("/w")
            else tf.zeros(shape) for name, shape in shapes.items()}
