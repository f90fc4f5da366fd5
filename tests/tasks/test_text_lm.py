"""Language-model windows, the masked loss and the embedding lookup shared by the text families."""

import numpy as np
import pytest
import tensorflow as tf

from taskset.datasets.text import EOS_ID, PAD_ID
from taskset.tasks import task_from_config
from taskset.tasks.text import embed, masked_token_cross_entropy, stream_windows

# Three documents: [5 6 7], [8 9], [10 11 12 13], each followed by EOS.
STREAM = np.array([5, 6, 7, EOS_ID, 8, 9, EOS_ID, 10, 11, 12, 13, EOS_ID], dtype=np.int32)


def expected_window(start: int, length: int):
    """Reference: targets follow the stream up to and including the first EOS, then padding."""
    targets = []
    for pos in range(start + 1, start + 1 + length):
        if (targets and targets[-1] in (EOS_ID, PAD_ID)) or pos >= len(STREAM):
            targets.append(PAD_ID)
        else:
            targets.append(int(STREAM[pos]))
    return [int(STREAM[start])] + targets[:-1], targets


@pytest.mark.parametrize("length", [1, 3, 6])
def test_windows_stop_at_the_first_end_of_document_and_at_the_stream_end(length):
    inputs, targets, mask = stream_windows(tf.constant(STREAM), 400, length, tf.constant([3, 4], tf.int64))
    inputs, targets, mask = inputs.numpy(), targets.numpy(), mask.numpy()
    starts = set()
    for row in range(400):
        # Every window equals the reference window of exactly one start position.
        matches = [s for s in range(len(STREAM) - 1)
                   if expected_window(s, length) == (inputs[row].tolist(), targets[row].tolist())]
        assert len(matches) == 1, (inputs[row], targets[row])
        starts.update(matches)
    assert starts == set(range(len(STREAM) - 1))  # every start in [0, n - 2] is drawn
    np.testing.assert_array_equal(mask, (targets != PAD_ID).astype(np.float32))
    assert mask[:, 0].all()  # every window has a real first target


def test_windows_are_deterministic_in_the_seed():
    a = stream_windows(tf.constant(STREAM), 8, 4, tf.constant([1, 2], tf.int64))
    b = stream_windows(tf.constant(STREAM), 8, 4, tf.constant([1, 2], tf.int64))
    c = stream_windows(tf.constant(STREAM), 8, 4, tf.constant([1, 3], tf.int64))
    assert all(np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a, b))
    assert not np.array_equal(a[0].numpy(), c[0].numpy())


