"""Reading curve datasets: `read` into pandas with filters pushed down (`to_matrix` is in `curves.matrix`).

`read` picks shards by the manifest's per-shard facts (task, optimizer
families) before opening any file, then reads only the requested columns of
those shards (in parallel) and drops rows of other optimizer families.

Every shard opened is first checked against the manifest (size and sha256,
the verdict cached per process by path, size and mtime; see
`curves.integrity`), and its footer's job facts against the manifest entry
the reader filtered on. A shard the manifest does not list is refused, as is
a directory without a manifest: a damaged, foreign or edited file is an error
naming it and `curves verify`, never silently different numbers.

`path` is a curve directory or the name of a registered curve dataset: the
`CURVE_DATASETS` registry maps a name to a function returning a local
directory. It is filled where it is defined, with every dataset of
`curves.registry` in this project's layout (shipped or downloadable), each
fetched into the cache on first use by `curves.download.local_dataset`.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import difflib
import functools
import os
import pathlib
from typing import Callable, Iterable, Iterator, Sequence


from taskset.errors import ConfigError, UnknownNameError
from taskset.registry import Registry

from curves.errors import CorruptShardError, StoreError
from curves.integrity import VERIFY_HINT, check_facts, check_shard, save_verdicts
from curves.manifest import load_manifest
from curves.registry import list_datasets
from curves.matrix import REDUCTIONS, CurveMatrix, to_matrix  # noqa: F401 - re-exported (moved to curves.matrix)
from curves.schema import HP_PREFIX, check_schema, dataset_schema, job_meta
from curves.store import SHARD_DIR, SHARD_SUFFIX

CURVE_DATASETS: Registry[Callable[[], os.PathLike]] = Registry("curve dataset")
"""Name -> a function returning the dataset's local directory (what `read(name)` opens)."""


def _local_dataset(name: str) -> pathlib.Path:
    """The local copy of the registered dataset `name`, downloaded (or copied, if shipped) when missing."""
    from curves.download import local_dataset  # the fetching code loads only when a name is read

    return local_dataset(name)


for _dataset in list_datasets():
    if _dataset.layout == "taskset-curves":  # TaskSet's npz release must be converted before it can be read
        CURVE_DATASETS.register(_dataset.name, functools.partial(_local_dataset, _dataset.name))
del _dataset
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
    root: pathlib.Path | None = None
    key: str = ""
    entry: dict | None = dataclasses.field(default=None, compare=False, hash=False)


def list_shards(root: pathlib.Path) -> list[ShardInfo]:
    """Every shard of `root` as the manifest lists it (no file is opened or hashed here).

    Raises:
      StoreError: `root` has no manifest.json (shards alone are not trusted).
      CorruptShardError: a shard the manifest lists is missing, or a shard file
        is there that the manifest does not list (a foreign or unindexed file).
    """
    manifest = load_manifest(root)
    on_disk = {p.name[:-len(SHARD_SUFFIX)] for p in (root / SHARD_DIR).glob(f"*{SHARD_SUFFIX}")}
    if manifest is None:
        what = f"{len(on_disk)} shard(s) but no manifest.json" if on_disk else "no curves (no manifest.json)"
        raise StoreError(f"{str(root)!r} holds {what}; shards are read only as a manifest lists them: index them "
                         "with `taskset-bench curves generate SPEC --out DIR` (which rebuilds the manifest), then "
                         "check with `taskset-bench curves verify DIR`")
    listed = manifest.shards
    missing = sorted(set(listed) - on_disk)
    if missing:
        raise CorruptShardError(f"{len(missing)} shard(s) listed in {str(root / 'manifest.json')!r} are missing, "
                                f"e.g. {listed[missing[0]]['file']!r}; run `taskset-bench curves generate` again "
                                "to recompute them, or " + VERIFY_HINT.format(root=root))
    unlisted = sorted(on_disk - set(listed))
    if unlisted:
        raise CorruptShardError(f"shard {str(root / SHARD_DIR / (unlisted[0] + SHARD_SUFFIX))!r} is not listed in "
                                f"manifest.json ({len(unlisted)} such file(s)), so it is not read: it was copied in "
                                "or written by a run that died before indexing it; delete it, or index it with "
                                "`taskset-bench curves generate` on its sweep; " + VERIFY_HINT.format(root=root))
    return [ShardInfo(root / entry["file"], entry["task"], tuple(entry["optimizer_families"]),
                      tuple(entry["hparam_columns"]), root, key, entry)
            for key, entry in sorted(listed.items())]


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

    if shard.entry is not None:
        check_shard(shard.root, shard.entry)
    try:
        # No pre-buffering: it hands reads of a few small column chunks to I/O
        # threads, which costs more than it saves here.
        parquet = pq.ParquetFile(shard.path, pre_buffer=False, page_checksum_verification=True)
        schema = parquet.schema_arrow  # decoded anew on every access
        check_schema(schema, str(shard.path))
        if shard.entry is not None:
            meta = job_meta(schema, str(shard.path))
            if meta.get("key") != shard.key:
                raise CorruptShardError(f"shard {str(shard.path)!r} holds job {meta.get('key')!r}, not the job its "
                                        "name says; " + VERIFY_HINT.format(root=shard.root))
            check_facts(shard.root, shard.entry, meta, [n for n in schema.names if n.startswith(HP_PREFIX)])
        names = selection.schema.names
        mixed = selection.families is not None and not set(shard.optimizer_families) <= selection.families
        wanted = [n for n in names if n in schema.names]
        if mixed and "optimizer_family" not in wanted:
            wanted.append("optimizer_family")
        table = parquet.read(columns=wanted, use_threads=False)
    except StoreError:
        raise
    except (OSError, ValueError, pa.ArrowException) as err:  # ValueError: undecodable metadata
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
    try:
        return _read_shards(selection, selection.shards, threads=os.cpu_count() or 1)
    finally:
        save_verdicts()


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
    save_verdicts()


def _check_present(wanted: set[str] | None, present: set[str], kind: str, root: pathlib.Path) -> None:
    for name in sorted(wanted or ()):
        if name not in present:
            close = difflib.get_close_matches(name, sorted(present), n=5, cutoff=0.6)
            hint = ("did you mean " + ", ".join(map(repr, close)) + "?") if close else \
                f"it has {len(present)}: {sorted(present)[:12]!r}{' ...' if len(present) > 12 else ''}"
            raise UnknownNameError(f"no curves for {kind} {name!r} in {str(root)!r}; {hint}")
