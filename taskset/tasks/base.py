"""The task contract: a family samples configs from seeds; a task is built from a config.

A `Task` is cheap to construct and never imports TensorFlow until `init`, `loss`
or `sample_batch` is called, so listing a thousand tasks (names, runnability,
parameter counts) stays fast.

Batches are drawn by `sample_batch(split, seed)`, a pure TF function of a [2]
stateless seed; `batch_seed(replica_seed, split, step)` is the one seed scheme,
used both by `Task.datasets` and by the trainer, so the two see the same batches.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from typing import Any, ClassVar, Generic, TypeVar

from taskset import config as config_lib
from taskset.datasets.base import DATASETS, SPLITS
from taskset.errors import ConfigError
from taskset.lazy import tf
from taskset.types import Batch, Params, Seed

C = TypeVar("C")


def batch_seed(replica_seed, split: str, step) -> Seed:
    """The stateless seed of the batch drawn at `step` from `split` in a replica."""
    index = SPLITS.index(split)
    step = tf.cast(step, tf.int64)
    return tf.stack([tf.cast(replica_seed, tf.int64), step * len(SPLITS) + index])


class Task(abc.ABC, Generic[C]):
    """One training problem: parameters, a pure loss and four data splits.

    Attributes:
      name: catalogue name, e.g. "mlp_seed12".
      config: the family's frozen config dataclass.
      family: the family's registry name (class attribute).
    """

    family: ClassVar[str]

    def __init__(self, name: str, config: C) -> None:
        self.name = name
        self.config = config

    @property
    def config_dict(self) -> dict[str, Any]:
        """The config as JSON-ready data, with the family under "family"."""
        return {"family": self.family, **config_lib.to_dict(self.config)}

    @property
    def identity(self) -> str:
        """The name and the canonical config JSON: tasks of equal identity build the same graph
        from equal data, so whatever is derived from one (a compiled loop, a decision) serves both."""
        return f"{self.name} {config_lib.to_json(self.config_dict)}"

    @abc.abstractmethod
    def required_datasets(self) -> tuple[str, ...]:
        """Registry names of the datasets this task reads (empty for synthetic tasks)."""

    @abc.abstractmethod
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every trainable parameter, computed without TensorFlow."""

    @abc.abstractmethod
    def init(self, seed: int) -> Params:
        """Initial parameters for `seed` (float32 tensors keyed as `param_shapes`)."""

    @abc.abstractmethod
    def loss(self, params: Params, batch: Batch):
        """The scalar float32 loss; a pure function of its inputs."""

    @abc.abstractmethod
    def sample_batch(self, split: str, seed: Seed) -> Batch:
        """One batch of `split` drawn with the stateless `seed` (pure TF)."""

    @property
    def num_params(self) -> int:
        """Number of trainable scalars."""
        return sum(math.prod(shape) for shape in self.param_shapes().values())

    def is_runnable(self) -> bool:
        """True when every dataset the task needs is available offline now."""
        return all(DATASETS.get(name).is_available() for name in self.required_datasets())

    def check_data(self) -> None:
        """Raises DataNotAvailableError (saying how to get it) if a dataset is missing."""
        for name in self.required_datasets():
            DATASETS.get(name).splits()

    def datasets(self, seed: int) -> dict[str, Any]:
        """The four splits as endless `tf.data.Dataset`s of batches, deterministic in `seed`.

        Batch i of split s is `sample_batch(s, batch_seed(seed, s, i))`, the same
        batch the trainer uses at step i of replica `seed`.
        """
        self.check_data()
        out = {}
        for split in SPLITS:
            def draw(i, split=split):
                return self.sample_batch(split, batch_seed(seed, split, i))
            out[split] = tf.data.Dataset.counter().map(draw)
        return out


class TaskFamily(abc.ABC, Generic[C]):
    """A sampler of task configs plus the task class that builds them.

    Subclasses set `name`, `config_class`, `task_class` and implement `sample_config`.
    """

    name: ClassVar[str]
    config_class: ClassVar[type]
    task_class: ClassVar[type[Task]]
    num_seeds: ClassVar[int] = 100
    description: ClassVar[str] = ""

    @abc.abstractmethod
    def sample_config(self, seed: int) -> C:
        """The config of `<name>_seed<seed>`, deterministic on every platform."""

    def config_from_dict(self, data: dict[str, Any]) -> C:
        """Validates plain data (without the "family" key) into the config dataclass."""
        config = config_lib.from_dict(self.config_class, data, what=f"{self.name} config")
        check = getattr(config, "validate", None)
        if check is not None:
            try:
                check()
            except ValueError as err:
                raise ConfigError(f"{self.name} config: {err}") from None
        return config

    def build(self, config: C, name: str) -> Task:
        """The task for `config`, called `name`."""
        return self.task_class(name, config)


def frozen_config(cls):
    """Decorator for config classes: a frozen, keyword-only dataclass."""
    return dataclasses.dataclass(frozen=True, kw_only=True)(cls)


# --- shared data access ---------------------------------------------------------

_TENSORS: dict[tuple[str, str], dict[str, Any]] = {}


def split_tensors(dataset: str, split: str) -> dict[str, Any]:
    """A dataset split as eager tensors, converted once per process.

    Eager tensors are captured by `tf.function` by reference, not embedded as
    graph constants, so large splits do not bloat compiled graphs.
    """
    key = (dataset, split)
    if key not in _TENSORS:
        arrays = DATASETS.get(dataset).splits()[split]
        # init_scope: eager even when first called while tracing, so the cache never
        # holds a graph tensor that dies with the trace.
        with tf.init_scope():
            _TENSORS[key] = {name: tf.constant(value) for name, value in arrays.items()}
    return _TENSORS[key]


def gather_batch(tensors: dict[str, Any], batch_size: int, seed: Seed) -> dict[str, Any]:
    """`batch_size` examples drawn uniformly with replacement, by stateless seed."""
    n = tf.shape(next(iter(tensors.values())))[0]
    idx = tf.random.stateless_uniform([batch_size], seed=seed, minval=0, maxval=n, dtype=tf.int32)
    return {name: tf.gather(value, idx) for name, value in tensors.items()}
