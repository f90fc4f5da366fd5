"""Downloading registered curve datasets: index, version, mirrors, the cache, the local copy.

`download_dataset(name, ...)` reads the dataset's index (see `curves.registry`),
checks it is the registered version, picks the files matching `tasks` (fnmatch
patterns) and `optimizer_families`, and fetches them (`curves.fetch`, with
archives unpacked by `curves.archives`) with a thread pool into a local root:

  <root>/<path>                 verified files, placed atomically
  <root>/.partial/<path>.part   bytes received so far; resumed by the next attempt
  <root>/.index/<index file>    the raw index, so a later run works offline
  <root>/.download.lock         held (flock) by the one download writing to <root>

The root is `--out DIR` if given, else `<cache>/curves/<name>/<version>` where
`<cache>` is the `cache_dir` argument, else `$TASKSET_CACHE_DIR`, else
`$XDG_CACHE_HOME/taskset` (default `~/.cache/taskset`).

The index is checked before it is cached and every time it is read from the
cache (`curves.registry.check_index`): a "taskset-curves" manifest must hash to
the registered version, a TaskSet task list must be a list of task names. An
index that fails is deleted, never cached, so a bad mirror cannot poison later
downloads. A download that fails leaves no empty directories; a root it created
and could not fill is removed; only the `.part` bytes of interrupted
transfers stay, for the next attempt to resume.

URLs may be `https://`, `http://`, `gs://bucket/path` or `file://`. The
**mirror override** replaces a dataset's registered URLs by one base URL: the
`mirror` argument (`--mirror` on the command line) or the environment variable
`TASKSET_CURVES_MIRROR`; the mirror must serve the same bytes below it (e.g. a
local copy or an internal HTTP server); for this project's layout a mirror of
another version or dataset is refused.

`local_dataset` is what `curves.read(name)` calls (through the reader's
`CURVE_DATASETS`) to fetch a dataset in this project's layout on first use.
`curves.download` also re-exports the fetch and archive helpers under their
old names.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import fcntl
import functools
import os
import pathlib
import shutil
import sys
import threading
from typing import Callable, Sequence

from taskset import paths
from taskset.errors import ConfigError

from curves.archives import safe_extract, safe_relpath  # noqa: F401 - re-exported
from curves.errors import ChecksumError, DownloadError, NotFoundError, UnsafeArchiveError  # noqa: F401
from curves.fetch import (PART_SUFFIX, RetryPolicy, backoff_delay, fetch_file, http_url, join_url,  # noqa: F401
                          remove_empty_dirs)
from curves.integrity import remember, save_verdicts
from curves.registry import (CurveDataset, RemoteFile, check_index, dataset_files, get_dataset, list_datasets,
                             select_files)

ENV_CACHE_DIR = paths.ENV_CACHE_DIR
ENV_MIRROR = "TASKSET_CURVES_MIRROR"
PARTIAL_DIR = ".partial"
INDEX_DIR = ".index"
LOCK_NAME = ".download.lock"
MAX_WORKERS = 64
"""Upper bound of `workers` (`--workers`): more parallel requests only get a client throttled."""


@dataclasses.dataclass(frozen=True)
class DownloadReport:
    """What `download` did.

    Attributes:
      dataset: the dataset's name.
      root: the local directory holding it.
      files: the files selected.
      fetched: files downloaded by this call.
      present: files already there (verified when they were placed).
      bytes_fetched: bytes received by this call, resumed parts included.
    """

    dataset: str
    root: pathlib.Path
    files: int
    fetched: int
    present: int
    bytes_fetched: int

    def to_json(self) -> dict[str, object]:
        return {"dataset": self.dataset, "root": str(self.root), "files": self.files, "fetched": self.fetched,
                "present": self.present, "bytes_fetched": self.bytes_fetched}


def cache_root(cache_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """The cache directory: `cache_dir`, else $TASKSET_CACHE_DIR, else $XDG_CACHE_HOME/taskset
    (one rule for the whole package: `taskset.paths.cache_dir`)."""
    return paths.cache_dir(cache_dir)


def dataset_root(dataset: CurveDataset, out: str | os.PathLike | None = None,
                 cache_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """Where `dataset` is stored: `out` if given, else `<cache>/curves/<name>/<version>`."""
    if out is not None:
        return pathlib.Path(out).expanduser()
    return cache_root(cache_dir) / "curves" / dataset.name / dataset.version


def download_dataset(name: str, *, tasks: Sequence[str] = (), optimizer_families: Sequence[str] = (),
                     out: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
                     workers: int = 4, mirror: str | None = None, retry: RetryPolicy = RetryPolicy(),
                     progress: bool | None = None) -> DownloadReport:
    """Downloads (part of) the registered dataset `name`.

    Args:
      name: a registered dataset (`taskset-bench curves list`).
      tasks: fnmatch patterns on task names; empty means every task.
      optimizer_families: keep only these optimizer families; empty means all.
      out: the directory to fill; default the cache (see `dataset_root`).
      cache_dir: the cache directory, overriding $TASKSET_CACHE_DIR and XDG.
      workers: files fetched at the same time (1 to `MAX_WORKERS`).
      mirror: the mirror override, a base URL used instead of the registered
        ones; default $TASKSET_CURVES_MIRROR, else the registered URLs.
      retry: retry and timeout policy of each URL.
      progress: show a tqdm bar; None shows it when stderr is a terminal.

    Returns:
      A `DownloadReport`.

    Raises:
      UnknownNameError: no dataset is called `name`.
      ConfigError: a bad selector or argument (the message names it).
      DownloadError: a file could not be fetched or verified, or the index is
        not the registered version (NotFoundError, ChecksumError,
        UnsafeArchiveError are its subclasses).
    """
    dataset = get_dataset(name)
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(f"--workers must be between 1 and {MAX_WORKERS}, got {workers!r}")
    mirror = mirror or os.environ.get(ENV_MIRROR) or None
    urls = (mirror,) if mirror else dataset.urls
    for url in urls:
        http_url(url)
    root = dataset_root(dataset, out, cache_dir)
    created = _make_root(root)
    try:
        with open(root / LOCK_NAME, "a") as lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                created = []  # the other download owns what is there
                raise DownloadError(f"another download is writing to {str(root)!r}; wait for it to finish "
                                    "or pass another --out") from None
            try:
                index = _index(dataset, urls, root, retry)
                files = select_files(dataset_files(dataset, index), tasks, optimizer_families)
                report = _fetch_all(dataset, urls, root, files, workers, retry, progress)
                _finish(dataset, root, index)
            finally:
                remove_empty_dirs(root / PARTIAL_DIR)
                save_verdicts()
    except BaseException:
        _remove_if_unused(root, created)
        raise
    return report


def _make_root(root: pathlib.Path) -> list[pathlib.Path]:
    """Creates `root`; returns the directories this call created, deepest first."""
    created = []
    for directory in [root, *root.parents]:
        if directory.exists():
            break
        created.append(directory)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ConfigError(f"--out {str(root)!r} exists and is not a directory; pass a directory") from None
    except PermissionError:
        raise ConfigError(f"--out {str(root)!r} cannot be created (permission denied); pass a writable "
                          "directory") from None
    return created


def _remove_if_unused(root: pathlib.Path, created: list[pathlib.Path]) -> None:
    """After a failure: removes the directories this call created if they hold nothing but the lock file.

    Partial files of interrupted transfers keep the root (they are resumed next time).
    """
    if not created:
        return
    leftovers = [p for p in root.rglob("*") if p.is_file() and p != root / LOCK_NAME]
    if leftovers:
        return
    shutil.rmtree(root, ignore_errors=True)
    for directory in created[1:]:
        try:
            directory.rmdir()
        except OSError:
            break


def local_dataset(name: str, cache_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """The local curve directory of a registered dataset in this project's layout,
    after downloading whatever of it is missing (what `curves.read(name)` uses).

    Raises:
      ConfigError: the dataset is published as TaskSet npz files, which must be converted first.
    """
    dataset = get_dataset(name)
    if dataset.layout != "taskset-curves":
        raise ConfigError(f"curve dataset {name!r} is published as TaskSet npz files, which cannot be read "
                          f"directly; run `taskset-bench curves download {name}`, then `taskset-bench curves "
                          "convert-taskset DIR --out OUT`, and read OUT")
    return download_dataset(name, cache_dir=cache_dir, progress=False).root


def _index(dataset: CurveDataset, urls: Sequence[str], root: pathlib.Path, retry: RetryPolicy) -> bytes:
    """The dataset's raw index, checked (`check_index`) before it is cached and whenever it is read back.

    A cached index that fails the check (left by an older taskset, or edited)
    is deleted and fetched again.
    """
    cached = root / INDEX_DIR / dataset.index_file
    if cached.exists():
        data = cached.read_bytes()
        try:
            check_index(dataset, data, str(cached))
            return data
        except ChecksumError:
            cached.unlink()
    fetch_file([join_url(u, dataset.index_file) for u in urls], cached, partial=root / PARTIAL_DIR, retry=retry,
               validate=lambda part: check_index(dataset, part.read_bytes(), join_url(urls[0], dataset.index_file)
                                                 if len(urls) == 1 else f"the index {dataset.index_file!r}"))
    return cached.read_bytes()


def _fetch_all(dataset: CurveDataset, urls: Sequence[str], root: pathlib.Path, files: Sequence[RemoteFile],
               workers: int, retry: RetryPolicy, progress: bool | None) -> DownloadReport:
    """Fetches `files` in parallel; on the first failure cancels the rest and raises it."""
    if progress is None:
        progress = sys.stderr.isatty()
    bar = None
    if progress:
        from tqdm import tqdm

        sizes = [f.size for f in files]
        total = sum(sizes) if all(s is not None for s in sizes) else None
        bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=dataset.name, leave=True)
    lock = threading.Lock()
    received = [0]

    def on_bytes(n: int) -> None:
        with lock:
            received[0] += n
        if bar is not None:
            bar.update(n)

    def one(remote: RemoteFile) -> bool:
        unpack = functools.partial(safe_extract, dest=root, scratch=root / PARTIAL_DIR) if remote.extract else None
        dest = root / safe_relpath(remote.path)
        placed = fetch_file([join_url(u, remote.path) for u in urls], dest,
                            partial=root / PARTIAL_DIR, sha256=remote.sha256, size=remote.size,
                            validate=_validator(dataset, remote), unpack=unpack, retry=retry, on_bytes=on_bytes)
        if placed and remote.sha256 is not None and not remote.extract:
            remember(dest, remote.sha256.lower())  # just verified: the reader need not hash it again
        return placed

    fetched = 0
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(one, f) for f in files]
            try:
                for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
                    fetched += bool(future.result())
                    if bar is not None:
                        bar.set_postfix_str(f"{done}/{len(files)} files")
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    finally:
        if bar is not None:
            bar.close()
    return DownloadReport(dataset=dataset.name, root=root, files=len(files), fetched=fetched,
                          present=len(files) - fetched, bytes_fetched=received[0])


def _validator(dataset: CurveDataset, remote: RemoteFile) -> Callable[[pathlib.Path], object] | None:
    """The structural check of a data file, for layouts without checksums."""
    if dataset.layout == "taskset-npz" and remote.path.endswith(".npz"):
        from curves.taskset_convert import check_npz

        return check_npz
    return None


def _finish(dataset: CurveDataset, root: pathlib.Path, index: bytes) -> None:
    """Writes the visible index: TaskSet's task list, or a manifest of the shards now present."""
    if dataset.layout == "taskset-npz":
        target = root / dataset.index_file
        if not target.exists():
            paths.atomic_write_bytes(target, index)
        return
    import json

    manifest = json.loads(index)
    shards = {key: entry for key, entry in manifest["shards"].items() if (root / safe_relpath(entry["file"])).exists()}
    present_tasks = {entry["task"] for entry in shards.values()}
    failed = {key: entry for key, entry in manifest.get("failed", {}).items() if entry.get("task") in present_tasks}
    data = (json.dumps({**manifest, "shards": shards, "failed": failed}, indent=1, sort_keys=True) + "\n").encode()
    target = root / dataset.index_file
    if not target.is_file() or target.read_bytes() != data:  # unchanged: keep it (and its mtime) as it is
        paths.atomic_write_bytes(target, data)
