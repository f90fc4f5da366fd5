"""The evaluation schedule and the seeds of evaluation batches.

Evaluations happen at steps 0, eval_every, 2 eval_every, ..., steps; the value at
step s is measured on the parameters after s updates.

Batch seeds follow `taskset.tasks.batch_seed(replica_seed, split, index)`. Training
step t draws the train batch with index t >= 0, exactly the batch that
`task.datasets(replica_seed)["train"]` yields at position t. Evaluation batch i
(0 <= i < eval_batches) of the evaluation at step s uses the negative index

    index = -1 - (s * eval_batches + i)

on every split. Negative indices never collide with training indices, so an
evaluation never reuses a training batch; distinct (s, i) pairs give distinct
indices, so every evaluation draws fresh batches; and the batches at step s do
not depend on eval_every, so runs with different schedules agree at the steps
they share.
"""

from __future__ import annotations

import numpy as np

from taskset.lazy import tf
from taskset.tasks.base import batch_seed


def eval_steps(steps: int, eval_every: int) -> np.ndarray:
    """The evaluation steps 0, eval_every, ..., steps as int64 (eval_every divides steps)."""
    return np.arange(0, steps + 1, eval_every, dtype=np.int64)


def eval_batch_index(step, index, eval_batches):
    """The (negative) batch index of evaluation batch `index` at `step` (see module docstring)."""
    return -1 - (tf.cast(step, tf.int64) * tf.cast(eval_batches, tf.int64) + tf.cast(index, tf.int64))


def eval_batch_seed(replica_seed, split: str, step, index, eval_batches):
    """The stateless seed of evaluation batch `index` of `split` at `step`."""
    return batch_seed(replica_seed, split, eval_batch_index(step, index, eval_batches))
