"""The optimizer contract: hyperparameter spaces, deterministic samplers, pure update rules.

An `UpdateRule` is a pair of pure functions (optax's GradientTransformation):
  init(params) -> state
  update(grads, state, params, hparams, step, total_steps) -> (new_params, new_state)
`hparams` maps every name of the family's space to a float32 scalar tensor
(booleans are 0.0/1.0, choices are their index), so K configs of one family can
be stacked by the trainer. `step` counts from 0 (the update being computed) and
`total_steps` is the length of the run, for schedules. No rule holds a
`tf.Variable`: the trainer owns all state.

An `OptimizerConfig` is one point of a space with a name: `<family>_seed<N>` for
sampled configs (the same numbers everywhere), or a fixed name such as
`adam_default`.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from typing import Any, Callable, ClassVar, NamedTuple

from taskset.errors import ConfigError
from taskset.registry import Registry
from taskset.sampling import field_rng


class UpdateRule(NamedTuple):
    """init(params) -> state; update(grads, state, params, hparams, step, total_steps) -> (params, state)."""

    init: Callable[..., Any]
    update: Callable[..., tuple[Any, Any]]


@dataclasses.dataclass(frozen=True)
class Dim:
    """One hyperparameter of a space.

    Attributes:
      name: the hparam's key.
      kind: "log" (log-uniform on [low, high]), "one_minus_log" (1 - a log-uniform
        draw on [low, high], e.g. beta1 = 1 - log[1e-4, 1]), "linear" (uniform),
        "choice" (index into `choices`, stored as a float) or "bool".
      low, high: the range of the draw (for one_minus_log: of 1 - value).
      choices: options for kind "choice".
      zero_prob: probability that the value is exactly 0 instead of a draw
        (e.g. nadamw's warmup fraction: 0 or log[1e-5, 1e-1]).
    """

    name: str
    kind: str
    low: float = 0.0
    high: float = 1.0
    choices: tuple[Any, ...] = ()
    zero_prob: float = 0.0

    def sample(self, rng) -> float:
        """A value drawn with the family's generator for this dimension."""
        if self.zero_prob and rng.uniform() < self.zero_prob:
            return 0.0
        if self.kind == "log":
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        if self.kind == "one_minus_log":
            return 1.0 - float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        if self.kind == "linear":
            return float(rng.uniform(self.low, self.high))
        if self.kind == "choice":
            return float(rng.integers(len(self.choices)))
        if self.kind == "bool":
            return float(rng.uniform() < 0.5)
        raise ValueError(f"unknown dimension kind {self.kind!r}")

    def check(self, value: float) -> None:
        """Raises ConfigError if `value` is outside this dimension."""
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise ConfigError(f"hparam {self.name!r} must be a finite number, got {value!r}")
        if self.zero_prob and value == 0.0:
            return
        if self.kind in ("log", "linear"):
            ok = self.low * (1 - 1e-9) <= value <= self.high * (1 + 1e-9)
        elif self.kind == "one_minus_log":
            ok = self.low * (1 - 1e-9) <= 1.0 - value <= self.high * (1 + 1e-9)
        elif self.kind == "choice":
            ok = float(value).is_integer() and 0 <= value < len(self.choices)
        else:
            ok = value in (0.0, 1.0)
        if not ok:
            raise ConfigError(f"hparam {self.name!r}={value!r} is outside its range ({self.describe()})")

    def describe(self) -> str:
        """A short human description of the range."""
        zero = f"0 w.p. {self.zero_prob:g}, else " if self.zero_prob else ""
        if self.kind == "log":
            return f"{zero}log-uniform [{self.low:g}, {self.high:g}]"
        if self.kind == "one_minus_log":
            return f"{zero}1 - log-uniform [{self.low:g}, {self.high:g}]"
        if self.kind == "linear":
            return f"{zero}uniform [{self.low:g}, {self.high:g}]"
        if self.kind == "choice":
            return f"index into {list(self.choices)!r}"
        return "bool (0 or 1)"

    def to_json(self) -> dict[str, Any]:
        """The dimension as JSON data (what `optimizers list --json` prints)."""
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "description": self.describe()}
        if self.kind in ("log", "one_minus_log", "linear"):
            data.update(low=self.low, high=self.high)
        if self.kind == "choice":
            data["choices"] = list(self.choices)
        if self.zero_prob:
            data["zero_prob"] = self.zero_prob
        return data


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    """A named point of a family's space: what a curve row records."""

    name: str
    family: str
    hparams: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "family": self.family, "hparams": dict(sorted(self.hparams.items()))}


class OptimizerFamily(abc.ABC):
    """A hyperparameter space, its sampler, and the update rule it parametrises.

    Subclasses set `name`, `space` and `description`, and implement `rule`.
    """

    name: ClassVar[str]
    space: ClassVar[tuple[Dim, ...]]
    description: ClassVar[str] = ""

    @abc.abstractmethod
    def rule(self) -> UpdateRule:
        """The pure update rule, taking hparams keyed by `space` names."""

    def sample(self, seed: int) -> OptimizerConfig:
        """`<name>_seed<seed>`: each dimension from its own seeded generator."""
        hparams = {dim.name: dim.sample(field_rng(self.name, seed, dim.name)) for dim in self.space}
        return OptimizerConfig(f"{self.name}_seed{seed}", self.name, hparams)

    def to_json(self) -> dict[str, Any]:
        """The family's name, description and space as JSON data."""
        return {"name": self.name, "description": self.description, "space": [d.to_json() for d in self.space]}

    def make_config(self, name: str, hparams: dict[str, float]) -> OptimizerConfig:
        """Validates `hparams` against the space and names the config."""
        names = [d.name for d in self.space]
        unknown, missing = sorted(set(hparams) - set(names)), sorted(set(names) - set(hparams))
        if unknown or missing:
            raise ConfigError(f"optimizer {self.name!r} hparams: unknown {unknown!r}, missing {missing!r}; "
                              f"expected exactly {names!r}")
        for dim in self.space:
            dim.check(hparams[dim.name])
        return OptimizerConfig(name, self.name, {k: float(hparams[k]) for k in names})


FAMILIES: Registry[OptimizerFamily] = Registry("optimizer family")
NAMED_CONFIGS: Registry[OptimizerConfig] = Registry("optimizer config")
