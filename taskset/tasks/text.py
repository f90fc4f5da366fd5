"""Shared pieces of the text families: windows from a token stream, masked losses, embeddings.

Language-model batches are windows of a split's token stream (see
`taskset.datasets.text`): each of `batch_size` windows starts at a uniformly
drawn position and holds `sequence_length + 1` tokens, giving inputs and
next-token targets. A window keeps one document: the first end-of-document
token among the targets is kept (the model learns where documents end) and
every target after it, like every position past the end of the stream, becomes
padding. The loss is the mean cross-entropy over non-padding targets only;
TaskSet averaged over padding too, which rewards predicting padding.
"""

from __future__ import annotations

import abc

from taskset.datasets.base import DATASETS
from taskset.datasets.text import EOS_ID, PAD_ID
from taskset.lazy import tf
from taskset.tasks.base import Task, gather_batch, split_tensors

BYTE_LM_POOL = ("lm1b", "imdb_reviews", "shakespeare_bytes")
WORD_LM_POOL = ("lm1b_words", "imdb_reviews_words", "shakespeare_words")
TEXT_CLASSIFICATION_POOL = ("imdb_reviews_sentiment", "shakespeare_genre")

# Batch sizes of the text families, log-uniform. Smaller than the image families'
# [8, 512]: a word-level batch holds batch x length x 8,003 logits, and at 128 x 256
# those alone are 1 GB of float32, twice that with their gradient.
BATCH_SIZE_RANGE = (8, 128)


def check_dataset(name: str, pool: tuple[str, ...]) -> None:
    """Raises ValueError if `name` is not in the family's dataset pool."""
    if name not in pool:
        raise ValueError(f"dataset {name!r} is not usable here; accepted: {list(pool)!r}")


def stream_windows(stream, batch_size: int, sequence_length: int, seed):
    """Language-model windows from a token stream (see the module docstring).

    Args:
      stream: int32 [N] tokens, N >= 2.
      batch_size: number of windows.
      sequence_length: T, the number of predicted tokens per window.
      seed: [2] stateless seed of the start positions.

    Returns:
      (inputs, targets, mask): int32 [B, T], int32 [B, T] and float32 [B, T],
      mask 1 where the target is a real token.
    """
    n = tf.shape(stream)[0]
    # Starts in [0, n - 2], so every window has at least one real target.
    starts = tf.random.stateless_uniform([batch_size], seed=seed, minval=0, maxval=n - 1, dtype=tf.int32)
    positions = starts[:, None] + tf.range(sequence_length + 1)[None, :]
    window = tf.gather(stream, tf.minimum(positions, n - 1))
    window = tf.where(positions < n, window, PAD_ID)
    return truncate_after_eos(window[:, :1], window[:, 1:])


def truncate_after_eos(first, targets):
    """Pads every target after the first EOS of each row; returns (inputs, targets, mask).

    `first` [B, 1] is the token before `targets` [B, T]; inputs are the targets
    shifted right by one, so inputs[:, j] = targets[:, j - 1].
    """
    after_eos = tf.cumsum(tf.cast(tf.equal(targets, EOS_ID), tf.int32), axis=1, exclusive=True) > 0
    targets = tf.where(after_eos, PAD_ID, targets)
    inputs = tf.concat([first, targets[:, :-1]], axis=1)
    return inputs, targets, tf.cast(tf.not_equal(targets, PAD_ID), tf.float32)


def masked_token_cross_entropy(logits, targets, mask):
    """Mean softmax cross-entropy over the positions where `mask` is 1.

    Args:
      logits: float32 [..., V].
      targets: int32 [...].
      mask: float32 [...], 1 for real tokens, 0 for padding.

    Returns:
      A float32 scalar: sum(xent * mask) / max(sum(mask), 1).
    """
    xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
    return tf.reduce_sum(xent * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


def embed(table, ids):
    """Rows of `table` [V, E] for int `ids` [...], with a dense gradient.

    `tf.gather`'s gradient is an IndexedSlices, which optimizers written as
    plain tensor arithmetic cannot take; this returns the same values with the
    gradient summed into a dense [V, E] tensor.
    """
    @tf.custom_gradient
    def lookup(table):
        def grad(upstream):
            rows = tf.reshape(upstream, [-1, tf.shape(table)[1]])
            return tf.math.unsorted_segment_sum(rows, tf.reshape(ids, [-1]), tf.shape(table)[0])
        return tf.gather(table, ids), grad

    return lookup(table)


def init_embedding(shape: tuple[int, int], seed):
    """An embedding table drawn from N(0, 1/E), so embedded vectors have unit expected norm."""
    return tf.random.stateless_normal(shape, seed) * (1.0 / shape[1]) ** 0.5


class LanguageModelTask(Task):
    """Next-token prediction on a text stream; subclasses give `logits`.

    The config must have `dataset`, `batch_size` and `sequence_length` fields.
    """

    def required_datasets(self) -> tuple[str, ...]:
        return (self.config.dataset,)

    @property
    def vocab_size(self) -> int:
        return DATASETS.get(self.config.dataset).info.vocab_size

    def sample_batch(self, split: str, seed):
        inputs, targets, mask = stream_windows(split_tensors(self.config.dataset, split)["tokens"],
                                               self.config.batch_size, self.config.sequence_length, seed)
        return {"inputs": inputs, "targets": targets, "mask": mask}

    @abc.abstractmethod
    def logits(self, params, inputs):
        """Next-token scores [B, T, V] for `inputs` [B, T]; position t sees inputs up to t."""

    def loss(self, params, batch):
        return masked_token_cross_entropy(self.logits(params, batch["inputs"]), batch["targets"], batch["mask"])


class TextClassifierTask(Task):
    """Softmax cross-entropy on a text_classification dataset (`tokens`, `length`, `label`).

    The config must have `dataset` and `batch_size` fields.
    """

    def required_datasets(self) -> tuple[str, ...]:
        return (self.config.dataset,)

    @property
    def vocab_size(self) -> int:
        return DATASETS.get(self.config.dataset).info.vocab_size

    @property
    def num_classes(self) -> int:
        return DATASETS.get(self.config.dataset).info.num_classes

    def sample_batch(self, split: str, seed):
        batch = gather_batch(split_tensors(self.config.dataset, split), self.config.batch_size, seed)
        return {"tokens": batch["tokens"], "length": batch["length"], "label": batch["label"]}

    @abc.abstractmethod
    def logits(self, params, batch):
        """Class scores [B, num_classes]."""

    def loss(self, params, batch):
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=batch["label"], logits=self.logits(params, batch)))
