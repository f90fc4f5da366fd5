"""The TFDS loaders' conversion code, on TFDS' own offline mock data (no network)."""

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from taskset.datasets.tfds_sets import IMAGE_DATASETS  # noqa: E402


@pytest.mark.parametrize("dataset", [d for d in IMAGE_DATASETS if d.info.name in ("mnist", "cifar10")],
                         ids=lambda d: d.info.name)
def test_image_loader_converts_mock_data(dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    (tmp_path / dataset.tfds_name / "3.0.0").mkdir(parents=True)
    (tmp_path / dataset.tfds_name / "3.0.0" / "dataset_info.json").write_text("{}")
    assert dataset.is_available()
    with tfds.testing.mock_data(num_examples=40):
        splits = dataset._load()
    assert len(splits["train"]["image"]) == 32 and len(splits["valid_inner"]["image"]) == 4
    assert splits["test"]["image"].shape[1:] == dataset.info.feature_shape
    assert splits["train"]["image"].dtype == np.uint8 and splits["train"]["label"].dtype == np.int32
