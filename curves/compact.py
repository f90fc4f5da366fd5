"""Compaction: merge each task's job shards into one pack, the layout to query and publish.

`generate` writes one small shard per job, which is what makes runs atomic,
resumable and safe on any number of workers. Reading many small files is
slow, though (each costs a footer parse and a few reads, whatever its size),
so once a sweep is done `compact` rewrites every task's shards into one pack:
the same rows, sorted by optimizer and replica (the replicas of a config sit
side by side, so their identical hyperparameter strings compress away), in
row groups of `ROW_GROUP_ROWS`.

A pack is a shard like any other: its name is the sha256 of its members' job
keys, and its metadata lists every member job with the facts its own shard
recorded, so `generate` skips those jobs and a manifest can be rebuilt from the
packs alone. Crash safety: the pack is written atomically before its members
are deleted, and `Store.sync` deletes any shard whose jobs a pack on disk
already holds, so a compaction that dies part-way leaves no duplicate rows
behind once the directory is next opened. Compacting a task again (after
more of its jobs ran) merges its pack and new shards into a new pack.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
from typing import Any

from curves.errors import StoreError
from curves.schema import HP_PREFIX, SCHEMA_VERSION, dataset_schema, job_meta, with_job_meta
from curves.store import Store, write_shard


@dataclasses.dataclass
class CompactSummary:
    """What `compact` did (the `--json` output of `curves compact`)."""

    tasks: int = 0
    packed_tasks: int = 0
    shards_before: int = 0
    shards_after: int = 0
    rows: int = 0
    bytes_before: int = 0
    bytes_after: int = 0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def pack_key(members: list[str]) -> str:
    """The key of the pack holding exactly the jobs `members`."""
    data = {"schema_version": SCHEMA_VERSION, "pack_of": sorted(members)}
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def compact(root: str | os.PathLike, progress: bool = False) -> CompactSummary:
    """Merges every task's shards under `root` into one pack per task.

    Args:
      root: a curve directory.
      progress: show a progress bar over tasks.

    Every shard is checked against the manifest (size, sha256, job facts)
    before its rows are merged, so a damaged or edited file is refused rather
    than made permanent in a pack.

    Raises:
      StoreError: `root` is locked by another writer or is not a curve
        directory (no manifest.json: an empty or unrelated directory is left
        untouched).
      CorruptShardError: a shard is unlisted, missing, or disagrees with the
        manifest (run `curves verify` for the full list).
    """
    import pyarrow.parquet as pq
    from tqdm import tqdm

    from curves.manifest import MANIFEST_NAME
    from curves.reader import list_shards

    path = pathlib.Path(root)
    if not path.is_dir() or not (path / MANIFEST_NAME).is_file():
        raise StoreError(f"{str(root)!r} is not a curve directory (no {MANIFEST_NAME}); pass the --out of a "
                         "`curves generate` run")
    list_shards(path)  # refuses unlisted and missing shards before anything is written
    summary = CompactSummary()
    with Store.open(root) as store:
        by_task: dict[str, list[str]] = {}
        for key, entry in sorted(store.manifest.shards.items()):
            by_task.setdefault(entry["task"], []).append(key)
        summary.tasks = len(by_task)
        summary.shards_before = len(store.manifest.shards)
        summary.bytes_before = sum(int(e["bytes"]) for e in store.manifest.shards.values())
        for task, keys in tqdm(sorted(by_task.items()), unit="task", disable=not progress):
            if len(keys) < 2:
                continue
            entries = [store.manifest.shards[k] for k in keys]
            tables = [_checked_table(store.root, k, e) for k, e in zip(keys, entries)]
            members = {}
            for key, entry, table in zip(keys, entries, tables):
                recorded = job_meta(table.schema, entry["file"])
                members.update(entry["jobs"] if "jobs" in entry else {key: recorded})
            key = pack_key(list(members))
            meta = {"key": key, "task": task, "family": entries[0]["family"],
                    "optimizer_families": sorted({f for e in entries for f in e["optimizer_families"]}),
                    "jobs": members}
            entry, _ = write_shard(store.root, key, with_job_meta(_merge(tables), meta))
            store.replace_shards(keys, key, entry)
            summary.packed_tasks += 1
        summary.shards_after = len(store.manifest.shards)
        summary.rows = store.manifest.num_rows
        summary.bytes_after = sum(int(e["bytes"]) for e in store.manifest.shards.values())
    from curves.integrity import save_verdicts

    save_verdicts()
    return summary


def _checked_table(root: pathlib.Path, key: str, entry: dict[str, Any]):
    """Shard `key`'s table, after checking it against its manifest entry (see `curves.integrity`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curves.errors import CorruptShardError
    from curves.integrity import VERIFY_HINT, check_facts, check_shard

    path = check_shard(root, entry)
    try:
        table = pq.read_table(path, page_checksum_verification=True)
        meta = job_meta(table.schema, entry["file"])
    except (OSError, ValueError, pa.ArrowException) as err:
        raise CorruptShardError(f"shard {str(path)!r} is damaged ({err}); " + VERIFY_HINT.format(root=root)) from None
    if meta.get("key") != key:
        raise CorruptShardError(f"shard {str(path)!r} holds job {meta.get('key')!r}, not the job its name says; "
                                + VERIFY_HINT.format(root=root))
    check_facts(root, entry, meta, [n for n in table.schema.names if n.startswith(HP_PREFIX)])
    return table


def _merge(tables: list) -> Any:
    """One table of all rows in the pack schema, sorted by optimizer then replica."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = {n[len(HP_PREFIX):] for t in tables for n in t.schema.names if n.startswith(HP_PREFIX)}
    schema = dataset_schema(names)
    columns = []
    for field in schema:
        parts = []
        for table in tables:
            if field.name in table.schema.names:
                parts.extend(table.column(field.name).chunks)
            else:
                parts.append(pa.nulls(table.num_rows, field.type))
        columns.append(pa.chunked_array(parts, type=field.type))
    merged = pa.Table.from_arrays(columns, schema=schema).unify_dictionaries().combine_chunks()
    order = pc.sort_indices(pa.table({"optimizer": merged.column("optimizer").cast(pa.string()),
                                      "replica": merged.column("replica")}),
                            sort_keys=[("optimizer", "ascending"), ("replica", "ascending")])
    return merged.take(order)
