"""Checking and summarising a curve directory (`curves verify`, `curves info`).

`verify` reads everything and reports each problem it finds, rather than
stopping at the first: the manifest, every shard's checksum, schema, job key
and data pages, every fact the manifest states about a shard (size, rows,
task, task family, optimizer families, hparam columns, steps, replica, member
jobs) against the shard itself, shards the manifest does not list, stray files
in `shards/`, leftovers of interrupted writes, and curves that appear twice. Failed jobs are reported but
are not problems: the data that is there is sound, and `curves generate
--retry-failed` fills the gaps.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import Any

from taskset.paths import file_sha256

from curves.errors import StoreError
from curves.manifest import load_manifest
from curves.reader import read_table, resolve
from curves.schema import SCHEMA_VERSION, check_schema, job_meta
from curves.store import SHARD_DIR, SHARD_SUFFIX, TEMP_SUFFIX, job_machines, member_jobs, shard_entry

IDENTITY = ("task", "optimizer", "replica")


@dataclasses.dataclass
class VerifyReport:
    """Problems found (empty when the directory is sound) and what was checked."""

    problems: list[str] = dataclasses.field(default_factory=list)
    shards: int = 0
    rows: int = 0
    failed_jobs: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "ok": self.ok}


def verify(path: str | os.PathLike) -> VerifyReport:
    """Checks a curve directory end to end; see the module docstring."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = resolve(path)
    report = VerifyReport()
    try:
        manifest = load_manifest(root)
    except StoreError as err:
        report.problems.append(str(err))
        manifest = None
    if manifest is None and not report.problems:
        report.problems.append(f"{str(root / 'manifest.json')!r} is missing; run `taskset-bench curves generate` "
                               "on this directory to rebuild it from the shards")
    listed = manifest.shards if manifest is not None else {}
    report.failed_jobs = len(manifest.failed) if manifest is not None else 0
    shard_dir = root / SHARD_DIR
    for tmp in sorted(shard_dir.glob(f".*{TEMP_SUFFIX}")):
        report.problems.append(f"{SHARD_DIR}/{tmp.name}: partial shard left by an interrupted write "
                               "(the next `curves generate` on this directory deletes it)")
    on_disk = {p.name[:-len(SHARD_SUFFIX)] for p in shard_dir.glob(f"*{SHARD_SUFFIX}") if p.is_file()}
    for stray in sorted(shard_dir.iterdir() if shard_dir.is_dir() else ()):
        if not (stray.is_file() and (stray.name.endswith(SHARD_SUFFIX) or
                                     (stray.name.startswith(".") and stray.name.endswith(TEMP_SUFFIX)))):
            report.problems.append(f"{SHARD_DIR}/{stray.name}: stray {'directory' if stray.is_dir() else 'file'}, "
                                   "not a shard; move it out of the curve directory")
    for key in sorted(set(listed) - on_disk):
        report.problems.append(f"{listed[key]['file']}: listed in the manifest but missing; run `taskset-bench "
                               "curves generate` again to recompute it")
    for key in sorted(on_disk - set(listed)):
        if manifest is not None:
            report.problems.append(f"{SHARD_DIR}/{key}{SHARD_SUFFIX}: not in the manifest (its run died before "
                                   "indexing it); run `taskset-bench curves generate` again to index it")
    holder: dict[str, str] = {}
    identities = []
    for key in sorted(on_disk):
        rel = f"{SHARD_DIR}/{key}{SHARD_SUFFIX}"
        path = root / rel
        entry = listed.get(key)
        digest = file_sha256(path)  # never from the verdict cache: verify hashes everything
        if entry is not None and digest != entry.get("sha256"):
            report.problems.append(f"{rel}: sha256 does not match the manifest (the file changed or is damaged); "
                                   "delete it and run `taskset-bench curves generate` again")
            continue
        try:
            actual = shard_entry(root, key, sha256=digest)  # the manifest entry the file itself implies
        except StoreError as err:  # named by its path below the directory, like every problem here
            message = str(err).replace(f"shard {str(path)!r}", rel).replace(repr(str(path)), rel)
            report.problems.append(message.replace(str(path), rel))
            continue
        except Exception as err:  # noqa: BLE001 - any failure to decode the file is a damaged shard
            report.problems.append(f"{rel}: unreadable ({type(err).__name__}: {err}); delete it and run "
                                   "`taskset-bench curves generate` again")
            continue
        if entry is not None:
            report.problems += _fact_problems(rel, entry, actual)
        try:
            parquet = pq.ParquetFile(path, page_checksum_verification=True)
            check_schema(parquet.schema_arrow, rel)
            meta = job_meta(parquet.schema_arrow, rel)
            table = parquet.read()
        except StoreError as err:
            report.problems.append(str(err))
            continue
        except Exception as err:  # noqa: BLE001 - any failure to decode the file is a damaged shard
            report.problems.append(f"{rel}: unreadable ({type(err).__name__}: {err}); delete it and run "
                                   "`taskset-bench curves generate` again")
            continue
        if table.num_rows != actual["rows"]:
            report.problems.append(f"{rel}: {table.num_rows} rows of data, its footer says {actual['rows']}")
        report.problems += _row_problems(rel, table, meta)
        jobs = set(meta["jobs"]) if "jobs" in meta else {key}
        strays = set(table.column("job_key").to_pylist()) - jobs
        if strays:
            report.problems.append(f"{rel}: rows of job(s) {sorted(strays)!r} that its metadata does not list")
        for job in sorted(jobs):
            if job in holder:
                report.problems.append(f"job {job}: in both {holder[job]} and {rel} (a compaction was cut short; "
                                       "the next `curves generate` or `curves compact` removes the older file)")
            holder.setdefault(job, rel)
        report.shards += 1
        report.rows += table.num_rows
        identities.append(pa.table({"task": table.column("task").cast(pa.string()),
                                    "optimizer": table.column("optimizer").cast(pa.string()),
                                    "replica": table.column("replica"),
                                    "file": pa.array([rel] * table.num_rows, type=pa.string())}))
    report.problems += _duplicates(identities)
    return report


