"""`char_rnn_lm`: byte-level recurrent language models (TaskSet's char_rnn_language_model family).

Sampled: embedding size log-int [8, 128], core {vrnn, gru, lstm} (see
`taskset.tasks.rnn`) of width log-int [32, 128], trainable initial state,
sequence length log-int [10, 160], batch size log-int [8, 128] (see
`taskset.tasks.text.BATCH_SIZE_RANGE`), dataset from lm1b, imdb_reviews (TFDS)
and shakespeare_bytes (embedded). The loss is next-token cross-entropy with
padding masked (`taskset.tasks.text`). The model: embedding -> core -> dense
readout to the vocabulary (`taskset.tasks.rnn.model_param_shapes`).

Left out from TaskSet's sampler: its vocabulary cut-off (20% of its tasks
clipped byte ids to a smaller vocabulary) and its sampled initialiser for the
readout; here the readout is Glorot-uniform and the vocabulary is the dataset's.

`RnnLmConfig`, `RnnLmTask` and `RnnLmFamily` are shared with `word_rnn_lm`,
which differs only in its dataset pool and sequence lengths.
"""

from __future__ import annotations

from typing import ClassVar

from taskset.lazy import tf
from taskset.sampling import choice, coin, field_rng, log_int
from taskset.tasks import rnn
from taskset.tasks.base import TaskFamily, frozen_config
from taskset.tasks.catalogue import register_family
from taskset.tasks.text import BATCH_SIZE_RANGE, BYTE_LM_POOL, LanguageModelTask, check_dataset


@frozen_config
class RnnLmConfig:
    pool: ClassVar[tuple[str, ...]] = BYTE_LM_POOL

    dataset: str
    core: str
    embed_dim: int
    hidden_size: int
    trainable_init: bool
    sequence_length: int
    batch_size: int

    def validate(self) -> None:
        check_dataset(self.dataset, self.pool)
        rnn.check_core(self.core)
        for field in ("embed_dim", "hidden_size", "sequence_length", "batch_size"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be >= 1, got {getattr(self, field)!r}")


class RnnLmTask(LanguageModelTask):
    """Embedding -> recurrent core -> dense logits over the vocabulary."""

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        c = self.config
        return rnn.model_param_shapes(c.core, self.vocab_size, c.embed_dim, c.hidden_size, c.trainable_init,
                                      self.vocab_size)

    def init(self, seed: int):
        c = self.config
        return rnn.init_model(c.core, self.vocab_size, c.embed_dim, c.hidden_size, c.trainable_init,
                              self.vocab_size, seed)

    def logits(self, params, inputs):
        hidden = rnn.encode(self.config.core, params, inputs, self.config.trainable_init)
        return tf.einsum("bth,hv->btv", hidden, params["out/w"]) + params["out/b"]


class CharRnnLmTask(RnnLmTask):
    family = "char_rnn_lm"


class RnnLmFamily(TaskFamily):
    name = "char_rnn_lm"
    config_class = RnnLmConfig
    task_class = CharRnnLmTask
    sequence_range: ClassVar[tuple[int, int]] = (10, 160)
    description = "byte-level RNN language models: core, widths, trainable init, sequence length, dataset"

    def sample_config(self, seed: int) -> RnnLmConfig:
        def rng(field):
            return field_rng(self.name, seed, field)

        return self.config_class(
            dataset=choice(rng("dataset"), self.config_class.pool),
            core=choice(rng("core"), rnn.CORES),
            embed_dim=log_int(rng("embed_dim"), 8, 128),
            hidden_size=log_int(rng("hidden_size"), 32, 128),
            trainable_init=coin(rng("trainable_init")),
            sequence_length=log_int(rng("sequence_length"), *self.sequence_range),
            batch_size=log_int(rng("batch_size"), *BATCH_SIZE_RANGE),
        )


register_family(RnnLmFamily())
