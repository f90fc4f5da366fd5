"""Reading curve datasets: `read` into pandas with filters pushed down, `to_matrix` for list learners.

`read` picks shards by the manifest's per-shard facts (task, optimizer
families) before opening any file, then reads only the requested columns of
those shards (in parallel) and drops rows of other optimizer families. Page
checksums are verified, so a damaged shard is an error naming the file, not
silently wrong numbers.

`path` is a curve directory or the name of a registered curve dataset: the
`CURVE_DATASETS` registry maps a name to a function returning a local
directory; `curves.download` (imported by the package) registers every
published dataset in this project's layout there, fetched on first use.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import difflib
import os
import pathlib
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from taskset.errors import ConfigError, UnknownNameError
from taskset.registry import Registry

from curves.errors import CorruptShardError, StoreError
from curves.manifest import load_manifest
from curves.schema import HP_PREFIX, METRICS, check_schema, dataset_schema
from curves.store import SHARD_DIR, SHARD_SUFFIX, shard_entry

CURVE_DATASETS: Registry[Callable[[], os.PathLike]] = Registry("curve dataset")
REDUCTIONS = ("final", "mean")
READ_AHEAD = 1  # tasks `iter_tasks` reads ahead of the caller


def resolve(path: str | os.PathLike) -> pathlib.Path:
    """The local directory of `path`: a directory, or a registered curve dataset's.

    Raises:
      StoreError: neither an existing directory nor a registered name.
    """
    local = pathlib.Path(path)
    if local.is_dir():
        return local
    if isinstance(path, str) and path in CURVE_DATASETS:
        return pathlib.Path(CURVE_DATASETS.get(path)())
    raise StoreError(f"{str(path)!r} is neither a curve directory nor a registered curve dataset "
                     f"({CURVE_DATASETS.list()!r}, see `taskset-bench curves list`); create a directory with "
                     "`taskset-bench curves generate SPEC --out DIR`")


@dataclasses.dataclass(frozen=True)
class ShardInfo:
    """What the reader knows about a shard before opening its data."""

    path: pathlib.Path
    task: str
    optimizer_families: tuple[str, ...]
    hparam_columns: tuple[str, ...]


def list_shards(root: pathlib.Path) -> list[ShardInfo]:
    """Every shard under `root`: facts from the manifest, or from the file's footer when unlisted.

    Raises:
      StoreError: `root` has neither a manifest nor shards.
      CorruptShardError: a shard the manifest lists is missing.
    """
    manifest = load_manifest(root)
    on_disk = {p.name[:-len(SHARD_SUFFIX)] for p in (root / SHARD_DIR).glob(f"*{SHARD_SUFFIX}")}
    if manifest is None and not on_disk:
        raise StoreError(f"{str(root)!r} holds no curves (no manifest.json, no shards)")
    listed = manifest.shards if manifest is not None else {}
    missing = sorted(set(listed) - on_disk)
    if missing:
        raise CorruptShardError(f"{len(missing)} shard(s) listed in {str(root / 'manifest.json')!r} are missing, "
                                f"e.g. {listed[missing[0]]['file']!r}; run `taskset-bench curves generate` again "
                                "to recompute them")
    shards = []
    for key in sorted(on_disk):
        # A shard a dead run wrote but did not index yet: its footer says the rest.
        entry = listed.get(key) or shard_entry(root, key)
        shards.append(ShardInfo(root / entry["file"], entry["task"], tuple(entry["optimizer_families"]),
                                tuple(entry["hparam_columns"])))
    return shards


def _as_set(value: str | Iterable[str] | None, what: str) -> set[str] | None:
    if value is None:
        return None
    values = {value} if isinstance(value, str) else set(value)
    if not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{what} must be a name or a list of names, got {value!r}")
    return values


@dataclasses.dataclass(frozen=True)
class _Selection:
    """The shards a query reads, the columns it returns and the families it keeps."""

    root: pathlib.Path
    shards: tuple[ShardInfo, ...]
    schema: object  # pyarrow.Schema of the returned table
    families: frozenset[str] | None  # rows of other optimizer families are dropped


def _select(path, tasks, optimizer_family, columns) -> _Selection:
    import pyarrow as pa

    root = resolve(path)
    shards = list_shards(root)
    want_tasks = _as_set(tasks, "tasks")
    want_families = _as_set(optimizer_family, "optimizer_family")
    _check_present(want_tasks, {s.task for s in shards}, "task", root)
    _check_present(want_families, {f for s in shards for f in s.optimizer_families}, "optimizer family", root)
    schema = dataset_schema(n[len(HP_PREFIX):] for s in shards for n in s.hparam_columns)
    if columns is not None:
        unknown = [c for c in columns if c not in schema.names]
        if unknown:
            raise ConfigError(f"unknown column(s) {unknown!r}; accepted: {schema.names!r}")
        schema = pa.schema([schema.field(c) for c in columns])
    selected = tuple(s for s in shards
                     if (want_tasks is None or s.task in want_tasks)
                     and (want_families is None or want_families & set(s.optimizer_families)))
    return _Selection(root, selected, schema, frozenset(want_families) if want_families is not None else None)


def _read_shard(selection: _Selection, shard: ShardInfo):
    """One shard's selected columns and rows, in the selection's schema.

    Raises:
      CorruptShardError: the file is damaged (a page checksum fails, ...).
      SchemaMismatchError: it is not a shard of this schema version.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        # No pre-buffering: it hands reads of a few small column chunks to I/O
        # threads, which costs more than it saves here.
        parquet = pq.ParquetFile(shard.path, pre_buffer=False, page_checksum_verification=True)
        schema = parquet.schema_arrow  # decoded anew on every access
        check_schema(schema, str(shard.path))
        names = selection.schema.names
        mixed = selection.families is not None and not set(shard.optimizer_families) <= selection.families
        wanted = [n for n in names if n in schema.names]
        if mixed and "optimizer_family" not in wanted:
            wanted.append("optimizer_family")
        table = parquet.read(columns=wanted, use_threads=False)
    except StoreError:
        raise
    except (OSError, pa.ArrowException) as err:
        raise CorruptShardError(f"shard {str(shard.path)!r} is damaged ({err}); delete it and run "
                                "`taskset-bench curves generate` again to recompute it") from None
    if mixed:
        table = table.filter(pc.is_in(table.column("optimizer_family").cast(pa.string()),
                                      value_set=pa.array(sorted(selection.families))))
    # A shard lacks the hp_ columns of families it does not hold: they are null here.
    columns = [table.column(n) if n in table.column_names else pa.nulls(table.num_rows, selection.schema.field(n).type)
               for n in names]
    return pa.Table.from_arrays(columns, schema=selection.schema)


