"""The optimizers under test: `--optimizer SPEC` resolved into something the benchmark can train.

A SPEC is one of
  NAME                 a config name: `adam_default`, `adam8p_seed3`, `nadamw_seed0`, ...
                       (see `taskset-bench optimizers list`);
  list:LIST:INDEX      entry INDEX (from 0) of a hyperparameter list: LIST is a shipped
                       list name or a path to a list file (`hparam_lists.load_list`);
  MODULE:FUNCTION      a factory: FUNCTION in the importable module MODULE (the current
                       directory is put on the import path, as uvicorn and gunicorn do),
                       called with no arguments. It must return one of
                         - `(rule, hparams)`: a taskset update rule (`taskset.optimizers.UpdateRule`,
                           or any object with the same pure `init(params) -> state` and
                           `update(grads, state, params, hparams, step, total_steps) ->
                           (new_params, new_state)`), and the flat dict of float
                           hyperparameters it is called with (each becomes a float32 scalar
                           tensor, as for the built-in families);
                         - a rule alone, called with `hparams = {}`;
                         - a Keras 3 optimizer instance (`keras.optimizers.Optimizer`).
                       Rules train in the population trainer like built-in configs. A Keras
                       optimizer cannot: it owns its state in variables, so the benchmark
                       calls the factory afresh for every (task, replica) and drives it with
                       `apply_gradients` over `tf.Variable`s, one config per run and without
                       XLA (slower; see `eval.benchmark.keras_run`).

Every contender becomes an `OptimizerConfig` named by its SPEC, which is what
its curves record: the family's own for a config or a list entry, and for a
factory the family "rule:MODULE:FUNCTION" or "keras:MODULE:FUNCTION" with the
rule's hparams, or the Keras optimizer's numeric settings (`get_config()`), as
hparams. A bad SPEC raises `SpecError`, one line naming it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import math
import os
import sys
from typing import Any, Callable, Mapping

from taskset.errors import TasksetError
from taskset.optimizers.base import OptimizerConfig

KIND_CONFIG = "config"
KIND_LIST = "list"
KIND_RULE = "rule"
KIND_KERAS = "keras"
USER_KINDS = (KIND_RULE, KIND_KERAS)
LIST_PREFIX = "list:"
ACCEPTED = ("a config name (e.g. 'adam_default', 'adam8p_seed3'), 'list:NAME|PATH:INDEX', or 'MODULE:FUNCTION' "
            "returning (UpdateRule, hparams dict), an UpdateRule, or a Keras 3 optimizer")


class SpecError(TasksetError):
    """An --optimizer SPEC cannot be resolved: unknown name, import error, wrong kind of object."""


@dataclasses.dataclass(frozen=True)
class Contender:
    """One optimizer under test.

    Attributes:
      spec: the SPEC as given; it names the contender's curves and report rows.
      kind: "config", "list", "rule" or "keras".
      config: what its curves record (see the module docstring).
      source_sha256: for a factory, the sha256 of its module's source file (None
        otherwise): the benchmark's job keys include it, so editing the factory
        reruns its training instead of reusing stored curves.
    """

    spec: str
    kind: str
    config: OptimizerConfig
    source_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"spec": self.spec, "kind": self.kind, "family": self.config.family,
                "hparams": dict(sorted(self.config.hparams.items())), "source_sha256": self.source_sha256}


def resolve(spec: str) -> Contender:
    """The contender a SPEC names (see the module docstring).

    Raises:
      SpecError: the SPEC names nothing trainable; the message names the SPEC and
        says what is accepted.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError(f"--optimizer {spec!r} is empty; accepted: {ACCEPTED}")
    try:
        if spec.startswith(LIST_PREFIX):
            return _from_list(spec)
        if ":" in spec:
            return _from_factory(spec)
        return _from_config(spec)
    except SpecError:
        raise
    except TasksetError as err:
        raise SpecError(_one_line(f"--optimizer {spec!r}: {err}")) from None


def user_family(kind: str, target: str) -> str:
    """The family recorded for a factory's curves, e.g. "keras:my_opts:make_adam"."""
    return f"{kind}:{target}"


def parse_user_family(family: str) -> tuple[str, str] | None:
    """(kind, "MODULE:FUNCTION") of a factory's family, or None for a registered family's name."""
    kind, _, target = family.partition(":")
    return (kind, target) if kind in USER_KINDS and target else None


