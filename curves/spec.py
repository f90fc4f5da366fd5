"""Sweep specs: which tasks, which optimizer configs, how long, as a gin file of literals.

A spec has three selectors (see `curves/specs/quick.gin`):

  sweep.name = 'quick'          # free text, shown by `curves plan`
  sweep.steps = 200             # training steps per curve
  sweep.eval_every = 20         # evaluate all four splits at 0, 20, ..., steps (must divide steps)
  sweep.eval_batches = 5        # batches averaged per split and evaluation
  sweep.replicas = 1            # replicas r = 0..replicas-1; replica r trains with seed r
  sweep.population = 10         # optimizer configs trained together in one job

  tasks.names = ['mlp_seed12']              # catalogue names (sampled or fixed)
  tasks.families = {'mlp': (0, 100)}        # family -> seed range [start, stop)
  tasks.runnable = True                     # drop tasks whose data is not on this machine
                                            # (`curves plan` keeps and marks them; see `load_spec`)

  optimizers.families = {'adam8p': (0, 1000)}   # family -> seed range [start, stop)
  optimizers.names = ['adam_default']           # named or `<family>_seed<N>` configs

Tasks and optimizer configs appear in the order written (names first, then
families in sorted order), each once. Everything is resolved and checked when
the spec is loaded: an unknown task, family or optimizer is an
`UnknownNameError` naming it with close matches, any other mistake a
`ConfigError` naming the field; neither imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any, Mapping

from taskset import config as config_lib
from taskset.errors import ConfigError, UnknownNameError
from taskset.optimizers import OptimizerConfig, get_family, get_optimizer_config
from taskset.tasks import TASK_FAMILIES
from taskset.tasks import Task, get_task, sample_task


@dataclasses.dataclass(frozen=True)
class SweepSettings:
    """The `sweep.` bindings of a spec."""

    name: str
    steps: int
    eval_every: int
    eval_batches: int = 5
    replicas: int = 1
    population: int = 10

    def validate(self) -> None:
        """Raises ValueError for a field below 1 or above its bound in `taskset.limits`."""
        from taskset.limits import MAX_EVAL_BATCHES, MAX_POPULATION, MAX_REPLICAS, MAX_STEPS

        bounds = {"steps": MAX_STEPS, "eval_every": MAX_STEPS, "eval_batches": MAX_EVAL_BATCHES,
                  "replicas": MAX_REPLICAS, "population": MAX_POPULATION}
        for field, high in bounds.items():
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                raise ValueError(f"sweep.{field} must be an integer from 1 to {high:,}, got {value!r}")
        if self.steps % self.eval_every:
            raise ValueError(f"sweep.eval_every={self.eval_every!r} must divide sweep.steps={self.steps!r} "
                             "(curves are evaluated at 0, eval_every, ..., steps)")


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A loaded, fully resolved sweep.

    Attributes:
      settings: steps, evaluation schedule, replicas, population size.
      tasks: the selected tasks, in spec order.
      optimizers: the selected optimizer configs, in spec order.
      dropped: names of tasks left out by the runnable filter (`tasks.runnable = True`).
      missing: names of selected tasks whose data is not on this machine (kept
        because the filter was off: they are planned, and fail here if run).
      source: where the spec came from, for messages.
    """

    settings: SweepSettings
    tasks: tuple[Task, ...]
    optimizers: tuple[OptimizerConfig, ...]
    dropped: tuple[str, ...] = ()
    source: str = "<spec>"
    missing: tuple[str, ...] = ()


_SELECTORS = {"sweep", "tasks", "optimizers"}
_TASK_FIELDS = {"names", "families", "runnable"}
_OPTIMIZER_FIELDS = {"names", "families"}


def load_spec(path: str | pathlib.Path, runnable_only: bool | None = None) -> SweepSpec:
    """Loads and resolves the gin spec at `path`.

    Args:
      path: the spec file.
      runnable_only: drop tasks whose data is not on this machine (True), keep
        and list them in `missing` (False), or do as the spec's
        `tasks.runnable` says (None). `curves plan` passes False: a plan may be
        for a cluster whose workers have the data.

    Raises:
      ConfigError: unreadable file, bad syntax, unknown field, bad value.
      UnknownNameError: an unknown task, task family, optimizer family or config.
    """
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read sweep spec {str(path)!r}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"sweep spec {str(path)!r} is not UTF-8 text (byte {err.start}: {err.reason}); pass a gin "
                          "file such as curves/specs/quick.gin") from None
    return parse_spec(text, source=str(path), runnable_only=runnable_only)


