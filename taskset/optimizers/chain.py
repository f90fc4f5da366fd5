"""Composable gradient transforms and `chain`, which turns them into an `UpdateRule`.

A `GradientTransform` is optax's building block with the taskset signature:
  init(params) -> state
  update(updates, state, params, hparams, step, total_steps) -> (updates, state)
Each transform rewrites the running `updates` (the gradient at first, the step
to add to the parameters at the end). `chain(t1, t2, ...)` feeds them in order
and adds the final updates to the parameters, so the families are short
compositions of the same pieces (STYLE.md 1-2): adam8p is
chain(add_penalty_gradient, scale_by_adam, scale_by_scheduled_lr).

Transforms name the hyperparameters they read with an `HparamSpec`: a string is
looked up in `hparams` (a float32 scalar tensor there), a number is a constant of
the family (adam1p's beta1 = 0.9). Everything is written with TF ops, never with
Python branches on hparam values, so rules trace once under `tf.function`/XLA and
vectorise over K stacked configs.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Union

from taskset.errors import ConfigError
from taskset.lazy import tf
from taskset.optimizers.base import UpdateRule
from taskset.types import Hparams, Params

HparamSpec = Union[str, float]


class GradientTransform(NamedTuple):
    """init(params) -> state; update(updates, state, params, hparams, step, total_steps) -> (updates, state)."""

    init: Callable[[Params], Any]
    update: Callable[..., tuple[Params, Any]]


class ChainState(NamedTuple):
    """The states of a chain's transforms, in chain order (stateless ones hold `()`)."""

    states: tuple[Any, ...]


def hparam(hparams: Hparams, spec: HparamSpec):
    """The float32 value `spec` stands for: `hparams[spec]` for a name, else the constant.

    Raises:
      ConfigError: `spec` names a hyperparameter that `hparams` lacks.
    """
    if isinstance(spec, str):
        if spec not in hparams:
            raise ConfigError(f"hparams lack {spec!r}; got {sorted(hparams)!r}. Build them from an "
                              "OptimizerConfig of the rule's family (`taskset.optimizers.hparam_tensors`)")
        return tf.cast(hparams[spec], tf.float32)
    return tf.constant(spec, tf.float32)


def as_float(value):
    """`step` or `total_steps` (Python number or int/float tensor) as a float32 tensor."""
    return tf.cast(value, tf.float32)


def chain(*transforms: GradientTransform) -> UpdateRule:
    """Composes transforms into an update rule: new_params = params + (t_n o ... o t_1)(grads).

    Args:
      *transforms: applied in order; the last one must leave the step to *add*
        to the parameters (e.g. `scale_by_scheduled_lr`, which negates).

    Returns:
      An `UpdateRule` whose state is a `ChainState`. `update` returns
      (new_params, new_state) with the same structure as (params, state).
    """

    def init(params: Params) -> ChainState:
        return ChainState(tuple(t.init(params) for t in transforms))

    def update(grads: Params, state: ChainState, params: Params, hparams: Hparams, step, total_steps):
        updates = grads
        new_states = []
        for transform, inner in zip(transforms, state.states):
            updates, inner = transform.update(updates, inner, params, hparams, step, total_steps)
            new_states.append(inner)
        new_params = tf.nest.map_structure(lambda p, u: p + u, params, updates)
        return new_params, ChainState(tuple(new_states))

    return UpdateRule(init, update)


def stateless(fn: Callable[..., Params]) -> GradientTransform:
    """A transform without state from fn(updates, params, hparams, step, total_steps) -> updates."""

    def update(updates, state, params, hparams, step, total_steps):
        return fn(updates, params, hparams, step, total_steps), state

    return GradientTransform(lambda params: (), update)
