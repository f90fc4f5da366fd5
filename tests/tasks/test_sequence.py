import numpy as np
import tensorflow as tf

from taskset.tasks import batch_seed, task_from_config
from taskset.tasks.sequence import BLANK, DELIMITER, FIRST_SYMBOL, NUM_VALUES, copy_batch, retrieval_batch


def test_copy_batch_targets_are_the_symbols():
    inputs, targets, mask = (t.numpy() for t in copy_batch(4, 5, 3, tf.constant([1, 2], tf.int64)))
    assert inputs.shape == targets.shape == mask.shape == (4, 11)
    symbols = inputs[:, :5]
    assert ((symbols >= FIRST_SYMBOL) & (symbols < FIRST_SYMBOL + 3)).all()
    assert (inputs[:, 5] == DELIMITER).all() and (inputs[:, 6:] == BLANK).all()
    np.testing.assert_array_equal(targets[:, 6:], symbols)
    assert mask[:, :6].sum() == 0 and mask[:, 6:].all()


def test_retrieval_answer_is_the_value_of_the_queried_key():
    inputs, targets, mask = (t.numpy() for t in retrieval_batch(64, 4, 6, tf.constant([3, 4], tf.int64)))
    assert inputs.shape == (64, 10) and mask.sum() == 64 and mask[:, -1].all()
    for row, target in zip(inputs, targets):
        keys, values = row[0:8:2], row[1:8:2]
        assert len(set(keys)) == 4 and ((keys >= FIRST_SYMBOL) & (keys < FIRST_SYMBOL + 6)).all()
        assert ((values >= FIRST_SYMBOL + 6) & (values < FIRST_SYMBOL + 6 + NUM_VALUES)).all()
        assert row[8] == DELIMITER
        assert target[-1] == values[list(keys).index(row[9])]


def test_loss_ignores_masked_positions():
    task = task_from_config({"family": "sequence", "problem": "copy", "length": 3, "vocab_size": 4, "core": "gru",
                             "embed_dim": 8, "hidden_size": 16, "trainable_init": False, "batch_size": 5})
    params = task.init(0)
    batch = task.sample_batch("train", batch_seed(0, "train", 0))
    changed = dict(batch, targets=tf.where(batch["mask"] > 0, batch["targets"], 5))
    assert float(task.loss(params, batch)) == float(task.loss(params, changed))
    # Initial loss near log(num tokens) = log(6) for a near-uniform readout.
    assert abs(float(task.loss(params, batch)) - np.log(6)) < 1.0
