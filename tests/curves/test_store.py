"""The shard store and the generate driver: atomic shards, resumption, manifest rebuild, failures."""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow.parquet as pq
import pytest

from curves import read, verify
from curves.errors import CorruptShardError, SchemaMismatchError, StoreError
from curves.manifest import load_manifest
from curves.runner import execute_job, generate
from curves.schema import BASE_SCHEMA, META_SCHEMA_VERSION, SCHEMA_VERSION, curves_to_table
from curves.store import Store, shard_relpath, write_shard
from taskset.tasks import get_task
from tests.curves.fakes import failing_train, fake_curve, fake_train

IDENTITY = ["task", "optimizer", "replica"]


def test_generate_writes_one_shard_per_job_with_the_schema(store_dir, jobs):
    manifest = load_manifest(store_dir)
    assert sorted(manifest.shards) == sorted(j.key for j in jobs)
    assert manifest.num_rows == sum(len(j.optimizers) for j in jobs) == 24
    for job in jobs:
        pf = pq.ParquetFile(store_dir / shard_relpath(job.key))
        assert pf.schema_arrow.metadata[META_SCHEMA_VERSION] == str(SCHEMA_VERSION).encode()
        assert pf.metadata.num_rows == len(job.optimizers)
    df = read(store_dir)
    assert len(df) == 24 and not df.duplicated(IDENTITY).any()
    assert set(BASE_SCHEMA.names) <= set(df.columns)
    row = df[(df.optimizer == "adam8p_seed1") & (df.replica == 1) & (df.task == "mlp_seed12")].iloc[0]
    config = json.loads(row.hparams)
    assert row.hp_lr == config["lr"] and row.hp_beta1 == config["beta1"]
    assert np.isnan(row.hp_nesterov)  # a nadamw-only hyperparameter is null for adam8p
    assert row.seed == 1 and row.family == "mlp" and json.loads(row.task_config)["dataset"] == "mnist1d"
    assert row.steps.tolist() == [0, 10, 20, 30, 40] and row.valid_inner.dtype == np.float32
    assert row.final_valid_inner == row.valid_inner[-1]
    assert verify(store_dir).ok


def test_rerun_skips_existing_shards_and_leaves_them_untouched(store_dir, jobs):
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (store_dir / "shards").iterdir()}
    summary = generate(jobs, store_dir, train_fn=failing_train, progress=False)
    assert (summary.existing, summary.written, summary.failed) == (len(jobs), 0, [])
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (store_dir / "shards").iterdir()}
    assert before == after


def test_a_finished_shard_is_never_overwritten(store_dir, jobs):
    job = jobs[0]
    path = store_dir / shard_relpath(job.key)
    original = path.read_bytes()
    task = get_task(job.task)
    other = [fake_curve(task, c, 80, 20, 7) for c in job.optimizers]  # different numbers, same key
    table = curves_to_table(other, job.replica, job.key, "0", {"key": job.key, "task": job.task, "family": "mlp",
                                                              "replica": 0, "steps": 80,
                                                              "optimizer_families": ["adam8p"]})
    entry, wrote = write_shard(store_dir, job.key, table)
    assert not wrote and path.read_bytes() == original
    assert entry == load_manifest(store_dir).shards[job.key]
    assert not [p for p in (store_dir / "shards").iterdir() if p.name.endswith(".tmp")]


def test_manifest_is_rebuilt_from_shards(store_dir, jobs):
    expected = load_manifest(store_dir).shards
    (store_dir / "manifest.json").unlink()
    assert not verify(store_dir).ok
    summary = generate(jobs, store_dir, train_fn=fake_train, progress=False)
    assert summary.existing == len(jobs) and summary.written == 0
    assert load_manifest(store_dir).shards == expected and verify(store_dir).ok


def test_shard_written_but_not_indexed_is_picked_up_not_recomputed(tmp_path, jobs):
    out = tmp_path / "curves"
    # A worker finished a shard, then the driver died before recording it.
    execute_job(jobs[3], out, train_fn=fake_train)
    (out / "shards" / f".{jobs[4].key}.deadbeef.tmp").write_bytes(b"PAR1 partial")  # and one write was cut short
    report = verify(out)
    assert any("manifest.json' is missing" in p for p in report.problems)
    assert any("partial shard" in p for p in report.problems)
    summary = generate(jobs, out, train_fn=fake_train, progress=False)
    assert summary.existing == 1 and summary.written == len(jobs) - 1
    assert verify(out).ok