FACTS = ("file", "bytes", "rows", "task", "family", "optimizer_families", "hparam_columns", "steps", "replica",
         "jobs")


def _fact_problems(rel: str, entry: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """One problem per fact the manifest states about a shard that the shard contradicts."""
    problems = []
    for name in FACTS:
        stated, true = entry.get(name), actual.get(name)
        if isinstance(stated, list) and isinstance(true, list):
            same = sorted(map(str, stated)) == sorted(map(str, true))
        else:
            same = stated == true
        if not same:
            problems.append(f"{rel}: manifest says {name}={_short(stated)}, the shard holds {_short(true)} (the "
                            "manifest was edited or belongs to other files); rebuild it: delete manifest.json and "
                            "run `taskset-bench curves generate` on this directory")
    return problems


def _row_problems(rel: str, table, meta: dict[str, Any]) -> list[str]:
    """Rows whose task or optimizer family is not what the shard's own metadata says."""
    import pyarrow.compute as pc

    problems = []
    tasks = set(pc.unique(table.column("task").cast("string")).to_pylist())
    if tasks - {meta.get("task")}:
        problems.append(f"{rel}: rows of task(s) {sorted(tasks - {meta.get('task')})!r}, its metadata says "
                        f"{meta.get('task')!r}")
    families = set(pc.unique(table.column("optimizer_family").cast("string")).to_pylist())
    if families - set(meta.get("optimizer_families", ())):
        problems.append(f"{rel}: rows of optimizer family(ies) {sorted(families - set(meta['optimizer_families']))!r}"
                        f" that its metadata does not list")
    return problems


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _duplicates(identities: list) -> list[str]:
    """One problem per (task, optimizer, replica) found more than once, naming the files."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not identities:
        return []
    counted = pa.concat_tables(identities).group_by(list(IDENTITY)).aggregate([("file", "count"), ("file", "list")])
    repeated = counted.filter(pc.greater(counted.column("file_count"), 1)).to_pylist()
    return [f"duplicate curve task={r['task']!r} optimizer={r['optimizer']!r} replica={r['replica']!r}: "
            f"{r['file_count']} rows, in {', '.join(sorted(set(r['file_list'])))}"
            for r in sorted(repeated, key=lambda r: (r["task"], r["optimizer"], r["replica"]))]


def info(path: str | os.PathLike) -> dict[str, Any]:
    """A summary of a curve directory: sizes, counts per family and status, steps, failures."""
    import pyarrow.compute as pc

    root = resolve(path)
    manifest = load_manifest(root)
    shards = manifest.shards if manifest is not None else {}
    table = read_table(root, columns=["family", "optimizer_family", "status", "task", "optimizer"])

    def counts(column: str) -> dict[str, int]:
        if not table.num_rows:
            return {}
        values = pc.value_counts(table.column(column).cast("string")).to_pylist()
        return {v["values"]: v["counts"] for v in sorted(values, key=lambda v: v["values"])}

    return {
        "path": str(root),
        "schema_version": SCHEMA_VERSION,
        "shards": len(shards),
        "curves": table.num_rows,
        "bytes": sum(int(e["bytes"]) for e in shards.values()),
        "tasks": len(counts("task")),
        "optimizer_configs": len(counts("optimizer")),
        "families": counts("family"),
        "optimizer_families": counts("optimizer_family"),
        "status": counts("status"),
        "steps": sorted({int(j["steps"]) for k, e in shards.items() for j in member_jobs(k, e).values()}),
        "failed_jobs": len(manifest.failed) if manifest is not None else 0,
        "machines": machines_summary(root, shards),
    }


def machines_summary(root: pathlib.Path, shards: dict[str, Any]) -> dict[str, Any]:
    """Where the jobs ran: per recorded environment id, its facts and job count; and the jobs
    written before environments were recorded (`curves.store.job_machines`)."""
    recorded = job_machines(root)
    out: dict[str, Any] = {}
    for facts in recorded.values():
        out.setdefault(facts["id"], {**{k: v for k, v in facts.items() if k != "id"}, "jobs": 0})["jobs"] += 1
    jobs = sum(len(member_jobs(k, e)) for k, e in shards.items())
    return {"recorded": dict(sorted(out.items())), "unrecorded_jobs": jobs - len(recorded)}
