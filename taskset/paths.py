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


def _nearest_existing(path: pathlib.Path) -> pathlib.Path:
    for candidate in [path, *path.parents]:
        if candidate.exists():
            return candidate
    return pathlib.Path(".")


def _check_can_create_in(directory: pathlib.Path, target: pathlib.Path, flag: str) -> None:
    """Raises ConfigError unless files can be created at `target`, whose parent is `directory`."""
    from taskset.errors import ConfigError

    existing = _nearest_existing(directory)
    if not existing.is_dir():
        raise ConfigError(f"{flag} {str(target)!r}: {str(existing)!r} is a file, not a directory; pass a path "
                          "in a directory")
    try:
        if existing == directory:
            # Creating a file is the only sure test (os.access says yes to root on a read-only mount).
            with tempfile.TemporaryFile(dir=directory):
                pass
        elif not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(f"cannot create directories in {str(existing)!r}")
    except OSError as err:
        raise ConfigError(f"{flag} {str(target)!r} is not writable ({err.strerror or err}); pass a path in a "
                          "writable directory") from None


def check_output_file(path: str | os.PathLike, flag: str) -> pathlib.Path:
    """Checks, before any work starts, that a result file can be written at `path`.

    An existing file is fine (it will be replaced atomically); missing parent
    directories are fine if they can be created.

    Raises:
      ConfigError: `path` is a directory, or lies below a file, or its
        directory is not writable (the message names `flag` and the path).
    """
    from taskset.errors import ConfigError

    path = pathlib.Path(path).expanduser()
    if path.is_dir():
        raise ConfigError(f"{flag} {str(path)!r} is a directory; pass a file path")
    if path.exists() and not os.access(path, os.W_OK) and not os.access(path.parent, os.W_OK):
        raise ConfigError(f"{flag} {str(path)!r} exists and cannot be replaced; pass another path")
    _check_can_create_in(path.parent, path, flag)
    return path


def check_output_dir(path: str | os.PathLike, flag: str) -> pathlib.Path:
    """Checks, before any work starts, that `path` is or can become a writable directory.

    Raises:
      ConfigError: `path` is a file or lies below one, or cannot be created or written.
    """
    from taskset.errors import ConfigError

    path = pathlib.Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {str(path)!r} exists and is not a directory; pass a directory")
    _check_can_create_in(path, path, flag)
    return path


def write_with_fallback(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> pathlib.Path:
    """Writes a finished result to `path` atomically; if that fails, next to it or to a temporary file.

    For results that cost minutes to compute: when `path` cannot be written
    after all (the disk filled, a directory appeared at its name, permissions
    changed), the bytes go to `<dir>/<name>.<pid>.recovered<suffix>`, else to a
    file in the system's temporary directory. The caller must tell the user
    where they went (compare the returned path with `path`).

    Returns:
      The path actually written.

    Raises:
      OSError: no location could be written (the error of the first attempt).
    """
    path = pathlib.Path(path)
    candidates = [path, path.with_name(f"{path.stem}.{os.getpid()}.recovered{path.suffix}")]
    first_error: OSError | None = None
    for candidate in candidates:
        try:
            atomic_write(candidate, write)
            return candidate
        except OSError as err:
            first_error = first_error or err
    fd, tmp = tempfile.mkstemp(prefix=f"{path.stem}.", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
    except OSError:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise first_error from None
    return pathlib.Path(tmp)


def write_dir_with_fallback(directory: str | os.PathLike,
                            write: Callable[[pathlib.Path], object]) -> tuple[object, pathlib.Path]:
    """Calls `write(directory)` for a finished result; if it fails with OSError, `write(temporary directory)`.

    The directory form of `write_with_fallback`, for reports of several files.

    Returns:
      (what `write` returned, the directory actually written).

    Raises:
      OSError: the temporary directory could not be written either (the first error).
    """
    directory = pathlib.Path(directory)
    try:
        return write(directory), directory
    except OSError as err:
        fallback = pathlib.Path(tempfile.mkdtemp(prefix=f"{directory.name or 'report'}."))
        try:
            return write(fallback), fallback
        except OSError:
            raise err from None