def parse_spec(text: str, source: str = "<spec>", runnable_only: bool | None = None) -> SweepSpec:
    """Parses and resolves a spec given as gin text (see the module docstring and `load_spec`)."""
    bindings = config_lib.parse_gin(text, filename=source)
    unknown = sorted(set(bindings) - _SELECTORS)
    if unknown:
        raise ConfigError(f"{source}: unknown selector(s) {unknown!r}; accepted: {sorted(_SELECTORS)!r}")
    settings = config_lib.from_dict(SweepSettings, bindings.get("sweep", {}), what=f"{source}: sweep")
    try:
        settings.validate()
    except ValueError as err:
        raise ConfigError(f"{source}: {err}") from None
    tasks, dropped, missing = _resolve_tasks(bindings.get("tasks", {}), source, runnable_only)
    optimizers = _resolve_optimizers(bindings.get("optimizers", {}), source)
    return SweepSpec(settings=settings, tasks=tasks, optimizers=optimizers, dropped=dropped, source=source,
                     missing=missing)


def _check_fields(section: Mapping[str, Any], accepted: set[str], selector: str, source: str) -> None:
    unknown = sorted(set(section) - accepted)
    if unknown:
        raise ConfigError(f"{source}: unknown field(s) {[f'{selector}.{u}' for u in unknown]!r}; "
                          f"accepted: {sorted(f'{selector}.{a}' for a in accepted)!r}")


def _names(value: Any, where: str) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of names, got {value!r}")
    return list(value)


def _seed_ranges(value: Any, where: str) -> list[tuple[str, range]]:
    """{'family': (start, stop)} as (family, range) pairs, families sorted."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must map family names to (start, stop) seed ranges, got {value!r}")
    out = []
    for family in sorted(value):
        bounds = value[family]
        ok = (isinstance(bounds, (list, tuple)) and len(bounds) == 2
              and all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)
              and 0 <= bounds[0] < bounds[1])
        if not ok:
            raise ConfigError(f"{where}[{family!r}] must be (start, stop) with 0 <= start < stop, got {bounds!r}")
        out.append((family, range(bounds[0], bounds[1])))
    return out


def _with_source(err: UnknownNameError, where: str) -> UnknownNameError:
    return UnknownNameError(f"{where}: {err}")


def _resolve_tasks(section: Mapping[str, Any], source: str, runnable_only: bool | None = None
                   ) -> tuple[tuple[Task, ...], tuple[str, ...], tuple[str, ...]]:
    """(kept tasks, names dropped by the runnable filter, names of kept tasks whose data is missing here)."""
    _check_fields(section, _TASK_FIELDS, "tasks", source)
    in_spec = section.get("runnable", True)
    if not isinstance(in_spec, bool):
        raise ConfigError(f"{source}: tasks.runnable must be True or False, got {in_spec!r}")
    if runnable_only is None:
        runnable_only = in_spec
    tasks: dict[str, Task] = {}
    for name in _names(section.get("names", []), f"{source}: tasks.names"):
        try:
            tasks.setdefault(name, get_task(name))
        except UnknownNameError as err:
            raise _with_source(err, f"{source}: tasks.names") from None
    for family, seeds in _seed_ranges(section.get("families", {}), f"{source}: tasks.families"):
        try:
            TASK_FAMILIES.get(family)
        except UnknownNameError as err:
            raise _with_source(err, f"{source}: tasks.families") from None
        for seed in seeds:
            tasks.setdefault(f"{family}_seed{seed}", sample_task(family, seed))
    if not tasks:
        raise ConfigError(f"{source}: the spec selects no tasks; bind tasks.names or tasks.families")
    runnable = {name: task.is_runnable() for name, task in tasks.items()}
    kept = {name: task for name, task in tasks.items() if not runnable_only or runnable[name]}
    if not kept:
        raise ConfigError(f"{source}: none of the {len(tasks)} selected tasks is runnable on this machine "
                          "(their datasets are missing); prepare them with `taskset-bench data prepare NAME` "
                          "or set tasks.runnable = False to record the failures")
    dropped = tuple(name for name in tasks if name not in kept)
    missing = tuple(name for name in kept if not runnable[name])
    return tuple(kept.values()), dropped, missing


def _resolve_optimizers(section: Mapping[str, Any], source: str) -> tuple[OptimizerConfig, ...]:
    _check_fields(section, _OPTIMIZER_FIELDS, "optimizers", source)
    configs: dict[str, OptimizerConfig] = {}
    for name in _names(section.get("names", []), f"{source}: optimizers.names"):
        try:
            configs.setdefault(name, get_optimizer_config(name))
        except UnknownNameError as err:
            raise _with_source(err, f"{source}: optimizers.names") from None
    for family, seeds in _seed_ranges(section.get("families", {}), f"{source}: optimizers.families"):
        try:
            sampler = get_family(family)
        except UnknownNameError as err:
            raise _with_source(err, f"{source}: optimizers.families") from None
        for seed in seeds:
            configs.setdefault(f"{family}_seed{seed}", sampler.sample(seed))
    if not configs:
        raise ConfigError(f"{source}: the spec selects no optimizer configs; bind optimizers.names "
                          "or optimizers.families")
    return tuple(configs.values())
