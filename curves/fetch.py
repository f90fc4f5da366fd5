"""Fetching one file over HTTP(S), `gs://` or `file://`: resumable, retried, verified, atomic.

`fetch_file(urls, dest, ...)` streams the file to `<partial>/<dest>.part`,
resumes it with an HTTP Range request after a dropped connection (a server
that ignores Range and answers 200 makes it restart from byte 0), retries with
bounded exponential backoff (`RetryPolicy`) and moves on to the next mirror
URL, then checks size, sha256 and an optional structural validator. Only then
is it fsynced and renamed to `dest`, so a file at its final path is always
complete and verified. A complete but wrong file is deleted; only the bytes of
an interrupted transfer stay (as `.part`), to be resumed by the next attempt.

`gs://bucket/path` is read over HTTPS from https://storage.googleapis.com/bucket/path,
as the public buckets allow. Only the standard library speaks HTTP here (urllib).
Dataset-level logic (indexes, versions, mirrors, the cache) is in `curves.download`.
"""

from __future__ import annotations

import dataclasses
import http.client
import os
import pathlib
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Sequence

from taskset.errors import ConfigError, TasksetError
from taskset.paths import file_sha256, fsync_directory

from curves.errors import ChecksumError, DownloadError, NotFoundError

PART_SUFFIX = ".part"
GCS_HTTPS = "https://storage.googleapis.com"
CHUNK_BYTES = 1 << 20
MAX_ATTEMPTS = 100
"""Upper bound of `RetryPolicy.attempts` (`--retries`): beyond it a dead server would hold a run for hours."""

Progress = Callable[[int], None]


class _Transient(Exception):
    """A failure worth retrying: a dropped connection, a timeout, HTTP 5xx/429/408."""


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How hard to try each URL before moving on to the next mirror.

    Attributes:
      attempts: consecutive failed attempts that received no new bytes before
        giving up on a URL (1 to `MAX_ATTEMPTS`). An attempt that extends the partial file
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
        if not 1 <= self.attempts <= MAX_ATTEMPTS:
            raise ConfigError(f"retry attempts (--retries) must be between 1 and {MAX_ATTEMPTS}, got {self.attempts!r}")
        if self.base_delay < 0 or self.max_delay < 0 or self.timeout <= 0:
            raise ConfigError(f"retry delays must be >= 0 and the timeout > 0, got base_delay={self.base_delay!r}, "
                              f"max_delay={self.max_delay!r}, timeout={self.timeout!r}")


def backoff_delay(policy: RetryPolicy, failures: int) -> float:
    """Seconds to wait after the `failures`-th consecutive failure (1-based):
    base_delay * 2**(failures - 1), capped at max_delay."""
    return min(policy.max_delay, policy.base_delay * 2.0 ** max(failures - 1, 0))


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
    except Exception as err:  # noqa: BLE001 - a complete but bad file is deleted, whatever the check raised
        part.unlink(missing_ok=True)  # (empty directories are left to the caller: other threads may be using them)
        if isinstance(err, DownloadError):
            raise
        if isinstance(err, TasksetError) or isinstance(err, (ValueError, OSError, EOFError)):
            raise ChecksumError(f"{url}: the downloaded file is malformed ({err}); it was deleted") from None
        raise
    with open(part, "rb+") as f:
        os.fsync(f.fileno())
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, dest)
    fsync_directory(dest.parent)
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


def remove_empty_dirs(top: pathlib.Path) -> None:
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