def load_factory(target: str) -> Callable[[], Any]:
    """The callable named "MODULE:FUNCTION" (the current directory is importable).

    Raises:
      SpecError: the module cannot be imported, or lacks a callable of that name.
    """
    module_name, _, function = target.rpartition(":")
    if not module_name or not function:
        raise SpecError(f"--optimizer {target!r}: a factory is written MODULE:FUNCTION, e.g. my_opts:make_adam")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # noqa: BLE001 - any failure to import the user's module is a bad SPEC
        raise SpecError(_one_line(f"--optimizer {target!r}: cannot import module {module_name!r} "
                                  f"({type(err).__name__}: {err}); is it on PYTHONPATH or in the current "
                                  "directory?")) from None
    factory = getattr(module, function, None)
    if not callable(factory):
        raise SpecError(f"--optimizer {target!r}: module {module_name!r} has no callable {function!r}")
    return factory


def call_factory(target: str) -> tuple[str, Any, dict[str, float]]:
    """Calls the factory "MODULE:FUNCTION" and classifies what it returned.

    Returns:
      (kind, obj, hparams): ("rule", the rule, its hparams) or ("keras", the
      optimizer, its numeric settings).

    Raises:
      SpecError: the import or the call failed, or it returned something else.
    """
    factory = load_factory(target)
    try:
        made = factory()
    except Exception as err:  # noqa: BLE001 - the user's factory failing is a bad SPEC, reported in one line
        raise SpecError(_one_line(f"--optimizer {target!r}: calling it raised {type(err).__name__}: {err}")) from None
    keras = sys.modules.get("keras")  # a Keras optimizer implies Keras is imported
    if keras is not None and isinstance(made, keras.optimizers.Optimizer):
        return KIND_KERAS, made, keras_hparams(made)
    rule, hparams = (made if isinstance(made, tuple) and len(made) == 2 and not _is_rule(made) else (made, {}))
    if not _is_rule(rule):
        raise SpecError(_one_line(f"--optimizer {target!r} returned {type(made).__name__} {made!r:.60}; it must "
                                  "return (UpdateRule, hparams dict), an UpdateRule (an object with init and "
                                  "update), or a keras.optimizers.Optimizer"))
    return KIND_RULE, rule, _check_hparams(hparams, target)


def keras_hparams(optimizer) -> dict[str, float]:
    """The finite numeric settings of a Keras optimizer's `get_config()` (its learning rate, betas, ...)."""
    out = {}
    for key, value in sorted(optimizer.get_config().items()):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[key] = float(value)
    return out


def source_sha256(target: str) -> str | None:
    """sha256 of the source file of the factory's module (None for a module without one)."""
    module = sys.modules.get(target.rpartition(":")[0])
    path = getattr(module, "__file__", None)
    if not path or not os.path.isfile(path):
        return None
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _from_config(spec: str) -> Contender:
    from taskset.optimizers import get_optimizer_config

    return Contender(spec, KIND_CONFIG, get_optimizer_config(spec))


def _from_list(spec: str) -> Contender:
    from hparam_lists import load_list
    from taskset.optimizers import make_config

    source, _, index_text = spec[len(LIST_PREFIX):].rpartition(":")
    if not source or not index_text.isdigit():
        raise SpecError(f"--optimizer {spec!r}: a list entry is written list:NAME|PATH:INDEX with INDEX >= 0, "
                        "e.g. list:nadamw-mini:0")
    hparam_list = load_list(source)
    index = int(index_text)
    if index >= len(hparam_list):
        raise SpecError(f"--optimizer {spec!r}: list {source!r} has {len(hparam_list)} entries, so INDEX must be "
                        f"in [0, {len(hparam_list) - 1}]")
    entry = hparam_list.entries[index]
    return Contender(spec, KIND_LIST, make_config(entry.family, entry.hparams, spec))


def _from_factory(spec: str) -> Contender:
    kind, _, hparams = call_factory(spec)
    config = OptimizerConfig(spec, user_family(kind, spec), hparams)
    return Contender(spec, kind, config, source_sha256(spec))


def _is_rule(obj: Any) -> bool:
    return callable(getattr(obj, "init", None)) and callable(getattr(obj, "update", None))


def _check_hparams(hparams: Any, target: str) -> dict[str, float]:
    if not isinstance(hparams, Mapping):
        raise SpecError(_one_line(f"--optimizer {target!r}: hparams must be a dict of str -> float, got "
                                  f"{hparams!r:.60}"))
    out = {}
    for key, value in hparams.items():
        if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise SpecError(_one_line(f"--optimizer {target!r}: hparam {key!r}={value!r} must be a finite number "
                                      "keyed by a string"))
        out[key] = float(value)
    return out


def _one_line(text: str) -> str:
    return " ".join(text.split())
