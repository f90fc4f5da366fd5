"""`quadratic`: synthetic convex quadratics with a sampled spectrum (TaskSet's quadratic family).

The loss of parameters x (one vector of `dimension` values, named "x") is

    q(x) = 0.5 * ||R (x - t)||^2 = 0.5 * (x - t)^T H (x - t),   H = R^T R,
    loss = loss_scale * q(x)                    (output "identity")
    loss = loss_scale * log(q(x) + 1e-8)        (output "log", TaskSet's epsilon)

so the minimum is at the target t, where the identity loss is 0. TaskSet writes
its loss as ||A x||^2 with a sampled A; here the Hessian's spectrum is sampled
directly, which makes the eigenvalue ranges below the ones the optimizer sees.

Sampled (uniform choices unless stated):
  dimension: log-int [2, 3000], no cap. The largest matrix is 3000^2 float32
    (36 MB); it is built once per process and config (cached), the cost being one
    NumPy QR of a d x d matrix for the spectral kinds (O(d^3): 12 s for d = 2775
    on one busy CPU core here, a few seconds on an idle one) and one matvec per loss.
  matrix, with `matrix_params` (p0, p1) meaning, per kind:
    normal:   R = W / sqrt(d), W with i.i.d. N(p0, p1^2) entries, so H = W^T W / d;
              p0 ~ N(0, 1), p1 ~ U(0, 2) (TaskSet's ranges for its normal matrices).
    linspace: H = Q diag(lambda) Q^T, lambda evenly spaced on [p0, p1];
              p0 ~ U(0.01, 50), p1 = p0 + U(0, 100) (TaskSet's).
    uniform:  lambda i.i.d. U(p0, p1); p0 ~ U(0.01, 1), p1 = p0 + U(0, 5) (TaskSet
              sampled matrix *entries* on a range like this; we keep the range but
              draw eigenvalues, which keeps H positive semi-definite).
    logspace: lambda log-evenly spaced on [p0, p1]; p0 = 1e-5, p1 ~ U(1, 1000) (TaskSet's).
    For the spectral kinds R = diag(sqrt(lambda)) Q^T, Q a Haar-random
    orthogonal matrix (QR of a Gaussian matrix with the signs of R's diagonal
    folded in), so H's eigenvalues are exactly lambda.
  target t and initial point x0 (`target`, `initial`), each with its own distribution (TaskSet's
    vector ranges): normal (p0, p1) = (mean ~ N(0, 1), std ~ U(0, 2)) or uniform
    (p0, p1) = (low ~ U(-5, 2.5), low + U(0, 5)).
  matrix_seed: an integer in [0, 2^31); W, Q, random eigenvalues and t are drawn
    from NumPy PCG64 streams spawned from it, so they are a pure function of the
    config and never stored in it. x0 is drawn from the init seed.
  grad_noise_std: 0 with probability 1/2, else log-uniform [0.01, 1]. Each batch
    carries noise n ~ N(0, grad_noise_std^2 I) (drawn statelessly from the batch
    seed) that is added to the gradient of q: the loss uses
    q(x) + n . (x - stop_gradient(x)), which has the value q(x) and the gradient
    grad q(x) + n. The noise thus enters before the output transform and loss
    scale, so its size relative to the quadratic's own gradient does not depend
    on them. (TaskSet perturbed the matrix each step instead.)
  loss_scale: log-uniform [1e-5, 1e3].
  output: identity or log.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from taskset.lazy import tf
from taskset.sampling import choice, coin, field_rng, log_int, log_uniform
from taskset.tasks import nn
from taskset.tasks.base import Task, TaskFamily, frozen_config
from taskset.tasks.catalogue import register_family

MATRICES = ("normal", "linspace", "uniform", "logspace")
VECTOR_DISTRIBUTIONS = ("normal", "uniform")
OUTPUTS = ("identity", "log")
LOG_EPS = 1e-8
MAX_SEED = 2**31 - 1


@frozen_config
class QuadraticConfig:
    dimension: int
    matrix: str
    matrix_params: tuple[float, ...]
    matrix_seed: int
    target: str
    target_params: tuple[float, ...]
    initial: str
    initial_params: tuple[float, ...]
    grad_noise_std: float
    loss_scale: float
    output: str

    def validate(self) -> None:
        if self.dimension < 1:
            raise ValueError(f"dimension must be >= 1, got {self.dimension!r}")
        if self.matrix not in MATRICES:
            raise ValueError(f"unknown matrix {self.matrix!r}; accepted: {list(MATRICES)!r}")
        check_params("matrix_params", self.matrix, self.matrix_params)
        if self.matrix != "normal" and self.matrix_params[0] < 0:
            raise ValueError(f"eigenvalues must be >= 0 for a quadratic bounded below, got "
                             f"matrix_params {self.matrix_params!r}")
        if self.matrix == "logspace" and self.matrix_params[0] <= 0:
            raise ValueError(f"logspace eigenvalues need a positive low end, got matrix_params "
                             f"{self.matrix_params!r}")
        if not 0 <= self.matrix_seed <= MAX_SEED:
            raise ValueError(f"matrix_seed must be in [0, {MAX_SEED}], got {self.matrix_seed!r}")
        for name in ("target", "initial"):
            kind = getattr(self, name)
            if kind not in VECTOR_DISTRIBUTIONS:
                raise ValueError(f"unknown {name} distribution {kind!r}; accepted: {list(VECTOR_DISTRIBUTIONS)!r}")
            check_params(f"{name}_params", kind, getattr(self, f"{name}_params"))
        if self.grad_noise_std < 0:
            raise ValueError(f"grad_noise_std must be >= 0, got {self.grad_noise_std!r}")
        if self.loss_scale <= 0:
            raise ValueError(f"loss_scale must be > 0, got {self.loss_scale!r}")
        if self.output not in OUTPUTS:
            raise ValueError(f"unknown output {self.output!r}; accepted: {list(OUTPUTS)!r}")


def check_params(field: str, kind: str, params: tuple[float, ...]) -> None:
    """Raises ValueError unless `params` is (mean, std >= 0) for "normal", else (low, high >= low)."""
    if len(params) != 2:
        raise ValueError(f"{field} must hold two numbers, got {params!r}")
    if kind == "normal" and params[1] < 0:
        raise ValueError(f"{field} {params!r}: a normal's (mean, std) needs std >= 0")
    if kind != "normal" and params[1] < params[0]:
        raise ValueError(f"{field} {params!r}: ({kind}) needs (low, high) with high >= low")


def spectrum(kind: str, params: tuple[float, float], dimension: int, rng: np.random.Generator) -> np.ndarray:
    """The Hessian's eigenvalues for a spectral matrix kind (float64, length `dimension`)."""
    low, high = params
    if kind == "linspace":
        return np.linspace(low, high, dimension)
    if kind == "logspace":
        # The C library's log10 and power, not NumPy's, whose AVX-512 kernels round some values one ulp
        # differently: the same task must have the same eigenvalues on every CPU.
        return np.array([10.0 ** float(x) for x in np.linspace(math.log10(low), math.log10(high), dimension)])
    if kind == "uniform":
        return rng.uniform(low, high, dimension)
    raise ValueError(f"{kind!r} is not a spectral matrix kind; spectral kinds: linspace, uniform, logspace")


