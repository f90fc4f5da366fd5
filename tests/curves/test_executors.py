"""Executors give the same dataset as an in-process run; dead workers mean retries, not lost curves."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from curves import verify
from curves.errors import ExecutorError
from curves.executors import WORKER_DIED, DaskExecutor, ProcessExecutor
from curves.manifest import load_manifest
from curves.runner import generate
from tests.curves.conftest import snapshot
from tests.curves.fakes import MARKER_ENV, dies_once_train, fake_train, kills_on_seed16_train, stalls_once_train


@pytest.fixture
def marker(tmp_path, monkeypatch):
    path = tmp_path / "marker"
    monkeypatch.setenv(MARKER_ENV, str(path))
    return path


def test_process_pool_matches_in_process(store_dir, jobs, tmp_path):
    out = tmp_path / "procs"
    with ProcessExecutor(workers=2, threads=None) as executor:
        summary = generate(jobs, out, executor=executor, train_fn=fake_train, progress=False)
    assert summary.written == len(jobs) and not summary.failed
    assert snapshot(out) == snapshot(store_dir) and verify(out).ok


def test_process_pool_reruns_jobs_of_a_dead_worker(jobs, tmp_path, marker):
    out, expected = tmp_path / "procs", tmp_path / "expected"
    generate(jobs[:3], expected, train_fn=fake_train, progress=False)
    with ProcessExecutor(workers=2, threads=None) as executor:
        summary = generate(jobs[:3], out, executor=executor, train_fn=dies_once_train, progress=False)
    assert marker.exists() and summary.written == 3 and not summary.failed
    assert snapshot(out) == snapshot(expected) and verify(out).ok


def test_process_pool_blames_only_the_job_that_kills_its_worker(jobs, tmp_path):
    out = tmp_path / "procs"
    killers = [j for j in jobs if j.task == "mlp_seed16" and j.replica == 0]
    innocent = [j for j in jobs if j.task == "mlp_seed12"][:2]
    with ProcessExecutor(workers=2, threads=None) as executor:
        summary = generate(killers + innocent, out, executor=executor, train_fn=kills_on_seed16_train,
                           progress=False)
    assert len(killers) == 2 and sorted(f["key"] for f in summary.failed) == sorted(j.key for j in killers)
    assert summary.written == len(innocent)
    assert {e["error"] for e in load_manifest(out).failed.values()} == {WORKER_DIED}


def test_dask_local_cluster_matches_in_process(store_dir, jobs, tmp_path):
    out = tmp_path / "dask"
    with DaskExecutor(workers=2, processes=False, threads=None) as executor:
        summary = generate(jobs, out, executor=executor, train_fn=fake_train, progress=False)
    assert summary.written == len(jobs) and not summary.failed
    assert snapshot(out) == snapshot(store_dir) and verify(out).ok


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(ExecutorError, match="cannot connect to the Dask scheduler 'tcp://127.0.0.1:9'"):
        DaskExecutor(scheduler="tcp://127.0.0.1:9", connect_timeout_s=1.0)


@pytest.mark.slow
def test_dask_worker_killed_mid_job_is_retried_not_lost(store_dir, jobs, tmp_path, marker):
    out = tmp_path / "dask"

    def kill_the_stalled_worker():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = marker.read_text() if marker.exists() else ""
            if text:
                os.kill(int(text), signal.SIGKILL)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_stalled_worker, daemon=True)
    killer.start()
    with DaskExecutor(workers=2, processes=True, threads=None) as executor:
        summary = generate(jobs, out, executor=executor, train_fn=stalls_once_train, progress=False)
    killer.join(timeout=1)
    assert marker.read_text() and summary.written == len(jobs) and not summary.failed
    assert snapshot(out) == snapshot(store_dir) and verify(out).ok