def test_failed_jobs_are_recorded_and_retried_on_request(tmp_path, jobs):
    out = tmp_path / "curves"
    summary = generate(jobs, out, train_fn=failing_train, progress=False)
    replica1 = [j for j in jobs if j.replica == 1]
    assert len(summary.failed) == len(replica1) and summary.written == len(jobs) - len(replica1)
    failed = load_manifest(out).failed
    assert sorted(failed) == sorted(j.key for j in replica1)
    entry = failed[replica1[0].key]
    assert entry["error"].startswith("FloatingPointError: boom in") and "Traceback" in entry["traceback"]
    assert entry["task"] == replica1[0].task and entry["optimizers"] == replica1[0].optimizer_names
    assert verify(out).ok and verify(out).failed_jobs == len(replica1)

    again = generate(jobs, out, train_fn=fake_train, progress=False)
    assert again.skipped_failed == len(replica1) and again.written == 0
    retried = generate(jobs, out, train_fn=fake_train, progress=False, retry_failed=True)
    assert retried.written == len(replica1) and not load_manifest(out).failed
    assert len(read(out)) == 24


def test_one_driver_per_directory(tmp_path):
    with Store.open(tmp_path / "d"):
        with pytest.raises(StoreError, match="lock is held"):
            with Store.open(tmp_path / "d"):
                pass


def test_out_must_be_a_directory(tmp_path, jobs):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="not a directory"):
        generate(jobs, tmp_path / "file", train_fn=fake_train, progress=False)


def test_truncated_shard_is_a_clear_error(store_dir, jobs):
    rel = shard_relpath(jobs[2].key)
    path = store_dir / rel
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    problems = verify(store_dir).problems
    assert len(problems) == 1 and rel in problems[0] and "sha256" in problems[0]
    with pytest.raises(CorruptShardError, match=jobs[2].key):
        read(store_dir)
    (store_dir / "manifest.json").unlink()  # without the index, the footer check still catches it
    with pytest.raises(CorruptShardError, match=rf"{jobs[2].key}.*unreadable"):
        generate(jobs, store_dir, train_fn=fake_train, progress=False)


def test_corrupted_shard_is_a_clear_error(store_dir, jobs):
    rel = shard_relpath(jobs[5].key)
    path = store_dir / rel
    data = bytearray(path.read_bytes())
    for i in range(200, 260):  # inside the first data pages, not the footer
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    problems = verify(store_dir).problems
    assert len(problems) == 1 and rel in problems[0]
    with pytest.raises(CorruptShardError, match=jobs[5].key):
        read(store_dir)


def test_schema_mismatch_is_a_clear_error(store_dir, jobs):
    manifest = json.loads((store_dir / "manifest.json").read_text())
    manifest["schema_version"] = SCHEMA_VERSION + 1
    (store_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SchemaMismatchError, match="schema version 2, this taskset reads version 1"):
        read(store_dir)
    assert "schema version" in verify(store_dir).problems[0]

    # A shard from a future version, not yet indexed.
    (store_dir / "manifest.json").unlink()
    path = store_dir / shard_relpath(jobs[1].key)
    table = pq.read_table(path)
    meta = dict(table.schema.metadata)
    meta[META_SCHEMA_VERSION] = str(SCHEMA_VERSION + 1).encode()
    os.unlink(path)
    pq.write_table(table.replace_schema_metadata(meta), path)
    with pytest.raises(StoreError, match="no manifest.json"):  # unindexed shards are never read
        read(store_dir)
    assert any(jobs[1].key in p and "schema version 2" in p for p in verify(store_dir).problems)


def test_verify_finds_duplicate_curves(store_dir, jobs, spec):
    # The same curves recorded by a second sweep with another schedule: new keys, same identities.
    import dataclasses

    longer = [dataclasses.replace(j, steps=50) for j in jobs[:1]]
    generate(longer, store_dir, train_fn=fake_train, progress=False)
    problems = verify(store_dir).problems
    assert len(problems) == len(jobs[0].optimizers)
    assert all(p.startswith("duplicate curve task='mlp_seed12'") for p in problems)
