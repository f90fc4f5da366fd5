"""The objective functions of the `test_functions` family, as pure TF functions.

These are the problems of "Learned Optimizers that Scale and Generalize"
(Wichrowska et al. 2017, arXiv 1703.04813) that TaskSet samples in its
`losg_tasks_family` (Metz et al. 2020, arXiv 2002.11887), plus the classic test
functions of Surjanovic & Bingham's library (sfu.ca/~ssurjano). Each takes a flat
parameter vector `x` [n] (and fixed problem data where it has some) and returns a
scalar. Instance data (matrices, datasets) is built by the NumPy helpers here
from an explicit seed, so a problem is a pure function of its config.

Where this differs from the losg code, the docstring says so; in short: the
n-dimensional forms of rosenbrock, ackley, styblinski-tang and michalewicz are
the standard ones (losg fixed them at 2-D, with offsets), data terms are means
over the batch rather than sums, and softmax regression uses a one-hot matmul
(dense gradients) with a proper softmax over its classes.
"""

from __future__ import annotations

import math

import numpy as np

from taskset.lazy import tf

EPSILON = 1e-6  # losg's EPSILON, used by `norm`, `dependency_chain` and the log objective
L2_SCALE = 1e-3  # losg's l2_reg_scale for softmax regression

# Known minima used by tests and by the log objective's floor.
BRANIN_MINIMUM = 10.0 / (8.0 * math.pi)  # 0.397887..., at (-pi, 12.275), (pi, 2.275), (9.42478, 2.475)
BRANIN_MINIMIZERS = ((-math.pi, 12.275), (math.pi, 2.275), (3.0 * math.pi, 2.475))
STYBLINSKI_TANG_MINIMIZER = -2.903534027771178  # in every coordinate
STYBLINSKI_TANG_MINIMUM_PER_DIM = -39.16616570377142
MICHALEWICZ_STEEPNESS = 10


def safe_sqrt(v):
    """sqrt(v) whose gradient at v = 0 is 0 instead of inf (NaN after the chain rule)."""
    positive = v > 0.0
    return tf.where(positive, tf.sqrt(tf.where(positive, v, tf.ones_like(v))), tf.zeros_like(v))


# --- quadratic bowls ------------------------------------------------------------

def bowl_matrix(condition_number: float, angle: float) -> np.ndarray:
    """A = sqrt(diag(condition_number, 1)) R(angle): the bowl's Hessian is A^T A."""
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return (np.sqrt(np.diag([condition_number, 1.0])) @ rotation).astype(np.float32)


def bowl(x, matrix):
    """0.5 ||A x||^2: minimum 0 at x = 0, condition number of the Hessian = cond."""
    return 0.5 * tf.reduce_sum(tf.square(tf.linalg.matvec(matrix, x)))


def sum_of_quadratics(x, data):
    """mean_b ||x - d_b||^2 - mean_b ||d_b||^2 over a batch of centres d [B, n].

    On a dataset symmetric about 0 (losg's `random_symmetric`, which this family
    uses) the minimum over the whole dataset is 0 at x = 0; a batch's own minimum
    is at its mean. losg sums over the batch; the mean keeps the scale of the loss
    independent of the batch size.
    """
    return tf.reduce_mean(tf.reduce_sum(tf.square(x - data), axis=1) - tf.reduce_sum(tf.square(data), axis=1))


def norm(x, matrix, target, power):
    """(sum_i (|W x - y|_i + EPSILON)^p)^(1/p): a p-"norm" of a random linear residual.

    Minimum at W^-1 y, where it is EPSILON * n^(1/p); for p < 1 it is non-convex.
    """
    residual = tf.abs(tf.linalg.matvec(matrix, x) - target) + EPSILON
    return tf.reduce_sum(residual ** power) ** (1.0 / power)


# --- classic test functions -----------------------------------------------------

def rosenbrock(x):
    """sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2: minimum 0 at (1, ..., 1)."""
    return tf.reduce_sum(100.0 * tf.square(x[1:] - tf.square(x[:-1])) + tf.square(1.0 - x[:-1]))


def ackley(x):
    """-20 exp(-0.2 sqrt(mean x^2)) - exp(mean cos 2 pi x) + 20 + e: minimum 0 at 0."""
    radius = safe_sqrt(tf.reduce_mean(tf.square(x)))
    return (-20.0 * tf.exp(-0.2 * radius) - tf.exp(tf.reduce_mean(tf.cos(2.0 * math.pi * x)))
            + 20.0 + math.e)


def beale(x):
    """(1.5 - a + ab)^2 + (2.25 - a + ab^2)^2 + (2.625 - a + ab^3)^2: minimum 0 at (3, 0.5)."""
    a, b = x[0], x[1]
    return tf.square(1.5 - a + a * b) + tf.square(2.25 - a + a * b ** 2) + tf.square(2.625 - a + a * b ** 3)


