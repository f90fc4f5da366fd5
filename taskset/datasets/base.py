"""The dataset contract: named sources of four in-memory splits of NumPy arrays.

Every dataset, embedded or TFDS, yields the same shape of data: a dict from
split name (`SPLITS`) to a dict of equally long arrays (e.g. `image`, `label`).
Keeping whole splits in memory lets a task draw a batch inside a compiled
training loop with one stateless gather, which is what makes stacking many
optimizer configs fast; the largest supported sets are capped (see each loader).

valid_inner and valid_outer are carved from the training pool and are disjoint
from train and test, as in TaskSet.
"""

from __future__ import annotations

import abc
import dataclasses
import threading
from typing import Mapping

import numpy as np

from taskset.errors import DataNotAvailableError
from taskset.registry import Registry

SPLITS = ("train", "valid_inner", "valid_outer", "test")
Arrays = dict[str, np.ndarray]
Splits = dict[str, Arrays]


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a dataset holds, known without loading it.

    Attributes:
      name: registry name, e.g. "mnist5k".
      source: "embedded" (works offline, shipped or generated) or "tfds".
      kind: "image" (features `image` [N,H,W,C], `label`), "vector" (`image`
        [N,D], `label`), "text" (`tokens`: int32 stream per split) or
        "text_classification" (`tokens` [N,T] padded with 0, `length`, `label`).
      description: one line for `data list`.
      licence: the data's licence.
      feature_shape: shape of one example's features (image) or () for text.
      num_classes: number of labels, or 0 when unlabelled.
      vocab_size: number of token ids (text kinds), else 0.
    """

    name: str
    source: str
    kind: str
    description: str
    licence: str
    feature_shape: tuple[int, ...] = ()
    num_classes: int = 0
    vocab_size: int = 0


class Dataset(abc.ABC):
    """A named dataset. Subclasses implement `info`, `is_available`, `how_to_get`, `_load`."""

    def __init__(self) -> None:
        self._splits: Splits | None = None
        self._lock = threading.Lock()

    @property
    @abc.abstractmethod
    def info(self) -> DatasetInfo:
        """Static facts about the dataset."""

    @abc.abstractmethod
    def is_available(self) -> bool:
        """True when `splits()` will work offline now; must not import TensorFlow."""

    @abc.abstractmethod
    def how_to_get(self) -> str:
        """A sentence telling the user how to make the dataset available."""

    @abc.abstractmethod
    def _load(self) -> Splits:
        """Loads the four splits (called once per process)."""

    def splits(self) -> Splits:
        """The four splits, loaded once per process and then shared.

        Raises:
          DataNotAvailableError: the data is not on this machine.
        """
        with self._lock:
            if self._splits is None:
                if not self.is_available():
                    raise DataNotAvailableError(
                        f"dataset {self.info.name!r} is not available on this machine; {self.how_to_get()}")
                splits = self._load()
                validate_splits(self.info.name, splits)
                self._splits = splits
            return self._splits


def validate_splits(name: str, splits: Mapping[str, Arrays]) -> None:
    """Checks that all four splits exist, are non-empty and have aligned arrays."""
    if sorted(splits) != sorted(SPLITS):
        raise ValueError(f"dataset {name!r} returned splits {sorted(splits)!r}, expected {list(SPLITS)!r}")
    for split, arrays in splits.items():
        lengths = {key: len(value) for key, value in arrays.items()}
        if len(set(lengths.values())) > 1 or 0 in lengths.values():
            raise ValueError(f"dataset {name!r} split {split!r} has misaligned or empty arrays: {lengths}")


def carve_validation(train: Arrays, test: Arrays, seed: int, valid_fraction: float = 0.1) -> Splits:
    """Carves valid_inner and valid_outer (each `valid_fraction`) out of `train`.

    The permutation comes from a fixed seed, so the carve is the same everywhere.
    """
    n = len(next(iter(train.values())))
    order = np.random.Generator(np.random.PCG64(seed)).permutation(n)
    k = max(1, int(round(n * valid_fraction)))
    parts = {"valid_inner": order[:k], "valid_outer": order[k:2 * k], "train": order[2 * k:]}
    out = {split: {key: value[idx] for key, value in train.items()} for split, idx in parts.items()}
    out["test"] = dict(test)
    return out


def hold_out_test(arrays: Arrays, seed: int, test_fraction: float = 0.2) -> tuple[Arrays, Arrays]:
    """Splits a dataset that ships without a test split into (train pool, test)."""
    n = len(next(iter(arrays.values())))
    order = np.random.Generator(np.random.PCG64(seed)).permutation(n)
    k = max(1, int(round(n * test_fraction)))
    test_idx, train_idx = order[:k], order[k:]
    return ({key: v[train_idx] for key, v in arrays.items()}, {key: v[test_idx] for key, v in arrays.items()})


DATASETS: Registry[Dataset] = Registry("dataset")
