"""The compiled population: K optimizer configs of one task trained in lockstep.

Layout. Every member keeps its own parameters and optimizer state (a
`MemberState`); one compiled step function per optimizer family advances one
member, and the population's training loop calls it once per member per step,
all inside one `tf.function` that runs the `tf.while_loop` between two
evaluations. Each step draws one train batch, shared by every member (common
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


class Population:
    """K optimizer configs of one task with a common init and a common batch stream.

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
        self._replica_seed = tf.constant(replica_seed, tf.int64)
        self._total_steps = tf.constant(total_steps, tf.int64)
        self._hparams = [{k: tf.constant(v, tf.float32) for k, v in c.hparams.items()} for c in self.configs]
        self._rules = rules
        self._steps = {family: tf.function(functools.partial(member_step, task, rule), jit_compile=jit_compile)
                       for family, rule in rules.items()}
        self._loss = tf.function(functools.partial(member_loss, task), jit_compile=jit_compile)
        self._nan = tf.constant(float("nan"), tf.float32)
        self._train = tf.function(self._train_loop)
        self._evaluate = tf.function(self._evaluate_splits)

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
        """Runs steps start, ..., start + num_steps - 1 of every member (one compiled call)."""
        return self._train(states, tf.constant(start, tf.int64), tf.constant(num_steps, tf.int64))

    def evaluate(self, states: list[MemberState], step: int, eval_batches: int):
        """float32 [len(SPLITS), K]: each member's mean loss over the evaluation batches at `step`."""
        return self._evaluate(states, tf.constant(step, tf.int64), tf.constant(eval_batches, tf.int64))

    def _train_loop(self, states, start, num_steps):
        def body(step, states):
            batch = self.task.sample_batch("train", batch_seed(self._replica_seed, "train", step))
            # A frozen member is skipped, not computed and discarded: diverged members cost nothing.
            states = [tf.cond(state.alive,
                              functools.partial(self._steps[config.family], state, hparams, batch, step,
                                                self._total_steps),
                              lambda state=state: state)
                      for config, hparams, state in zip(self.configs, self._hparams, states)]
            return step + 1, states

        _, states = tf.while_loop(lambda step, _: step < start + num_steps, body, (start, states))
        return states

    def _evaluate_splits(self, states, step, eval_batches):
        rows = []
        for split in SPLITS:
            def body(index, total, split=split):
                batch = self.task.sample_batch(split, eval_batch_seed(self._replica_seed, split, step, index,
                                                                      eval_batches))
                losses = [tf.cond(state.alive, functools.partial(self._loss, state.params, batch), lambda: self._nan)
                          for state in states]
                return index + 1, total + tf.stack(losses)

            _, total = tf.while_loop(lambda index, _: index < eval_batches, body,
                                     (tf.constant(0, tf.int64), tf.zeros([self.size], tf.float32)))
            rows.append(total / tf.cast(eval_batches, tf.float32))
        return tf.stack(rows)
