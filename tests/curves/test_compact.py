"""Compaction: same rows in one pack per task, resumable generation, crash leftovers cleaned up."""

from __future__ import annotations

import shutil

import pytest

from curves import compact, generate, verify
from curves.errors import StoreError
from curves.manifest import load_manifest
from curves.store import shard_relpath
from tests.curves.conftest import snapshot
from tests.curves.fakes import fake_train


def test_compact_keeps_rows_and_leaves_one_pack_per_task(store_dir, jobs):
    before = snapshot(store_dir)
    summary = compact(store_dir)
    assert (summary.tasks, summary.packed_tasks, summary.shards_before, summary.shards_after) == (2, 2, 8, 2)
    assert summary.rows == 24 and summary.bytes_after < summary.bytes_before
    assert len(list((store_dir / "shards").iterdir())) == 2
    assert snapshot(store_dir) == before and verify(store_dir).ok
    packs = load_manifest(store_dir).shards.values()
    assert sorted(j for e in packs for j in e["jobs"]) == sorted(j.key for j in jobs)
    rerun = generate(jobs, store_dir, train_fn=fake_train, progress=False)
    assert rerun.existing == len(jobs) and rerun.written == 0
    assert compact(store_dir).packed_tasks == 0  # nothing left to merge


def test_compact_merges_a_pack_with_later_shards(store_dir, jobs, tmp_path):
    expected = snapshot(store_dir)
    out = tmp_path / "partial"
    generate(jobs[::2], out, train_fn=fake_train, progress=False)
    compact(out)
    generate(jobs, out, train_fn=fake_train, progress=False)
    assert len(list((out / "shards").iterdir())) == 2 + len(jobs[1::2])
    compact(out)
    assert len(list((out / "shards").iterdir())) == 2
    assert snapshot(out) == expected and verify(out).ok


def test_shards_left_by_a_cut_short_compaction_are_removed(store_dir, jobs, tmp_path):
    saved = tmp_path / "saved.parquet"
    shutil.copy(store_dir / shard_relpath(jobs[0].key), saved)
    expected = snapshot(store_dir)
    compact(store_dir)
    # As if compaction died after writing the pack but before deleting this member.
    shutil.copy(saved, store_dir / shard_relpath(jobs[0].key))
    problems = verify(store_dir).problems
    assert any(f"job {jobs[0].key}: in both" in p for p in problems)
    assert generate(jobs, store_dir, train_fn=fake_train, progress=False).written == 0
    assert not (store_dir / shard_relpath(jobs[0].key)).exists()
    assert snapshot(store_dir) == expected and verify(store_dir).ok


def test_compact_needs_a_directory(tmp_path):
    with pytest.raises(StoreError, match="is not a curve directory"):
        compact(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()