def test_masked_cross_entropy_ignores_masked_positions():
    logits = tf.random.stateless_normal([2, 3, 7], [0, 1])
    targets = tf.constant([[1, 2, 0], [3, 0, 0]])
    mask = tf.constant([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    loss = masked_token_cross_entropy(logits, targets, mask)
    log_p = tf.nn.log_softmax(logits).numpy()
    reference = -np.mean([log_p[0, 0, 1], log_p[0, 1, 2], log_p[1, 0, 3]])
    np.testing.assert_allclose(float(loss), reference, rtol=1e-6)
    scrambled = tf.where(mask[:, :, None] > 0, logits, 100.0 * tf.random.stateless_normal([2, 3, 7], [5, 5]))
    assert float(masked_token_cross_entropy(scrambled, targets, mask)) == pytest.approx(float(loss), rel=1e-6)
    assert float(masked_token_cross_entropy(logits, targets, tf.zeros_like(mask))) == 0.0


def test_embedding_gradient_is_dense_and_equals_gathers():
    table = tf.random.stateless_normal([6, 3], [0, 2])
    ids = tf.constant([[1, 4, 1], [0, 1, 5]])
    weights = tf.random.stateless_normal([2, 3, 3], [0, 3])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(table)
        ours = tf.reduce_sum(embed(table, ids) * weights)
        reference = tf.reduce_sum(tf.gather(table, ids) * weights)
    grad = tape.gradient(ours, table)
    assert isinstance(grad, tf.Tensor) and grad.shape == (6, 3)
    np.testing.assert_allclose(grad.numpy(), tf.convert_to_tensor(tape.gradient(reference, table)).numpy(), atol=1e-6)
    assert float(ours) == pytest.approx(float(reference))


LM_CONFIGS = [
    {"family": "char_rnn_lm", "dataset": "shakespeare_bytes", "core": "lstm", "embed_dim": 8, "hidden_size": 16,
     "trainable_init": True, "sequence_length": 12, "batch_size": 4},
    {"family": "transformer_lm", "dataset": "shakespeare_bytes", "num_layers": 1, "width": 16, "num_heads": 2,
     "sequence_length": 12, "positions": "learned", "batch_size": 4},
]


@pytest.mark.parametrize("config", LM_CONFIGS, ids=lambda c: c["family"])
def test_lm_loss_ignores_padded_positions(config):
    task = task_from_config(config)
    params = task.init(0)
    batch = task.sample_batch("train", tf.constant([0, 0], tf.int64))
    np.testing.assert_array_equal(batch["inputs"].numpy()[:, 1:], batch["targets"].numpy()[:, :-1])
    # Pad the second half, as a window that reached an end of document would be.
    keep = np.arange(12) < 6
    targets = np.where(keep, batch["targets"].numpy(), PAD_ID)
    mask = keep[None, :].repeat(4, 0).astype(np.float32)
    padded = {"inputs": batch["inputs"], "targets": tf.constant(targets), "mask": tf.constant(mask)}
    loss = float(task.loss(params, padded))
    # Whatever sits in the padded part (inputs or targets) must not change the loss.
    rng = np.random.default_rng(0)
    noise = rng.integers(2, task.vocab_size, size=(4, 12)).astype(np.int32)
    changed = {"inputs": tf.constant(np.where(np.arange(12) < 6, batch["inputs"].numpy(), noise)),
               "targets": tf.constant(np.where(keep, targets, noise)), "mask": tf.constant(mask)}
    assert float(task.loss(params, changed)) == pytest.approx(loss, rel=1e-6)
    assert float(task.loss(params, batch)) != pytest.approx(loss, rel=1e-6)


@pytest.mark.slow
def test_char_lstm_learns_shakespeare_on_fresh_batches():
    """300 Adam steps on fresh train batches take held-out plays from ~5.55 nats/byte (uniform) below 2.5."""
    from taskset.tasks import batch_seed

    task = task_from_config({"family": "char_rnn_lm", "dataset": "shakespeare_bytes", "core": "lstm", "embed_dim": 32,
                             "hidden_size": 128, "trainable_init": False, "sequence_length": 64, "batch_size": 32})
    params = task.init(0)
    m = {k: tf.zeros_like(v) for k, v in params.items()}
    v = {k: tf.zeros_like(p) for k, p in params.items()}

    @tf.function
    def step(params, m, v, i):
        with tf.GradientTape() as tape:
            tape.watch(params)
            loss = task.loss(params, task.sample_batch("train", batch_seed(0, "train", i)))
        grads = tape.gradient(loss, params)
        t = tf.cast(i + 1, tf.float32)
        m = {k: 0.9 * m[k] + 0.1 * grads[k] for k in params}
        v = {k: 0.999 * v[k] + 0.001 * grads[k] ** 2 for k in params}
        return {k: params[k] - 0.01 * m[k] / (1 - 0.9 ** t) / (tf.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)
                for k in params}, m, v

    def held_out(params):
        return np.mean([float(task.loss(params, task.sample_batch("valid_inner", batch_seed(1, "valid_inner", j))))
                        for j in range(5)])

    assert held_out(params) == pytest.approx(np.log(258), abs=0.05)
    for i in range(300):
        params, m, v = step(params, m, v, tf.constant(i, tf.int64))
    assert held_out(params) < 2.5
