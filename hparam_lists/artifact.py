"""The list artifact: an ordered hyperparameter list as a versioned JSON file.

Layout (keys sorted when written):
  {"format": "taskset-hparam-list", "format_version": 1,
   "package_version": "0.1.0",
   "dataset": {"name": "<curve dataset name or path>", "manifest_sha256": "<hex>" | null},
   "fit": {"family": "nadamw", "size": 50, "split": "valid_inner", "aggregation": "final",
           "pool_size": 1000, "train_tasks": ["mlp_seed0", ...]},
   "entries": [{"family": "nadamw", "optimizer": "nadamw_seed12", "hparams": {...},
                "train_score": 0.21}, ...]}
`optimizer` names the pool config an entry came from; `train_score` is the mean
over the training tasks of the best score among the entries up to this one.
A list made elsewhere (e.g. Google's published `opt-list-nadamw`) also has a
top-level "source" object (where it comes from: name, files, version, licence,
notes) and, per entry, "source_hparams": the config as published, under its
authors' names; both keys are absent from lists fitted here.

`load_list` takes a path, or the name of a list shipped in `hparam_lists/data/`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
from typing import Any

from hparam_lists.normalize import check_aggregation, check_split
from hparam_lists.weighting import check_weighting
from taskset.errors import ConfigError, TasksetError, UnknownNameError
from taskset.registry import unknown_name_message

FORMAT = "taskset-hparam-list"
FORMAT_VERSION = 1
DATA_DIR = pathlib.Path(__file__).resolve().parent / "data"
MANIFEST_NAME = "manifest.json"


class ListFileError(TasksetError):
    """A list file is missing, unreadable or not a valid list artifact."""


@dataclasses.dataclass(frozen=True)
class ListEntry:
    """One entry: a point of `family`'s space, and the pool config it was taken from."""

    family: str
    optimizer: str
    hparams: dict[str, float]
    train_score: float | None = None
    source_hparams: dict[str, Any] | None = None
    """The entry as its publisher wrote it (their names and values), for lists made elsewhere."""

    def to_json(self) -> dict[str, Any]:
        data = {"family": self.family, "optimizer": self.optimizer,
                "hparams": {k: float(v) for k, v in sorted(self.hparams.items())}, "train_score": self.train_score}
        if self.source_hparams is not None:
            data["source_hparams"] = dict(sorted(self.source_hparams.items()))
        return data


@dataclasses.dataclass(frozen=True)
class FitSettings:
    """How a list was fitted."""

    family: str
    size: int
    split: str
    aggregation: str
    train_tasks: tuple[str, ...]
    pool_size: int
    weighting: str = "task"
    """How training tasks were weighted ("family" or "task", see `hparam_lists.weighting`); lists
    written before weighting existed were fitted with every task weighted equally."""

    def to_json(self) -> dict[str, Any]:
        return {"family": self.family, "size": self.size, "split": self.split, "aggregation": self.aggregation,
                "train_tasks": list(self.train_tasks), "pool_size": self.pool_size, "weighting": self.weighting}


@dataclasses.dataclass(frozen=True)
class HparamList:
    """An ordered hyperparameter list: try entries[0] first, then entries[1], ..."""

    entries: tuple[ListEntry, ...]
    fit: FitSettings
    dataset: str = ""
    manifest_sha256: str | None = None
    package_version: str = ""
    source: dict[str, Any] | None = None
    """Provenance of a list made elsewhere (name, files, version, licence, notes); None for lists fitted here."""

    def __post_init__(self) -> None:
        if not self.package_version:
            from taskset import __version__

            object.__setattr__(self, "package_version", __version__)

    def __len__(self) -> int:
        return len(self.entries)

    def to_json(self) -> dict[str, Any]:
        """The artifact as JSON data (the module docstring's layout)."""
        data = {"format": FORMAT, "format_version": FORMAT_VERSION, "package_version": self.package_version,
                "dataset": {"name": self.dataset, "manifest_sha256": self.manifest_sha256},
                "fit": self.fit.to_json(), "entries": [e.to_json() for e in self.entries]}
        if self.source is not None:
            data["source"] = self.source
        return data

    @classmethod
    def from_json(cls, data: Any, where: str = "list") -> "HparamList":
        """Validates JSON data and builds the list.

        Raises:
          ListFileError: a wrong format marker or version, a missing or
            mistyped field, or an entry whose hparams do not fit its family's space.
        """
        obj = _Obj(data, where)
        if obj.get("format", str) != FORMAT:
            raise ListFileError(f"{where}: not a hyperparameter list (\"format\" is {obj.data.get('format')!r}, "
                                f"expected {FORMAT!r})")
        version = obj.get("format_version", int)
        if version != FORMAT_VERSION:
            raise ListFileError(f"{where}: list format version {version!r} is not supported (this taskset reads "
                                f"version {FORMAT_VERSION}); refit it with `taskset-bench lists fit`")
        dataset = _Obj(obj.get("dataset", dict), f"{where}.dataset")
        fit = _Obj(obj.get("fit", dict), f"{where}.fit")
        settings = FitSettings(family=fit.get("family", str), size=fit.get("size", int), split=fit.get("split", str),
                               aggregation=fit.get("aggregation", str),
                               train_tasks=tuple(fit.get_list("train_tasks", str)),
                               pool_size=fit.get("pool_size", int),
                               weighting=fit.get("weighting", str) if "weighting" in fit.data else "task")
        entries = []
        for i, raw in enumerate(obj.get_list("entries", dict)):
            entry = _Obj(raw, f"{where}.entries[{i}]")
            hparams = _Obj(entry.get("hparams", dict), f"{where}.entries[{i}].hparams")
            score = entry.data.get("train_score")
            if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
                raise ListFileError(f"{where}.entries[{i}].train_score: expected a number or null, got {score!r}")
            published = _Obj(entry.data["source_hparams"], f"{where}.entries[{i}].source_hparams").data \
                if "source_hparams" in entry.data else None
            entries.append(ListEntry(family=entry.get("family", str), optimizer=entry.get("optimizer", str),
                                     hparams={k: float(hparams.get(k, float)) for k in hparams.data},
                                     train_score=None if score is None else float(score), source_hparams=published))
        manifest = dataset.data.get("manifest_sha256")
        if manifest is not None and not isinstance(manifest, str):
            raise ListFileError(f"{where}.dataset.manifest_sha256: expected a hex string or null, got {manifest!r}")
        source = _Obj(obj.data["source"], f"{where}.source").data if "source" in obj.data else None
        result = cls(entries=tuple(entries), fit=settings, dataset=dataset.get("name", str),
                     manifest_sha256=manifest, package_version=obj.get("package_version", str), source=source)
        validate(result, where)
        return result


