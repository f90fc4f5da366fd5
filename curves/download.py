"""Fetching registered curve datasets: resumable, verified, atomic, parallel.

`download_dataset(name, ...)` reads the dataset's index (see `curves.registry`), picks
the files matching `tasks` (fnmatch patterns) and `optimizer_families`, and
fetches them with a thread pool into a local root:

  <root>/<path>                 verified files, placed atomically
  <root>/.partial/<path>.part   bytes received so far; resumed by the next attempt
  <root>/.index/<index file>    the raw index, so a later run works offline
  <root>/.download.lock         held (flock) by the one download writing to <root>

The root is `--out DIR` if given, else `<cache>/curves/<name>/<version>` where
`<cache>` is the `cache_dir` argument, else `$TASKSET_CACHE_DIR`, else
`$XDG_CACHE_HOME/taskset` (default `~/.cache/taskset`).

Each file is streamed to its `.part` file, resumed with an HTTP Range request
after a dropped connection (a server that ignores Range and answers 200 makes
the download restart from byte 0), retried with bounded exponential backoff
(`RetryPolicy`), then checked: size, sha256 where the publisher gives one, and
the structure of TaskSet's npz files. Only then is it fsynced and renamed into
place, so a file at its final path is always complete and verified, and a file
that is present is not fetched again. A checksum mismatch deletes what was
received and leaves nothing behind. Archives flagged in the manifest are
unpacked by `safe_extract`, which refuses absolute names, `..` and links.

URLs may be `https://`, `http://`, `gs://bucket/path` (read over HTTPS from
https://storage.googleapis.com/bucket/path, as the public buckets allow) or
`file://`. The **mirror override** replaces a dataset's registered URLs by one
base URL: the `mirror` argument (`--mirror` on the command line) or the
environment variable `TASKSET_CURVES_MIRROR`; the mirror must serve the same
paths below it (e.g. a local copy or an internal HTTP server).

Only the standard library speaks HTTP here (urllib), so no dependency is needed.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import fcntl
import functools
import hashlib
import http.client
import os
import pathlib
import shutil
import stat
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from typing import Callable, Sequence

from taskset import paths
from taskset.errors import ConfigError, TasksetError

from curves.registry import CurveDataset, RemoteFile, dataset_files, get_dataset, list_datasets, select_files

ENV_CACHE_DIR = paths.ENV_CACHE_DIR
ENV_MIRROR = "TASKSET_CURVES_MIRROR"
PARTIAL_DIR = ".partial"
INDEX_DIR = ".index"
LOCK_NAME = ".download.lock"
PART_SUFFIX = ".part"
GCS_HTTPS = "https://storage.googleapis.com"
CHUNK_BYTES = 1 << 20

Progress = Callable[[int], None]


class DownloadError(TasksetError):
    """A file could not be fetched; the message names the URL and what went wrong."""


class NotFoundError(DownloadError):
    """The server says the file does not exist (HTTP 404/410, or a missing local file)."""


class ChecksumError(DownloadError):
    """A fetched file has the wrong size, sha256 or structure; it was deleted."""


class UnsafeArchiveError(DownloadError):
    """An archive member would land outside the target directory or is a link or device."""


class _Transient(Exception):
    """A failure worth retrying: a dropped connection, a timeout, HTTP 5xx/429/408."""


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How hard to try each URL before moving on to the next mirror.

    Attributes:
      attempts: consecutive failed attempts that received no new bytes before
        giving up on a URL (>= 1). An attempt that extends the partial file
        resets the count, so a long download over a flaky link still finishes,
        while a server that always fails at the same point is abandoned.
      base_delay: seconds to wait after the first failure; doubled after each
        further one (exponential backoff).
      max_delay: upper bound of one wait, in seconds.
      timeout: socket timeout of one request, in seconds.
    """

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(f"retry attempts must be >= 1, got {self.attempts!r}")
        if self.base_delay < 0 or self.max_delay < 0 or self.timeout <= 0:
            raise ConfigError(f"retry delays must be >= 0 and the timeout > 0, got base_delay={self.base_delay!r}, "
                              f"max_delay={self.max_delay!r}, timeout={self.timeout!r}")


def backoff_delay(policy: RetryPolicy, failures: int) -> float:
    """Seconds to wait after the `failures`-th consecutive failure (1-based):
    base_delay * 2**(failures - 1), capped at max_delay."""
    return min(policy.max_delay, policy.base_delay * 2.0 ** max(failures - 1, 0))


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


