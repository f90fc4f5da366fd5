"""A curve directory on disk: immutable Parquet shards, one per job, plus the manifest.

  DIR/manifest.json          index of the shards and the failed jobs (see `curves.manifest`)
  DIR/shards/<key>.parquet   the curves of the job with that key, or a pack (below)
  DIR/.generate.lock         held (flock) by the one process writing to DIR

A pack is a shard holding many jobs' curves of one task (see `curves.compact`);
its key hashes its members' keys and its metadata lists them, so a job is
done when its own shard or a pack holding it exists.

A shard is written to a temporary name in the same directory, fsynced, and
then hard-linked to its final name, which fails if that name exists: a
finished shard is never overwritten, so a job that runs twice (a retry, a
rerun after a crash, a straggler) leaves the first shard in place. Readers
therefore never see a partial shard, and a rerun skips every job whose shard
exists. On filesystems without hard links the shard is renamed into place
after checking the name is free (the check and the rename are then not one
atomic step; run one writer per job there).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import os
import pathlib
import time
import uuid
from typing import Any, BinaryIO, Callable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from curves.errors import CorruptShardError, StoreError
from taskset.paths import file_sha256, fsync_directory

from curves.manifest import Manifest, load_manifest, save_manifest
from curves.schema import DICTIONARY_LEAVES, FLOAT_LEAVES, HP_PREFIX, check_schema, job_meta

SHARD_DIR = "shards"
SHARD_SUFFIX = ".parquet"
TEMP_SUFFIX = ".tmp"
LOCK_NAME = ".generate.lock"
ROW_GROUP_ROWS = 65536


def shard_relpath(key: str) -> str:
    """The shard file of job `key`, relative to the curve directory."""
    return f"{SHARD_DIR}/{key}{SHARD_SUFFIX}"


def shard_entry(root: pathlib.Path, key: str, sha256: str | None = None) -> dict[str, Any]:
    """The manifest entry of shard `key`, read from the file itself (`sha256`: its digest, if already computed).

    Raises:
      CorruptShardError: the file is not a readable Parquet file.
      SchemaMismatchError: it is not a shard of this schema version.
    """
    path = root / shard_relpath(key)
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as err:
        raise CorruptShardError(f"shard {str(path)!r} is unreadable ({err}); delete it and run `taskset-bench "
                                "curves generate` again to recompute it") from None
    schema = parquet.schema_arrow
    check_schema(schema, str(path))
    meta = job_meta(schema, str(path))
    if meta.get("key") != key:
        raise CorruptShardError(f"shard {str(path)!r} holds job {meta.get('key')!r}, not the job its name says; "
                                "delete it and run `taskset-bench curves generate` again")
    entry = {
        "file": shard_relpath(key),
        "rows": parquet.metadata.num_rows,
        "bytes": path.stat().st_size,
        "sha256": sha256 or file_sha256(path),
        "task": meta["task"],
        "family": meta["family"],
        "optimizer_families": meta["optimizer_families"],
        "hparam_columns": sorted(n for n in schema.names if n.startswith(HP_PREFIX)),
    }
    if "jobs" in meta:
        entry["jobs"] = meta["jobs"]
    else:
        entry.update(replica=meta["replica"], steps=meta["steps"])
    return entry


def member_jobs(key: str, entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The jobs whose curves shard `key` holds: itself, or a pack's members.

    Returns:
      {job key: {"replica", "steps", "optimizer_families", ...}} as recorded by the job.
    """
    if "jobs" in entry:
        return entry["jobs"]
    return {key: {"replica": entry["replica"], "steps": entry["steps"],
                  "optimizer_families": entry["optimizer_families"], "rows": entry["rows"]}}


def job_machines(root: pathlib.Path) -> dict[str, dict[str, Any]]:
    """Job key -> the numeric environment that trained it (`taskset.machine.describe`), for the jobs
    of `root` that recorded one; read from the shards' metadata (a pack's from its members' facts).

    Jobs written before the runner recorded it are absent: `curves/specs/cpu_types.json` says
    where the shipped ones were made.
    """
    manifest = load_manifest(root)
    out: dict[str, dict[str, Any]] = {}
    for key, entry in (manifest.shards.items() if manifest else ()):
        members = entry.get("jobs") or {key: job_meta(pq.read_schema(root / entry["file"]), entry["file"])}
        out.update({job: facts["machine"] for job, facts in members.items() if facts.get("machine")})
    return out


