"""Flattened images in [0, 1]: the data side of the unsupervised families (mlp_ae, mlp_vae).

Image datasets are pixel intensities (uint8 in [0, 255], or already in [0, 1]
for `digits`) and map to [0, 1] by their known range. Vector datasets such as
`mnist1d` hold standardised signals, not intensities; they are mapped to [0, 1]
by the minimum and maximum of their train split (fixed numbers per dataset) and
clipped, so values outside the train range in other splits stay in [0, 1]. That
keeps one target range for every dataset in the pool, which the output
activations and likelihoods of these families rely on.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from taskset.datasets.base import DATASETS
from taskset.lazy import tf
from taskset.tasks.base import Task, gather_batch, split_tensors


@functools.lru_cache(maxsize=None)
def value_range(dataset: str) -> tuple[float, float]:
    """(low, high) that `dataset`'s features are mapped from onto [0, 1]."""
    info = DATASETS.get(dataset).info
    images = DATASETS.get(dataset).splits()["train"]["image"]
    if images.dtype == np.uint8:
        return 0.0, 255.0
    if info.kind == "image":
        return 0.0, 1.0
    return float(images.min()), float(images.max())


class FlatImageTask(Task):
    """A task on flattened examples of one dataset; the config has `dataset` and `batch_size`.

    Batches are {"image": [batch, features] float32 in [0, 1], "rng": the batch's seed};
    labels are not used.
    """

    def required_datasets(self) -> tuple[str, ...]:
        return (self.config.dataset,)

    @property
    def input_size(self) -> int:
        """Number of features of one flattened example."""
        return math.prod(DATASETS.get(self.config.dataset).info.feature_shape)

    def sample_batch(self, split: str, seed):
        images = gather_batch(split_tensors(self.config.dataset, split), self.config.batch_size, seed)["image"]
        low, high = value_range(self.config.dataset)
        x = (tf.cast(images, tf.float32) - low) / (high - low)
        x = tf.clip_by_value(tf.reshape(x, [self.config.batch_size, self.input_size]), 0.0, 1.0)
        return {"image": x, "rng": seed}
