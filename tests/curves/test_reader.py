"""`curves.read` filters and projections, the dataset-name hook, and `to_matrix` reductions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from curves import CURVE_DATASETS, iter_tasks, read, read_table, to_matrix
from curves.errors import StoreError
from taskset.errors import ConfigError, UnknownNameError


def test_filters_are_applied(store_dir):
    df = read(store_dir, tasks="mlp_seed16")
    assert set(df.task) == {"mlp_seed16"} and len(df) == 12
    # Populations of 4 mix families (adam_default + adam8p x3, then nadamw x2), so rows are filtered too.
    df = read(store_dir, optimizer_family=["nadamw"])
    assert set(df.optimizer_family) == {"nadamw"} and len(df) == 2 * 2 * 2
    assert {"hp_nesterov", "hp_lr"} <= set(df.columns) and not df.hp_nesterov.isna().any()
    df = read(store_dir, tasks=["mlp_seed12"], optimizer_family="adam1p", columns=["task", "optimizer", "replica"])
    assert list(df.columns) == ["task", "optimizer", "replica"]
    assert sorted(zip(df.optimizer, df.replica)) == [("adam_default", 0), ("adam_default", 1)]


def test_projection_returns_compact_types(store_dir):
    df = read(store_dir, columns=["task", "optimizer", "final_valid_inner"])
    assert isinstance(df.task.dtype, pd.CategoricalDtype) and df.final_valid_inner.dtype == np.float32


def test_unknown_names_and_columns_are_clear_errors(store_dir):
    with pytest.raises(UnknownNameError, match="no curves for task 'mlp_seed13' in .*; did you mean 'mlp_seed16', 'mlp_seed12'"):
        read(store_dir, tasks=["mlp_seed13"])
    with pytest.raises(UnknownNameError, match="no curves for optimizer family 'adam9p' in .*; did you mean 'adam8p', 'adam1p'"):
        read(store_dir, optimizer_family="adam9p")
    with pytest.raises(ConfigError, match=r"unknown column\(s\) \['valid'\]"):
        read(store_dir, columns=["task", "valid"])
    with pytest.raises(StoreError, match="neither a curve directory nor a registered curve dataset"):
        read(store_dir / "nope")


def test_registered_dataset_names_resolve(store_dir):
    with CURVE_DATASETS.temporary("tiny_test_curves", lambda: store_dir):
        assert len(read("tiny_test_curves", columns=["task"])) == 24


def test_readable_datasets_are_registered_where_the_registry_is_defined():
    """`curves.reader` fills `CURVE_DATASETS` itself from `curves.registry`; no other import adds to it."""
    import pathlib

    from curves.registry import list_datasets

    readable = sorted(d.name for d in list_datasets() if d.layout == "taskset-curves")
    assert "taskset-mini" in readable and CURVE_DATASETS.list() == readable
    assert "taskset-original" not in CURVE_DATASETS  # npz: converted before it can be read
    package = pathlib.Path(__file__).resolve().parents[2] / "curves"
    registering = [p.name for p in package.glob("*.py") if "CURVE_DATASETS.register" in p.read_text()]
    assert registering == ["reader.py"]


def test_to_matrix_final_and_mean(store_dir):
    df = read(store_dir)
    final = to_matrix(df)
    assert final.tasks == ("mlp_seed12", "mlp_seed16") and len(final.configs) == 6
    one = df[(df.task == "mlp_seed16") & (df.optimizer == "adam8p_seed0")]
    expected = np.mean([v[-1] for v in one.valid_inner])
    assert final.values[1, final.configs.index("adam8p_seed0")] == pytest.approx(expected)
    # nadamw_seed1 diverges on replica 1 (see fakes.py): no score from its lucky replica.
    assert set(df[df.optimizer == "nadamw_seed1"].status) == {"ok", "diverged"}
    assert np.isnan(final.values[:, final.configs.index("nadamw_seed1")]).all()
    assert np.isfinite(np.delete(final.values, final.configs.index("nadamw_seed1"), axis=1)).all()
    # The final_valid_inner column alone gives the same matrix.
    slim = to_matrix(read(store_dir, columns=["task", "optimizer", "status", "final_valid_inner"]))
    np.testing.assert_array_equal(slim.values, final.values)
    mean = to_matrix(df, metric="test", reduction="mean", configs=["adam8p_seed0", "missing"])
    assert mean.values.shape == (2, 2) and np.isnan(mean.values[:, 1]).all()
    assert mean.values[1, 0] == pytest.approx(np.mean([np.mean(v) for v in one.test]))


def test_to_matrix_marks_divergence_and_missing_replicas():
    df = pd.DataFrame({
        "task": ["a", "a", "a", "a", "b"],
        "optimizer": ["x", "x", "y", "y", "x"],
        "replica": [0, 1, 0, 1, 0],
        "status": ["ok", "ok", "ok", "diverged", "ok"],
        "train": [np.array([3.0, 1.0]), np.array([3.0, 2.0]), np.array([3.0, 0.5]), np.array([3.0, 0.1]),
                  np.array([2.0, 4.0])],
    })
    m = to_matrix(df, metric="train")
    assert m.configs == ("x", "y")
    np.testing.assert_array_equal(m.values, [[1.5, np.nan], [4.0, np.nan]])


def test_to_matrix_rejects_bad_arguments(store_dir):
    df = read(store_dir, columns=["task", "optimizer", "status"])
    with pytest.raises(ConfigError, match="unknown metric 'loss'"):
        to_matrix(df, metric="loss")
    with pytest.raises(ConfigError, match="unknown reduction 'min'"):
        to_matrix(df, reduction="min")
    with pytest.raises(ConfigError, match=r"needs column\(s\) \['valid_inner'\]"):
        to_matrix(df)


def test_iter_tasks_yields_each_task_once_with_the_same_rows(store_dir):
    whole = read(store_dir, optimizer_family="adam8p", columns=["task", "optimizer", "replica", "final_valid_inner"])
    parts = list(iter_tasks(store_dir, optimizer_family="adam8p",
                            columns=["task", "optimizer", "replica", "final_valid_inner"]))
    assert [task for task, _ in parts] == ["mlp_seed12", "mlp_seed16"]
    joined = pd.concat([df for _, df in parts], ignore_index=True)
    key = ["task", "optimizer", "replica"]
    pd.testing.assert_frame_equal(joined.astype({"task": str, "optimizer": str}).sort_values(key, ignore_index=True),
                                  whole.astype({"task": str, "optimizer": str}).sort_values(key, ignore_index=True))
    task, table = next(iter_tasks(store_dir, tasks=["mlp_seed16"], columns=["optimizer"], arrow=True))
    assert task == "mlp_seed16" and isinstance(table, pa.Table) and table.num_rows == 12


@pytest.mark.parametrize("metric, reduction", [("valid_inner", "final"), ("test", "final"), ("train", "mean")])
def test_to_matrix_on_arrow_tables_matches_pandas(store_dir, metric, reduction):
    table = read_table(store_dir)
    from_arrow = to_matrix(table, metric=metric, reduction=reduction)
    from_pandas = to_matrix(table.to_pandas(), metric=metric, reduction=reduction)
    assert from_arrow.tasks == from_pandas.tasks and from_arrow.configs == from_pandas.configs
    np.testing.assert_allclose(from_arrow.values, from_pandas.values, rtol=1e-12)
    assert np.isnan(from_arrow.values).any() and np.isfinite(from_arrow.values).any()


def test_verdicts_persist_across_processes_and_any_change_rehashes(store_dir, tmp_path, monkeypatch):
    """A later process (simulated by clearing the in-memory layer) reuses the recorded sha256;
    rewriting a shard, even with its old mtime put back, makes it be hashed again."""
    import os

    import curves.integrity as integrity

    monkeypatch.setenv("TASKSET_CACHE_DIR", str(tmp_path / "cache"))
    integrity.clear_cache()
    hashed = []
    real = integrity.file_sha256
    monkeypatch.setattr(integrity, "file_sha256", lambda p: hashed.append(p) or real(p))
    read(store_dir, columns=["task"])
    assert len(hashed) == 8 and list((tmp_path / "cache" / "curves" / "verified").glob("*.json"))
    integrity.clear_cache()
    read(store_dir, columns=["task"])
    assert len(hashed) == 8  # answered from the on-disk verdicts
    shard = sorted((store_dir / "shards").glob("*.parquet"))[0]
    before = shard.stat()
    shard.write_bytes(shard.read_bytes())  # same bytes, but a write
    os.utime(shard, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime put back: ctime still moved
    integrity.clear_cache()
    read(store_dir, columns=["task"])
    assert hashed[8:] == [shard]
