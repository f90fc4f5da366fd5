"""`train`: K optimizer configs on one task, one curve each.

This is the public entry point of `taskset.training`; it validates its inputs,
builds one `Population`, runs the evaluation schedule and turns the numbers into
`Curve`s.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Mapping, Sequence, Union

import numpy as np

from taskset.datasets.base import SPLITS
from taskset.errors import ConfigError
from taskset.lazy import tf
from taskset.optimizers.base import OptimizerConfig, UpdateRule
from taskset.tasks.base import Task
from taskset.training.compile_rule import use_xla
from taskset.training.curve import STATUS_DIVERGED, STATUS_OK, Curve
from taskset.training.divergence import divergence_limit, loss_diverged, nan_after
from taskset.training.population import Population
from taskset.training.schedule import eval_steps

OptimizerLike = Union[OptimizerConfig, str]


def train(task: Task, optimizer_configs: Sequence[OptimizerLike], steps: int, eval_every: int,
          replica_seed: int = 0, eval_batches: int = 5, init_seed: int | None = None,
          jit_compile: bool | None = None, progress: Callable[[int], None] | None = None,
          rules: Mapping[str, UpdateRule] | None = None) -> list[Curve]:
    """Trains every config on `task` as one population and returns their curves, in order.

    All members start from `task.init(init_seed)` and see the same train batch at
    every step (batch t is `task.datasets(replica_seed)["train"]`'s batch t).
    Every split is evaluated at steps 0, eval_every, ..., steps as the mean over
    `eval_batches` fresh batches (see `taskset.training.schedule`). A member whose
    training loss becomes non-finite or exceeds 1e6 x its initial train loss is
    frozen and marked "diverged" (see `taskset.training.divergence`); the others
    are unaffected, bit for bit.

    Results are deterministic: the same arguments on the same machine and
    TensorFlow build give bitwise the same curves. To that end this enables
    `tf.config.experimental.enable_op_determinism()` for the process.

    The traced training loops and evaluation are kept for reuse (see
    `taskset.training.population.compiled_for`): a later call on a task of the
    same name and config, with the same replica seed, run length and XLA choice,
    and the same rules, traces and compiles nothing.

    Args:
      task: the task to train.
      optimizer_configs: `OptimizerConfig`s or config names (`adam4p_seed3`,
        `adam_default`, ...); families may be mixed.
      steps: number of updates, >= 1.
      eval_every: evaluation interval; must divide `steps`.
      replica_seed: seed of the batch stream, >= 0.
      eval_batches: batches per split and evaluation, >= 1.
      init_seed: seed of `task.init`, >= 0; defaults to `replica_seed`.
      jit_compile: XLA-compile the member step; None lets
        `taskset.training.compile_rule.use_xla` decide from the task.
      progress: called with the number of steps trained so far after every
        evaluation (e.g. to advance a progress bar).
      rules: family name -> update rule (anything with `init` and `update`, see
        `taskset.optimizers.base.UpdateRule`) for configs whose family is not
        registered, e.g. a user's own rule, or to replace a registered family's
        rule; the other families use their registered rule. Pass the same rule
        object (or the same two functions) again to reuse its compiled loop.

    Returns:
      One `Curve` per config, in the order given.

    Raises:
      ConfigError: a bad `steps`, `eval_every`, `eval_batches`, seed or `rules`, or no configs.
      UnknownNameError: an unknown optimizer config name, or a config's family
        neither in `rules` nor registered.
      DataNotAvailableError: the task's data is not on this machine.
    """
    configs = resolve_configs(optimizer_configs)
    _check_int("steps", steps, 1)
    _check_int("eval_every", eval_every, 1)
    if steps % eval_every:
        raise ConfigError(f"eval_every={eval_every!r} must divide steps={steps!r}; e.g. use "
                          f"eval_every={_largest_divisor_at_most(steps, eval_every)}")
    _check_int("eval_batches", eval_batches, 1)
    _check_int("replica_seed", replica_seed, 0)
    init_seed = replica_seed if init_seed is None else init_seed
    _check_int("init_seed", init_seed, 0)
    family_rules = rules_for(configs, rules)
    task.check_data()

    tf.config.experimental.enable_op_determinism()
    population = Population(task, configs, family_rules, replica_seed, steps,
                            use_xla(task) if jit_compile is None else jit_compile)
    schedule = eval_steps(steps, eval_every)
    values, diverged_at, seconds = _run(population, task.init(init_seed), schedule, eval_batches, progress)
    curves = []
    for k, config in enumerate(configs):
        step = None if diverged_at[k] < 0 else int(diverged_at[k])
        losses = {split: nan_after(values[:, i, k], schedule, step) for i, split in enumerate(SPLITS)}
        curves.append(Curve(task=task.name, task_config=task.config_dict, optimizer=config,
                            replica_seed=replica_seed, init_seed=init_seed, steps=schedule, **losses,
                            status=STATUS_OK if step is None else STATUS_DIVERGED, diverged_step=step,
                            seconds_per_step=seconds))
    return curves


def _run(population: Population, init_params, schedule: np.ndarray, eval_batches: int,
         progress: Callable[[int], None] | None):
    """Runs the schedule; returns (values [E, splits, K], diverged_at [K], seconds per config-step).

    The step-0 evaluation sets each member's divergence limit. A warm-up call of
    one step (whose result is dropped) compiles the training loop, so the timed
    calls measure training alone. Once every member has diverged the rest of
    the schedule is skipped (its values are NaN anyway).
    """
    states = population.initial_states(init_params)
    first = population.evaluate(states, 0, eval_batches).numpy()
    limits = [divergence_limit(x) for x in first[0]]
    states = [s._replace(limit=tf.constant(limit, tf.float32)) for s, limit in zip(states, limits)]
    states = _mark_diverged(states, first[0], limits, 0)
    values = np.full((len(schedule), len(SPLITS), population.size), np.nan, np.float32)
    values[0] = first
    if any(bool(s.alive) for s in states):
        population.train(states, 0, 1)
    elapsed, trained = 0.0, 0
    for e in range(1, len(schedule)):
        if not any(bool(s.alive) for s in states):
            break
        start, count = int(schedule[e - 1]), int(schedule[e] - schedule[e - 1])
        began = time.perf_counter()
        states = population.train(states, start, count)
        elapsed += time.perf_counter() - began
        trained += count
        values[e] = population.evaluate(states, int(schedule[e]), eval_batches).numpy()
        states = _mark_diverged(states, values[e][0], limits, int(schedule[e]))
        if progress is not None:
            progress(int(schedule[e]))
    diverged_at = np.array([int(s.diverged_at) for s in states], np.int64)
    seconds = elapsed / (trained * population.size) if trained else math.nan
    return values, diverged_at, seconds


def _mark_diverged(states, train_losses, limits, step: int):
    """Freezes alive members whose evaluated train loss diverged at `step`."""
    out = []
    for state, loss, limit in zip(states, train_losses, limits):
        if bool(state.alive) and loss_diverged(float(loss), limit):
            state = state._replace(alive=tf.constant(False), diverged_at=tf.constant(step, tf.int64))
        out.append(state)
    return out


def resolve_configs(optimizer_configs: Sequence[OptimizerLike]) -> list[OptimizerConfig]:
    """`OptimizerConfig`s for configs and names (see `taskset.optimizers.get_optimizer_config`).

    Raises:
      ConfigError: empty, or an item that is neither a config nor a name.
      UnknownNameError: an unknown name.
    """
    from taskset.optimizers import get_optimizer_config

    if isinstance(optimizer_configs, (str, OptimizerConfig)) or not len(optimizer_configs):
        raise ConfigError(f"optimizer_configs must be a non-empty list of configs or names, "
                          f"got {optimizer_configs!r}")
    out = []
    for item in optimizer_configs:
        if isinstance(item, str):
            item = get_optimizer_config(item)
        elif not isinstance(item, OptimizerConfig):
            raise ConfigError(f"expected an OptimizerConfig or a config name, got {item!r}")
        out.append(item)
    return out


def rules_for(configs: Sequence[OptimizerConfig],
              rules: Mapping[str, UpdateRule] | None = None) -> dict[str, UpdateRule]:
    """Family name -> update rule for every family in `configs`: from `rules`, else the registered one.

    Registered rules come from `taskset.optimizers.get_rule`, which builds each
    family's rule once, so repeated calls return the same rule objects.

    Raises:
      ConfigError: `rules` is not a mapping of family names to objects with
        callable `init` and `update`.
      UnknownNameError: a family neither in `rules` nor registered.
    """
    from taskset.optimizers import get_rule

    given: dict[str, UpdateRule] = {}
    if rules is not None:
        if not isinstance(rules, Mapping):
            raise ConfigError(f"rules must map family names to update rules, got {rules!r}")
        for family, rule in rules.items():
            if not isinstance(family, str) or not all(callable(getattr(rule, f, None)) for f in ("init", "update")):
                raise ConfigError(f"rules[{family!r}] must be an update rule with callable init and update "
                                  f"(taskset.optimizers.base.UpdateRule), got {rule!r}")
            given[family] = rule if isinstance(rule, UpdateRule) else UpdateRule(rule.init, rule.update)
    return {c.family: given[c.family] if c.family in given else get_rule(c.family) for c in configs}


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _largest_divisor_at_most(n: int, limit: int) -> int:
    return max(d for d in range(1, min(n, max(limit, 1)) + 1) if n % d == 0)
