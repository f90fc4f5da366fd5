"""Executors give the same dataset as an in-process run; dead workers mean retries, not lost curves."""

from __future__ import annotations

import functools
import os
import signal
import threading
import time

import pytest

from curves import verify
from curves.errors import ExecutorError
from curves.executors import WORKER_DIED, DaskExecutor, InProcessExecutor, ProcessExecutor
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


# Results without a shared filesystem (issue 19).

def test_returned_shard_bytes_equal_a_local_write(jobs, tmp_path):
    """The bytes a remote worker returns are the bytes a local worker writes (same shard, same key)."""
    import pyarrow.parquet as pq

    from curves.runner import ShardPayload, execute_job
    from curves.store import shard_relpath

    job = jobs[0]
    execute_job(job, tmp_path / "local", train_fn=fake_train)
    payload = execute_job(job, None, train_fn=fake_train, return_shard=True)
    assert isinstance(payload, ShardPayload) and payload.key == job.key
    local = (tmp_path / "local" / shard_relpath(job.key)).read_bytes()
    # seconds_per_step is a constant in the fake trainer, so the shards are equal byte for byte.
    assert payload.data == local and pq.read_metadata(tmp_path / "local" / shard_relpath(job.key)).num_rows


class _ElsewhereExecutor(InProcessExecutor):
    """Claims a shared filesystem but its 'workers' write to another directory (a cluster without one)."""

    def __init__(self, elsewhere):
        self.elsewhere = str(elsewhere)

    def run(self, fn, jobs):
        yield from super().run(functools.partial(fn.func, **{**fn.keywords, "root": self.elsewhere}), jobs)


def test_shards_written_out_of_reach_are_failures_not_success(jobs, tmp_path):
    out = tmp_path / "out"
    summary = generate(jobs[:3], out, executor=_ElsewhereExecutor(tmp_path / "worker-disk"), train_fn=fake_train,
                       progress=False)
    assert summary.written == 0 and len(summary.failed) == 3
    assert all("is not in" in f["error"] for f in summary.failed)
    assert not list((out / "shards").glob("*.parquet"))


class _ReturningExecutor(InProcessExecutor):
    """Runs jobs here but, as a Dask cluster does, asks the job function to return its shard."""

    shared_filesystem = False


def test_returned_shards_are_written_by_the_client(store_dir, jobs, tmp_path):
    out = tmp_path / "client"
    summary = generate(jobs, out, executor=_ReturningExecutor(), train_fn=fake_train, progress=False)
    assert summary.written == len(jobs) and not summary.failed
    assert snapshot(out) == snapshot(store_dir) and verify(out).ok
    assert sorted(p.read_bytes() for p in (out / "shards").glob("*.parquet")) == \
        sorted(p.read_bytes() for p in (store_dir / "shards").glob("*.parquet"))


class _DamagingExecutor(_ReturningExecutor):
    """Flips one byte of every returned shard, as a faulty network would."""

    def run(self, fn, jobs):
        import dataclasses

        for outcome in super().run(fn, jobs):
            data = bytearray(outcome.result.data)
            data[len(data) // 2] ^= 0xFF
            yield dataclasses.replace(outcome, result=dataclasses.replace(outcome.result, data=bytes(data)))


def test_a_damaged_returned_shard_is_a_failed_job(jobs, tmp_path):
    summary = generate(jobs[:2], tmp_path / "out", executor=_DamagingExecutor(), train_fn=fake_train,
                       progress=False)
    assert summary.written == 0 and len(summary.failed) == 2
    assert all("arrived damaged" in f["error"] for f in summary.failed)
    assert not list((tmp_path / "out" / "shards").glob("*.parquet"))


def test_existing_shard_that_changed_fails_the_rerun(store_dir, jobs):
    from curves.store import shard_relpath

    path = store_dir / shard_relpath(jobs[1].key)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    summary = generate(jobs, store_dir, train_fn=fake_train, progress=False)
    assert summary.existing == len(jobs) and [f["key"] for f in summary.failed] == [jobs[1].key]
    assert "does not match its manifest entry" in summary.failed[0]["error"]


# One executor builder for the CLI (issue 20).

@pytest.mark.parametrize("options, message", [
    (dict(workers=-1), "--workers must be >= 0"),
    (dict(dask=True, scheduler="tcp://127.0.0.1:9"), "either --dask"),
    (dict(workers=2, scheduler="tcp://127.0.0.1:9"), "does not apply to --scheduler"),
    (dict(workers=2, resources={"GPU": 1}), "--resources applies to Dask workers only"),
])
def test_executor_builder_rejects_contradictions(options, message):
    from taskset.cli.executor import build_executor
    from taskset.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        build_executor(**options)


def test_executor_builder_defaults():
    from curves.executors import InProcessExecutor as InProcess
    from taskset.cli.executor import PER_CORE, build_executor

    assert isinstance(build_executor(default_workers=0), InProcess)
    assert isinstance(build_executor(workers=0, default_workers=PER_CORE), InProcess)
    per_core = build_executor(default_workers=PER_CORE)
    assert isinstance(per_core, ProcessExecutor) and per_core.workers == (os.cpu_count() or 1)
    assert build_executor(workers=3, default_workers=0).workers == 3


def test_jobs_that_need_a_resource_run_on_workers_that_have_it(store_dir, jobs, tmp_path):
    out = tmp_path / "gpu"
    with DaskExecutor(workers=1, processes=False, threads=None, resources={"GPU": 1}) as executor:
        summary = generate(jobs[:2], out, executor=executor, train_fn=fake_train, progress=False)
    assert summary.written == 2 and not summary.failed


@pytest.mark.parametrize("text, expected", [("GPU=1", {"GPU": 1.0}), ("GPU=2, MEM=0.5", {"GPU": 2.0, "MEM": 0.5}),
                                            ("", None)])
def test_resources_option_parses(text, expected):
    from taskset.cli.executor import parse_resources

    assert parse_resources(text) == expected


@pytest.mark.parametrize("text", ["GPU", "GPU=0", "=1", "GPU=x", "GPU=inf"])
def test_bad_resources_option_is_a_config_error(text):
    from taskset.cli.executor import parse_resources
    from taskset.errors import ConfigError

    with pytest.raises(ConfigError, match="NAME=NUMBER"):
        parse_resources(text)


def test_generate_runs_jobs_largest_first_unless_told_to_keep_their_order(tmp_path, jobs):
    """The default order shortens the makespan; `largest_first=False` keeps the caller's order (the
    taskset-small driver runs cheap jobs first so a run that is stopped has finished many)."""
    from curves import generate
    from tests.curves.fakes import fake_train

    seen = []

    def recording_train(task, optimizer_configs, *args, **kwargs):
        seen.append(task.name)
        return fake_train(task, optimizer_configs, *args, **kwargs)

    ordered = sorted(jobs, key=lambda job: job.cost)
    assert ordered[0].cost < ordered[-1].cost
    generate(ordered, tmp_path / "a", train_fn=recording_train, progress=False, largest_first=False)
    assert seen == [job.task for job in ordered]
    seen.clear()
    generate(ordered, tmp_path / "b", train_fn=recording_train, progress=False)
    assert seen == [job.task for job in sorted(ordered, key=lambda job: job.cost, reverse=True)]
