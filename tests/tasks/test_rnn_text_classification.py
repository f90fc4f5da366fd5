"""rnn_text_classification: readouts over time respect each sequence's length."""

import numpy as np
import pytest
import tensorflow as tf

from taskset.datasets.text import PAD_ID
from taskset.tasks import task_from_config
from taskset.tasks.rnn_text_classification import READOUTS, readout


def reference_readout(hidden: np.ndarray, length: np.ndarray, kind: str) -> np.ndarray:
    out = np.zeros(hidden.shape[::2], np.float32)
    for i, n in enumerate(length):
        if n:
            out[i] = {"last": hidden[i, n - 1], "mean": hidden[i, :n].mean(0), "max": hidden[i, :n].max(0)}[kind]
    return out


@pytest.mark.parametrize("kind", READOUTS)
def test_readout_matches_reference(kind):
    hidden = np.random.default_rng(0).normal(size=(5, 7, 3)).astype(np.float32) - 3.0
    length = np.array([7, 1, 3, 0, 5], np.int32)
    ours = readout(tf.constant(hidden), tf.constant(length), kind).numpy()
    np.testing.assert_allclose(ours, reference_readout(hidden, length, kind), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", READOUTS)
def test_padding_never_reaches_the_classifier(kind):
    task = task_from_config({"family": "rnn_text_classification", "dataset": "shakespeare_genre", "core": "gru",
                             "embed_dim": 8, "hidden_size": 16, "trainable_init": False, "readout": kind,
                             "batch_size": 6})
    params = task.init(0)
    batch = task.sample_batch("train", tf.constant([0, 0], tf.int64))
    tokens = batch["tokens"].numpy()
    length = np.array([64, 10, 1, 33, 64, 2], np.int32)
    inside = np.arange(64)[None, :] < length[:, None]
    short = {**batch, "tokens": tf.constant(np.where(inside, tokens, PAD_ID)), "length": tf.constant(length)}
    noise = np.random.default_rng(1).integers(3, task.vocab_size, size=tokens.shape).astype(np.int32)
    noisy = {**short, "tokens": tf.constant(np.where(inside, tokens, noise))}
    np.testing.assert_allclose(task.logits(params, short).numpy(), task.logits(params, noisy).numpy(), atol=1e-6)
    # ...while the tokens inside the length do matter.
    inside_changed = {**short, "tokens": tf.constant(np.where(inside, noise, PAD_ID))}
    assert not np.allclose(task.logits(params, short).numpy(), task.logits(params, inside_changed).numpy())
    assert task.logits(params, short).shape == (6, 3)
