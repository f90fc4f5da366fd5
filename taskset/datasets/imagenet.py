"""ImageNet and Imagenette as TFDS datasets, cropped to a fixed size when read.

They are not in `taskset.datasets.tfds_sets.IMAGE_DATASETS` because their JPEGs
come in every size: `TfdsDataset._read` batches the raw images, which needs
equal shapes, so these two resize and crop every image first (shorter side to
size x 256/224, then the central size x size square, the usual ImageNet
evaluation crop). The evaluation problems (`eval.problems`) train on them;
they are registered here, with taskset's other datasets, so that `data list`,
`data prepare imagenette` and `taskset.datasets.list_datasets()` agree whatever
was imported. Importing this module imports no TensorFlow.

- `imagenette`: the 10-class ImageNet subset (TFDS `imagenette/160px-v2`,
  9,469 train and 3,925 validation images, Apache-2.0), stored at 128x128
  (about 0.5 GB in memory); validation serves as test.
- `imagenet2012`: ILSVRC 2012 (TFDS `imagenet2012`, a manual download of the
  archives), stored at 224x224, capped at the first 60,000 train images (like
  every TFDS pool; 9 GB of uint8 in memory) and the 50,000 validation images as
  test (7.5 GB). The `full` ResNet-50 preset needs a host with about 24 GB free.
"""

from __future__ import annotations

import numpy as np

from taskset.datasets.base import DATASETS, Arrays, DatasetInfo
from taskset.datasets.tfds_sets import TfdsDataset, data_dir, image_arrays

IMAGENET_LICENCE = "ImageNet terms (non-commercial research only)"


class CroppedTfdsImages(TfdsDataset):
    """A TFDS image set of varying image sizes, center-cropped to `size` x `size` uint8.

    Args:
      info: static facts; `info.feature_shape` is (size, size, 3).
      tfds_name: TFDS name with config.
      **kwargs: split names and caps, as for TfdsDataset.
    """

    def __init__(self, info: DatasetInfo, tfds_name: str, **kwargs) -> None:
        super().__init__(info, tfds_name, image_arrays, **kwargs)
        self.size = info.feature_shape[0]

    def _read(self, split: str, limit: int) -> Arrays:
        import tensorflow_datasets as tfds

        data = tfds.load(self.tfds_name, split=f"{split}[:{limit}]", data_dir=str(data_dir()),
                         download=False, try_gcs=False)
        size = self.size
        data = data.map(lambda ex: {"image": center_crop(ex["image"], size), "label": ex["label"]})
        chunks = list(tfds.as_numpy(data.batch(1024)))
        return self.convert({key: np.concatenate([c[key] for c in chunks]) for key in chunks[0]})


def center_crop(image, size: int):
    """One [H, W, 3] uint8 image -> [size, size, 3] uint8: shorter side to size*256/224, central square."""
    from taskset.lazy import tf

    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = (size * 256.0 / 224.0) / tf.reduce_min(shape)
    resized = tf.image.resize(image, tf.cast(tf.round(shape * scale), tf.int32), antialias=True)
    cropped = tf.image.resize_with_crop_or_pad(resized, size, size)
    return tf.cast(tf.clip_by_value(tf.round(cropped), 0.0, 255.0), tf.uint8)


CROPPED_IMAGE_DATASETS = (
    CroppedTfdsImages(DatasetInfo(
        name="imagenette", source="tfds", kind="image", licence="Apache-2.0 (Imagenette, fast.ai)",
        description="10 easy ImageNet classes, center-cropped to 128x128 (9.5k train)",
        feature_shape=(128, 128, 3), num_classes=10), "imagenette/160px-v2", test_split="validation",
        max_test=10_000),
    CroppedTfdsImages(DatasetInfo(
        name="imagenet2012", source="tfds", kind="image", licence=IMAGENET_LICENCE,
        description="ILSVRC 2012, center-cropped to 224x224 (first 60k train images; manual download)",
        feature_shape=(224, 224, 3), num_classes=1000), "imagenet2012", test_split="validation",
        max_test=50_000),
)

for _dataset in CROPPED_IMAGE_DATASETS:
    DATASETS.register(_dataset.info.name, _dataset)