def http_url(url: str) -> str:
    """`gs://bucket/path` as its public HTTPS URL; other URLs unchanged.

    Raises:
      ConfigError: the scheme is not https, http, gs or file.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "gs":
        return f"{GCS_HTTPS}/{parts.netloc}{parts.path}"
    if parts.scheme not in ("https", "http", "file"):
        raise ConfigError(f"URL {url!r} has an unsupported scheme; use https://, http://, gs://bucket/path or file://")
    return url


def join_url(base: str, path: str) -> str:
    """`path` (POSIX, relative) below the base URL, percent-encoded."""
    return http_url(base).rstrip("/") + "/" + urllib.parse.quote(path)


def safe_relpath(name: str) -> pathlib.PurePosixPath:
    """`name` as a relative path that cannot leave the directory it is joined to.

    Raises:
      UnsafeArchiveError: `name` is empty, absolute (also a Windows drive or
        UNC path), or has a `..` component.
    """
    posix = name.replace("\\", "/")
    path = pathlib.PurePosixPath(posix)
    if not posix or path.is_absolute() or (len(posix) > 1 and posix[1] == ":") or ".." in path.parts:
        raise UnsafeArchiveError(f"refusing path {name!r}: it is absolute or contains '..', so it could write "
                                 "outside the dataset directory")
    if not path.parts or path.parts == (".",):
        raise UnsafeArchiveError(f"refusing empty path {name!r}")
    return path


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
      workers: files fetched at the same time (>= 1).
      mirror: the mirror override, a base URL used instead of the registered
        ones; default $TASKSET_CURVES_MIRROR, else the registered URLs.
      retry: retry and timeout policy of each URL.
      progress: show a tqdm bar; None shows it when stderr is a terminal.

    Returns:
      A `DownloadReport`.

    Raises:
      UnknownNameError: no dataset is called `name`.
      ConfigError: a bad selector or argument (the message names it).
      DownloadError: a file could not be fetched or verified (NotFoundError,
        ChecksumError, UnsafeArchiveError are its subclasses).
    """
    dataset = get_dataset(name)
    if workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers!r}")
    mirror = mirror or os.environ.get(ENV_MIRROR) or None
    urls = (mirror,) if mirror else dataset.urls
    for url in urls:
        http_url(url)
    root = dataset_root(dataset, out, cache_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ConfigError(f"--out {str(root)!r} exists and is not a directory; pass a directory") from None
    with open(root / LOCK_NAME, "a") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DownloadError(f"another download is writing to {str(root)!r}; wait for it to finish "
                                "or pass another --out") from None
        index = _index(dataset, urls, root, retry)
        files = select_files(dataset_files(dataset, index), tasks, optimizer_families)
        report = _fetch_all(dataset, urls, root, files, workers, retry, progress)
        _finish(dataset, root, index)
        _remove_empty_dirs(root / PARTIAL_DIR)
    return report


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
    """The dataset's raw index, fetched once and then read from `<root>/.index/`."""
    cached = root / INDEX_DIR / dataset.index_file
    if not cached.exists():
        fetch_file([join_url(u, dataset.index_file) for u in urls], cached, partial=root / PARTIAL_DIR, retry=retry)
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
        return fetch_file([join_url(u, remote.path) for u in urls], root / safe_relpath(remote.path),
                          partial=root / PARTIAL_DIR, sha256=remote.sha256, size=remote.size,
                          validate=_validator(dataset, remote), unpack=unpack, retry=retry, on_bytes=on_bytes)

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
    text = json.dumps({**manifest, "shards": shards, "failed": failed}, indent=1, sort_keys=True) + "\n"
    paths.atomic_write_bytes(root / dataset.index_file, text.encode())


def fetch_file(urls: Sequence[str], dest: pathlib.Path, *, partial: pathlib.Path, sha256: str | None = None,
               size: int | None = None, validate: Callable[[pathlib.Path], object] | None = None,
               unpack: Callable[[pathlib.Path], None] | None = None, retry: RetryPolicy = RetryPolicy(),
               on_bytes: Progress | None = None) -> bool:
    """Fetches one file to `dest` atomically, trying `urls` (mirrors) in order.

    Bytes go to `<partial>/<dest name>.part` (resumed if it exists), are
    verified, fsynced and renamed to `dest`.

    Args:
      urls: the file's URLs, primary first.
      dest: the final path.
      partial: the directory of partial files, on the same filesystem as `dest`.
      sha256: the expected hex digest, if known.
      size: the expected size in bytes, if known.
      validate: raises (any TasksetError) if the complete file is malformed.
      unpack: extracts the verified file (an archive) before it is placed, so
        an archive at its final path has always been unpacked.
      retry: the retry policy of each URL.
      on_bytes: called with the number of bytes received (negative when a
        restart discards bytes), for progress bars.

    Returns:
      True if it was fetched, False if `dest` already existed.

    Raises:
      NotFoundError: every URL answered "not found".
      ChecksumError: the file is complete but wrong; nothing is left behind.
      DownloadError: the URLs failed otherwise (the message lists each).
    """
    if dest.exists():
        return False
    on_bytes = on_bytes or (lambda n: None)
    part = partial / (os.path.relpath(dest, partial.parent) + PART_SUFFIX)
    part.parent.mkdir(parents=True, exist_ok=True)
    url = _fetch_part(urls, part, retry, on_bytes)
    try:
        _verify(part, url, sha256, size, validate)
        if unpack is not None:
            unpack(part)
    except TasksetError as err:
        part.unlink(missing_ok=True)
        _remove_empty_dirs(partial)
        if isinstance(err, DownloadError):
            raise
        raise ChecksumError(f"{url}: the downloaded file is malformed ({err}); it was deleted") from None
    with open(part, "rb+") as f:
        os.fsync(f.fileno())
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, dest)
    _fsync_dir(dest.parent)
    return True


