"""Errors of the curve store; like every user-facing error they derive from TasksetError.

The CLI turns them into one line on stderr and exit status 2, so each message
names the offending file or value and says how to fix it.
"""

from taskset.errors import TasksetError


class StoreError(TasksetError):
    """A curve directory cannot be used as asked (locked, missing, unreadable manifest)."""


class CorruptShardError(StoreError):
    """A shard file is truncated, unreadable or does not match its checksum."""


class SchemaMismatchError(StoreError):
    """A shard or manifest was written with another schema version or column layout."""


class ExecutorError(TasksetError):
    """An executor cannot start, e.g. the Dask scheduler address is unreachable."""


class DownloadError(TasksetError):
    """A file could not be fetched; the message names the URL and what went wrong.

    A network or server failure, not bad input: the CLI exits 1 for it (see
    `taskset.cli.curve_data`), except for `NotFoundError`, which usually means
    a mistyped name or mirror URL and exits 2.
    """


class NotFoundError(DownloadError):
    """The server says the file does not exist (HTTP 404/410, or a missing local file)."""


class ChecksumError(DownloadError):
    """A fetched file has the wrong size, sha256 or structure, or an index does not
    hash to the registered version; it was deleted and nothing was cached."""


class UnsafeArchiveError(DownloadError):
    """An archive member would land outside the target directory or is a link or device."""
