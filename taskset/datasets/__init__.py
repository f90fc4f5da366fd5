"""Datasets: embedded offline sets and real TFDS loaders behind one registry."""

from taskset.datasets import embedded, imagenet, text, tfds_sets  # noqa: F401  (registration)
from taskset.datasets.base import DATASETS, SPLITS, Dataset, DatasetInfo, Splits

__all__ = ["DATASETS", "SPLITS", "Dataset", "DatasetInfo", "Splits", "get_dataset", "list_datasets"]


def get_dataset(name: str) -> Dataset:
    """The dataset registered as `name` (raises UnknownNameError with suggestions)."""
    return DATASETS.get(name)


def list_datasets() -> list[str]:
    """Names of all registered datasets."""
    return DATASETS.list()
