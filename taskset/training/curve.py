"""`Curve`: the result of training one optimizer config on one task, as plain data.

One curve is one future Parquet row (see DESIGN.md section 5), so it holds only
numbers, strings, plain dicts and NumPy arrays: the task's name and config, the
optimizer config, the replica seed, the evaluation steps and one loss array per
split, the run's status and its cost.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from taskset.datasets.base import SPLITS
from taskset.optimizers.base import OptimizerConfig

STATUS_OK = "ok"
STATUS_DIVERGED = "diverged"


@dataclasses.dataclass(frozen=True, eq=False)
class Curve:
    """Losses of one optimizer config on one task at a fixed evaluation schedule.

    Attributes:
      task: the task's name, e.g. "mlp_seed12".
      task_config: the task's config dict (`Task.config_dict`), enough to rebuild it.
      optimizer: the optimizer config that was trained.
      replica_seed: the seed of the batches and, unless overridden, of the init.
      init_seed: the seed passed to `task.init` (the same for every member of a replica).
      steps: int64 [E], the evaluation steps 0, eval_every, ..., total steps; the
        value at step s is measured on the parameters after s updates.
      train, valid_inner, valid_outer, test: float32 [E], at each evaluation step
        the mean loss over `eval_batches` fresh batches of that split; NaN from the
        step the run diverged at on.
      status: "ok", or "diverged" when the loss became non-finite or exceeded
        1e6 x its initial train loss (see `taskset.training.divergence`).
      diverged_step: the step whose parameters first gave such a loss, else None.
      seconds_per_step: wall time of the compiled training loop (evaluation and
        compilation excluded) per step, divided by the number of configs trained
        together in this config's population: the amortised cost of one step of
        this config.
    """

    task: str
    task_config: dict[str, Any]
    optimizer: OptimizerConfig
    replica_seed: int
    init_seed: int
    steps: np.ndarray
    train: np.ndarray
    valid_inner: np.ndarray
    valid_outer: np.ndarray
    test: np.ndarray
    status: str
    diverged_step: int | None
    seconds_per_step: float

    def __post_init__(self) -> None:
        # Frozen means frozen: the arrays are read-only copies, so a curve handed to
        # a writer cannot change underneath it.
        object.__setattr__(self, "steps", _read_only(self.steps, np.int64))
        for split in SPLITS:
            values = _read_only(getattr(self, split), np.float32)
            if values.shape != self.steps.shape:
                raise ValueError(f"{split} has shape {values.shape}, steps has {self.steps.shape}")
            object.__setattr__(self, split, values)
        if self.status not in (STATUS_OK, STATUS_DIVERGED):
            raise ValueError(f"status must be {STATUS_OK!r} or {STATUS_DIVERGED!r}, got {self.status!r}")
        if (self.status == STATUS_DIVERGED) != (self.diverged_step is not None):
            raise ValueError(f"diverged_step={self.diverged_step!r} does not fit status={self.status!r}")

    def split(self, name: str) -> np.ndarray:
        """The loss array of split `name` (one of `taskset.datasets.SPLITS`)."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; accepted: {list(SPLITS)!r}")
        return getattr(self, name)

    def to_json(self) -> dict[str, Any]:
        """The curve as JSON-ready data (NaN becomes None)."""
        out = {"task": self.task, "task_config": self.task_config, "optimizer": self.optimizer.to_json(),
               "replica_seed": self.replica_seed, "init_seed": self.init_seed,
               "steps": self.steps.tolist(), "status": self.status, "diverged_step": self.diverged_step,
               "seconds_per_step": self.seconds_per_step}
        for split in SPLITS:
            out[split] = [None if np.isnan(v) else float(v) for v in getattr(self, split)]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Curve":
        """The inverse of `to_json` (None back to NaN; float32 values round-trip exactly)."""
        optimizer = data["optimizer"]
        return cls(task=data["task"], task_config=data["task_config"],
                   optimizer=OptimizerConfig(optimizer["name"], optimizer["family"], dict(optimizer["hparams"])),
                   replica_seed=data["replica_seed"], init_seed=data["init_seed"], steps=data["steps"],
                   status=data["status"], diverged_step=data["diverged_step"],
                   seconds_per_step=data["seconds_per_step"],
                   **{split: [np.nan if v is None else v for v in data[split]] for split in SPLITS})


def _read_only(values, dtype) -> np.ndarray:
    array = np.array(values, dtype=dtype)
    array.setflags(write=False)
    return array
