"""The compiled population: K optimizer configs of one task trained in lockstep.

Layout. Every member keeps its own parameters and optimizer state (a
`MemberState`); one compiled step function per optimizer family advances one
member, and a group's training loop calls it once per member per step, inside
one `tf.function` that runs the `tf.while_loop` between two evaluations (see
`GROUP_SIZE` for why groups). Each step draws one train batch, shared by every member (common
random numbers), with TF's ordinary kernels outside XLA, so the batches are
bitwise those of `task.datasets(replica_seed)` even where XLA's random-number
streams differ from TF's.

Why members and not stacked parameters: calling one compiled member step K
times beat `tf.vectorized_map` over parameters stacked on a leading [K] axis.
Measured on 2 shared CPU cores, K=8 Adam members, timed in alternating windows
(best of 5), config-steps/s, members (XLA) vs vectorized (TF graph): MLP 128x3
on mnist5k 1145 vs 529, conv net on digits 587 vs 185, LSTM LM 218 vs 111 (the
reference tasks of `benchmarks/trainer_throughput.py`). Vectorized under XLA
was worse still: compiling the MLP's K=10 step took about 10 minutes (XLA's
constant folding). The member steps run concurrently on TF's inter-op threads, and XLA
compiles a family's step once, whatever K is. This layout also makes every
member's numbers independent of the population it is trained in: the same
compiled function runs on the same inputs, so a config's curve does not change
when other configs are added, removed or diverge.

Whether the member step is XLA-compiled is a per-task choice (`jit_compile`,
see `taskset.training.compile_rule`).
"""

from __future__ import annotations

import collections
import functools
from typing import Any, NamedTuple, Sequence

from taskset.datasets.base import SPLITS
from taskset.lazy import tf
from taskset.optimizers.base import OptimizerConfig, UpdateRule
from taskset.tasks.base import Task, batch_seed
from taskset.training.divergence import freeze, has_diverged
from taskset.training.schedule import eval_batch_seed
from taskset.types import Batch, OptState, Params


class MemberState(NamedTuple):
    """Everything that changes while one member trains.

    Attributes:
      params: the member's parameters, keyed like `task.param_shapes()`.
      opt_state: its update rule's state.
      alive: bool scalar, False once the member diverged (then nothing changes).
      diverged_at: int64 scalar, the step it diverged at, -1 while alive.
      limit: float32 scalar, the largest loss that does not count as divergence.
    """

    params: Params
    opt_state: OptState
    alive: Any
    diverged_at: Any
    limit: Any


def loss_and_grads(task: Task, params: Params, batch: Batch):
    """(loss, grads) of `task.loss` at `params`; a parameter the loss ignores gets a zero gradient."""
    with tf.GradientTape() as tape:
        tape.watch(params)
        loss = task.loss(params, batch)
    return loss, tape.gradient(loss, params, unconnected_gradients=tf.UnconnectedGradients.ZERO)


def member_step(task: Task, rule: UpdateRule, state: MemberState, hparams, batch: Batch, step,
                total_steps) -> MemberState:
    """One training step of one member: the update, unless the loss before it diverged.

    This is the function that may be XLA-compiled. It holds no `tf.cond`: XLA on
    CPU compiles a conv net's step inside a conditional ~18x slower (measured:
    conv_pooling on digits, 140 vs 8 config-steps/s), so skipping frozen members
    is done outside, by `Population`, in the TF graph.
    """
    loss, grads = loss_and_grads(task, state.params, batch)
    diverged = has_diverged(loss, state.limit)
    params, opt_state = rule.update(grads, state.opt_state, state.params, hparams, step, total_steps)
    keep = tf.logical_not(diverged)
    return MemberState(freeze(keep, params, state.params), freeze(keep, opt_state, state.opt_state),
                       keep, tf.where(diverged, tf.cast(step, tf.int64), state.diverged_at), state.limit)


def member_loss(task: Task, params: Params, batch: Batch):
    """The member's float32 loss on `batch` (the function that may be XLA-compiled)."""
    return tf.cast(task.loss(params, batch), tf.float32)


GROUP_SIZE = 4
"""Members per compiled call. The training loop and the evaluation are traced for
groups of this many members of one family and reused for every group, so the
set-up cost of a population does not grow with K: building and optimising a
graph with one call site per member cost ~0.6 s per member (a K=128 MLP
population of 100 steps took 170 s, 7 s of it training; grouped, 15 s). Groups
of 4 kept the members' concurrency (measured, K=32 MLP on mnist5k: 1.9 s per
100 steps in groups of 4 or 8, 4.3 s one member at a time, set-up 8.7 s for
groups of 4, 12.7 s for 8). A short last group is padded with frozen members,
which `tf.cond` skips at no cost. The functions are traced without autograph:
they hold no Python control flow on tensors, and converting them cost ~5 s."""


