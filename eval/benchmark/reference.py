"""Reference curves: the configs an optimizer is compared with, read from a curve dataset.

A reference is any curve dataset (`curves.read`: a directory, or a registered
name such as "quick-reference"). For each benchmark task it must hold curves
of the requested length; the benchmark then trains with exactly their
schedule (steps and evaluation interval), because schedules of the optimizer
families depend on the run length, so a shorter or longer run is a different
experiment, not a prefix of the reference's.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
from typing import Any, Sequence

import numpy as np

from taskset.errors import ConfigError

COLUMNS = ("task", "family", "optimizer_family", "optimizer", "hparams", "replica", "status", "diverged_step", "steps",
           "valid_inner")
"""The curve columns the scores and plots need (`eval.benchmark.results`)."""


class MissingReferenceError(ConfigError):
    """The reference has no usable curves for the requested tasks or steps."""


@dataclasses.dataclass(frozen=True)
class Reference:
    """The reference curves of the benchmark's tasks.

    Attributes:
      name: the reference as given (dataset name or directory).
      path: its local directory.
      curves: pandas DataFrame of `COLUMNS`, the rows of the selected tasks and steps.
      schedules: task -> (steps, eval_every) of its curves.
      manifest_sha256: sha256 of its manifest.json (which pins every shard), or None.
      tie_scores: task family -> its tie tolerance in score units (`replica_tolerances`); families
        the reference has no replicas of are absent (machine noise alone ties there).
    """

    name: str
    path: pathlib.Path
    curves: Any
    schedules: dict[str, tuple[int, int]]
    manifest_sha256: str | None
    tie_scores: dict[str, float] = dataclasses.field(default_factory=dict)


def replica_tolerances(reference: str | os.PathLike) -> dict[str, float]:
    """Task family -> the replica noise of the reference, in score units, for the tie rule.

    It is the median over the family's trained (task, config) pairs of the
    standard deviation of the final normalised `valid_inner` score over replica
    seeds (`hparam_lists.noise.replica_noise`), measured on every task of the
    reference that has replicas (not only the run's tasks, so `--tasks` never
    changes a tolerance). Families without replicas, or without a trained pair, are absent.
    """
    import curves
    from curves.reader import resolve
    from hparam_lists.noise import replica_noise

    path = resolve(reference)
    index = curves.read(path, columns=["task", "replica"])
    tasks = sorted(set(index.loc[index["replica"] > 0, "task"].astype(str)))
    if not tasks:
        return {}
    noise = replica_noise(curves.read(path, tasks=tasks, columns=list(COLUMNS)))
    return {family: n.score_std_median for family, n in sorted(noise.items()) if math.isfinite(n.score_std_median)}


def reference_tasks(reference: str | os.PathLike) -> tuple[str, ...]:
    """Every task with curves in `reference`, sorted (read from the manifest, no curve data)."""
    from curves.reader import list_shards, resolve

    return tuple(sorted({shard.task for shard in list_shards(resolve(reference))}))


def load_reference(reference: str | os.PathLike, tasks: Sequence[str], steps: int | None) -> Reference:
    """The curves of `tasks` at `steps` steps in `reference`.

    Args:
      reference: a curve directory or a registered curve dataset name.
      tasks: the benchmark's tasks.
      steps: the run length; None takes the one length the tasks' curves share.

    Raises:
      MissingReferenceError: a task has no curves, none of that length, or (with
        steps=None) several lengths; or a schedule is not every-k-steps from 0.
      StoreError: `reference` is neither a curve directory nor a registered name.
    """
    import curves
    from curves.reader import resolve
    from hparam_lists import manifest_sha256

    path = resolve(reference)
    where = f"the reference {os.fspath(reference)!r}"
    present = set(reference_tasks(path))
    missing = [t for t in tasks if t not in present]
    if missing:
        raise MissingReferenceError(f"{where} has no curves for task(s) {missing!r} (it has {len(present)} tasks, "
                                    f"e.g. {sorted(present)[:4]!r}); benchmark tasks it holds, or pass --reference "
                                    "DIR made by `taskset-bench curves generate SPEC --out DIR` for these tasks")
    frame = curves.read(path, tasks=list(tasks), columns=list(COLUMNS))
    lengths = np.array([int(s[-1]) if len(s) else -1 for s in frame["steps"]])
    schedules = {}
    keep = np.zeros(len(frame), dtype=bool)
    for task in tasks:
        rows = (frame["task"].astype(str) == task).to_numpy()
        available = sorted(set(lengths[rows].tolist()))
        if steps is None and len(available) > 1:
            raise MissingReferenceError(f"{where} has curves of {available!r} steps for {task}; choose one with "
                                        "--steps")
        length = available[0] if steps is None else steps
        if length not in available:
            raise MissingReferenceError(f"{where} has no {length}-step curves for {task} (it has {available!r} "
                                        f"steps); run with --steps {available[-1]}, or make a {length}-step "
                                        "reference with `taskset-bench curves generate` (sweep.steps = "
                                        f"{length}) and pass it with --reference DIR")
        rows = rows & (lengths == length)
        schedules[task] = (length, _eval_every(frame["steps"].iloc[np.flatnonzero(rows)[0]], task, where))
        keep |= rows
    chosen = frame[keep].reset_index(drop=True)
    return Reference(name=os.fspath(reference), path=path, curves=chosen, schedules=schedules,
                     manifest_sha256=manifest_sha256(path), tie_scores=replica_tolerances(path))


def _eval_every(steps: Any, task: str, where: str) -> int:
    """The evaluation interval of a reference schedule, which must be 0, k, 2k, ..., steps."""
    steps = np.asarray(steps, dtype=np.int64)
    every = int(steps[1] - steps[0]) if len(steps) > 1 else int(steps[-1])
    if every < 1 or steps[0] != 0 or not np.array_equal(steps, np.arange(0, steps[-1] + 1, every)):
        raise MissingReferenceError(f"{where} evaluates {task} at steps {steps.tolist()!r}, not every k steps from "
                                    "0; the benchmark trains on the trainer's schedule")
    return every
