"""The check every read of a curve dataset makes: is this shard the one the manifest lists?

A manifest entry pins a shard by size and sha256, and states the facts the
reader filters on (task, optimizer families, hparam columns). `check_shard`
compares a file against its entry before any of its data is used, and
`check_facts` compares the job facts in the shard's own footer with the
entry's, so neither a changed file nor an edited manifest can slip other
numbers into a result.

Hashing a file costs a full read, so the verdict is cached in this process by
(path, size, mtime_ns): a second read of an unchanged shard costs one `stat`.
Rewriting a file (which changes its mtime or size) makes it be hashed again.
The cache never outlives the process, so it cannot be poisoned across runs.
"""

from __future__ import annotations

import os
import pathlib
import threading
from typing import Any

from taskset.paths import file_sha256

from curves.errors import CorruptShardError

VERIFY_HINT = "run `taskset-bench curves verify {root}` for the full list of problems"

_sha_by_stat: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


def shard_sha256(path: pathlib.Path) -> tuple[int, str]:
    """(size, sha256) of `path`, hashed at most once per (path, size, mtime_ns) in this process."""
    stat = path.stat()
    key = (os.fspath(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _lock:
        cached = _sha_by_stat.get(key)
    if cached is None:
        cached = file_sha256(path)
        with _lock:
            _sha_by_stat[key] = cached
    return stat.st_size, cached


def clear_cache() -> None:
    """Forgets every cached verdict (tests; a process that distrusts mtimes)."""
    with _lock:
        _sha_by_stat.clear()


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