def _fetch_part(urls: Sequence[str], part: pathlib.Path, retry: RetryPolicy, on_bytes: Progress) -> str:
    """Completes `part` from the first URL that serves it; returns that URL."""
    problems: list[str] = []
    missing = 0
    for url in urls:
        failures, best = 0, _size(part)
        while True:
            try:
                _stream(url, part, retry.timeout, on_bytes)
                return url
            except NotFoundError as err:
                problems.append(str(err))
                missing += 1
                break
            except _Transient as err:
                now = _size(part)
                if now > best:
                    best, failures = now, 0
                failures += 1
                if failures >= retry.attempts:
                    problems.append(f"{err} (gave up after {failures} attempts without progress)")
                    break
                time.sleep(backoff_delay(retry, failures))
    if missing == len(urls):
        raise NotFoundError("; ".join(problems))
    raise DownloadError("; ".join(problems) + "; check the network or pass a mirror with --mirror, "
                        "then rerun to resume")


def _size(path: pathlib.Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _stream(url: str, part: pathlib.Path, timeout: float, on_bytes: Progress) -> None:
    """One attempt: appends the rest of `url` to `part`.

    Raises:
      _Transient: worth retrying (what was received stays in `part`).
      NotFoundError, DownloadError: not worth retrying this URL.
    """
    if urllib.parse.urlsplit(url).scheme == "file":
        _stream_local(url, part, on_bytes)
        return
    offset = _size(part)
    headers = {"User-Agent": "taskset-curves-download", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 416 and offset:
            # Our partial file is not a prefix the server recognises: start over.
            _truncate(part, on_bytes)
            raise _Transient(f"{url}: HTTP 416 for a resumed request; restarting from byte 0") from None
        if err.code in (404, 410):
            raise NotFoundError(f"{url} does not exist (HTTP {err.code}); check the dataset name, task "
                                "names and the mirror URL") from None
        if err.code in (408, 429) or err.code >= 500:
            raise _Transient(f"{url}: HTTP {err.code} {err.reason}") from None
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from None
    except (OSError, http.client.HTTPException) as err:
        raise _Transient(f"{url}: {err}") from None
    with response:
        total = _expected_total(response, offset)
        if offset and response.status != 206:
            # The server ignored Range and sends the whole file: start over.
            on_bytes(-offset)
            offset = 0
        elif offset and _range_start(response) != offset:
            on_bytes(-offset)
            offset = 0
            total = None
        with open(part, "r+b" if part.exists() else "wb") as f:
            f.seek(offset)
            f.truncate()
            while True:
                try:
                    chunk = response.read(CHUNK_BYTES)
                except (OSError, http.client.HTTPException) as err:
                    raise _Transient(f"{url}: connection lost after {f.tell()} bytes ({err})") from None
                if not chunk:
                    break
                f.write(chunk)
                on_bytes(len(chunk))
            received = f.tell()
    if total is not None and received != total:
        raise _Transient(f"{url}: received {received} of {total} bytes")


def _expected_total(response, offset: int) -> int | None:
    """The file's full size as the response states it, or None."""
    if response.status == 206:
        content_range = response.headers.get("Content-Range", "")
        _, _, whole = content_range.partition("/")
        if whole.strip().isdigit():
            return int(whole)
    length = response.headers.get("Content-Length")
    if length is None or not length.strip().isdigit():
        return None
    return int(length) + (offset if response.status == 206 else 0)


def _range_start(response) -> int | None:
    """The first byte of a 206 response (`Content-Range: bytes START-END/TOTAL`)."""
    spec = response.headers.get("Content-Range", "")
    unit, _, rest = spec.partition(" ")
    start = rest.partition("-")[0].strip()
    return int(start) if unit.strip() == "bytes" and start.isdigit() else None


def _truncate(part: pathlib.Path, on_bytes: Progress) -> None:
    on_bytes(-_size(part))
    part.unlink(missing_ok=True)


def _stream_local(url: str, part: pathlib.Path, on_bytes: Progress) -> None:
    """A `file://` URL: copies the rest of the file after what `part` holds."""
    source = pathlib.Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    if not source.is_file():
        raise NotFoundError(f"{url} does not exist (no file {str(source)!r}); check the dataset's directory")
    offset = _size(part)
    if offset > source.stat().st_size:
        _truncate(part, on_bytes)
        offset = 0
    with open(source, "rb") as src, open(part, "r+b" if part.exists() else "wb") as dst:
        src.seek(offset)
        dst.seek(offset)
        dst.truncate()
        for chunk in iter(lambda: src.read(CHUNK_BYTES), b""):
            dst.write(chunk)
            on_bytes(len(chunk))


def _verify(part: pathlib.Path, url: str, sha256: str | None, size: int | None,
            validate: Callable[[pathlib.Path], object] | None) -> None:
    """Raises ChecksumError (or the validator's error) unless `part` is the expected file."""
    actual_size = part.stat().st_size
    if size is not None and actual_size != size:
        raise ChecksumError(f"{url}: size mismatch, expected {size} bytes, got {actual_size}; the file was "
                            "deleted and nothing was cached")
    if sha256 is not None:
        actual = file_sha256(part)
        if actual != sha256.lower():
            raise ChecksumError(f"{url}: sha256 mismatch, expected {sha256.lower()}, got {actual}; the file was "
                                "deleted and nothing was cached (a corrupted transfer or a changed mirror)")
    if validate is not None:
        validate(part)


def file_sha256(path: pathlib.Path) -> str:
    """The hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: pathlib.Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # Some filesystems refuse fsync on a directory; the rename itself is still atomic.
    finally:
        os.close(fd)


def _remove_empty_dirs(top: pathlib.Path) -> None:
    """Removes `top` and the directories below it that hold no files."""
    if not top.is_dir():
        return
    for directory in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        try:
            directory.rmdir()
        except OSError:
            pass  # Not empty: a partial file to resume later.
    try:
        top.rmdir()
    except OSError:
        pass


def safe_extract(archive: pathlib.Path, dest: pathlib.Path, scratch: pathlib.Path) -> list[pathlib.Path]:
    """Unpacks a tar or zip archive below `dest`, refusing anything that could escape it.

    Every member name is checked first (no absolute names, no `..`, no
    symbolic or hard links, no devices); only if all pass are the regular files
    written, each to a temporary file in `scratch` and renamed into place.

    Returns:
      The files written.

    Raises:
      UnsafeArchiveError: a member is unsafe (nothing is extracted then).
      DownloadError: the file is neither a tar nor a zip archive.
    """
    members: list[tuple[pathlib.PurePosixPath, object]] = []
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                rel = safe_relpath(info.filename)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise UnsafeArchiveError(f"{str(archive)!r}: member {info.filename!r} is a symbolic link; "
                                             "refusing to extract the archive")
                if not info.is_dir():
                    members.append((rel, info))
            return _write_members(archive, dest, scratch, members, zf.open)
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            for info in tf.getmembers():
                rel = safe_relpath(info.name)
                if info.isdir():
                    continue
                if not info.isfile():
                    raise UnsafeArchiveError(f"{str(archive)!r}: member {info.name!r} is a link or device; "
                                             "refusing to extract the archive")
                members.append((rel, info))
            return _write_members(archive, dest, scratch, members, tf.extractfile)
    raise DownloadError(f"{str(archive)!r} is neither a tar nor a zip archive; delete it and download again")


def _write_members(archive: pathlib.Path, dest: pathlib.Path, scratch: pathlib.Path,
                   members: list[tuple[pathlib.PurePosixPath, object]],
                   open_member: Callable[[object], object]) -> list[pathlib.Path]:
    """Writes already-checked members, each through a temporary file in `scratch`."""
    written = []
    scratch.mkdir(parents=True, exist_ok=True)
    for rel, info in members:
        target = dest.joinpath(*rel.parts)
        tmp = scratch / f"{archive.name}.{len(written)}.extract"
        with open_member(info) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK_BYTES)
            dst.flush()
            os.fsync(dst.fileno())
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
        written.append(target)
    return written


def _register_readable() -> None:
    """Lets `curves.read(name)` open every registered dataset in this project's layout."""
    from curves.reader import CURVE_DATASETS

    for dataset in list_datasets():
        if dataset.layout == "taskset-curves" and dataset.name not in CURVE_DATASETS:
            CURVE_DATASETS.register(dataset.name, functools.partial(local_dataset, dataset.name))


_register_readable()
