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


DIM_KINDS = ("log", "one_minus_log", "linear", "choice", "bool")
"""The kinds of `Dim`."""


@dataclasses.dataclass(frozen=True)
class Dim:
    """One hyperparameter of a space: how it is drawn, checked, and searched in the unit cube.

    Searches (random search distances, Bayesian optimisation) work in unit
    coordinates: `to_unit` maps a value into [0, 1] (categorical dims keep their
    index) and `from_unit` maps back; `skopt_dimension` is the matching
    scikit-optimize dimension.

    Attributes:
      name: the hparam's key.
      kind: "log" (log-uniform on [low, high]), "one_minus_log" (1 - a log-uniform
        draw on [low, high], e.g. beta1 = 1 - log[1e-4, 1]), "linear" (uniform),
        "choice" (index into `choices`, stored as a float) or "bool".
      low, high: the range of the draw (for one_minus_log: of 1 - value).
      choices: options for kind "choice".
      zero_prob: probability that the value is exactly 0 instead of a draw
        (e.g. nadamw's warmup fraction: 0 or log[1e-5, 1e-1]).

    Raises:
      ValueError: at construction, an unknown kind, an empty or reversed range
        (log kinds: not 0 < low < high), a choice dim without choices, or a
        zero_prob outside [0, 1).
    """

    name: str
    kind: str
    low: float = 0.0
    high: float = 1.0
    choices: tuple[Any, ...] = ()
    zero_prob: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in DIM_KINDS:
            raise ValueError(f"Dim {self.name!r}: unknown kind {self.kind!r}; expected one of {list(DIM_KINDS)!r}")
        if self.kind in ("log", "one_minus_log") and not 0 < self.low < self.high:
            raise ValueError(f"Dim {self.name!r}: kind {self.kind!r} needs 0 < low < high, got low={self.low!r}, "
                             f"high={self.high!r}")
        if self.kind == "linear" and not self.low < self.high:
            raise ValueError(f"Dim {self.name!r}: needs low < high, got low={self.low!r}, high={self.high!r}")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"Dim {self.name!r}: kind 'choice' needs choices")
        if not 0.0 <= self.zero_prob < 1.0:
            raise ValueError(f"Dim {self.name!r}: zero_prob must be in [0, 1), got {self.zero_prob!r}")

    @property
    def categorical(self) -> bool:
        """True for bool and choice dims: their unit coordinate is the value, a category."""
        return self.kind in ("bool", "choice")

    def to_unit(self, value: float) -> float:
        """`value` as a unit coordinate: the inverse of `from_unit`, clipped into [0, 1].

        log dims: (log x - log low) / (log high - log low); one_minus_log dims: the
        same on 1 - x; linear dims: (x - low) / (high - low); bool and choice dims:
        the value itself (an index). A value 0 of a dim with a zero probability
        (e.g. nadamw's "no warmup") sits at the low end, next to the smallest
        draws, which behave alike.
        """
        if self.categorical:
            return value
        if self.kind == "linear":
            return min(max((value - self.low) / (self.high - self.low), 0.0), 1.0)
        x = 1.0 - value if self.kind == "one_minus_log" else value
        if x <= 0.0:
            return 0.0
        lo, hi = math.log(self.low), math.log(self.high)
        return min(max((math.log(x) - lo) / (hi - lo), 0.0), 1.0)

    def from_unit(self, u: float) -> float:
        """The value at unit coordinate `u` (categorical dims: `u` is the value).

        u in [0, 1] maps onto the range, log or linear as the dim is drawn. A dim
        that the sampler sets to 0 with some probability (nadamw's decays, warmup
        and minimum lr) maps onto its range only: its low end (1e-5) behaves
        like 0, and never proposing 0 keeps every point valid under joint
        constraints such as nadamw's "not both decays 0".
        """
        if self.categorical:
            return float(u)
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "linear":
            return self.low + u * (self.high - self.low)
        value = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        value = min(max(value, self.low), self.high)  # exp(log(x)) may leave the range by an ulp
        return 1.0 - value if self.kind == "one_minus_log" else value

    def skopt_dimension(self):
        """The scikit-optimize dimension searching this dim in unit coordinates.

        `Real(0, 1)` for continuous dims (the log scale is already in `to_unit`),
        `Categorical` over the float indices for bool and choice dims.
        """
        from skopt.space import Categorical, Real

        if self.kind == "bool":
            return Categorical([0.0, 1.0], name=self.name)
        if self.kind == "choice":
            return Categorical([float(i) for i in range(len(self.choices))], name=self.name)
        return Real(0.0, 1.0, name=self.name)

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


def skopt_space(space: "tuple[Dim, ...] | list[Dim]") -> list:
    """The scikit-optimize search space of an optimizer family's `space`, in unit coordinates
    (what `hparam_lists.baselines` and `eval.methods` run BO over)."""
    return [dim.skopt_dimension() for dim in space]


OPTIMIZER_FAMILIES: Registry[OptimizerFamily] = Registry("optimizer family")
NAMED_CONFIGS: Registry[OptimizerConfig] = Registry("optimizer config")
