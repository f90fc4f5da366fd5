"""Shared pieces of the image-classification families (mlp, conv_pooling, conv_fc).

Image pool: TaskSet's image datasets that TFDS provides plus the embedded ones.
Pixels arrive in [0, 1]; `center_data` maps them to [-1, 1] (TaskSet's option).
"""

from __future__ import annotations

import abc

from taskset.datasets.base import DATASETS
from taskset.lazy import tf
from taskset.tasks import nn
from taskset.tasks.base import Task, gather_batch, split_tensors

TFDS_IMAGE_POOL = ("mnist", "fashion_mnist", "cifar10", "cifar100", "svhn_cropped", "imagenet_resized_32")
EMBEDDED_IMAGE_POOL = ("digits", "mnist5k")
IMAGE_POOL = TFDS_IMAGE_POOL + EMBEDDED_IMAGE_POOL   # 2-D images, usable by conv nets
VECTOR_POOL = IMAGE_POOL + ("mnist1d",)              # anything an MLP can flatten


def check_dataset(name: str, pool: tuple[str, ...]) -> None:
    """Raises ValueError if `name` is not in the family's dataset pool."""
    if name not in pool:
        raise ValueError(f"dataset {name!r} is not usable here; accepted: {list(pool)!r}")


class ImageClassifierTask(Task):
    """Softmax cross-entropy on an image/vector dataset; subclasses give `logits`.

    The config must have `dataset`, `batch_size` and `center_data` fields.
    """

    def required_datasets(self) -> tuple[str, ...]:
        return (self.config.dataset,)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return DATASETS.get(self.config.dataset).info.feature_shape

    @property
    def num_classes(self) -> int:
        return DATASETS.get(self.config.dataset).info.num_classes

    def sample_batch(self, split: str, seed):
        batch = gather_batch(split_tensors(self.config.dataset, split), self.config.batch_size, seed)
        image = batch["image"]
        image = tf.cast(image, tf.float32) / 255.0 if image.dtype == tf.uint8 else tf.cast(image, tf.float32)
        if self.config.center_data:
            image = image * 2.0 - 1.0
        return {"image": image, "label": batch["label"], "rng": seed}

    @abc.abstractmethod
    def logits(self, params, batch):
        """Class scores [batch, num_classes]."""

    def loss(self, params, batch):
        return nn.softmax_cross_entropy(self.logits(params, batch), batch["label"])
