"""Ready optimizers from a list entry: the pure update rule with its hparams bound, and Keras 3.

`optimizer_from_list(list, index, total_steps)` gives both forms of entry
`index`; they compute the same math, because the Keras optimizer's
`update_step` calls the very same pure rule:

  rule = optimizer_from_list("my_list.json", 0, total_steps=1000).rule
  state = rule.init(params)
  params, state = rule.update(grads, state, params, step)      # step from 0

  model.compile(optimizer=optimizer_from_list("my_list.json", 0, 1000).keras, loss=...)

The Keras optimizer applies the rule to one variable at a time, with that
variable's slice of the rule's state held in Keras variables. That equals the
rule on the whole parameter dict because every family's update is elementwise
per parameter (none couples parameters, e.g. through a global norm). Its
`learning_rate` is only informational (the entry's "lr" when it has one): the
rule's own hyperparameters and schedule set the step size, with the schedule's
`step` taken from `optimizer.iterations`.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
from typing import Any, Callable, Mapping, NamedTuple

from hparam_lists.artifact import HparamList, ListEntry, load_list
from taskset.errors import ConfigError
from taskset.lazy import tf


class BoundRule(NamedTuple):
    """An update rule with hparams and total_steps bound.

    init(params) -> state
    update(grads, state, params, step) -> (new_params, new_state), step counting from 0.
    """

    init: Callable[[Any], Any]
    update: Callable[..., tuple[Any, Any]]


@dataclasses.dataclass(frozen=True)
class ListOptimizer:
    """Entry `index` of a list as a functional rule and as a Keras optimizer."""

    entry: ListEntry
    index: int
    total_steps: int
    rule: BoundRule
    keras: Any


def bind_rule(family: str, hparams: Mapping[str, float], total_steps: int) -> BoundRule:
    """The family's pure rule with `hparams` (as float32 tensors) and `total_steps` fixed."""
    from taskset.optimizers import get_rule, hparam_tensors

    rule = get_rule(family)
    tensors = hparam_tensors(hparams)

    def update(grads, state, params, step):
        return rule.update(grads, state, params, tensors, step, total_steps)

    return BoundRule(rule.init, update)


def make_keras_optimizer(family: str, hparams: Mapping[str, float], total_steps: int, name: str = "hparam_list"):
    """A `keras.optimizers.Optimizer` running `family`'s rule with `hparams` (see module docstring)."""
    return _keras_class()(family=family, hparams=dict(hparams), total_steps=total_steps, name=name)


def optimizer_from_list(hparam_list: HparamList | str | pathlib.Path, index: int, total_steps: int,
                        family: str | None = None) -> ListOptimizer:
    """Entry `index` (from 0) of a list, ready to train with.

    Args:
      hparam_list: a HparamList, or a path or shipped name for `load_list`.
      index: which entry, 0 <= index < len(list).
      total_steps: the length of the training run (schedules depend on it).
      family: run the entry under this family instead of the list's own, e.g.
        "nadamw" (the standard reading) for an entry of Google's `opt-list-nadamw`,
        whose entries are `nadamw_tf1` (the update they were learned with). It
        must have the same hyperparameter space. None (default): the entry's family.

    Returns:
      A ListOptimizer holding the bound functional rule and a fresh Keras optimizer.

    Raises:
      ConfigError: index or total_steps out of range, or a `family` whose space differs.
      ListFileError, UnknownNameError: the list cannot be loaded, or `family` is unknown.
    """
    if not isinstance(hparam_list, HparamList):
        hparam_list = load_list(hparam_list)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(hparam_list):
        raise ConfigError(f"list entry index must be an integer in [0, {len(hparam_list) - 1}], got {index!r}")
    if not isinstance(total_steps, int) or isinstance(total_steps, bool) or total_steps < 1:
        raise ConfigError(f"total_steps must be a positive integer (the run length), got {total_steps!r}")
    entry = hparam_list.entries[index]
    if family is not None and family != entry.family:
        from taskset.optimizers import get_family

        names = [d.name for d in get_family(family).space]
        if names != [d.name for d in get_family(entry.family).space]:
            raise ConfigError(f"family {family!r} has another hyperparameter space ({names!r}) than the list's "
                              f"{entry.family!r}; pick a family with the same space, e.g. a `_tf1` variant and "
                              "its standard family")
        entry = dataclasses.replace(entry, family=family)
    return ListOptimizer(entry=entry, index=index, total_steps=total_steps,
                         rule=bind_rule(entry.family, entry.hparams, total_steps),
                         keras=make_keras_optimizer(entry.family, entry.hparams, total_steps,
                                                    name=f"{entry.optimizer}"))


@functools.cache
def _keras_class():
    """Defines the Keras optimizer class on first use, so importing this module stays light."""
    import keras

    @keras.saving.register_keras_serializable(package="taskset")
    class RuleOptimizer(keras.optimizers.Optimizer):
        """A Keras 3 optimizer whose update_step is a taskset family's pure rule.

        Args:
          family: the optimizer family, e.g. "nadamw".
          hparams: a point of the family's space.
          total_steps: the training run's length, for the family's schedule.
          name: the optimizer's name.
        """

        def __init__(self, family: str, hparams: dict[str, float], total_steps: int, name: str = "hparam_list"):
            super().__init__(learning_rate=float(hparams.get("lr", 0.0)), name=name)
            self.family, self.hparams, self.total_steps = family, dict(hparams), int(total_steps)
            self._rule = bind_rule(family, hparams, total_steps)
            self._state_structure: list[Any] = []
            self._state_variables: list[list[Any]] = []

        def build(self, variables) -> None:
            if self.built:
                return
            super().build(variables)
            for i, variable in enumerate(variables):
                state = self._rule.init({"p": tf.convert_to_tensor(variable)})
                leaves = tf.nest.flatten(state)
                slots = []
                for j, leaf in enumerate(leaves):
                    slot = self.add_variable(shape=tuple(leaf.shape), dtype=leaf.dtype.name,
                                             name=f"{_clean(variable.name)}_state{j}")
                    slot.assign(leaf)
                    slots.append(slot)
                self._state_structure.append(state)
                self._state_variables.append(slots)

        def update_step(self, gradient, variable, learning_rate) -> None:
            index = self._get_variable_index(variable)
            slots = self._state_variables[index]
            state = tf.nest.pack_sequence_as(self._state_structure[index], [tf.convert_to_tensor(s) for s in slots])
            params = {"p": tf.convert_to_tensor(variable)}
            grads = {"p": tf.cast(gradient, variable.dtype)}
            new_params, new_state = self._rule.update(grads, state, params, self.iterations)
            for slot, value in zip(slots, tf.nest.flatten(new_state)):
                self.assign(slot, value)
            self.assign(variable, new_params["p"])

        def get_config(self) -> dict[str, Any]:
            return {"family": self.family, "hparams": dict(self.hparams), "total_steps": self.total_steps,
                    "name": self.name}

    return RuleOptimizer


def _clean(name: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)
