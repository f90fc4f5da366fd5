"""Optimizer families, named configs and their pure update rules.

Importing this package registers every family without importing TensorFlow:
each family module registers itself in `OPTIMIZER_FAMILIES` when imported, and the
imports below are the list of them (add a new family module there). Names of configs:
`<family>_seed<N>` (sampled, the same numbers everywhere) or a fixed name from
`NAMED_CONFIGS` (`adam_default`, `adam_lr_1e-03`, ...).

Typical use by a trainer:
  config = get_optimizer_config("adam8p_seed12")
  rule = get_rule(config.family)
  state = rule.init(params)
  params, state = rule.update(grads, state, params, hparam_tensors(config.hparams), step, total_steps)
"""

from __future__ import annotations

import difflib
from typing import Mapping

from taskset.errors import UnknownNameError
from taskset.lazy import tf
from taskset.optimizers.base import (NAMED_CONFIGS, OPTIMIZER_FAMILIES, Dim, OptimizerConfig,
                                     OptimizerFamily, UpdateRule)
from taskset.sampling import parse_seeded_name

from taskset.optimizers import adam  # noqa: F401, E402  (registration)
from taskset.optimizers import nadamw  # noqa: F401, E402
from taskset.optimizers import sgdm  # noqa: F401, E402
from taskset.optimizers import adam_tf1  # noqa: F401, E402  TaskSet-exact variants: adam1p_tf1 ... adam8p_tf1
from taskset.optimizers import nadamw_tf1  # noqa: F401, E402


def list_optimizer_families() -> list[str]:
    """The registered family names, sorted."""
    return OPTIMIZER_FAMILIES.list()


def get_family(name: str) -> OptimizerFamily:
    """The family called `name` (raises UnknownNameError with close matches)."""
    return OPTIMIZER_FAMILIES.get(name)


_RULES: dict[str, tuple[OptimizerFamily, UpdateRule]] = {}


def get_rule(family: str) -> UpdateRule:
    """The update rule of `family`; its hparams are keyed by the family's space names.

    Built once per registered family object and then returned as is, so that the
    trainer, which keys its compiled loops by the rule, reuses them across calls.
    """
    obj = get_family(family)
    built = _RULES.get(family)
    if built is None or built[0] is not obj:
        built = _RULES[family] = (obj, obj.rule())
    return built[1]


def make_config(family: str, hparams: Mapping[str, float], name: str) -> OptimizerConfig:
    """A validated config of `family` called `name` (raises ConfigError on a bad or missing hparam)."""
    return get_family(family).make_config(name, dict(hparams))


def get_optimizer_config(name: str) -> OptimizerConfig:
    """The config called `name`: a named config, or `<family>_seed<N>` sampled from the family.

    Raises:
      UnknownNameError: neither a named config nor a seeded name of a known family;
        the message lists close matches.
    """
    if name in NAMED_CONFIGS:
        return NAMED_CONFIGS.get(name)
    parsed = parse_seeded_name(name) if isinstance(name, str) else None
    if parsed is not None and parsed[0] in OPTIMIZER_FAMILIES:
        return OPTIMIZER_FAMILIES.get(parsed[0]).sample(parsed[1])
    raise UnknownNameError(_unknown_config_message(name, parsed))


def _unknown_config_message(name: object, parsed: tuple[str, int] | None) -> str:
    seed = parsed[1] if parsed is not None else 0
    candidates = NAMED_CONFIGS.list() + [f"{family}_seed{seed}" for family in OPTIMIZER_FAMILIES.list()]
    close = difflib.get_close_matches(str(name), candidates, n=5, cutoff=0.6)
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    if name in OPTIMIZER_FAMILIES:
        hint = f"{name!r} is a family; name one of its configs, e.g. '{name}_seed0'. "
    return (f"unknown optimizer config {name!r}; {hint}Configs are <family>_seed<N> for a family in "
            f"{OPTIMIZER_FAMILIES.list()!r} or a named config (see `taskset-bench optimizers list`)")


def hparam_tensors(hparams: Mapping[str, float]) -> dict[str, object]:
    """`hparams` as the float32 scalar tensors an update rule takes."""
    return {key: tf.constant(value, tf.float32) for key, value in hparams.items()}


__all__ = ["NAMED_CONFIGS", "OPTIMIZER_FAMILIES", "Dim", "OptimizerConfig", "OptimizerFamily",
           "UpdateRule", "get_family", "get_optimizer_config", "get_rule", "hparam_tensors", "list_optimizer_families",
           "make_config"]