def write_shard(root: pathlib.Path, key: str, table: pa.Table) -> tuple[dict[str, Any], bool]:
    """Writes `table` as shard `key` unless that shard exists.

    Returns:
      (the shard's manifest entry, True if this call wrote it / False if it existed).
    """
    final, wrote = write_new_shard(root, key, lambda f: pq.write_table(table, f, **parquet_options(table.schema)))
    entry = shard_entry(root, key)
    if wrote is not None:
        from curves.integrity import remember

        remember(final, entry["sha256"])  # readers of this shard need not hash it again (saved at exit)
    return entry, bool(wrote)


def write_new_shard(root: pathlib.Path, key: str, write: Callable[[BinaryIO], Any]) -> tuple[pathlib.Path, bool | None]:
    """Creates shard `key` in `root` with `write(file)`, never over an existing shard.

    The bytes go to a temporary name, are fsynced and hard-linked into place
    (`_link_new`), and the directory is fsynced, so a killed writer leaves no
    partial shard under the final name. The one way shards are written, whether
    encoded here (`write_shard`) or returned by a worker as bytes
    (`curves.runner.write_shard_bytes`).

    Returns:
      (the shard's path, True if this call wrote it, False if another writer
      linked it first, None if it existed before the call).
    """
    final = root / shard_relpath(key)
    if final.exists():
        return final, None
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{key}.{uuid.uuid4().hex}{TEMP_SUFFIX}"
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        wrote = _link_new(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_directory(final.parent)
    return final, wrote


def parquet_options(schema: pa.Schema) -> dict[str, Any]:
    """How shards are encoded (see `curves.schema` for why).

    Only string and step columns are dictionary-encoded: a dictionary of
    unique floats is larger than the floats. Floats use BYTE_STREAM_SPLIT, then
    zstd. Page checksums let readers detect damaged pages.
    """
    floats = list(FLOAT_LEAVES) + [n for n in schema.names if n.startswith(HP_PREFIX)]
    return {"compression": "zstd", "compression_level": 9, "row_group_size": ROW_GROUP_ROWS,
            "use_dictionary": list(DICTIONARY_LEAVES), "use_byte_stream_split": floats,
            "write_statistics": ["task", "optimizer_family"], "write_page_checksum": True}


def _link_new(tmp: pathlib.Path, final: pathlib.Path) -> bool:
    """Gives `tmp` the name `final` unless `final` exists; True if it did."""
    try:
        os.link(tmp, final)
        return True
    except FileExistsError:
        return False
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
    if final.exists():
        return False
    os.replace(tmp, final)
    return True


@dataclasses.dataclass
class SyncReport:
    """What `Store.sync` changed: shards indexed, entries dropped, temp files removed."""

    indexed: list[str] = dataclasses.field(default_factory=list)
    dropped: list[str] = dataclasses.field(default_factory=list)
    removed_temps: list[str] = dataclasses.field(default_factory=list)


class Store:
    """The driver's view of a curve directory: the manifest plus the shards on disk.

    Use `Store.open(root)` as a context manager: it takes the directory's lock,
    so two drivers never interleave manifest writes, and saves the manifest on exit.
    """

    def __init__(self, root: pathlib.Path, manifest: Manifest, save_every_s: float = 5.0) -> None:
        self.root = root
        self.manifest = manifest
        self.save_every_s = save_every_s
        self._last_save = time.monotonic()
        self._dirty = False
        self._owner = {job: key for key, entry in manifest.shards.items() for job in member_jobs(key, entry)}

    @classmethod
    @contextlib.contextmanager
    def open(cls, root: str | os.PathLike, save_every_s: float = 5.0) -> Iterator["Store"]:
        """Locks `root` (creating it), loads and syncs the manifest, and saves it on exit.

        Raises:
          StoreError: another driver holds the lock, or `root` is not a directory.
        """
        root = pathlib.Path(root)
        try:
            (root / SHARD_DIR).mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise StoreError(f"--out {str(root)!r} exists and is not a directory; pass a directory") from None
        except PermissionError as err:
            raise StoreError(f"--out {str(root)!r} cannot be created or written ({err.strerror}); pass a writable "
                             "directory") from None
        with open(root / LOCK_NAME, "a") as lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreError(f"another `curves generate` is writing to {str(root)!r} (its lock is held); "
                                 "wait for it to finish or choose another --out") from None
            store = cls(root, load_manifest(root) or Manifest(), save_every_s)
            store.sync()
            try:
                yield store
            finally:
                store.save(force=True)

    def shard_keys_on_disk(self) -> set[str]:
        return {p.name[:-len(SHARD_SUFFIX)] for p in (self.root / SHARD_DIR).glob(f"*{SHARD_SUFFIX}")}

    def sync(self) -> SyncReport:
        """Makes the manifest agree with the shards on disk (which are the truth).

        Indexes shards a dead run wrote but did not record, drops entries whose
        file is gone (their jobs will run again), deletes shards whose every job
        a pack on disk holds (left by a compaction that died before deleting
        them), forgets failures of jobs that now have curves, and deletes
        temporary files of interrupted writes. Only the lock holder calls this,
        so no live writer owns those temp files.
        """
        report = SyncReport()
        for tmp in sorted((self.root / SHARD_DIR).glob(f".*{TEMP_SUFFIX}")):
            tmp.unlink(missing_ok=True)
            report.removed_temps.append(tmp.name)
        on_disk = self.shard_keys_on_disk()
        for key in sorted(on_disk - set(self.manifest.shards)):
            self.manifest.shards[key] = shard_entry(self.root, key)
            report.indexed.append(key)
        for key in sorted(set(self.manifest.shards) - on_disk):
            del self.manifest.shards[key]
            report.dropped.append(key)
        # Larger packs first: a shard all of whose jobs an earlier file holds is superseded.
        owner: dict[str, str] = {}
        by_size = sorted(self.manifest.shards, key=lambda k: (-len(member_jobs(k, self.manifest.shards[k])), k))
        for key in by_size:
            jobs = member_jobs(key, self.manifest.shards[key])
            if all(job in owner for job in jobs):
                (self.root / self.manifest.shards.pop(key)["file"]).unlink()
                report.dropped.append(key)
                continue
            for job in jobs:
                owner.setdefault(job, key)
        self._owner = owner
        for key in sorted(set(self.manifest.failed) & set(owner)):
            del self.manifest.failed[key]
        if report.indexed or report.dropped or report.removed_temps:
            fsync_directory(self.root / SHARD_DIR)
            self.save(force=True)
        return report

    def has_shard(self, key: str) -> bool:
        """True when a file named for `key` is indexed (a job's own shard or a pack)."""
        return key in self.manifest.shards

    def has_job(self, key: str) -> bool:
        """True when job `key`'s curves are stored, in its own shard or in a pack."""
        return key in self._owner

    def has_failed(self, key: str) -> bool:
        return key in self.manifest.failed

    def record_shard(self, key: str, entry: dict[str, Any]) -> None:
        self.manifest.shards[key] = entry
        for job in member_jobs(key, entry):
            self._owner[job] = key
            self.manifest.failed.pop(job, None)
        self._dirty = True
        self.save()

    def replace_shards(self, old: list[str], key: str, entry: dict[str, Any]) -> None:
        """Records pack `key` (already on disk), then deletes the shards it replaces."""
        self.record_shard(key, entry)
        for stale in old:
            if stale != key:
                (self.root / self.manifest.shards.pop(stale)["file"]).unlink()
        fsync_directory(self.root / SHARD_DIR)

    def record_failure(self, key: str, job: dict[str, Any], error: str, traceback: str) -> None:
        self.manifest.failed[key] = {**job, "error": error, "traceback": traceback}
        self._dirty = True
        self.save()

    def save(self, force: bool = False) -> None:
        """Writes the manifest if it changed, at most every `save_every_s` unless forced.

        Throttled because rewriting an index of many thousands of shards after
        each one would cost more than the shards. A crash in between loses no
        curves, as `sync` re-indexes the shards; at worst some failure records
        are lost and those jobs run again.
        """
        if not (self._dirty or force):
            return
        if force or time.monotonic() - self._last_save >= self.save_every_s:
            save_manifest(self.root, self.manifest)
            self._last_save = time.monotonic()
            self._dirty = False
