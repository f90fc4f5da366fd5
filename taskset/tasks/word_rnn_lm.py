"""`word_rnn_lm`: word-level recurrent language models (TaskSet's word_rnn_language_model family).

The `char_rnn_lm` model and sampler (see there) on word tokens: dataset from
lm1b_words, imdb_reviews_words (TFDS) and shakespeare_words (embedded), all with
the same 8,003-id vocabulary size, and sequence length log-int [10, 256].
TaskSet also sampled a vocabulary cut-off in [1,000, 30,000]; here the
vocabulary is part of the dataset (8,000 words + pad, end and unknown).
"""

from __future__ import annotations

from typing import ClassVar

from taskset.tasks.base import frozen_config
from taskset.tasks.catalogue import register_family
from taskset.tasks.char_rnn_lm import RnnLmConfig, RnnLmFamily, RnnLmTask
from taskset.tasks.text import WORD_LM_POOL


@frozen_config
class WordRnnLmConfig(RnnLmConfig):
    pool: ClassVar[tuple[str, ...]] = WORD_LM_POOL


class WordRnnLmTask(RnnLmTask):
    family = "word_rnn_lm"


class WordRnnLmFamily(RnnLmFamily):
    name = "word_rnn_lm"
    config_class = WordRnnLmConfig
    task_class = WordRnnLmTask
    sequence_range = (10, 256)
    description = "word-level RNN language models: core, widths, trainable init, sequence length, dataset"


register_family(WordRnnLmFamily())
