"""Reading curve datasets: `read` into pandas with filters pushed down, `to_matrix` for list learners.

`read` picks shards by the manifest's per-shard facts (task, optimizer
families) before opening any file, then lets `pyarrow.dataset` read only the
requested columns of those shards and filter rows by optimizer family. Page
checksums are verified, so a damaged shard is an error naming the file, not
silently wrong numbers.

`path` is a curve directory or the name of a registered curve dataset: the
`CURVE_DATASETS` registry maps a name to a function returning a local
directory; `curves.download` (imported by the package) registers every
published dataset in this project's layout there, fetched on first use.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import pathlib
from typing import Callable, Iterable, Sequence

import numpy as np

from taskset.errors import ConfigError, UnknownNameError
from taskset.registry import Registry

from curves.errors import CorruptShardError, StoreError
from curves.manifest import load_manifest
from curves.schema import HP_PREFIX, METRICS, check_schema, dataset_schema
from curves.store import SHARD_DIR, SHARD_SUFFIX, shard_entry

CURVE_DATASETS: Registry[Callable[[], os.PathLike]] = Registry("curve dataset")
REDUCTIONS = ("final", "mean")


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


def read_table(path: str | os.PathLike, tasks: str | Iterable[str] | None = None,
               optimizer_family: str | Iterable[str] | None = None, columns: Sequence[str] | None = None):
    """Like `read`, but returns the `pyarrow.Table` (cheaper for large numeric queries)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

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
    selected = [s for s in shards
                if (want_tasks is None or s.task in want_tasks)
                and (want_families is None or want_families & set(s.optimizer_families))]
    row_filter = None
    if want_families is not None and any(set(s.optimizer_families) - want_families for s in selected):
        row_filter = pc.field("optimizer_family").isin(sorted(want_families))
    fmt = ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(
        page_checksum_verification=True))
    try:
        dataset = ds.dataset([str(s.path) for s in selected], schema=schema, format=fmt)
        table = dataset.to_table(columns=list(columns) if columns is not None else None, filter=row_filter)
    except (OSError, pa.ArrowException) as err:
        _diagnose([s.path for s in selected])
        raise CorruptShardError(f"reading {str(root)!r} failed: {err}; run `taskset-bench curves verify "
                                f"{root}` to find the damaged shard") from None
    return table.replace_schema_metadata(None)


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


def _check_present(wanted: set[str] | None, present: set[str], kind: str, root: pathlib.Path) -> None:
    for name in sorted(wanted or ()):
        if name not in present:
            close = difflib.get_close_matches(name, sorted(present), n=5, cutoff=0.6)
            hint = ("did you mean " + ", ".join(map(repr, close)) + "?") if close else \
                f"it has {len(present)}: {sorted(present)[:12]!r}{' ...' if len(present) > 12 else ''}"
            raise UnknownNameError(f"no curves for {kind} {name!r} in {str(root)!r}; {hint}")


def _diagnose(paths: list[pathlib.Path]) -> None:
    """Raises the specific error of the first shard that is damaged or foreign, if any."""
    import pyarrow.parquet as pq

    for path in paths:
        try:
            parquet = pq.ParquetFile(path, page_checksum_verification=True)
            check_schema(parquet.schema_arrow, str(path))
            parquet.read()
        except (OSError, ValueError) as err:
            if isinstance(err, StoreError):
                raise
            raise CorruptShardError(f"shard {str(path)!r} is damaged ({err}); delete it and run "
                                    "`taskset-bench curves generate` again to recompute it") from None


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


def to_matrix(df, metric: str = "valid_inner", reduction: str = "final", tasks: Sequence[str] | None = None,
              configs: Sequence[str] | None = None) -> CurveMatrix:
    """Reduces curves to a tasks x configs matrix, e.g. for a greedy list learner.

    Each curve becomes one number: its last value (`reduction="final"`) or
    the mean over its evaluation points (`"mean"`) of `metric`. A diverged
    curve becomes NaN. A (task, config) cell is the mean over its replicas,
    NaN if any replica is NaN: a config that diverges on some seeds is not
    given the score of its lucky seeds.

    Args:
      df: rows from `read`, with columns task, optimizer, status and `metric`
        (or just `final_valid_inner` for metric="valid_inner", reduction="final").
      metric: one of train, valid_inner, valid_outer, test.
      reduction: "final" or "mean".
      tasks, configs: row and column order (default: sorted names present).

    Raises:
      ConfigError: unknown metric or reduction, or `df` lacks a needed column.
    """
    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}; accepted: {list(METRICS)!r}")
    if reduction not in REDUCTIONS:
        raise ConfigError(f"unknown reduction {reduction!r}; accepted: {list(REDUCTIONS)!r}")
    if metric == "valid_inner" and reduction == "final" and "final_valid_inner" in df.columns:
        source = "final_valid_inner"
    else:
        source = metric
    needed = [c for c in ("task", "optimizer", "status", source) if c not in df.columns]
    if needed:
        raise ConfigError(f"to_matrix needs column(s) {needed!r}; read them with columns=[...]")
    if source == "final_valid_inner":
        per_curve = df[source].to_numpy(dtype=np.float64)
    elif reduction == "final":
        per_curve = np.array([v[-1] if len(v) else np.nan for v in df[source]], dtype=np.float64)
    else:
        per_curve = np.array([np.mean(v) if len(v) else np.nan for v in df[source]], dtype=np.float64)
    per_curve[(df["status"] != "ok").to_numpy()] = np.nan
    import pandas as pd

    # Grouping on the categorical columns `read` returns works on their integer
    # codes; converting a million labels to Python strings first would not.
    frame = pd.DataFrame({"task": df["task"].array, "optimizer": df["optimizer"].array, "value": per_curve})
    cells = frame.groupby(["task", "optimizer"], observed=True, sort=False)["value"].mean(skipna=False)
    table = cells.unstack("optimizer")
    table.index, table.columns = table.index.astype(str), table.columns.astype(str)
    task_labels = tuple(tasks) if tasks is not None else tuple(sorted(table.index))
    config_labels = tuple(configs) if configs is not None else tuple(sorted(table.columns))
    table = table.reindex(index=list(task_labels), columns=list(config_labels))
    return CurveMatrix(values=table.to_numpy(dtype=np.float64), tasks=task_labels, configs=config_labels,
                       metric=metric, reduction=reduction)