CACHE_SIZE = 4
"""Compiled settings kept for reuse (see `compiled_for`)."""

LOOP_CACHE_SIZE = 16
"""Training loops (one per update rule) kept per compiled setting, least recently used dropped first."""

_CACHE: "collections.OrderedDict[tuple, Compiled]" = collections.OrderedDict()


class Compiled:
    """The traced training loops and evaluation of one setting: task, replica seed, run length, XLA.

    They take the members' states and hyperparameters as arguments, so every
    population of this setting reuses them: later `train` calls on the same
    task (a BO ask, a replay, another chunk of configs) skip tracing and
    compiling, which is most of a call's cost for a big graph (a tiny
    ResNet-50 spent about a minute per call on it).
    """

    def __init__(self, task: Task, replica_seed: int, total_steps: int, jit_compile: bool) -> None:
        self.task = task
        self.jit_compile = jit_compile
        self.replica_seed = tf.constant(replica_seed, tf.int64)
        self.total_steps = tf.constant(total_steps, tf.int64)
        self.loss = tf.function(functools.partial(member_loss, task), jit_compile=jit_compile, autograph=False)
        self.evaluate = tf.function(self._evaluate_splits, autograph=False)
        self._nan = tf.constant(float("nan"), tf.float32)
        self._train: "collections.OrderedDict[tuple, tuple[UpdateRule, Any]]" = collections.OrderedDict()

    def train_loop(self, family: str, rule: UpdateRule):
        """The compiled group training loop of `family`'s members under `rule` (traced on first use).

        Keyed by the family name and the rule's two functions, so every call with
        the same rule (`taskset.optimizers.get_rule` builds a registered family's
        rule once; a caller's rule is the same functions each time it is passed)
        reuses the traced loop. At most `LOOP_CACHE_SIZE` loops are kept.
        """
        key = (family, *_function_keys(rule))
        if key in self._train:
            self._train.move_to_end(key)
        else:
            step = tf.function(functools.partial(member_step, self.task, rule), jit_compile=self.jit_compile,
                               autograph=False)
            # The rule is kept with its loop, so ids used as keys stay valid while cached.
            self._train[key] = (rule, tf.function(functools.partial(self._train_loop, step), autograph=False))
            while len(self._train) > LOOP_CACHE_SIZE:
                self._train.popitem(last=False)
        return self._train[key][1]

    def _train_loop(self, step_fn, states, hparams, start, num_steps):
        def body(step, states):
            batch = self.task.sample_batch("train", batch_seed(self.replica_seed, "train", step))
            # A frozen member is skipped, not computed and discarded: diverged members cost nothing.
            states = [tf.cond(state.alive,
                              functools.partial(step_fn, state, member_hparams, batch, step, self.total_steps),
                              lambda state=state: state)
                      for member_hparams, state in zip(hparams, states)]
            return step + 1, states

        _, states = tf.while_loop(lambda step, _: step < start + num_steps, body, (start, states))
        return states

    def _evaluate_splits(self, params, alive, step, eval_batches):
        rows = []
        for split in SPLITS:
            def body(index, total, split=split):
                batch = self.task.sample_batch(split, eval_batch_seed(self.replica_seed, split, step, index,
                                                                      eval_batches))
                losses = [tf.cond(member_alive, functools.partial(self.loss, member_params, batch),
                                  lambda: self._nan)
                          for member_params, member_alive in zip(params, alive)]
                return index + 1, total + tf.stack(losses)

            _, total = tf.while_loop(lambda index, _: index < eval_batches, body,
                                     (tf.constant(0, tf.int64), tf.zeros([len(params)], tf.float32)))
            rows.append(total / tf.cast(eval_batches, tf.float32))
        return tf.stack(rows)


def compiled_for(task: Task, replica_seed: int, total_steps: int, jit_compile: bool) -> Compiled:
    """The shared `Compiled` of this setting, from a small LRU cache keyed by the task's config.

    Two tasks with the same name and config build the same graph from equal
    data, so either's functions serve both; reuse gives bitwise the same numbers
    as a fresh trace (tests/training).
    """
    key = (task.identity, replica_seed, total_steps, jit_compile)
    if key in _CACHE:
        _CACHE.move_to_end(key)
    else:
        _CACHE[key] = Compiled(task, replica_seed, total_steps, jit_compile)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return _CACHE[key]


