"""`test_functions`: TaskSet's "losg" problems and classic optimisation test functions.

One config field, `problem`, picks the objective (pure functions in
`taskset.tasks.losg`); the other fields hold its parameters, and fields a problem
does not use must keep their defaults, so equal tasks have equal configs. No
dataset is needed: problems with data (`sum_of_quadratics`, `outward_snake`,
`sparse_softmax_regression`) draw a fixed pool per split from `instance_seed` in
NumPy (the four splits are independent draws of the same distribution) and
gather batches from it by the batch's stateless seed.

Sampled, following TaskSet's `losg_tasks_family` (arXiv 2002.11887, appendix):
  problem: uniform over `PROBLEMS` (TaskSet drew one of 14 keys, the 2-D test
    functions sharing one key; here each problem is a key, and TaskSet's
    `quadratic`, `fully_connected` and `projection_quadratic` are left to the
    `quadratic` and `mlp` families).
  dim: fixed at 2 for bowl, beale, branin and matyas; log-int [2, 10] for
    rosenbrock, ackley, styblinski_tang and michalewicz (TaskSet: 2, our choice
    to use their standard n-D forms); TaskSet's ranges for the rest: [3, 100]
    (sum_of_quadratics, dependency_chain, outward_snake), [10, 1000]
    (min_max_well), [3, 1000] (norm), [2, 100] features (sparse_softmax_regression).
  bowl: condition_number log-uniform [0.01, 100], angle from {0, 0, pi/4, pi/3}.
  norm: norm_power uniform [0.1, 5].
  data problems: batch_size log-int [1, 200] and num_examples log-int [100, 20000]
    (rounded down to even: the dataset holds vectors and their negatives);
    softmax regression: batch_size log-int [1, 50], num_examples log-int [1, 30].
  wrapper: none : sparse : rescale : log with weights 11 : 1 : 1 : 1 (TaskSet's 11
    base keys against its 3 wrapper keys); wrappers apply to the problems TaskSet
    wrapped (all but softmax regression), log only where a lower bound is known.
    sparse: zero_probability uniform [0.9, 0.99]; rescale: param_scale
    log-uniform [0.001, 1000]; log: log_objective = true.
  noise_stdev: for the problems TaskSet made noisy (bowl, the test functions,
    min_max_well, softmax regression) and for sparse problems, 0 with probability
    1/2, else log-uniform [0.01, 10]; 0 for the rest and under rescale or log
    (TaskSet's wrappers replaced the base problem's noisy gradient with a clean one).

How the wrappers and the noise act (the loss value never changes; the gradient does):
  gradient noise: each batch carries `noise` [num_params] ~ N(0, noise_stdev^2),
    drawn statelessly in `sample_batch`; the loss adds noise . (p - stop_gradient(p)),
    whose value is 0 and whose gradient is the noise.
  sparse (losg's SparseProblem): each batch carries `keep` [num_params], each
    entry false with probability zero_probability; masked parameters enter the
    objective through stop_gradient, so their gradient (noise included) is exactly
    0 for that step while the loss value is unchanged.
  rescale: the stored parameters are p = x * param_scale and the objective is
    f(p / param_scale), so the initial point is scaled too.
  log objective: log(max(f - floor, 0) + 1e-6) - log(1e-6), with floor the
    problem's known minimum or lower bound (losg used floor 0, which is NaN for
    problems that go negative); the clip only guards float rounding at the floor.

Initial points are drawn from the init seed and the config: uniform on the function's usual
search box (e.g. rosenbrock [-5, 10], ackley [-32.768, 32.768], branin
[-5, 10] x [0, 15], michalewicz [0, pi]) or standard normal (losg's default;
softmax regression's weights N(0, 1) * 1.2 / sqrt(fan_in)), times param_scale.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import numpy as np

from taskset import config as config_lib
from taskset.datasets.base import SPLITS
from taskset.lazy import tf
from taskset.sampling import choice, coin, field_rng, log_int, log_uniform, stable_hash, uniform_int
from taskset.tasks import losg, nn
from taskset.tasks.base import Task, TaskFamily, frozen_config, gather_batch
from taskset.tasks.catalogue import register_family

NUM_CLASSES = 2  # softmax regression's classes, fixed as in losg and TaskSet
WRAPPERS = ("none", "sparse", "rescale", "log")
WRAPPER_WEIGHTS = (11, 1, 1, 1)
LOG_EPS = losg.EPSILON
BOWL_ANGLES = (0.0, 0.0, math.pi / 4.0, math.pi / 3.0)


@dataclasses.dataclass(frozen=True)
class Problem:
    """How a problem is sampled, initialised and evaluated.

    Attributes:
      dims: (low, high) of the log-int dimension; equal ends fix it.
      min_dim: the smallest dimension the function is defined for.
      init: ("uniform", low, high) with scalars or per-coordinate tuples, or ("normal", std).
      fields: config fields beyond the common ones that the problem reads.
      data: the kind of per-split pool it reads, or None.
      batch_sizes / num_examples: log-int ranges for data problems.
      floor: the known minimum or a lower bound as a function of dim, or None.
      noisy: TaskSet samples gradient noise for it.
      wrappable: TaskSet applies its sparse/rescale/log wrappers to it.
    """

    dims: tuple[int, int]
    init: tuple[Any, ...]
    min_dim: int = 1
    fields: frozenset[str] = frozenset()
    data: str | None = None
    batch_sizes: tuple[int, int] = (1, 200)
    num_examples: tuple[int, int] = (100, 20000)
    floor: Callable[[int], float] | None = lambda dim: 0.0
    noisy: bool = False
    wrappable: bool = True


_DATA_FIELDS = frozenset({"batch_size", "num_examples", "instance_seed"})
_NORMAL = ("normal", 1.0)

PROBLEMS: dict[str, Problem] = {
    "bowl": Problem((2, 2), _NORMAL, min_dim=2, fields=frozenset({"condition_number", "angle"}), noisy=True),
    "rosenbrock": Problem((2, 10), ("uniform", -5.0, 10.0), min_dim=2, noisy=True),
    "ackley": Problem((2, 10), ("uniform", -32.768, 32.768), noisy=True),
    "beale": Problem((2, 2), ("uniform", -4.5, 4.5), min_dim=2, noisy=True),
    "branin": Problem((2, 2), ("uniform", (-5.0, 0.0), (10.0, 15.0)), min_dim=2, noisy=True,
                      floor=lambda dim: losg.BRANIN_MINIMUM),
    "styblinski_tang": Problem((2, 10), ("uniform", -5.0, 5.0), noisy=True,
                               floor=lambda dim: losg.STYBLINSKI_TANG_MINIMUM_PER_DIM * dim),
    "michalewicz": Problem((2, 10), ("uniform", 0.0, math.pi), noisy=True, floor=lambda dim: -float(dim)),
    "matyas": Problem((2, 2), ("uniform", -10.0, 10.0), min_dim=2, noisy=True),
    "sum_of_quadratics": Problem((3, 100), _NORMAL, fields=_DATA_FIELDS, data="symmetric", floor=None),
    "sparse_softmax_regression": Problem((2, 100), ("normal", 1.2), fields=_DATA_FIELDS, data="parity",
                                         batch_sizes=(1, 50), num_examples=(1, 30), noisy=True,
                                         wrappable=False),
    "dependency_chain": Problem((3, 100), _NORMAL, min_dim=2),
    "outward_snake": Problem((3, 100), _NORMAL, min_dim=2, fields=_DATA_FIELDS, data="gaussian", floor=None),
    "min_max_well": Problem((10, 1000), _NORMAL, noisy=True),
    "norm": Problem((3, 1000), _NORMAL, fields=frozenset({"norm_power", "instance_seed"})),
}


@frozen_config
class LosgConfig:
    problem: str
    dim: int
    condition_number: float = 1.0
    angle: float = 0.0
    norm_power: float = 2.0
    batch_size: int = 0
    num_examples: int = 0
    instance_seed: int = 0
    noise_stdev: float = 0.0
    zero_probability: float = 0.0
    param_scale: float = 1.0
    log_objective: bool = False

    def validate(self) -> None:
        if self.problem not in PROBLEMS:
            raise ValueError(f"unknown problem {self.problem!r}; accepted: {sorted(PROBLEMS)!r}")
        spec = PROBLEMS[self.problem]
        defaults = {f.name: f.default for f in dataclasses.fields(self) if f.default is not dataclasses.MISSING}
        for name in sorted((_DATA_FIELDS | {"condition_number", "angle", "norm_power"}) - spec.fields):
            if getattr(self, name) != defaults[name]:
                raise ValueError(f"{name}={getattr(self, name)!r} is not used by problem {self.problem!r}; "
                                 f"leave it at {defaults[name]!r}")
        fixed = spec.dims[0] == spec.dims[1]
        if (fixed and self.dim != spec.dims[0]) or self.dim < spec.min_dim:
            accepted = spec.dims[0] if fixed else f">= {spec.min_dim}"
            raise ValueError(f"dim={self.dim!r} is not valid for problem {self.problem!r}; accepted: {accepted}")
        if self.condition_number <= 0.0 or self.norm_power <= 0.0 or self.param_scale <= 0.0:
            raise ValueError(f"condition_number, norm_power and param_scale must be positive, got "
                             f"{self.condition_number!r}, {self.norm_power!r}, {self.param_scale!r}")
        if spec.data is not None and (self.batch_size < 1 or self.num_examples < 1):
            raise ValueError(f"problem {self.problem!r} needs batch_size >= 1 and num_examples >= 1, got "
                             f"{self.batch_size!r} and {self.num_examples!r}")
        if spec.data == "symmetric" and self.num_examples % 2:
            raise ValueError(f"num_examples must be even for {self.problem!r} (vectors and their negatives), "
                             f"got {self.num_examples!r}")
        if self.instance_seed < 0:
            raise ValueError(f"instance_seed must be >= 0, got {self.instance_seed!r}")
        if self.noise_stdev < 0.0:
            raise ValueError(f"noise_stdev must be >= 0, got {self.noise_stdev!r}")
        if not 0.0 <= self.zero_probability < 1.0:
            raise ValueError(f"zero_probability must be in [0, 1), got {self.zero_probability!r}")
        if self.log_objective and spec.floor is None:
            accepted = sorted(name for name, p in PROBLEMS.items() if p.floor is not None)
            raise ValueError(f"log_objective needs a known lower bound, which problem {self.problem!r} lacks; "
                             f"accepted problems: {accepted!r}")


class LosgTask(Task):
    family = "test_functions"

    def __init__(self, name: str, config: LosgConfig) -> None:
        super().__init__(name, config)
        self.spec = PROBLEMS[config.problem]
        self._constants: dict[str, Any] = {}

    def required_datasets(self) -> tuple[str, ...]:
        return ()

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        dim = self.config.dim
        if self.config.problem == "sparse_softmax_regression":
            return {"bias": (NUM_CLASSES,), "embeddings": (NUM_CLASSES, dim), "weights": (dim, NUM_CLASSES)}
        return {"x": (dim,)}

    def init(self, seed: int):
        # The config is part of the seed, so tasks of one problem start from different points.
        tag = config_lib.to_json(self.config_dict)
        params = {}
        for name, shape in self.param_shapes().items():
            param_seed = nn.param_seed(seed, f"{tag}/{name}")
            if self.spec.init[0] == "uniform":
                _, low, high = self.spec.init
                unit = tf.random.stateless_uniform(shape, param_seed)
                value = np.float32(low) + np.float32(np.subtract(high, low)) * unit
            else:
                std = self.spec.init[1] / (math.sqrt(shape[0]) if self.config.problem == "sparse_softmax_regression"
                                           else 1.0)
                value = tf.random.stateless_normal(shape, param_seed) * std
            params[name] = value * self.config.param_scale
        return params

    def _rng(self, purpose: str) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64([self.config.instance_seed, stable_hash(purpose)]))

    def _constant(self, key: str, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, Any]:
        """Instance data as eager tensors, built once per task (outside any traced function)."""
        if key not in self._constants:
            with tf.init_scope():
                self._constants[key] = {name: tf.constant(value) for name, value in build().items()}
        return self._constants[key]

    def _pool(self, split: str) -> dict[str, Any]:
        """The fixed examples of `split`, drawn from the instance seed."""
        cfg = self.config

        def build() -> dict[str, np.ndarray]:
            rng = self._rng(f"data/{split}")
            if self.spec.data == "symmetric":
                return {"data": losg.symmetric_gaussian(cfg.num_examples, cfg.dim, rng)}
            if self.spec.data == "gaussian":
                return {"data": rng.standard_normal((cfg.num_examples, cfg.dim)).astype(np.float32)}
            return dict(zip(("ids", "label"), losg.noisy_parity(cfg.num_examples, NUM_CLASSES, rng)))

        return self._constant(split, build)

    def sample_batch(self, split: str, seed):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; accepted: {list(SPLITS)!r}")
        n = self.num_params
        noise_seed = tf.random.experimental.stateless_fold_in(seed, 1)
        keep_seed = tf.random.experimental.stateless_fold_in(seed, 2)
        batch = {
            "noise": tf.random.stateless_normal([n], noise_seed) * self.config.noise_stdev,
            "keep": tf.random.stateless_uniform([n], keep_seed) >= self.config.zero_probability,
        }
        if self.spec.data is not None:
            batch.update(gather_batch(self._pool(split), self.config.batch_size, seed))
        return batch

    def objective(self, params, batch):
        """The unwrapped function f at parameters `params` in the problem's own coordinates."""
        cfg, x = self.config, params.get("x")
        problem = cfg.problem
        if problem == "bowl":
            matrix = self._constant("matrix", lambda: {"a": losg.bowl_matrix(cfg.condition_number, cfg.angle)})
            return losg.bowl(x, matrix["a"])
        if problem == "norm":
            system = self._constant("matrix", lambda: dict(zip(
                ("w", "y"), losg.gaussian_linear_system(cfg.dim, self._rng("matrix")))))
            return losg.norm(x, system["w"], system["y"], cfg.norm_power)
        if problem == "sum_of_quadratics":
            return losg.sum_of_quadratics(x, batch["data"])
        if problem == "outward_snake":
            return losg.outward_snake(x, batch["data"])
        if problem == "sparse_softmax_regression":
            return losg.softmax_regression(params["embeddings"], params["weights"], params["bias"],
                                           batch["ids"], batch["label"])
        return getattr(losg, problem)(x)

    def loss(self, params, batch):
        cfg = self.config
        effective, surrogate, offset = {}, 0.0, 0
        for name, shape in sorted(self.param_shapes().items()):
            size = math.prod(shape)
            keep = tf.reshape(batch["keep"][offset:offset + size], shape)
            noise = tf.reshape(batch["noise"][offset:offset + size], shape)
            offset += size
            p = params[name]
            # Masked entries reach f only through stop_gradient: same value, zero gradient.
            effective[name] = tf.where(keep, p, tf.stop_gradient(p)) / cfg.param_scale
            surrogate += tf.reduce_sum(tf.where(keep, noise, tf.zeros_like(noise)) * (p - tf.stop_gradient(p)))
        value = self.objective(effective, batch)
        if cfg.log_objective:
            gap = tf.maximum(value - self.spec.floor(cfg.dim), 0.0)
            value = tf.math.log(gap + LOG_EPS) - math.log(LOG_EPS)
        return value + surrogate


