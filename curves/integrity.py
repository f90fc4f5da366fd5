"""The check every read of a curve dataset makes: is this shard the one the manifest lists?

A manifest entry pins a shard by size and sha256, and states the facts the
reader filters on (task, optimizer families, hparam columns). `check_shard`
compares a file against its entry before any of its data is used, and
`check_facts` compares the job facts in the shard's own footer with the
entry's, so neither a changed file nor an edited manifest can slip other
numbers into a result.

Hashing a file costs a full read, so the sha256 a file had is cached by its
path, size and mtime_ns (plus device, inode and ctime_ns, which a rewrite,
rename or `touch -d` also changes and no user call can set back): in this
process, and in `<cache>/curves/verified/` (see `taskset.paths.cache_dir`) so
later processes skip it too. A second read of an unchanged shard costs one
`stat`; any change to the file makes it be hashed again. Shards written by
`curves generate` and files placed by `curves download` are recorded as they
are written. `curves verify` never uses the cache: it hashes everything.
What a stat-keyed cache cannot see (a bit flipped on disk under an unchanged
inode) is caught by the Parquet page checksums every read also verifies.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import pathlib
import threading
from typing import Any

from taskset.paths import atomic_write_text, cache_dir, file_sha256

from curves.errors import CorruptShardError

VERIFY_HINT = "run `taskset-bench curves verify {root}` for the full list of problems"

_sha_by_stat: dict[tuple, str] = {}
_on_disk: dict[str, dict[str, list]] = {}  # directory -> {file name: [dev, ino, size, mtime_ns, ctime_ns, sha256]}
_dirty: set[str] = set()
_lock = threading.Lock()


def _stat_key(path: pathlib.Path) -> tuple[str, list]:
    stat = path.stat()
    return os.fspath(path.resolve()), [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


def _verdict_file(directory: str) -> pathlib.Path:
    name = hashlib.sha256(directory.encode()).hexdigest()[:24]
    return cache_dir() / "curves" / "verified" / f"{name}.json"


def _directory_verdicts(directory: str) -> dict[str, list]:
    """The recorded verdicts of the files in `directory` (loaded once per process; {} if none or unreadable)."""
    if directory not in _on_disk:
        try:
            data = json.loads(_verdict_file(directory).read_text())
            if not (isinstance(data, dict) and data.get("directory") == directory):
                data = {}
        except (OSError, ValueError):
            data = {}
        _on_disk[directory] = {k: v for k, v in data.get("files", {}).items() if isinstance(v, list) and len(v) == 6}
    return _on_disk[directory]


def shard_sha256(path: pathlib.Path) -> tuple[int, str]:
    """(size, sha256) of `path`, hashed only if no verdict is recorded for its current stat (see the module doc)."""
    real, stat = _stat_key(path)
    key = (real, *stat)
    with _lock:
        cached = _sha_by_stat.get(key)
        if cached is None:
            directory, name = os.path.split(real)
            record = _directory_verdicts(directory).get(name)
            if record is not None and record[:5] == stat:
                cached = _sha_by_stat[key] = record[5]
    if cached is None:
        cached = file_sha256(path)
        remember(path, cached, stat)
    return stat[2], cached


def remember(path: pathlib.Path, sha256: str, stat: list | None = None) -> None:
    """Records that `path`, as it is now (or as `stat` says it was when hashed), has `sha256`."""
    real, now = _stat_key(path)
    stat = stat or now
    if stat != now:
        return  # changed while it was hashed: record nothing
    directory, name = os.path.split(real)
    with _lock:
        _sha_by_stat[(real, *stat)] = sha256
        _directory_verdicts(directory)[name] = [*stat, sha256]
        _dirty.add(directory)


def save_verdicts() -> None:
    """Writes the verdicts recorded since the last save to the cache (best effort: a read-only cache is fine)."""
    with _lock:
        pending = {d: dict(_on_disk[d]) for d in _dirty}
        _dirty.clear()
    for directory, files in pending.items():
        try:
            atomic_write_text(_verdict_file(directory), json.dumps({"directory": directory, "files": files}))
        except OSError:
            pass
    if pending:
        _prune()


MAX_VERDICT_FILES = 1000
"""Beyond this many directories with recorded verdicts, those of directories that are gone are deleted."""


def _prune() -> None:
    """Deletes verdict files of deleted directories (temporary datasets) once there are many."""
    try:
        files = list(_verdict_file("").parent.glob("*.json"))
        if len(files) <= MAX_VERDICT_FILES:
            return
        for path in files:
            try:
                directory = json.loads(path.read_text()).get("directory", "")
            except (OSError, ValueError):
                directory = ""
            if not directory or not os.path.isdir(directory):
                path.unlink(missing_ok=True)
    except OSError:
        pass


atexit.register(save_verdicts)


def clear_cache() -> None:
    """Forgets every verdict held in memory (tests); the next lookup rereads the on-disk cache."""
    with _lock:
        _sha_by_stat.clear()
        _on_disk.clear()
        _dirty.clear()


def check_shard(root: pathlib.Path, entry: dict[str, Any]) -> pathlib.Path:
    """The path of the shard `entry` describes, after checking its size and sha256.

    Raises:
      CorruptShardError: the file is missing, or its size or sha256 differs
        from the manifest's (the message names the file and `curves verify`).
    """
    path = root / entry["file"]
    try:
        size, sha = shard_sha256(path)
    except FileNotFoundError:
        raise CorruptShardError(f"shard {str(path)!r} is listed in the manifest but missing; "
                                + VERIFY_HINT.format(root=root)) from None
    if size != int(entry["bytes"]) or sha != entry["sha256"]:
        what = f"{size} bytes, the manifest says {entry['bytes']}" if size != int(entry["bytes"]) else \
            "its sha256 differs from the manifest's"
        raise CorruptShardError(f"shard {str(path)!r} does not match manifest.json ({what}): the file changed or "
                                "is damaged, so its numbers cannot be trusted; " + VERIFY_HINT.format(root=root))
    return path


def check_facts(root: pathlib.Path, entry: dict[str, Any], meta: dict[str, Any], hparam_columns: list[str]) -> None:
    """Compares what the manifest says about a shard with what the shard says about itself.

    Args:
      root: the curve directory (for the message).
      entry: the shard's manifest entry.
      meta: the job facts from the shard's footer (`curves.schema.job_meta`).
      hparam_columns: the shard's `hp_*` column names.

    Raises:
      CorruptShardError: a fact differs (the manifest was edited or belongs to other files).
    """
    differ = [f"{name}: manifest {entry.get(name)!r}, shard {actual!r}"
              for name, actual in (("task", meta.get("task")),
                                   ("family", meta.get("family")),
                                   ("optimizer_families", list(meta.get("optimizer_families", []))),
                                   ("hparam_columns", sorted(hparam_columns)))
              if _normal(entry.get(name)) != _normal(actual)]
    if differ:
        raise CorruptShardError(f"shard {str(root / entry['file'])!r} disagrees with manifest.json ("
                                + "; ".join(differ) + "); " + VERIFY_HINT.format(root=root))


def _normal(value: Any) -> Any:
    return sorted(value) if isinstance(value, (list, tuple)) else value