def haar_orthogonal(dimension: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random orthogonal matrix (QR of a Gaussian matrix, signs fixed by R's diagonal)."""
    q, r = np.linalg.qr(rng.standard_normal((dimension, dimension)))
    return q * np.sign(np.diag(r))


def vector(kind: str, params: tuple[float, float], size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` i.i.d. draws from a normal (mean, std) or uniform (low, high) distribution."""
    if kind == "normal":
        return rng.normal(params[0], params[1], size)
    return rng.uniform(params[0], params[1], size)


def quadratic_arrays(config: QuadraticConfig) -> tuple[np.ndarray, np.ndarray]:
    """(R, t) as float32 arrays, a pure function of the config's matrix and target fields."""
    matrix_rng, spectrum_rng, target_rng = (np.random.Generator(np.random.PCG64(s))
                                            for s in np.random.SeedSequence(config.matrix_seed).spawn(3))
    d = config.dimension
    if config.matrix == "normal":
        mean, std = config.matrix_params
        root = matrix_rng.normal(mean, std, (d, d)) / np.sqrt(d)
    else:
        eigenvalues = spectrum(config.matrix, config.matrix_params, d, spectrum_rng)
        root = np.sqrt(eigenvalues)[:, None] * haar_orthogonal(d, matrix_rng).T
    target = vector(config.target, config.target_params, d, target_rng)
    return root.astype(np.float32), target.astype(np.float32)


@functools.lru_cache(maxsize=8)
def _quadratic_tensors(config: QuadraticConfig):
    root, target = quadratic_arrays(config)
    # Eager tensors, even when first asked for inside a tf.function trace, so that
    # compiled graphs capture them by reference instead of embedding 36 MB constants.
    with tf.init_scope():
        return tf.constant(root), tf.constant(target)


def sample_pair(rng: np.random.Generator, low: tuple[float, float], spread: tuple[float, float]) -> tuple[float, float]:
    """(p0, p0 + s) with p0 ~ U(*low) and s ~ U(*spread)."""
    p0 = float(rng.uniform(*low))
    return p0, p0 + float(rng.uniform(*spread))


def sample_vector_distribution(rng: np.random.Generator) -> tuple[str, tuple[float, float]]:
    """TaskSet's vector distribution: normal (mean ~ N(0,1), std ~ U(0,2)) or uniform (low, low + U(0,5))."""
    kind = choice(rng, VECTOR_DISTRIBUTIONS)
    if kind == "normal":
        return kind, (float(rng.normal(0.0, 1.0)), float(rng.uniform(0.0, 2.0)))
    return kind, sample_pair(rng, (-5.0, 2.5), (0.0, 5.0))


def sample_matrix(rng: np.random.Generator) -> tuple[str, tuple[float, float]]:
    """A matrix kind and its (p0, p1) (see the module docstring)."""
    kind = choice(rng, MATRICES)
    if kind == "normal":
        return kind, (float(rng.normal(0.0, 1.0)), float(rng.uniform(0.0, 2.0)))
    if kind == "linspace":
        return kind, sample_pair(rng, (0.01, 50.0), (0.0, 100.0))
    if kind == "uniform":
        return kind, sample_pair(rng, (0.01, 1.0), (0.0, 5.0))
    return kind, (1e-5, float(rng.uniform(1.0, 1000.0)))


class QuadraticTask(Task):
    family = "quadratic"

    def required_datasets(self) -> tuple[str, ...]:
        return ()

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"x": (self.config.dimension,)}

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(R, t): the Hessian's root and the minimiser, as NumPy float32 arrays."""
        return quadratic_arrays(self.config)

    def init(self, seed: int):
        d = self.config.dimension
        p0, p1 = self.config.initial_params
        draw_seed = nn.param_seed(seed, "x")
        if self.config.initial == "normal":
            x = p0 + p1 * tf.random.stateless_normal((d,), draw_seed)
        else:
            x = tf.random.stateless_uniform((d,), draw_seed, p0, p1)
        return {"x": x}

    def sample_batch(self, split: str, seed):
        noise = tf.random.stateless_normal((self.config.dimension,), seed) * self.config.grad_noise_std
        return {"noise": noise, "rng": seed}

    def loss(self, params, batch):
        root, target = _quadratic_tensors(self.config)
        x = params["x"]
        residual = tf.linalg.matvec(root, x - target)
        q = 0.5 * tf.reduce_sum(tf.square(residual))
        q += tf.reduce_sum(batch["noise"] * (x - tf.stop_gradient(x)))
        if self.config.output == "log":
            q = tf.math.log(tf.maximum(q, 0.0) + LOG_EPS)
        return self.config.loss_scale * q


class QuadraticFamily(TaskFamily):
    name = "quadratic"
    config_class = QuadraticConfig
    task_class = QuadraticTask
    description = "convex quadratics: dimension, Hessian spectrum, target, initial point, gradient noise, output"

    def sample_config(self, seed: int) -> QuadraticConfig:
        def rng(field):
            return field_rng(self.name, seed, field)

        matrix, matrix_params = sample_matrix(rng("matrix"))
        target, target_params = sample_vector_distribution(rng("target"))
        initial, initial_params = sample_vector_distribution(rng("initial"))
        noise_rng = rng("grad_noise_std")
        return QuadraticConfig(
            dimension=log_int(rng("dimension"), 2, 3000),
            matrix=matrix,
            matrix_params=matrix_params,
            matrix_seed=int(rng("matrix_seed").integers(0, MAX_SEED + 1)),
            target=target,
            target_params=target_params,
            initial=initial,
            initial_params=initial_params,
            grad_noise_std=log_uniform(noise_rng, 0.01, 1.0) if coin(noise_rng) else 0.0,
            loss_scale=log_uniform(rng("loss_scale"), 1e-5, 1e3),
            output=choice(rng("output"), OUTPUTS),
        )


register_family(QuadraticFamily())
