"""Curve matrices: a tasks x configs table of one number per (task, optimizer config).

`to_matrix` reduces rows read by `curves.read`, `curves.read_table` or
`curves.iter_tasks(arrow=True)` to a `CurveMatrix`, the input of the list
learners. It is pure NumPy/Arrow arithmetic on data already read (and so
already verified against the manifest by the reader); it opens no file.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from taskset.errors import ConfigError

from curves.schema import METRICS

REDUCTIONS = ("final", "mean")


@dataclasses.dataclass(frozen=True)
class CurveMatrix:
    """A tasks x configs matrix of one number per (task, optimizer config).

    Attributes:
      values: float64 [len(tasks), len(configs)]; NaN where a config has no
        curve on a task or one of its replicas diverged.
      tasks: row labels (task names).
      configs: column labels (optimizer config names).
      metric, reduction: what the numbers are (see `to_matrix`).
    """

    values: np.ndarray
    tasks: tuple[str, ...]
    configs: tuple[str, ...]
    metric: str
    reduction: str


def to_matrix(data, metric: str = "valid_inner", reduction: str = "final", tasks: Sequence[str] | None = None,
              configs: Sequence[str] | None = None) -> CurveMatrix:
    """Reduces curves to a tasks x configs matrix, e.g. for a greedy list learner.

    Each curve becomes one number: its last value (`reduction="final"`) or
    the mean over its evaluation points (`"mean"`) of `metric`. A diverged
    curve becomes NaN. A (task, config) cell is the mean over its replicas,
    NaN if any replica is NaN or infinite: a config that diverges on some
    seeds is not given the score of its lucky seeds. Cells without curves are NaN.

    Args:
      data: rows from `read` (a DataFrame) or `read_table` / `iter_tasks(arrow=True)`
        (a pyarrow Table), with columns task, optimizer, status and `metric`;
        for the default metric and reduction, task, optimizer and
        final_valid_inner suffice.
      metric: one of train, valid_inner, valid_outer, test.
      reduction: "final" or "mean".
      tasks, configs: row and column order (default: sorted names present).

    Raises:
      ConfigError: unknown metric or reduction, or `data` lacks a needed column.
    """
    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}; accepted: {list(METRICS)!r}")
    if reduction not in REDUCTIONS:
        raise ConfigError(f"unknown reduction {reduction!r}; accepted: {list(REDUCTIONS)!r}")
    frame = _Columns(data)
    summary = metric == "valid_inner" and reduction == "final" and "final_valid_inner" in frame.names
    needed = ["task", "optimizer"] + (["final_valid_inner"] if summary else ["status", metric])
    missing = [c for c in needed if c not in frame.names]
    if missing:
        raise ConfigError(f"to_matrix needs column(s) {missing!r}; read them with columns=[...]")
    if summary:
        per_curve = frame.floats("final_valid_inner")  # already NaN for diverged curves
    else:
        per_curve = frame.reduce_lists(metric, reduction)
        per_curve[frame.not_ok()] = np.nan
    task_codes, task_names = frame.codes("task")
    config_codes, config_names = frame.codes("optimizer")
    # Replica means by bincount over (task, config) cells: NumPy's speed on
    # millions of rows, with no per-group Python work.
    cell = task_codes * len(config_names) + config_codes
    size = len(task_names) * len(config_names)
    count = np.bincount(cell, minlength=size)
    finite = np.isfinite(per_curve)
    bad = np.bincount(cell, weights=~finite, minlength=size)
    total = np.bincount(cell, weights=np.where(finite, per_curve, 0.0), minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where((count > 0) & (bad == 0), total / np.maximum(count, 1), np.nan)
    full = mean.reshape(len(task_names), len(config_names))
    seen = count.reshape(full.shape)
    row_index, task_labels = _order(task_names, seen.sum(axis=1) > 0, tasks)
    col_index, config_labels = _order(config_names, seen.sum(axis=0) > 0, configs)
    # Index -1 picks the NaN row and column of the padding (labels without curves).
    values = np.pad(full, ((0, 1), (0, 1)), constant_values=np.nan)[np.ix_(row_index, col_index)]
    return CurveMatrix(values=values, tasks=task_labels, configs=config_labels, metric=metric, reduction=reduction)


def _order(names: np.ndarray, present: np.ndarray, wanted: Sequence[str] | None) -> tuple[np.ndarray, tuple]:
    """Indices into `names` for the output labels, and the labels: `wanted`, or the present names sorted."""
    if wanted is None:
        import pyarrow as pa
        import pyarrow.compute as pc

        index = np.flatnonzero(present)
        present_names = pa.array(names[index], type=pa.string())
        order = pc.array_sort_indices(present_names).to_numpy()  # Arrow's sort: no Python comparisons
        return index[order], tuple(present_names.take(order).to_pylist())
    position = {name: i for i, name in enumerate(names.tolist())}
    return np.array([position.get(name, -1) for name in wanted], dtype=np.int64), tuple(wanted)


class _Columns:
    """Uniform NumPy access to the columns of a pandas DataFrame or a pyarrow Table."""

    def __init__(self, data) -> None:
        import pyarrow as pa

        self.data = data
        self.arrow = isinstance(data, pa.Table)
        self.names = list(data.column_names if self.arrow else data.columns)

    def floats(self, name: str) -> np.ndarray:
        column = self.data.column(name) if self.arrow else self.data[name]
        return np.asarray(column.to_numpy(), dtype=np.float64)

    def not_ok(self) -> np.ndarray:
        if self.arrow:
            import pyarrow as pa

            return np.asarray(self.data.column("status").cast(pa.string()).to_numpy(zero_copy_only=False) != "ok")
        return (self.data["status"] != "ok").to_numpy()

    def reduce_lists(self, name: str, reduction: str) -> np.ndarray:
        """Each list's last element ("final") or mean ("mean"); NaN for an empty list."""
        if self.arrow:
            import pyarrow.compute as pc

            column = self.data.column(name).combine_chunks()
            lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False).astype(np.int64)
            flat = np.asarray(column.flatten().to_numpy(zero_copy_only=False), dtype=np.float64)
            ends = np.cumsum(lengths)
            out = np.full(len(lengths), np.nan)
            full = lengths > 0
            if reduction == "final":
                out[full] = flat[ends[full] - 1]
            else:
                out[full] = np.add.reduceat(flat, (ends - lengths)[full]) / lengths[full]
            return out
        pick = (lambda v: v[-1]) if reduction == "final" else (lambda v: np.mean(v, dtype=np.float64))
        return np.array([pick(v) if len(v) else np.nan for v in self.data[name]], dtype=np.float64)

    def codes(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Integer codes and their labels (an array of str) of a string or categorical column."""
        if self.arrow:
            import pyarrow as pa
            import pyarrow.compute as pc

            column = self.data.column(name)
            if not pa.types.is_dictionary(column.type):
                column = pc.dictionary_encode(column)
            column = pa.table({name: column}).unify_dictionaries().column(0)
            if column.num_chunks == 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
            labels = column.chunk(0).dictionary.to_numpy(zero_copy_only=False)
            codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in column.chunks])
            return codes.astype(np.int64), labels
        import pandas as pd

        column = self.data[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            return column.cat.codes.to_numpy(dtype=np.int64), column.cat.categories.to_numpy(dtype=object)
        codes, labels = pd.factorize(column)
        return codes.astype(np.int64), np.asarray(labels, dtype=object)
