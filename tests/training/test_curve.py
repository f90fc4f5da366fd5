"""`Curve` is plain, frozen data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from taskset.optimizers.base import OptimizerConfig
from taskset.training import Curve


def make(**overrides):
    fields = dict(task="t", task_config={"family": "mlp"}, optimizer=OptimizerConfig("c", "f", {"lr": 0.1}),
                  replica_seed=0, init_seed=0, steps=[0, 2], train=[2.0, np.nan], valid_inner=[2.0, 1.0],
                  valid_outer=[2.0, 1.0], test=[2.0, 1.0], status="diverged", diverged_step=2,
                  seconds_per_step=0.01)
    return Curve(**{**fields, **overrides})


def test_arrays_are_typed_read_only_copies():
    curve = make()
    assert curve.steps.dtype == np.int64 and curve.train.dtype == np.float32
    with pytest.raises(ValueError):
        curve.train[0] = 0.0


def test_json_turns_nan_into_null():
    data = json.loads(json.dumps(make().to_json()))
    assert data["train"] == [2.0, None] and data["optimizer"]["hparams"] == {"lr": 0.1}


@pytest.mark.parametrize("overrides, match", [
    ({"test": [1.0]}, "test has shape"),
    ({"status": "bad"}, "status must be"),
    ({"status": "ok"}, "does not fit"),
    ({"diverged_step": None}, "does not fit"),
])
def test_inconsistent_curves_are_rejected(overrides, match):
    with pytest.raises(ValueError, match=match):
        make(**overrides)


def test_split_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown split 'val'"):
        make().split("val")
