"""The task catalogue: sampled families x seeds, plus fixed tasks from gin files.

Names: `<family>_seed<N>` for N < the family's `num_seeds` (100) are in the
catalogue; any other seed still builds with `sample_task`. Fixed tasks are the
gin files under `taskset/tasks/fixed/`, one task per file, the file stem being
the task's name. A fixed task's gin file binds `task.family` and the family's
config fields (`<family>.<field> = value`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import pathlib
from typing import Any, Mapping

import taskset
from taskset import config as config_lib
from taskset.datasets.base import DATASETS
from taskset.paths import atomic_write_text, cache_dir
from taskset.errors import ConfigError, UnknownNameError
from taskset.registry import Registry, unknown_name_message
from taskset.sampling import parse_seeded_name, stable_hash
from taskset.tasks.base import Task, TaskFamily

TASK_FAMILIES: Registry[TaskFamily] = Registry("task family")
FIXED: Registry[pathlib.Path] = Registry("fixed task")
FIXED_DIR = pathlib.Path(__file__).parent / "fixed"


@dataclasses.dataclass(frozen=True)
class TaskEntry:
    """One catalogue row, computed without TensorFlow."""

    name: str
    family: str
    runnable: bool
    num_params: int
    datasets: tuple[str, ...]
    fixed: bool

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "datasets": list(self.datasets)}


def register_family(family: TaskFamily) -> TaskFamily:
    """Adds a family instance to the catalogue."""
    return TASK_FAMILIES.register(family.name, family)


@functools.lru_cache(maxsize=1)
def _load_fixed() -> None:
    for path in sorted(FIXED_DIR.glob("*.gin")):
        FIXED.register(path.stem, path)


def sample_task(family: str, seed: int) -> Task:
    """The task `<family>_seed<seed>`."""
    fam = TASK_FAMILIES.get(family)
    return fam.build(fam.sample_config(seed), f"{family}_seed{seed}")


def _fixed_task(name: str) -> Task:
    path = FIXED.get(name)
    bindings = config_lib.parse_gin(path.read_text(), filename=str(path))
    header = bindings.pop("task", {})
    family = header.get("family")
    if family is None or set(bindings) - {family}:
        raise ConfigError(f"{path}: expected `task.family = '<family>'` and `<family>.<field>` bindings, "
                          f"got selectors {sorted(bindings)!r}")
    return task_from_config({"family": family, **bindings.get(family, {})}, name=name)


def task_from_config(config: Mapping[str, Any], name: str | None = None) -> Task:
    """Rebuilds a task from its config dict (as in `Task.config_dict` / a curve row).

    Args:
      config: {"family": ..., <field>: <value>, ...}.
      name: the task's name; defaults to `<family>_custom_<hash>` of the config.

    Raises:
      ConfigError: missing family, unknown or badly typed fields.
      UnknownNameError: unknown family.
    """
    if not isinstance(config, Mapping) or "family" not in config:
        raise ConfigError(f"a task config needs a 'family' key, got {config!r}")
    data = dict(config)
    family = TASK_FAMILIES.get(data.pop("family"))
    cfg = family.config_from_dict(data)
    if name is None:
        name = f"{family.name}_custom_{stable_hash(config_lib.to_json(config)):08x}"
    return family.build(cfg, name)


def task_from_gin(text: str, name: str | None = None) -> Task:
    """Rebuilds a task from gin bindings as written by `task_to_gin`."""
    bindings = config_lib.parse_gin(text)
    header = bindings.pop("task", {})
    family = header.get("family")
    if family is None:
        raise ConfigError("gin config lacks `task.family = '<family>'`")
    return task_from_config({"family": family, **bindings.get(family, {})}, name=name or header.get("name"))


def task_to_gin(task: Task) -> str:
    """The task's config as gin bindings (inverse of `task_from_gin`)."""
    data = dict(task.config_dict)
    family = data.pop("family")
    return config_lib.to_gin(family, data, header={"family": family, "name": task.name})


def get_task(name: str) -> Task:
    """The task called `name`: `<family>_seed<N>` or a fixed task.

    Raises:
      UnknownNameError: neither; the message suggests close names.
    """
    _load_fixed()
    parsed = parse_seeded_name(name) if isinstance(name, str) else None
    if parsed is not None and parsed[0] in TASK_FAMILIES:
        return sample_task(*parsed)
    if name in FIXED:
        return _fixed_task(name)
    # Close matches among, and the count of, the whole catalogue (every seed of every family).
    raise UnknownNameError(unknown_name_message("task", name, task_names()))


def task_names(family: str | None = None) -> list[str]:
    """Catalogue names, optionally of one family ("fixed" selects the fixed tasks)."""
    _load_fixed()
    families = TASK_FAMILIES.list() if family in (None, "fixed") else [TASK_FAMILIES.get(family).name]
    names = [] if family == "fixed" else [f"{f}_seed{i}" for f in families
                                          for i in range(TASK_FAMILIES.get(f).num_seeds)]
    if family is None or family == "fixed":
        names += FIXED.list()
    return names


def _static_facts(name: str) -> dict[str, Any]:
    task = get_task(name)
    return {"family": task.family, "num_params": task.num_params,
            "datasets": list(task.required_datasets()), "fixed": name in FIXED}


def _source_key() -> str:
    """A hash of everything that determines the catalogue: the package version and sources."""
    root = pathlib.Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(taskset.__version__.encode())
    for path in sorted(root.rglob("*.py")) + sorted(FIXED_DIR.glob("*.gin")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def _catalogue_index() -> dict[str, dict[str, Any]]:
    """Static facts of every catalogue task, cached on disk under a hash of the sources.

    Sampling 1,300 configs costs about a second; the cache keeps `tasks list`
    fast. A changed source file changes the key, so the cache cannot go stale.
    An unwritable cache directory only costs speed.
    """
    path = cache_dir() / f"catalogue-{_source_key()}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    index = {name: _static_facts(name) for name in task_names()}
    try:
        atomic_write_text(path, json.dumps(index, sort_keys=True))
    except OSError:
        pass
    return index


@functools.lru_cache(maxsize=None)
def _dataset_available(name: str) -> bool:
    return DATASETS.get(name).is_available()


def list_tasks(family: str | None = None, runnable_only: bool = False) -> list[TaskEntry]:
    """Catalogue entries (name, family, runnable, parameter count, datasets).

    `family` may name a sampled family, or "fixed" for the hand-designed tasks;
    a fixed task's `family` field is the family that builds it. Runnability is
    checked now, not cached.
    """
    index = _catalogue_index()
    entries = []
    for name in task_names(family):
        facts = index[name]
        runnable = all(_dataset_available(d) for d in facts["datasets"])
        if runnable or not runnable_only:
            entries.append(TaskEntry(name=name, family=facts["family"], runnable=runnable,
                                     num_params=facts["num_params"], datasets=tuple(facts["datasets"]),
                                     fixed=facts["fixed"]))
    return entries
