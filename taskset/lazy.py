"""Deferred imports, so that metadata commands never pay TensorFlow's ~3.5 s start-up.

Modules that build tasks write `from taskset.lazy import tf` and use `tf.matmul`
as usual; TensorFlow is imported on the first attribute access.
"""

from __future__ import annotations

import importlib
import types


class LazyModule(types.ModuleType):
    """A module proxy that imports `name` the first time an attribute is read."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._module: types.ModuleType | None = None

    def _load(self) -> types.ModuleType:
        if self._module is None:
            self._module = importlib.import_module(self.__name__)
        return self._module

    def __getattr__(self, attr: str):
        return getattr(self._load(), attr)


tf = LazyModule("tensorflow")
