"""`taskset-bench train` end to end on mlp_seed12 for a few steps."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pandas as pd
import pytest

from taskset.cli.main import main

ARGS = ["train", "mlp_seed12", "--optimizer", "adam_default, sgdm_seed0", "--steps", "4", "--eval-every", "2",
        "--eval-batches", "2", "--replica-seed", "1"]


@pytest.fixture(scope="module")
def json_run(tmp_path_factory):
    """(JSON output, Parquet path) of one run, shared by the tests below."""
    out = tmp_path_factory.mktemp("train") / "curves.parquet"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(ARGS + ["--json", "--out", str(out)]) == 0
    return json.loads(buffer.getvalue()), out


def test_json_has_one_curve_per_config_in_order(json_run):
    data, _ = json_run
    assert [c["optimizer"]["name"] for c in data] == ["adam_default", "sgdm_seed0"]
    for curve in data:
        assert curve["task"] == "mlp_seed12" and curve["steps"] == [0, 2, 4] and curve["replica_seed"] == 1
        assert curve["status"] in ("ok", "diverged") and len(curve["test"]) == 3
    assert data[0]["status"] == "ok" and all(np.isfinite(data[0]["train"]))


def test_parquet_holds_the_same_curves(json_run):
    data, out = json_run
    frame = pd.read_parquet(out)
    assert frame["optimizer"].tolist() == ["adam_default", "sgdm_seed0"]
    for row, curve in zip(frame.itertuples(), data):
        assert list(row.steps) == curve["steps"] and row.status == curve["status"]
        np.testing.assert_array_equal(np.array(row.train, np.float32),
                                      np.array([np.nan if v is None else v for v in curve["train"]], np.float32))
    assert not list(out.parent.glob(".*.tmp"))


def test_table_lists_final_losses(capsys, json_run):
    assert main(ARGS) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["optimizer", "family", "status", "train", "valid_inner", "valid_outer", "test",
                                "ms/step"]
    assert lines[1].split()[:3] == ["adam_default", "adam1p", "ok"]
    final = json_run[0][0]["train"][-1]
    assert float(lines[1].split()[3]) == pytest.approx(final, rel=1e-3)


@pytest.mark.parametrize("override, message", [
    ({"--optimizer": "adam_defualt"}, "unknown optimizer config 'adam_defualt'"),
    ({"--optimizer": "adam_default,"}, "has an empty name"),
    ({"--steps": "0"}, "steps must be an integer >= 1, got 0"),
    ({"--eval-every": "3"}, "eval_every=3 must divide steps=4"),
    ({"--out": "curves.csv"}, "must end in .parquet"),
])
def test_bad_input_exits_2_with_one_line(capsys, override, message):
    flags = {"--optimizer": "adam_default", "--steps": "4", **override}
    assert main(["train", "mlp_seed12", *(x for item in flags.items() for x in item)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_unknown_task_exits_2(capsys):
    assert main(["train", "mlp_sed12", "--optimizer", "adam_default", "--steps", "2"]) == 2
    assert "unknown task 'mlp_sed12'" in capsys.readouterr().err
