import numpy as np
import pytest

from taskset.datasets import DATASETS, SPLITS
from taskset.datasets.base import carve_validation, hold_out_test
from taskset.errors import DataNotAvailableError, UnknownNameError


def test_carve_is_disjoint_and_complete():
    arrays = {"x": np.arange(1000), "y": np.arange(1000) * 2}
    train, test = hold_out_test(arrays, seed=1)
    splits = carve_validation(train, test, seed=1)
    ids = [set(splits[s]["x"].tolist()) for s in SPLITS]
    assert sum(len(i) for i in ids) == 1000 and len(set().union(*ids)) == 1000
    for split in SPLITS:
        np.testing.assert_array_equal(splits[split]["y"], splits[split]["x"] * 2)
    assert len(splits["valid_inner"]["x"]) == len(splits["valid_outer"]["x"]) == 80


@pytest.mark.parametrize("name, shape, n_total", [("digits", (8, 8, 1), 1797), ("mnist5k", (28, 28, 1), 5000),
                                                 ("mnist1d", (40,), 5000)])
def test_embedded_datasets(name, shape, n_total):
    ds = DATASETS.get(name)
    assert ds.is_available() and ds.info.source == "embedded"
    splits = ds.splits()
    assert sum(len(splits[s]["label"]) for s in SPLITS) == n_total
    for split in SPLITS:
        assert splits[split]["image"].shape[1:] == shape
        assert set(np.unique(splits[split]["label"])) <= set(range(10))
    assert ds.splits() is splits  # loaded once per process


def test_missing_tfds_dataset_fails_fast_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    ds = DATASETS.get("cifar10")
    assert not ds.is_available()
    with pytest.raises(DataNotAvailableError, match="taskset-bench data prepare cifar10"):
        ds.splits()


def test_unknown_dataset():
    with pytest.raises(UnknownNameError, match="did you mean 'mnist'"):
        DATASETS.get("mnsit")
