"""The one registry pattern used for families, fixed tasks, datasets and optimizers.

Modelled on tensorflow-datasets' `registered.py`: registering a name twice is an
error, an unknown name raises `UnknownNameError` listing close matches, and tests
can add throwaway entries with `Registry.temporary` without leaking them.
"""

from __future__ import annotations

import contextlib
import difflib
from typing import Callable, Generic, Iterator, TypeVar

from taskset.errors import DuplicateNameError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object mapping with loud failures.

    Args:
      kind: what the entries are ("task family", "dataset", ...), used in messages.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str, obj: T) -> T:
        """Adds `obj` under `name` and returns it.

        Raises:
          DuplicateNameError: `name` is already registered.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind} name must be a non-empty string, got {name!r}")
        if name in self._entries:
            raise DuplicateNameError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = obj
        return obj

    def decorator(self, name: str) -> Callable[[T], T]:
        """Returns a decorator that registers its argument under `name`."""
        return lambda obj: self.register(name, obj)

    def get(self, name: str) -> T:
        """Returns the entry called `name`.

        Raises:
          UnknownNameError: no such entry; the message lists the closest names.
        """
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise UnknownNameError(unknown_name_message(self.kind, name, self._entries)) from None

    def list(self) -> list[str]:
        """Returns the registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    @contextlib.contextmanager
    def temporary(self, name: str, obj: T) -> Iterator[T]:
        """Registers `obj` for the duration of a `with` block (for tests)."""
        self.register(name, obj)
        try:
            yield obj
        finally:
            del self._entries[name]


def unknown_name_message(kind: str, name: object, known: "list[str] | dict[str, object]") -> str:
    """Builds "unknown X 'name'; did you mean ...?" with up to five close matches."""
    names = sorted(known)
    close = difflib.get_close_matches(str(name), names, n=5, cutoff=0.6)
    if close:
        hint = "did you mean " + ", ".join(repr(c) for c in close) + "?"
    elif len(names) <= 12:
        hint = "known: " + ", ".join(names)
    else:
        hint = f"{len(names)} are known; list them with `taskset-bench` (e.g. `tasks list`)"
    return f"unknown {kind} {name!r}; {hint}"