class LosgFamily(TaskFamily):
    name = "test_functions"
    config_class = LosgConfig
    task_class = LosgTask
    description = "losg problems and classic test functions, with noise, sparse, rescale and log wrappers"

    def sample_config(self, seed: int) -> LosgConfig:
        def rng(field):
            return field_rng(self.name, seed, field)

        problem = choice(rng("problem"), sorted(PROBLEMS))
        spec = PROBLEMS[problem]
        wrapper = choice(rng("wrapper"), WRAPPERS, WRAPPER_WEIGHTS)
        if not spec.wrappable or (wrapper == "log" and spec.floor is None):
            wrapper = "none"
        fields: dict[str, Any] = {"problem": problem, "dim": log_int(rng("dim"), *spec.dims)}
        if problem == "bowl":
            fields["condition_number"] = log_uniform(rng("condition_number"), 0.01, 100.0)
            fields["angle"] = choice(rng("angle"), BOWL_ANGLES)
        if problem == "norm":
            fields["norm_power"] = float(rng("norm_power").uniform(0.1, 5.0))
        if spec.data is not None:
            fields["batch_size"] = log_int(rng("batch_size"), *spec.batch_sizes)
            examples = log_int(rng("num_examples"), *spec.num_examples)
            fields["num_examples"] = max(2, examples // 2 * 2) if spec.data == "symmetric" else examples
        if "instance_seed" in spec.fields:
            fields["instance_seed"] = uniform_int(rng("instance_seed"), 0, 99_999)
        noise_rng = rng("noise_stdev")
        if ((spec.noisy and wrapper == "none") or wrapper == "sparse") and coin(noise_rng):
            fields["noise_stdev"] = log_uniform(noise_rng, 0.01, 10.0)
        if wrapper == "sparse":
            fields["zero_probability"] = float(rng("zero_probability").uniform(0.9, 0.99))
        if wrapper == "rescale":
            fields["param_scale"] = log_uniform(rng("param_scale"), 0.001, 1000.0)
        fields["log_objective"] = wrapper == "log"
        return LosgConfig(**fields)


register_family(LosgFamily())
