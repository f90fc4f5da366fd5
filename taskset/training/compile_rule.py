"""When the trainer XLA-compiles a task's member step.

XLA fuses the many small ops of a small network into a few loops and removes
TF's per-op overhead, which is where small MLPs, small conv nets and small RNNs
spend their time on a CPU; but XLA's CPU convolutions are slower than TF's
oneDNN kernels, so a step dominated by large convolutions runs faster without
it. Measured on 2 shared CPU cores, K=8 Adam members, XLA vs TF graph timed in
alternating windows (best of 6), config-steps/s:

  task (forward conv multiply-adds per batch)          XLA   graph
  mlp 128x3 relu, mnist5k, batch 128                     453     227
  conv_pooling 16x3 ch, mnist5k 28x28, batch 32 (6M)     536     458
  conv_pooling 32x3 ch, digits 8x8, batch 64 (20M)       304     271
  conv_pooling 32x3 ch, mnist5k 28x28, batch 128 (296M)   22      32
  char_rnn_lm LSTM 64, 32 steps, batch 32                 74      79
  char_rnn_lm LSTM 128, 64 steps, batch 32                14      12

A conv step inside a `tf.cond` under XLA is a different and much larger
slowdown (~18x); the member step therefore holds no `tf.cond` (see
`population.member_step`).

The rule, therefore: XLA unless the loss's convolutions cost more than
`CONV_MACS_LIMIT` multiply-adds per forward pass of one batch, read from the
static shapes of the traced loss graph. The choice changes the numbers (XLA
rounds differently), so it depends only on the task config, never on timing.
"""

from __future__ import annotations

import math

from taskset.lazy import tf
from taskset.tasks.base import Task

CONV_MACS_LIMIT = 100_000_000
"""Forward convolution multiply-adds per batch above which a task runs without XLA."""

_CONV_OPS = frozenset({"Conv2D", "Conv3D", "DepthwiseConv2dNative"})


_DECISIONS: dict[str, bool] = {}


def use_xla(task: Task) -> bool:
    """True when the task's member step should be XLA-compiled (see the module docstring).

    Remembered per task identity (name and config) for the process: reading the MACs
    traces the whole loss graph (17 s for the tiny ResNet-50), and a
    config's answer never changes.
    """
    if task.identity not in _DECISIONS:
        _DECISIONS[task.identity] = conv_macs(task) <= CONV_MACS_LIMIT
    return _DECISIONS[task.identity]


def conv_macs(task: Task) -> float:
    """Multiply-adds of the convolutions in one forward pass of `task.loss` on a train batch.

    Infinite when a convolution's shape is not static (then XLA is not used).
    """

    def loss(params, seed):
        return task.loss(params, task.sample_batch("train", seed))

    specs = {name: tf.TensorSpec(shape, tf.float32) for name, shape in task.param_shapes().items()}
    graph = tf.function(loss, autograph=False).get_concrete_function(specs, tf.TensorSpec([2], tf.int64)).graph
    total = 0
    for op in graph.get_operations():
        if op.type in _CONV_OPS:
            kernel = op.inputs[1].shape
            out = op.outputs[0].shape
            if not (kernel.is_fully_defined() and out.is_fully_defined()):
                return math.inf
            # Every output element is one dot product over the kernel window:
            # kh*kw*in_channels for Conv2D, kh*kw for a depthwise kernel.
            window = math.prod(kernel[:-1]) if op.type != "DepthwiseConv2dNative" else math.prod(kernel[:-2])
            total += math.prod(out) * window
    return total
