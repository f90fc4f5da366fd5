"""Configs as frozen dataclasses of plain values, with JSON and gin round trips.

A config dataclass may hold `int`, `float`, `bool`, `str`, `tuple[X, ...]` of
those, and `X | None`. `to_dict` gives sorted, JSON-ready data; `from_dict`
validates every key and type and names the offending value on failure. The gin
form is one binding per field, `<selector>.<field> = <value>`, parsed with
gin-config's own parser, so fixed tasks can be written as ordinary gin files.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any, Mapping, TypeVar

from taskset.errors import ConfigError

C = TypeVar("C")


def to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as a dict with sorted keys and lists instead of tuples."""
    out = {}
    for field in sorted(dataclasses.fields(config), key=lambda f: f.name):
        value = getattr(config, field.name)
        out[field.name] = list(value) if isinstance(value, tuple) else value
    return out


def from_dict(cls: type[C], data: Mapping[str, Any], what: str | None = None) -> C:
    """Builds `cls` from `data`, checking keys and types.

    Args:
      cls: a config dataclass.
      data: plain data, e.g. parsed JSON.
      what: how to name the config in messages (default: the class name).

    Raises:
      ConfigError: an unknown or missing key, or a value of the wrong type.
    """
    what = what or cls.__name__
    if not isinstance(data, Mapping):
        raise ConfigError(f"{what}: expected a mapping of fields, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{what}: unknown field(s) {unknown!r}; accepted: {sorted(fields)!r}")
    kwargs = {}
    for name, field in fields.items():
        if name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{what}: missing field {name!r}")
            continue
        kwargs[name] = _coerce(data[name], hints[name], f"{what}.{name}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{what}: {err}") from None


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if errors else f"{where}: bad value {value!r}")
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item = args[0]
        return tuple(_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    raise TypeError(f"{where}: unsupported config field type {hint!r}")


def to_json(data: Mapping[str, Any]) -> str:
    """Canonical JSON: sorted keys, no spaces, so equal configs give equal strings."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def to_gin(selector: str, data: Mapping[str, Any], header: Mapping[str, Any] | None = None) -> str:
    """Gin bindings for `data`, one per line; `header` bindings go under `task.`."""
    lines = [f"task.{k} = {_gin_value(v)}" for k, v in sorted((header or {}).items())]
    lines += [f"{selector}.{k} = {_gin_value(v)}" for k, v in sorted(data.items())]
    return "\n".join(lines) + "\n"


def _gin_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_gin_value(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return repr(value)


def parse_gin(text: str, filename: str = "<gin>") -> dict[str, dict[str, Any]]:
    """Parses gin bindings into {selector: {field: value}}.

    Only literal bindings are accepted: configurable references, macros, imports
    and includes are errors, because a task config must be plain data.

    Raises:
      ConfigError: a syntax error, a non-literal value or a repeated binding.
    """
    import tokenize

    import gin.config_parser as gin_parser

    class _LiteralsOnly(gin_parser.ParserDelegate):
        def configurable_reference(self, scoped_name, evaluate):
            raise ConfigError(f"{filename}: references like @{scoped_name} are not allowed in task configs")

        def macro(self, name):
            raise ConfigError(f"{filename}: macros like %{name} are not allowed in task configs")

    out: dict[str, dict[str, Any]] = {}
    try:
        for statement in gin_parser.ConfigParser(text, _LiteralsOnly()):
            if not isinstance(statement, gin_parser.BindingStatement) or statement.scope:
                raise ConfigError(f"{filename}: only plain `selector.field = value` bindings are allowed, "
                                  f"got {statement!r}")
            fields = out.setdefault(statement.selector, {})
            if statement.arg_name in fields:
                raise ConfigError(f"{filename}: {statement.selector}.{statement.arg_name} is bound twice")
            fields[statement.arg_name] = _plain(statement.value)
    except (SyntaxError, tokenize.TokenError) as err:
        raise ConfigError(f"{filename}: gin syntax error: {err}") from None
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
