"""Real datasets through tensorflow-datasets, never touching the network unless asked.

`is_available` only looks for a prepared copy on disk (no TensorFlow import);
`_load` calls `tfds.load(..., download=False, try_gcs=False)`, so a missing
dataset fails at once instead of retrying the network for minutes. The one
explicit download is `prepare` (CLI: `taskset-bench data prepare NAME`).

Data directory: `$TFDS_DATA_DIR`, else `~/tensorflow_datasets` (TFDS' own default).
Training pools are capped at `max_train` examples (default 60,000) so that the
whole split fits in memory as the trainer expects; the cap is part of the
dataset's definition, so it is the same everywhere.
"""

from __future__ import annotations

import functools
import os
import pathlib
from typing import Callable

import numpy as np

from taskset.datasets.base import DATASETS, Arrays, Dataset, DatasetInfo, Splits, carve_validation

_CARVE_SEED = 20200201


def data_dir() -> pathlib.Path:
    """Where prepared TFDS datasets live."""
    return pathlib.Path(os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")).expanduser()


class TfdsDataset(Dataset):
    """A TFDS dataset converted to in-memory arrays.

    Args:
      info: static facts (its `name` is our registry name).
      tfds_name: TFDS name with optional config, e.g. "imagenet_resized/32x32".
      convert: turns one TFDS split (dict of NumPy arrays) into our arrays.
      train_split / test_split: TFDS split names.
      max_train / max_test: caps on examples read (see module docstring).
    """

    def __init__(self, info: DatasetInfo, tfds_name: str, convert: Callable[[dict], Arrays],
                 train_split: str = "train", test_split: str = "test",
                 max_train: int = 60_000, max_test: int = 10_000) -> None:
        super().__init__()
        self._info = info
        self.tfds_name = tfds_name
        self.convert = convert
        self.train_split, self.test_split = train_split, test_split
        self.max_train, self.max_test = max_train, max_test

    @property
    def info(self) -> DatasetInfo:
        return self._info

    def is_available(self) -> bool:
        return _is_prepared(str(data_dir() / self.tfds_name))

    def how_to_get(self) -> str:
        return (f"run `taskset-bench data prepare {self.info.name}` on a machine with network access "
                f"(it stores TFDS '{self.tfds_name}' under {data_dir()}), or set TFDS_DATA_DIR to a "
                f"directory that holds it")

    def _read(self, split: str, limit: int) -> Arrays:
        import tensorflow_datasets as tfds

        data = tfds.load(self.tfds_name, split=f"{split}[:{limit}]", data_dir=str(data_dir()),
                         download=False, try_gcs=False)
        # Chunked batches rather than batch_size=-1, which needs a known cardinality.
        chunks = list(tfds.as_numpy(data.batch(4096)))
        return self.convert({key: np.concatenate([c[key] for c in chunks]) for key in chunks[0]})

    def _load(self) -> Splits:
        train = self._read(self.train_split, self.max_train)
        test = self._read(self.test_split, self.max_test)
        return carve_validation(train, test, _CARVE_SEED)

    def prepare(self) -> None:
        """Downloads and prepares the dataset (the one network path)."""
        import tensorflow_datasets as tfds

        tfds.builder(self.tfds_name, data_dir=str(data_dir())).download_and_prepare()
        _is_prepared.cache_clear()


@functools.lru_cache(maxsize=None)
def _is_prepared(root: str) -> bool:
    """Whether a prepared TFDS copy exists under `root` (memoised: listing asks 1,000 times)."""
    path = pathlib.Path(root)
    return path.is_dir() and any(path.glob("**/dataset_info.json"))


def image_arrays(example: dict) -> Arrays:
    """TFDS image/label features as uint8 images and int32 labels."""
    return {"image": np.asarray(example["image"], dtype=np.uint8),
            "label": np.asarray(example["label"], dtype=np.int32)}


def _image(name: str, shape: tuple[int, int, int], classes: int, licence: str, description: str,
           tfds_name: str | None = None, **kwargs) -> TfdsDataset:
    return TfdsDataset(DatasetInfo(name=name, source="tfds", kind="image", description=description,
                                   licence=licence, feature_shape=shape, num_classes=classes),
                       tfds_name or name, image_arrays, **kwargs)


IMAGE_DATASETS = (
    _image("mnist", (28, 28, 1), 10, "CC BY-SA 3.0", "MNIST handwritten digits"),
    _image("fashion_mnist", (28, 28, 1), 10, "MIT", "Fashion-MNIST clothing images"),
    _image("cifar10", (32, 32, 3), 10, "unknown (CIFAR terms)", "CIFAR-10 natural images"),
    _image("cifar100", (32, 32, 3), 100, "unknown (CIFAR terms)", "CIFAR-100 natural images"),
    _image("svhn_cropped", (32, 32, 3), 10, "non-commercial (SVHN terms)", "SVHN cropped house numbers"),
    _image("imagenet_resized_32", (32, 32, 3), 1000, "ImageNet terms (research only)",
           "ImageNet downsampled to 32x32 (manual download of the source archives)",
           tfds_name="imagenet_resized/32x32", test_split="validation"),
)

for _dataset in IMAGE_DATASETS:
    DATASETS.register(_dataset.info.name, _dataset)
