"""`ScoreMatrix`: normalised scores of every (task, optimizer config) pair, and what names them.

Everything downstream of the curve store (greedy fitting, baselines, evaluation)
works on this one plain-NumPy object, so the math is tested on hand-made
matrices and never touches Parquet.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Sequence

import numpy as np

from taskset.errors import ConfigError, UnknownNameError
from taskset.registry import unknown_name_message


@dataclasses.dataclass(frozen=True)
class ScoreMatrix:
    """A (tasks x configs) matrix of normalised scores in [0, 1] (0 = best seen on the task).

    Attributes:
      scores: float64 array of shape (len(tasks), len(configs)).
      tasks: task names, one per row (sorted when built from curves).
      task_families: the task family of each row (for leave-one-family-out).
      configs: optimizer config names, one per column (sorted when built from curves).
      config_families: the optimizer family of each column.
      config_hparams: the hyperparameters of each column.
      split: the loss split the scores were computed on, e.g. "valid_inner".
      aggregation: "final" or "mean" (see `hparam_lists.normalize`).
    """

    scores: np.ndarray
    tasks: tuple[str, ...]
    task_families: tuple[str, ...]
    configs: tuple[str, ...]
    config_families: tuple[str, ...]
    config_hparams: tuple[dict[str, float], ...]
    split: str = "valid_inner"
    aggregation: str = "final"

    def __post_init__(self) -> None:
        scores = np.asarray(self.scores, dtype=np.float64)
        if scores.shape != (len(self.tasks), len(self.configs)):
            raise ValueError(f"scores have shape {scores.shape}, expected ({len(self.tasks)}, {len(self.configs)})")
        if len(self.task_families) != len(self.tasks) or len(self.config_families) != len(self.configs) \
                or len(self.config_hparams) != len(self.configs):
            raise ValueError("task_families, config_families and config_hparams must match tasks and configs")
        object.__setattr__(self, "scores", scores)

    @classmethod
    def from_array(cls, scores: Any, config_family: str = "test", task_family: str = "test") -> "ScoreMatrix":
        """A matrix with generated names (`task0..`, `config0..`), for experiments on synthetic scores."""
        scores = np.asarray(scores, dtype=np.float64)
        num_tasks, num_configs = scores.shape
        width_t, width_c = len(str(max(num_tasks - 1, 0))), len(str(max(num_configs - 1, 0)))
        return cls(scores, tuple(f"task{i:0{width_t}d}" for i in range(num_tasks)), (task_family,) * num_tasks,
                   tuple(f"config{j:0{width_c}d}" for j in range(num_configs)), (config_family,) * num_configs,
                   tuple({} for _ in range(num_configs)))

    def task_indices(self, names: Iterable[str]) -> np.ndarray:
        """Row indices of `names`, in the order given.

        Raises:
          UnknownNameError: a name is not a task of this matrix.
        """
        return _indices(self.tasks, names, "task")

    def config_indices(self, names: Iterable[str]) -> np.ndarray:
        """Column indices of `names`, in the order given.

        Raises:
          UnknownNameError: a name is not a config of this matrix.
        """
        return _indices(self.configs, names, "optimizer config")

    def family_columns(self, family: str) -> np.ndarray:
        """Column indices of the configs of optimizer family `family`, in column order.

        Raises:
          ConfigError: no config of that family is in the matrix.
        """
        columns = np.flatnonzero(np.asarray(self.config_families, dtype=object) == family)
        if columns.size == 0:
            known = sorted(set(self.config_families))
            raise ConfigError(f"no curves of optimizer family {family!r} in this dataset; it holds {known!r}")
        return columns

    def select(self, rows: Sequence[int] | np.ndarray | None = None,
               columns: Sequence[int] | np.ndarray | None = None) -> "ScoreMatrix":
        """The sub-matrix of `rows` and `columns` (index arrays; None keeps all)."""
        rows = np.arange(len(self.tasks)) if rows is None else np.asarray(rows, dtype=np.int64)
        columns = np.arange(len(self.configs)) if columns is None else np.asarray(columns, dtype=np.int64)
        return ScoreMatrix(self.scores[np.ix_(rows, columns)], tuple(self.tasks[i] for i in rows),
                           tuple(self.task_families[i] for i in rows), tuple(self.configs[j] for j in columns),
                           tuple(self.config_families[j] for j in columns),
                           tuple(self.config_hparams[j] for j in columns), self.split, self.aggregation)


def _indices(known: Sequence[str], names: Iterable[str], kind: str) -> np.ndarray:
    position = {name: i for i, name in enumerate(known)}
    out = []
    for name in names:
        if name not in position:
            raise UnknownNameError(unknown_name_message(kind, name, list(known)))
        out.append(position[name])
    return np.asarray(out, dtype=np.int64)
