"""Exceptions that the CLI turns into a one-line message and exit status 2.

Every error a user can cause by passing a bad name, value or file derives from
`TasksetError`; anything else escaping the library is an internal failure.
"""


class TasksetError(Exception):
    """Base class of every user-facing error: the message says how to fix it."""


class UnknownNameError(TasksetError, KeyError):
    """A name is not in a registry; the message lists close matches."""

    def __str__(self) -> str:  # KeyError would quote the message.
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(TasksetError):
    """A name was registered twice in the same registry."""


class ConfigError(TasksetError, ValueError):
    """A config is malformed: unknown key, missing key, wrong type or out of range."""


class DataNotAvailableError(TasksetError):
    """A task's dataset is not prepared on this machine (the message says how to get it)."""