def _read_shards(selection: _Selection, shards: Sequence[ShardInfo], threads: int = 1):
    """The selected rows of `shards`, concatenated, read by `threads` threads."""
    import pyarrow as pa

    if threads > 1 and len(shards) > 1:
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:  # Arrow releases the GIL while reading
            tables = list(pool.map(lambda shard: _read_shard(selection, shard), shards))
    else:
        tables = [_read_shard(selection, shard) for shard in shards]
    if len(tables) > 1:
        # One dictionary per column across shards, so Arrow kernels (group_by, ...) accept the result.
        return pa.concat_tables(tables).unify_dictionaries()
    return tables[0] if tables else selection.schema.empty_table()


def read_table(path: str | os.PathLike, tasks: str | Iterable[str] | None = None,
               optimizer_family: str | Iterable[str] | None = None, columns: Sequence[str] | None = None):
    """Like `read`, but returns a `pyarrow.Table` (no pandas conversion)."""
    selection = _select(path, tasks, optimizer_family, columns)
    return _read_shards(selection, selection.shards, threads=os.cpu_count() or 1)


def read(path: str | os.PathLike, tasks: str | Iterable[str] | None = None,
         optimizer_family: str | Iterable[str] | None = None, columns: Sequence[str] | None = None):
    """Curves of a dataset as a pandas DataFrame, one row per curve.

    Args:
      path: a curve directory, or the name of a registered curve dataset.
      tasks: only these task(s).
      optimizer_family: only curves of these optimizer family(ies).
      columns: only these columns (see `curves.schema`); all by default.
        Reading few columns is much cheaper: e.g. ["task", "optimizer",
        "final_valid_inner"] skips the curve lists entirely.

    Returns:
      A DataFrame; dictionary-encoded columns are categoricals, list columns
      hold NumPy arrays.

    Raises:
      StoreError: `path` is not a curve directory or registered dataset.
      UnknownNameError: a requested task or optimizer family has no curves here.
      ConfigError: an unknown column.
      CorruptShardError, SchemaMismatchError: a damaged or foreign shard (named).
    """
    return read_table(path, tasks, optimizer_family, columns).to_pandas()


def iter_tasks(path: str | os.PathLike, tasks: str | Iterable[str] | None = None,
               optimizer_family: str | Iterable[str] | None = None, columns: Sequence[str] | None = None,
               arrow: bool = False) -> Iterator[tuple[str, object]]:
    """Like `read`, one task at a time: yields (task, rows of that task) in task order.

    Memory stays at one task's rows however large the dataset, which is what
    per-task questions ("best final loss of each task") need; after
    `curves.compact` each step reads a single file. Takes the same arguments
    and raises the same errors as `read`.

    Args:
      arrow: yield `pyarrow.Table`s instead of DataFrames (skips the pandas
        conversion, which costs more than reading a small task).
    """
    selection = _select(path, tasks, optimizer_family, columns)
    by_task: dict[str, list[ShardInfo]] = {}
    for shard in selection.shards:
        by_task.setdefault(shard.task, []).append(shard)
    order = sorted(by_task)
    # Threads read the next READ_AHEAD tasks (Arrow releases the GIL) while the
    # caller works on the current one: READ_AHEAD + 1 tasks in memory at most.
    with concurrent.futures.ThreadPoolExecutor(READ_AHEAD) as reader:
        ahead = collections.deque(reader.submit(_read_shards, selection, by_task[task])
                                  for task in order[:READ_AHEAD])
        for i, task in enumerate(order):
            table = ahead.popleft().result()
            if i + READ_AHEAD < len(order):
                ahead.append(reader.submit(_read_shards, selection, by_task[order[i + READ_AHEAD]]))
            yield task, table if arrow else table.to_pandas()


def _check_present(wanted: set[str] | None, present: set[str], kind: str, root: pathlib.Path) -> None:
    for name in sorted(wanted or ()):
        if name not in present:
            close = difflib.get_close_matches(name, sorted(present), n=5, cutoff=0.6)
            hint = ("did you mean " + ", ".join(map(repr, close)) + "?") if close else \
                f"it has {len(present)}: {sorted(present)[:12]!r}{' ...' if len(present) > 12 else ''}"
            raise UnknownNameError(f"no curves for {kind} {name!r} in {str(root)!r}; {hint}")


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
