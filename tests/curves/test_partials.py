"""A job stopped midway keeps its finished chunks and resumes from them (`curves.partials`)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from curves import partials, read
from curves.errors import CorruptShardError
from curves.runner import execute_job, generate
from taskset.tasks import get_task
from tests.curves.conftest import snapshot
from tests.curves.fakes import fake_curve, fake_train


def test_chunks_cover_the_configs_in_order():
    assert partials.chunks(160, 32) == [range(0, 32), range(32, 64), range(64, 96), range(96, 128), range(128, 160)]
    assert partials.chunks(5, 2) == [range(0, 2), range(2, 4), range(4, 5)]
    assert partials.chunks(1) == [range(0, 1)]
    assert partials.CHUNK_CONFIGS % 4 == 0  # whole groups of the trainer's GROUP_SIZE


def test_a_saved_curve_loads_back_exactly(jobs, tmp_path):
    job = next(j for j in jobs if j.replica == 1)
    task = get_task(job.task)
    curves = [fake_curve(task, c, job.steps, job.eval_every, job.replica) for c in job.optimizers]
    nan = curves[0].train.copy()
    nan[2:] = np.nan
    curves[0] = dataclasses.replace(curves[0], train=nan, status="diverged", diverged_step=int(curves[0].steps[2]))
    chunk = range(0, len(curves))
    partials.save_chunk(tmp_path, job.key, chunk, curves)
    back = partials.load_chunk(tmp_path, job, chunk)
    for a, b in zip(curves, back):
        assert a.to_json() == b.to_json()
        assert a.train.tobytes() == b.train.tobytes() and a.test.dtype == b.test.dtype == np.float32
    assert math.isnan(back[0].train[-1])


def test_a_job_stopped_midway_trains_only_its_unfinished_chunks(jobs, tmp_path, monkeypatch):
    monkeypatch.setattr(partials, "CHUNK_CONFIGS", 2)
    job = next(j for j in jobs if len(j.optimizers) == 4)
    trained: list[list[str]] = []

    def stops_after_one_chunk(task, configs, *args, **kwargs):
        if trained:
            raise KeyboardInterrupt("the machine went away")
        trained.append([c.name for c in configs])
        return fake_train(task, configs, *args, **kwargs)

    with pytest.raises(KeyboardInterrupt):
        execute_job(job, tmp_path / "out", train_fn=stops_after_one_chunk)
    assert partials.pending(tmp_path / "out") == [job.key] and partials.saved_configs(tmp_path / "out", job) == 2
    assert not (tmp_path / "out" / "shards").exists()

    resumed: list[list[str]] = []

    def records(task, configs, *args, **kwargs):
        resumed.append([c.name for c in configs])
        return fake_train(task, configs, *args, **kwargs)

    summary = generate([job], tmp_path / "out", train_fn=records, progress=False)
    assert summary.written == 1 and not summary.failed
    assert trained == [job.optimizer_names[:2]] and resumed == [job.optimizer_names[2:]]
    assert partials.pending(tmp_path / "out") == [] and not (tmp_path / "out" / "partial").exists()
    generate([job], tmp_path / "whole", train_fn=fake_train, progress=False)
    assert snapshot(tmp_path / "out") == snapshot(tmp_path / "whole")


def test_a_damaged_or_foreign_chunk_is_refused_with_its_path(jobs, tmp_path):
    job, other = [j for j in jobs if len(j.optimizers) == 4][:2]
    task = get_task(job.task)
    chunk = range(0, 2)
    partials.save_chunk(tmp_path, job.key, chunk, fake_train(task, job.optimizers[:2], job.steps, job.eval_every))
    path = partials.job_dir(tmp_path, job.key) / "0.json"
    saved = json.loads(path.read_text())
    saved["payload"]["curves"][0]["train"][1] = 0.0
    path.write_text(json.dumps(saved))
    with pytest.raises(CorruptShardError, match=str(path)):
        partials.load_chunk(tmp_path, job, chunk)
    partials.save_chunk(tmp_path, other.key, chunk, fake_train(task, other.optimizers[:2], job.steps, job.eval_every))
    (partials.job_dir(tmp_path, other.key) / "0.json").replace(path)
    with pytest.raises(CorruptShardError, match="does not hold configs 0..1"):
        partials.load_chunk(tmp_path, job, chunk)


def test_chunked_training_gives_the_curves_of_one_population(tmp_path, monkeypatch):
    """The real trainer: 8 configs in chunks of 4 equal them trained as one population, bit for bit."""
    from curves.jobs import plan
    from curves.spec import parse_spec

    spec = parse_spec("sweep.name = 't'\nsweep.steps = 20\nsweep.eval_every = 10\nsweep.eval_batches = 1\n"
                      "sweep.population = 8\ntasks.names = ['mlp_seed35']\n"
                      "optimizers.families = {'nadamw': (0, 5), 'adam8p': (0, 3)}\n", source="t.gin")
    (job,) = plan(spec)
    generate([job], tmp_path / "whole", progress=False)
    monkeypatch.setattr(partials, "CHUNK_CONFIGS", 4)
    generate([job], tmp_path / "chunked", progress=False)
    whole, chunked = read(tmp_path / "whole"), read(tmp_path / "chunked")
    for split in ("train", "valid_inner", "valid_outer", "test"):
        assert np.array_equal(np.stack(whole[split]), np.stack(chunked[split]), equal_nan=True), split
    assert list(whole["optimizer"]) == list(chunked["optimizer"]) == job.optimizer_names


def test_chunks_left_beside_a_written_shard_are_removed_by_the_next_run(jobs, tmp_path):
    """A worker stopped after writing the shard but before deleting the chunks leaves them behind;
    they are stale (the shard holds the job), so the next run deletes them and a publish is not blocked."""
    job = jobs[0]
    generate([job], tmp_path, train_fn=fake_train, progress=False)
    task = get_task(job.task)
    partials.save_chunk(tmp_path, job.key, range(0, 2), fake_train(task, job.optimizers[:2], job.steps, job.eval_every))
    assert partials.pending(tmp_path) == [job.key]
    assert generate([job], tmp_path, train_fn=fake_train, progress=False).existing == 1
    assert partials.pending(tmp_path) == [] and not (tmp_path / "partial").exists()


def test_an_assistant_trains_a_running_job_from_its_end_and_the_worker_loads_its_chunks(jobs, tmp_path, monkeypatch):
    """The forward worker has saved chunk 0 and is on chunk 1; `assist_job` trains 3, then 2, and stops
    with only the forward worker's chunk unsaved; the job then trains only that chunk, and its shard
    is the one-piece run's."""
    from curves.runner import assist_job

    monkeypatch.setattr(partials, "CHUNK_CONFIGS", 1)
    job = next(j for j in jobs if len(j.optimizers) == 4)
    task = get_task(job.task)
    out = tmp_path / "out"
    partials.save_chunk(out, job.key, range(0, 1), fake_train(task, job.optimizers[:1], job.steps, job.eval_every))
    assisted: list[list[str]] = []

    def records(into):
        def train(task, configs, *args, **kwargs):
            into.append([c.name for c in configs])
            return fake_train(task, configs, *args, **kwargs)
        return train

    assert assist_job(job, out, train_fn=records(assisted)) == [range(3, 4), range(2, 3)]
    assert assisted == [[job.optimizer_names[3]], [job.optimizer_names[2]]]
    assert partials.saved_configs(out, job) == 3
    assert assist_job(job, out, train_fn=records(assisted)) == []  # one chunk left: the forward worker's
    forward: list[list[str]] = []
    assert generate([job], out, train_fn=records(forward), progress=False).written == 1
    assert forward == [[job.optimizer_names[1]]] and partials.pending(out) == []
    generate([job], tmp_path / "whole", train_fn=fake_train, progress=False)
    assert snapshot(out) == snapshot(tmp_path / "whole")


def test_an_assistant_saves_nothing_once_the_shard_exists(jobs, tmp_path, monkeypatch):
    """A chunk it finishes after the forward worker wrote the shard is dropped, not left beside it."""
    from curves.runner import assist_job

    monkeypatch.setattr(partials, "CHUNK_CONFIGS", 1)
    job = next(j for j in jobs if len(j.optimizers) == 4)

    def finishes_the_job_meanwhile(task, configs, *args, **kwargs):
        generate([job], tmp_path, train_fn=fake_train, progress=False)
        return fake_train(task, configs, *args, **kwargs)

    assert assist_job(job, tmp_path, train_fn=finishes_the_job_meanwhile) == []
    assert partials.pending(tmp_path) == []
    assert assist_job(job, tmp_path, train_fn=fake_train) == []  # the shard exists: nothing to train
