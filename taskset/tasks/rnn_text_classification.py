"""`rnn_text_classification`: recurrent text classifiers (TaskSet's rnn_text_classification family).

Sampled: embedding size log-int [8, 128], core {vrnn, gru, lstm} of width
log-int [32, 128], trainable initial state, readout over time {last, mean,
max}, batch size log-int [8, 128], dataset from imdb_reviews_sentiment (TFDS,
2 classes, 256 words) and shakespeare_genre (embedded, 3 classes, 64 words).

Readouts respect each sequence's `length`, so padding never reaches the
classifier: "last" takes the state at position length - 1, "mean" averages
and "max" takes the elementwise maximum over positions < length. (The core
still steps over the padding; later states are simply not read.)
"""

from __future__ import annotations

from taskset.lazy import tf
from taskset.sampling import choice, coin, field_rng, log_int
from taskset.tasks import nn, rnn
from taskset.tasks.base import TaskFamily, frozen_config
from taskset.tasks.catalogue import register_family
from taskset.tasks.text import BATCH_SIZE_RANGE, TEXT_CLASSIFICATION_POOL, TextClassifierTask, check_dataset

READOUTS = ("last", "mean", "max")


def readout(hidden, length, kind: str):
    """Pools hidden states [B, T, H] over the first `length` [B] positions to [B, H].

    Rows with length 0 read out zeros.
    """
    valid = tf.sequence_mask(length, tf.shape(hidden)[1])[:, :, None]
    if kind == "last":
        last = tf.maximum(length - 1, 0)
        picked = tf.gather(hidden, last, batch_dims=1)
        return tf.where(length[:, None] > 0, picked, tf.zeros_like(picked))
    if kind == "mean":
        total = tf.reduce_sum(tf.where(valid, hidden, tf.zeros_like(hidden)), axis=1)
        return total / tf.maximum(tf.cast(length, hidden.dtype), 1.0)[:, None]
    if kind == "max":
        # A finite floor rather than -inf, so rows without valid positions stay finite.
        best = tf.reduce_max(tf.where(valid, hidden, tf.fill(tf.shape(hidden), hidden.dtype.min)), axis=1)
        return tf.where(length[:, None] > 0, best, tf.zeros_like(best))
    raise ValueError(f"unknown readout {kind!r}; accepted: {list(READOUTS)!r}")


@frozen_config
class RnnTextClassificationConfig:
    dataset: str
    core: str
    embed_dim: int
    hidden_size: int
    trainable_init: bool
    readout: str
    batch_size: int

    def validate(self) -> None:
        check_dataset(self.dataset, TEXT_CLASSIFICATION_POOL)
        rnn.check_core(self.core)
        if self.readout not in READOUTS:
            raise ValueError(f"unknown readout {self.readout!r}; accepted: {list(READOUTS)!r}")
        for field in ("embed_dim", "hidden_size", "batch_size"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be >= 1, got {getattr(self, field)!r}")


class RnnTextClassificationTask(TextClassifierTask):
    family = "rnn_text_classification"

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        c = self.config
        return rnn.model_param_shapes(c.core, self.vocab_size, c.embed_dim, c.hidden_size, c.trainable_init,
                                      self.num_classes)

    def init(self, seed: int):
        c = self.config
        return rnn.init_model(c.core, self.vocab_size, c.embed_dim, c.hidden_size, c.trainable_init,
                              self.num_classes, seed)

    def logits(self, params, batch):
        hidden = rnn.encode(self.config.core, params, batch["tokens"], self.config.trainable_init)
        pooled = readout(hidden, batch["length"], self.config.readout)
        return nn.dense(pooled, params["out/w"], params["out/b"])


class RnnTextClassificationFamily(TaskFamily):
    name = "rnn_text_classification"
    config_class = RnnTextClassificationConfig
    task_class = RnnTextClassificationTask
    description = "RNN text classifiers: core, widths, trainable init, readout over time, dataset"

    def sample_config(self, seed: int) -> RnnTextClassificationConfig:
        def rng(field):
            return field_rng(self.name, seed, field)

        return RnnTextClassificationConfig(
            dataset=choice(rng("dataset"), TEXT_CLASSIFICATION_POOL),
            core=choice(rng("core"), rnn.CORES),
            embed_dim=log_int(rng("embed_dim"), 8, 128),
            hidden_size=log_int(rng("hidden_size"), 32, 128),
            trainable_init=coin(rng("trainable_init")),
            readout=choice(rng("readout"), READOUTS),
            batch_size=log_int(rng("batch_size"), *BATCH_SIZE_RANGE),
        )


register_family(RnnTextClassificationFamily())