def branin(x):
    """(b - 5.1 a^2 / (4 pi^2) + 5 a / pi - 6)^2 + 10 (1 - 1 / (8 pi)) cos a + 10.

    Three global minima of 10 / (8 pi) = 0.397887 (`BRANIN_MINIMIZERS`).
    """
    a, b = x[0], x[1]
    return (tf.square(b - 5.1 / (4.0 * math.pi ** 2) * a ** 2 + 5.0 / math.pi * a - 6.0)
            + 10.0 * (1.0 - 1.0 / (8.0 * math.pi)) * tf.cos(a) + 10.0)


def styblinski_tang(x):
    """0.5 sum_i (x_i^4 - 16 x_i^2 + 5 x_i): minimum -39.16617 n at x_i = -2.903534.

    losg's 2-D version added 80 to keep it positive; here the log objective
    subtracts the known minimum instead.
    """
    return 0.5 * tf.reduce_sum(x ** 4 - 16.0 * tf.square(x) + 5.0 * x)


def michalewicz(x, steepness: int = MICHALEWICZ_STEEPNESS):
    """-sum_i sin(x_i) sin(i x_i^2 / pi)^(2m) with m = 10 (the library's standard form).

    Steep valleys in flat plateaus; on [0, pi]^2 the minimum is -1.8013 at
    (2.20, 1.57). It is bounded below by -n. losg used m = 5 and added 2.
    """
    index = tf.range(1, tf.size(x) + 1, dtype=x.dtype)
    return -tf.reduce_sum(tf.sin(x) * tf.sin(index * tf.square(x) / math.pi) ** (2 * steepness))


def matyas(x):
    """0.26 (a^2 + b^2) - 0.48 ab: minimum 0 at (0, 0), a flat valley along a = b."""
    a, b = x[0], x[1]
    return 0.26 * (tf.square(a) + tf.square(b)) - 0.48 * a * b


# --- losg's structured problems ---------------------------------------------------

def dependency_chain(x):
    """x_0^2 + sum_i x_{i+1}^2 / (x_i^2 + EPSILON): the coordinates must reach 0 in order.

    Minimum 0 at 0. losg passes a dataset to this problem but never reads it, so
    here it takes none.
    """
    return tf.square(x[0]) + tf.reduce_sum(tf.square(x[1:]) / (tf.square(x[:-1]) + EPSILON))


def min_max_well(x):
    """max_i x_i^2 + 1 / min_i x_i^2 - 2: only the extreme coordinates get a gradient.

    Non-negative, 0 exactly when every |x_i| = 1.
    """
    squares = tf.square(x)
    return tf.reduce_max(squares) + 1.0 / tf.reduce_min(squares) - 2.0


def outward_snake(x, data):
    """A winding path out to infinity along which the ideal step length stays constant.

    mean_b [d_b0 / (|x| + 1e-6) + sum_i ((x_{i+1} - pi cos x_i) d_{b,i+1})^2] for a
    batch d [B, n] of standard normal vectors. On the path x_{i+1} = pi cos x_i
    the second term vanishes; the first pulls outwards or inwards with the sign
    of the batch's mean d_0. It has no minimum (and no lower bound).
    """
    radius = tf.sqrt(tf.reduce_sum(tf.square(x)))
    radial = data[:, 0] / (radius + 1e-6)
    along = tf.reduce_sum(tf.square((x[1:] - math.pi * tf.cos(x[:-1])) * data[:, 1:]), axis=1)
    return tf.reduce_mean(radial + along)


def softmax_regression(embeddings, weights, bias, ids, labels):
    """Cross-entropy of a linear classifier on summed embeddings of sparse ids, plus L2.

    features_b = sum_j E[ids_bj] (a one-hot matmul, so gradients stay dense);
    loss = mean_b CE(softmax(features_b W + c), label_b) + L2_SCALE * mean over the
    three parameters of their sum of squares (losg's regulariser). Non-negative.
    """
    one_hot = tf.one_hot(ids, tf.shape(embeddings)[0])                  # [B, J, C]
    features = tf.reduce_sum(tf.einsum("bjc,cf->bjf", one_hot, embeddings), axis=1)
    logits = tf.matmul(features, weights) + bias
    ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    l2 = tf.reduce_mean(tf.stack([tf.reduce_sum(tf.square(p)) for p in (embeddings, weights, bias)]))
    return ce + L2_SCALE * l2


# --- instance data (NumPy, seeded) --------------------------------------------------

def gaussian_linear_system(dim: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """W [dim, dim] and y [dim] with standard normal entries (losg's Norm instance)."""
    return rng.standard_normal((dim, dim)).astype(np.float32), rng.standard_normal(dim).astype(np.float32)


def symmetric_gaussian(num_examples: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """losg's `random_symmetric`: half standard normal vectors, then their negatives."""
    half = rng.standard_normal((num_examples // 2, dim))
    return np.concatenate([half, -half]).astype(np.float32)


def noisy_parity(num_examples: int, num_classes: int, rng: np.random.Generator,
                 num_ids: int = 5, noise_prob: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """losg's `noisy_parity_class`: ids [N, num_ids] in [0, C); label = (sum + flip) mod C."""
    ids = rng.integers(0, num_classes, (num_examples, num_ids))
    flips = rng.binomial(1, noise_prob, num_examples)
    return ids.astype(np.int32), ((ids.sum(axis=1) + flips) % num_classes).astype(np.int32)
