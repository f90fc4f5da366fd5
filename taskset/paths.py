"""Where taskset keeps files, the one way it writes them (atomically) and the one way it hashes them.

Cache directory: `$TASKSET_CACHE_DIR`, else `$XDG_CACHE_HOME/taskset`, else
`~/.cache/taskset`.

Every file the package writes whole (manifests, list artifacts, `train --out`
Parquet files, downloaded indexes) goes through `atomic_write` or one of its
byte/text forms, and every sha256 of a file comes from `file_sha256`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import tempfile
import threading
from typing import BinaryIO, Callable, Iterator

ENV_CACHE_DIR = "TASKSET_CACHE_DIR"


def cache_dir(override: str | os.PathLike | None = None) -> pathlib.Path:
    """The cache directory (not created)."""
    if override:
        return pathlib.Path(override).expanduser()
    if os.environ.get(ENV_CACHE_DIR):
        return pathlib.Path(os.environ[ENV_CACHE_DIR]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(pathlib.Path.home() / ".cache")
    return pathlib.Path(xdg).expanduser() / "taskset"


CHUNK_BYTES = 1 << 20
_UMASK_LOCK = threading.Lock()


def file_sha256(path: str | os.PathLike) -> str:
    """The hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def _new_file_mode() -> int:
    """The mode `open(path, "w")` would give a new file: 0o666 less the process umask.

    `tempfile.mkstemp` creates files 0600; without this an atomically written
    file (e.g. a manifest) would be private while its neighbours are not.
    """
    mask = None
    try:  # Linux states it; elsewhere os.umask can only be read by setting it
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                mask = int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    if mask is None:
        with _UMASK_LOCK:
            mask = os.umask(0o022)
            os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file handle whose contents replace `path` atomically when the block ends.

    The bytes go to a temporary file beside `path`; on a clean exit it is
    fsynced, given the usual permissions and renamed into place, and the
    directory is fsynced so the rename survives a crash. On an exception the
    temporary file is deleted and `path` is untouched. Readers see either the old
    file or the complete new one, never a partial write.

    Raises:
      OSError: the directory cannot be created or written (nothing is left behind).
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), _new_file_mode())
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Calls `write(handle)` on an `atomic_open(path)` handle (e.g. `pq.write_table(table, handle)`)."""
    with atomic_open(path) as handle:
        write(handle)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes `data` to `path` atomically (see `atomic_open`)."""
    with atomic_open(path) as handle:
        handle.write(data)


def fsync_directory(path: str | os.PathLike) -> None:
    """Makes a rename in `path` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # Some filesystems (e.g. some network mounts) refuse fsync on directories.
    finally:
        os.close(fd)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))
