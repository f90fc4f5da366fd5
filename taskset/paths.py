"""Where taskset keeps files, and the one way it writes them (atomically).

Cache directory: `$TASKSET_CACHE_DIR`, else `$XDG_CACHE_HOME/taskset`, else
`~/.cache/taskset`.
"""

from __future__ import annotations

import os
import pathlib
import tempfile

ENV_CACHE_DIR = "TASKSET_CACHE_DIR"


def cache_dir(override: str | os.PathLike | None = None) -> pathlib.Path:
    """The cache directory (not created)."""
    if override:
        return pathlib.Path(override).expanduser()
    if os.environ.get(ENV_CACHE_DIR):
        return pathlib.Path(os.environ[ENV_CACHE_DIR]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(pathlib.Path.home() / ".cache")
    return pathlib.Path(xdg).expanduser() / "taskset"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes `data` to a temporary file beside `path`, fsyncs it and renames it into place.

    Readers see either the old file or the complete new one, never a partial write;
    the directory is fsynced too, so the rename survives a crash.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


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
