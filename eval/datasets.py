"""Imagenette and ImageNet for the evaluation problems: now taskset datasets.

They live in `taskset.datasets.imagenet` and are registered there, with every
other dataset, so that importing `eval` changes no registry of `taskset`. This
module keeps eval's import path (`eval.datasets.center_crop`) working.
"""

from taskset.datasets.imagenet import CROPPED_IMAGE_DATASETS, CroppedTfdsImages, center_crop

__all__ = ["CROPPED_IMAGE_DATASETS", "CroppedTfdsImages", "center_crop"]