class Population:
    """K optimizer configs of one task with a common init and a common batch stream.

    Members are trained in groups of `GROUP_SIZE` configs of one family, each
    group by the same compiled loop (see `GROUP_SIZE` and `Compiled`); every
    group draws the same batches, so a member's numbers do not depend on its group.

    Args:
      task: the task; its data must be available.
      configs: the members' optimizer configs, in order (families may differ).
      rules: family name -> update rule, for every family in `configs`.
      replica_seed: seed of the batch stream (`batch_seed`).
      total_steps: the run length the rules' schedules see.
      jit_compile: XLA-compile the member step and the member loss.
    """

    def __init__(self, task: Task, configs: Sequence[OptimizerConfig], rules: dict[str, UpdateRule],
                 replica_seed: int, total_steps: int, jit_compile: bool) -> None:
        self.task = task
        self.configs = tuple(configs)
        self.jit_compile = jit_compile
        self._hparams = [{k: tf.constant(v, tf.float32) for k, v in c.hparams.items()} for c in self.configs]
        self._rules = rules
        self._groups = member_groups([c.family for c in self.configs], GROUP_SIZE)
        self._compiled = compiled_for(task, replica_seed, total_steps, jit_compile)

    @property
    def size(self) -> int:
        """K, the number of members."""
        return len(self.configs)

    def initial_states(self, init_params: Params) -> list[MemberState]:
        """Every member at `init_params`, with a fresh optimizer state and no divergence limit yet."""
        params = {k: tf.convert_to_tensor(v, tf.float32) for k, v in init_params.items()}
        return [MemberState(params, self._rules[c.family].init(params), tf.constant(True),
                            tf.constant(-1, tf.int64), tf.constant(float("inf"), tf.float32))
                for c in self.configs]

    def train(self, states: list[MemberState], start: int, num_steps: int) -> list[MemberState]:
        """Runs steps start, ..., start + num_steps - 1 of every member (one compiled call per group)."""
        start, num_steps = tf.constant(start, tf.int64), tf.constant(num_steps, tf.int64)
        out = list(states)
        for family, members in self._groups:
            group = [states[k] if k >= 0 else _frozen(states[members[0]]) for k in members]
            hparams = [self._hparams[k if k >= 0 else members[0]] for k in members]
            trained = self._compiled.train_loop(family, self._rules[family])(group, hparams, start, num_steps)
            for k, state in zip(members, trained):
                if k >= 0:
                    out[k] = state
        return out

    def evaluate(self, states: list[MemberState], step: int, eval_batches: int):
        """float32 [len(SPLITS), K]: each member's mean loss over the evaluation batches at `step`."""
        step, eval_batches = tf.constant(step, tf.int64), tf.constant(eval_batches, tf.int64)
        columns = [None] * self.size
        for _, members in self._groups:
            params = [states[k if k >= 0 else members[0]].params for k in members]
            alive = [states[k].alive if k >= 0 else tf.constant(False) for k in members]
            losses = tf.unstack(self._compiled.evaluate(params, alive, step, eval_batches), axis=1)
            for k, column in zip(members, losses):
                if k >= 0:
                    columns[k] = column
        return tf.stack(columns, axis=1)


def member_groups(families: Sequence[str], size: int) -> list[tuple[str, list[int]]]:
    """Members split into groups of `size` indices of one family, in order; -1 pads a short group.

    >>> member_groups(["a", "b", "a"], 2)
    [('a', [0, 2]), ('b', [1, -1])]
    """
    groups = []
    for family in dict.fromkeys(families):
        members = [k for k, f in enumerate(families) if f == family]
        for begin in range(0, len(members), size):
            chunk = members[begin:begin + size]
            groups.append((family, chunk + [-1] * (size - len(chunk))))
    return groups


def _function_keys(rule: UpdateRule) -> tuple:
    """The rule's init and update as cache keys: themselves when hashable, else their ids."""
    keys = []
    for function in (rule.init, rule.update):
        try:
            hash(function)
            keys.append(function)
        except TypeError:
            keys.append(("id", id(function)))
    return tuple(keys)


def _frozen(state: MemberState) -> MemberState:
    """A padding member: `state`, frozen so the compiled loop skips it."""
    return state._replace(alive=tf.constant(False))
