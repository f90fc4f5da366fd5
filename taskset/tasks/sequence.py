"""`sequence`: synthetic memory problems for recurrent cores (beyond TaskSet's sampled families).

Two problems, picked by the `problem` field, both generated inside `sample_batch`
from the stateless seed (no dataset, so every task is runnable):

- `copy`: the input is `length` random symbols from 1..`vocab_size`, a delimiter,
  then `length` blanks; the model must emit the symbols during the blanks. Loss:
  cross-entropy on those `length` positions only (the others are masked).
- `associative_retrieval` (Ba et al. 2016, arXiv:1610.06258): `length` distinct
  keys out of `vocab_size`, each followed by a value (one of 10), then a separator
  and one of the keys; the model must name that key's value at the last step.

Token ids: 0 blank/pad, 1 delimiter/separator, 2.. symbols (copy) or keys then the
10 values (retrieval). The model is embedding -> RNN core (`taskset.tasks.rnn`)
-> dense readout over all token ids.

Sampled: problem uniform; core {vrnn, gru, lstm}; embedding log-int [8, 64];
width log-int [32, 128]; trainable initial state; batch size log-int [8, 128];
copy: length log-int [2, 20], vocab_size log-int [2, 32]; retrieval: length
(pairs) log-int [2, 12], vocab_size (keys) uniform in [length, 26].
"""

from __future__ import annotations

from taskset.lazy import tf
from taskset.sampling import choice, coin, field_rng, log_int, uniform_int
from taskset.tasks import rnn
from taskset.tasks.base import Task, TaskFamily, frozen_config
from taskset.tasks.catalogue import register_family
from taskset.tasks.text import masked_token_cross_entropy

PROBLEMS = ("copy", "associative_retrieval")
NUM_VALUES = 10
BLANK, DELIMITER, FIRST_SYMBOL = 0, 1, 2


@frozen_config
class SequenceConfig:
    problem: str
    length: int
    vocab_size: int
    core: str
    embed_dim: int
    hidden_size: int
    trainable_init: bool
    batch_size: int

    def validate(self) -> None:
        if self.problem not in PROBLEMS:
            raise ValueError(f"unknown problem {self.problem!r}; accepted: {list(PROBLEMS)!r}")
        rnn.check_core(self.core)
        for field in ("length", "vocab_size", "embed_dim", "hidden_size", "batch_size"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be >= 1, got {getattr(self, field)!r}")
        if self.problem == "associative_retrieval" and self.vocab_size < self.length:
            raise ValueError(f"associative_retrieval needs vocab_size >= length (distinct keys), "
                             f"got vocab_size={self.vocab_size!r} < length={self.length!r}")


def copy_batch(batch_size: int, length: int, vocab_size: int, seed):
    """(inputs [B, 2L+1], targets, mask) of the copy problem."""
    symbols = tf.random.stateless_uniform([batch_size, length], seed, FIRST_SYMBOL, FIRST_SYMBOL + vocab_size,
                                          dtype=tf.int32)
    blanks = tf.fill([batch_size, length], BLANK)
    inputs = tf.concat([symbols, tf.fill([batch_size, 1], DELIMITER), blanks], axis=1)
    targets = tf.concat([tf.zeros([batch_size, length + 1], tf.int32), symbols], axis=1)
    mask = tf.concat([tf.zeros([batch_size, length + 1]), tf.ones([batch_size, length])], axis=1)
    return inputs, targets, mask


def retrieval_batch(batch_size: int, pairs: int, num_keys: int, seed):
    """(inputs [B, 2P+2], targets, mask) of associative retrieval; only the last step counts."""
    key_seed, value_seed, query_seed = (tf.random.experimental.stateless_fold_in(seed, i) for i in range(3))
    # Distinct keys per row: the first `pairs` entries of a random permutation.
    order = tf.argsort(tf.random.stateless_uniform([batch_size, num_keys], key_seed), axis=1)
    keys = order[:, :pairs] + FIRST_SYMBOL
    values = tf.random.stateless_uniform([batch_size, pairs], value_seed, 0, NUM_VALUES, dtype=tf.int32)
    values = values + FIRST_SYMBOL + num_keys
    query = tf.random.stateless_uniform([batch_size], query_seed, 0, pairs, dtype=tf.int32)
    interleaved = tf.reshape(tf.stack([keys, values], axis=2), [batch_size, 2 * pairs])
    inputs = tf.concat([interleaved, tf.fill([batch_size, 1], DELIMITER),
                        tf.gather(keys, query, batch_dims=1)[:, None]], axis=1)
    answer = tf.gather(values, query, batch_dims=1)
    targets = tf.concat([tf.zeros([batch_size, 2 * pairs + 1], tf.int32), answer[:, None]], axis=1)
    mask = tf.concat([tf.zeros([batch_size, 2 * pairs + 1]), tf.ones([batch_size, 1])], axis=1)
    return inputs, targets, mask


class SequenceTask(Task):
    family = "sequence"

    def required_datasets(self) -> tuple[str, ...]:
        return ()

    @property
    def num_tokens(self) -> int:
        extra = NUM_VALUES if self.config.problem == "associative_retrieval" else 0
        return FIRST_SYMBOL + self.config.vocab_size + extra

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        c = self.config
        return rnn.model_param_shapes(c.core, self.num_tokens, c.embed_dim, c.hidden_size, c.trainable_init,
                                      self.num_tokens)

    def init(self, seed: int):
        c = self.config
        return rnn.init_model(c.core, self.num_tokens, c.embed_dim, c.hidden_size, c.trainable_init,
                              self.num_tokens, seed)

    def sample_batch(self, split: str, seed):
        # Every split draws from the same distribution; the seeds differ per split.
        c = self.config
        make = copy_batch if c.problem == "copy" else retrieval_batch
        inputs, targets, mask = make(c.batch_size, c.length, c.vocab_size, seed)
        return {"inputs": inputs, "targets": targets, "mask": mask}

    def loss(self, params, batch):
        hidden = rnn.encode(self.config.core, params, batch["inputs"], self.config.trainable_init)
        logits = tf.einsum("bth,hv->btv", hidden, params["out/w"]) + params["out/b"]
        return masked_token_cross_entropy(logits, batch["targets"], batch["mask"])


class SequenceFamily(TaskFamily):
    name = "sequence"
    config_class = SequenceConfig
    task_class = SequenceTask
    description = "synthetic copy and associative-retrieval problems for RNN cores"

    def sample_config(self, seed: int) -> SequenceConfig:
        def rng(field):
            return field_rng(self.name, seed, field)

        problem = choice(rng("problem"), PROBLEMS)
        if problem == "copy":
            length, vocab = log_int(rng("length"), 2, 20), log_int(rng("vocab_size"), 2, 32)
        else:
            length = log_int(rng("length"), 2, 12)
            vocab = uniform_int(rng("vocab_size"), length, 26)
        return SequenceConfig(
            problem=problem, length=length, vocab_size=vocab,
            core=choice(rng("core"), rnn.CORES),
            embed_dim=log_int(rng("embed_dim"), 8, 64),
            hidden_size=log_int(rng("hidden_size"), 32, 128),
            trainable_init=coin(rng("trainable_init")),
            batch_size=log_int(rng("batch_size"), 8, 128),
        )


register_family(SequenceFamily())
