"""A running job's finished chunks, so a job stopped midway resumes where it stopped.

A local worker trains a job's configs in chunks of `CHUNK_CONFIGS` and writes
each finished chunk's curves to `<root>/partial/<job key>/<start>.json`
(atomically, with the sha256 of its canonical JSON inside). A later run of the
same job, in this process or after the machine went away with the committed
directory, loads the chunks that are there and trains only the rest. The shard
is then written as if the job had run in one piece, and the job's partial
directory removed. `assist` lets a second process on the same machine train a
running job's chunks from its end, so two cores can share one long job.

Chunking changes no number: every member of a population is trained by the
same compiled step on the same batches whatever else is in its population
(`taskset.training.population`), so a config's curve is the same in a chunk of
32 as in a population of 160; `Compiled` is reused across the chunks of a job,
so nothing is traced twice. Only `seconds_per_step`, the amortised cost per
config, is measured per chunk.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import shutil
from typing import Any, Callable, Sequence

from curves.errors import CorruptShardError
from curves.jobs import Job
from taskset.optimizers.base import OptimizerConfig
from taskset.paths import atomic_write_text
from taskset.training.curve import Curve

PARTIAL_DIR = "partial"
CHUNK_CONFIGS = 32
"""Configs per checkpointed chunk: a multiple of the trainer's `GROUP_SIZE` (4), so chunks hold whole
groups. A 160-config job of the dearest shipped tasks (about 2.5 idle worker-hours) then loses at most
about half an hour when its machine goes away; set-up is paid once per job, as the compiled loops are
reused."""


def chunks(configs: int, size: int | None = None) -> list[range]:
    """The index ranges of a job's chunks of `size` configs (default `CHUNK_CONFIGS`), in order (pure)."""
    size = size or CHUNK_CONFIGS
    return [range(start, min(start + size, configs)) for start in range(0, configs, size)]


def job_dir(root: pathlib.Path, key: str) -> pathlib.Path:
    return root / PARTIAL_DIR / key


def chunk_path(root: pathlib.Path, key: str, chunk: range) -> pathlib.Path:
    return job_dir(root, key) / f"{chunk.start}.json"


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def save_chunk(root: pathlib.Path, key: str, chunk: range, curves: Sequence[Curve]) -> None:
    """Writes a finished chunk's curves atomically."""
    payload = {"job_key": key, "start": chunk.start, "stop": chunk.stop, "curves": [c.to_json() for c in curves]}
    atomic_write_text(chunk_path(root, key, chunk),
                      json.dumps({"sha256": _digest(payload), "payload": payload}, sort_keys=True))


def load_chunk(root: pathlib.Path, job: Job, chunk: range) -> list[Curve] | None:
    """The chunk's saved curves, or None if it was not saved.

    Raises:
      CorruptShardError: the file is damaged or belongs to another job or chunk (delete
        `<root>/partial/<key>` to retrain the job from its start).
    """
    path = chunk_path(root, job.key, chunk)
    if not path.exists():
        return None
    try:
        saved = json.loads(path.read_text())
        payload = saved["payload"]
        ok = saved["sha256"] == _digest(payload)
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptShardError(f"{path} is not a saved chunk ({exc}); delete {path.parent} to retrain the job") from exc
    names = [c["optimizer"]["name"] for c in payload["curves"]]
    expected = job.optimizer_names[chunk.start:chunk.stop]
    if not ok or payload["job_key"] != job.key or (payload["start"], payload["stop"]) != (chunk.start, chunk.stop) \
            or names != expected:
        raise CorruptShardError(f"{path} does not hold configs {chunk.start}..{chunk.stop - 1} of job {job.key} "
                                f"(checksum or contents differ); delete {path.parent} to retrain the job")
    return [Curve.from_json(c) for c in payload["curves"]]


def train_resumably(root: pathlib.Path, job: Job, train: Callable[[list[OptimizerConfig]], list[Curve]],
                    size: int | None = None) -> list[Curve]:
    """`job`'s curves: the saved chunks loaded, the others trained with `train(configs)` and saved."""
    out: list[Curve] = []
    for chunk in chunks(len(job.optimizers), size):
        done = load_chunk(root, job, chunk)
        if done is None:
            done = train(list(job.optimizers[chunk.start:chunk.stop]))
            save_chunk(root, job.key, chunk, done)
        out += done
    return out


def assist(root: pathlib.Path, job: Job, train: Callable[[list[OptimizerConfig]], list[Curve]],
           finished: Callable[[], bool], size: int | None = None) -> list[range]:
    """Trains `job`'s unsaved chunks from the last one backwards and saves them, beside a worker
    that runs the job forwards with `train_resumably` and loads each saved chunk when it reaches
    it: two cores share one long job, so the last job of a run does not hold one core for hours
    while the other idles.

    Stops when one unsaved chunk is left (the one the forward worker is on) or `finished()` says
    the job's shard exists; a chunk trained when the shard appeared is dropped, not saved beside
    it. Both sides may train the same chunk once when they meet; its curves are the same either
    way. Returns the chunks it saved, in the order trained.
    """
    saved: list[range] = []
    while not finished():
        unsaved = unsaved_chunks(root, job, size)
        if len(unsaved) < 2:
            break
        chunk = unsaved[-1]
        curves = train(list(job.optimizers[chunk.start:chunk.stop]))
        if finished():
            break
        save_chunk(root, job.key, chunk, curves)
        saved.append(chunk)
    return saved


def clear(root: pathlib.Path, key: str) -> None:
    """Removes a job's saved chunks (once its shard is written); the `partial` directory too when empty."""
    shutil.rmtree(job_dir(root, key), ignore_errors=True)
    try:
        (root / PARTIAL_DIR).rmdir()
    except OSError:
        pass  # other jobs' chunks are still there, or it never existed


def unsaved_chunks(root: pathlib.Path, job: Job, size: int | None = None) -> list[range]:
    """`job`'s chunks with no saved file in `root`, in order (a file's contents are checked on loading)."""
    return [chunk for chunk in chunks(len(job.optimizers), size) if not chunk_path(root, job.key, chunk).exists()]


def saved_configs(root: pathlib.Path, job: Job) -> int:
    """How many of `job`'s configs have saved chunks in `root`."""
    return len(job.optimizers) - sum(len(chunk) for chunk in unsaved_chunks(root, job))


def pending(root: pathlib.Path) -> list[str]:
    """Keys of jobs with saved chunks in `root` (unfinished work a publish must not ship)."""
    top = root / PARTIAL_DIR
    return sorted(p.name for p in top.iterdir() if p.is_dir()) if top.is_dir() else []