class _Obj:
    """Typed access to a JSON object, raising ListFileError that names the field."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ListFileError(f"{where}: expected a JSON object, got {data!r:.80}")
        self.data, self.where = data, where

    def get(self, key: str, kind: type) -> Any:
        if key not in self.data:
            raise ListFileError(f"{self.where}: missing field {key!r}")
        return _typed(self.data[key], kind, f"{self.where}.{key}")

    def get_list(self, key: str, kind: type) -> list[Any]:
        values = self.get(key, list)
        return [_typed(v, kind, f"{self.where}.{key}[{i}]") for i, v in enumerate(values)]


def _typed(value: Any, kind: type, where: str) -> Any:
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok:
        raise ListFileError(f"{where}: expected {'a finite number' if kind is float else kind.__name__}, "
                            f"got {value!r:.80}")
    return value


def validate(hparam_list: HparamList, where: str = "list") -> None:
    """Checks a list's internal consistency and every entry against its family's space.

    Raises:
      ListFileError: no entries, a size that is not the number of entries, an
        unknown split or aggregation, an entry of another family than the fit's, or
        hparams that are not exactly the family's, or out of range.
    """
    if not hparam_list.entries:
        raise ListFileError(f"{where}: the list has no entries")
    if hparam_list.fit.size != len(hparam_list.entries):
        raise ListFileError(f"{where}: fit.size is {hparam_list.fit.size!r} but the list has "
                            f"{len(hparam_list.entries)} entries")
    try:
        check_split(hparam_list.fit.split)
        check_aggregation(hparam_list.fit.aggregation)
        check_weighting(hparam_list.fit.weighting)
    except ConfigError as err:
        raise ListFileError(f"{where}.fit: {err}") from None
    from taskset.optimizers import get_family

    for i, entry in enumerate(hparam_list.entries):
        if entry.family != hparam_list.fit.family:
            raise ListFileError(f"{where}.entries[{i}]: family {entry.family!r} differs from the list's "
                                f"{hparam_list.fit.family!r}")
        try:
            get_family(entry.family).make_config(entry.optimizer, entry.hparams)
        except (ConfigError, UnknownNameError) as err:
            raise ListFileError(f"{where}.entries[{i}] ({entry.optimizer!r}): {err}") from None


def save_list(hparam_list: HparamList, path: str | pathlib.Path) -> pathlib.Path:
    """Writes `hparam_list` as JSON (sorted keys, 1-space indent) atomically and returns the path.

    Missing parent directories are created; a reader never sees half a file
    (`taskset.paths.atomic_write_text`).
    """
    from taskset.paths import atomic_write_text

    path = pathlib.Path(path)
    atomic_write_text(path, json.dumps(hparam_list.to_json(), indent=1, sort_keys=True) + "\n")
    return path


def shipped_lists() -> list[str]:
    """Names of the lists shipped in `hparam_lists/data/` (file names without .json)."""
    return sorted(p.stem for p in DATA_DIR.glob("*.json"))


def resolve_list(name_or_path: str | pathlib.Path) -> pathlib.Path:
    """The file a list name or path refers to.

    A value that names an existing file, or ends in ".json", or contains a path
    separator is a path; anything else is the name of a shipped list.

    Raises:
      ListFileError: the path does not exist.
      UnknownNameError: no shipped list has that name (the message lists close ones).
    """
    text = str(name_or_path)
    path = pathlib.Path(text)
    if path.is_file():
        return path
    if text.endswith(".json") or "/" in text or "\\" in text:
        raise ListFileError(f"list file {text!r} does not exist; fit one with `taskset-bench lists fit` or "
                            f"pass a shipped list name ({', '.join(shipped_lists()) or 'none shipped'})")
    shipped = DATA_DIR / f"{text}.json"
    if not shipped.is_file():
        raise UnknownNameError(unknown_name_message("hyperparameter list", text, shipped_lists()))
    return shipped


def load_list(name_or_path: str | pathlib.Path) -> HparamList:
    """Reads and validates a list from a path or a shipped list name (see `resolve_list`).

    Raises:
      ListFileError: missing or unreadable file, invalid JSON, or an invalid list.
      UnknownNameError: an unknown shipped list name.
    """
    path = resolve_list(name_or_path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as err:
        raise ListFileError(f"cannot read list file {str(path)!r}: {err}") from None
    except ValueError as err:
        raise ListFileError(f"list file {str(path)!r} is not valid JSON ({err})") from None
    return HparamList.from_json(data, str(path))


def manifest_sha256(directory: str | pathlib.Path) -> str | None:
    """sha256 (hex) of `directory`/manifest.json, or None when the dataset has no manifest."""
    from taskset.paths import file_sha256

    path = pathlib.Path(directory) / MANIFEST_NAME
    if not path.is_file():
        return None
    return file_sha256(path)
