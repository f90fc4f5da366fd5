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
