"""`transformer_lm`: decoder-only transformer language models (beyond TaskSet).

Sampled: tokens {bytes, words} and a dataset of that kind (bytes: lm1b,
imdb_reviews, shakespeare_bytes; words: lm1b_words, imdb_reviews_words,
shakespeare_words), 1-4 layers, 1-8 heads, width log-int [32, 256] rounded to
the nearest multiple of the head count (then kept inside [32, 256] by one head
count step), sequence length log-int [16, 128], positions {learned,
sinusoidal}, batch size log-int [8, 128].

Model (pre-layer-norm, as GPT-2): x = embed(tokens) + position;
per layer x += Attn(LN(x)), x += MLP(LN(x)); logits = LN(x) W + b.
Attention is multi-head with a causal mask (position t attends to positions
<= t, so a later token never changes an earlier prediction); the MLP is
GELU with 4x width. Sinusoidal positions are Vaswani et al.'s sines and
cosines of geometric frequencies, laid out as [sin..., cos...] and cut to the
width. Init: kernels and embeddings N(0, 0.02^2), residual output projections
scaled by 1/sqrt(2 * layers), biases 0, layer-norm gains 1 (GPT-2).
The loss is next-token cross-entropy with padding masked (`taskset.tasks.text`).

References: Vaswani et al. 2017, arXiv:1706.03762; Radford et al. 2019 (GPT-2);
Xiong et al. 2020, arXiv:2002.04745 (pre-layer-norm).
"""

from __future__ import annotations

import math

from taskset.lazy import tf
from taskset.sampling import choice, coin, field_rng, log_int, uniform_int
from taskset.tasks import nn
from taskset.tasks.base import TaskFamily, frozen_config
from taskset.tasks.catalogue import register_family
from taskset.tasks.text import BATCH_SIZE_RANGE, BYTE_LM_POOL, WORD_LM_POOL, LanguageModelTask, check_dataset, embed

POSITIONS = ("learned", "sinusoidal")
WIDTH_RANGE = (32, 256)
_INIT_STD = 0.02


def round_width(width: int, heads: int, low: int = WIDTH_RANGE[0], high: int = WIDTH_RANGE[1]) -> int:
    """`width` rounded to the nearest multiple of `heads`, stepped back inside [low, high]."""
    rounded = heads * max(1, round(width / heads))
    if rounded > high:
        rounded -= heads
    if rounded < low:
        rounded += heads
    return rounded


def sinusoidal_positions(length: int, width: int):
    """[length, width] float32: sin(p / 10000^(i/h)) then cos(...), i < h = ceil(width / 2)."""
    half = -(-width // 2)
    freqs = tf.exp(-math.log(10000.0) * tf.range(half, dtype=tf.float32) / half)
    angles = tf.range(length, dtype=tf.float32)[:, None] * freqs[None, :]
    return tf.concat([tf.sin(angles), tf.cos(angles)], axis=1)[:, :width]


def causal_attention(x, qkv_w, qkv_b, out_w, out_b, heads: int):
    """Multi-head self-attention of x [B, T, W] where position t sees positions <= t."""
    batch, length, width = tf.shape(x)[0], tf.shape(x)[1], x.shape[-1]
    q, k, v = tf.split(tf.einsum("btw,wk->btk", x, qkv_w) + qkv_b, 3, axis=-1)

    def heads_first(t):
        return tf.transpose(tf.reshape(t, [batch, length, heads, width // heads]), [0, 2, 1, 3])

    q, k, v = heads_first(q), heads_first(k), heads_first(v)
    scores = tf.matmul(q, k, transpose_b=True) / math.sqrt(width // heads)
    allowed = tf.linalg.band_part(tf.ones([length, length], tf.bool), -1, 0)
    # A finite floor keeps softmax free of NaNs; exp(-1e9) is exactly 0 in float32.
    scores = tf.where(allowed, scores, -1e9)
    mixed = tf.matmul(tf.nn.softmax(scores, axis=-1), v)
    mixed = tf.reshape(tf.transpose(mixed, [0, 2, 1, 3]), [batch, length, width])
    return tf.einsum("btw,wk->btk", mixed, out_w) + out_b


@frozen_config
class TransformerLmConfig:
    dataset: str
    num_layers: int
    width: int
    num_heads: int
    sequence_length: int
    positions: str
    batch_size: int

    def validate(self) -> None:
        check_dataset(self.dataset, BYTE_LM_POOL + WORD_LM_POOL)
        for field in ("num_layers", "width", "num_heads", "sequence_length", "batch_size"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be >= 1, got {getattr(self, field)!r}")
        if self.width % self.num_heads:
            raise ValueError(f"width {self.width!r} is not divisible by num_heads {self.num_heads!r}; "
                             f"use a multiple of num_heads")
        if self.positions not in POSITIONS:
            raise ValueError(f"unknown positions {self.positions!r}; accepted: {list(POSITIONS)!r}")


class TransformerLmTask(LanguageModelTask):
    family = "transformer_lm"

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        c, w, v = self.config, self.config.width, self.vocab_size
        shapes = {"embed/table": (v, w)}
        if c.positions == "learned":
            shapes["pos/table"] = (c.sequence_length, w)
        for i in range(c.num_layers):
            shapes.update({
                f"layer{i}/ln1/gain": (w,), f"layer{i}/ln1/bias": (w,),
                f"layer{i}/attn/qkv/w": (w, 3 * w), f"layer{i}/attn/qkv/b": (3 * w,),
                f"layer{i}/attn/out/w": (w, w), f"layer{i}/attn/out/b": (w,),
                f"layer{i}/ln2/gain": (w,), f"layer{i}/ln2/bias": (w,),
                f"layer{i}/mlp/in/w": (w, 4 * w), f"layer{i}/mlp/in/b": (4 * w,),
                f"layer{i}/mlp/out/w": (4 * w, w), f"layer{i}/mlp/out/b": (w,),
            })
        shapes.update({"final_ln/gain": (w,), "final_ln/bias": (w,), "out/w": (w, v), "out/b": (v,)})
        return shapes

    def init(self, seed: int):
        residual_scale = 1.0 / math.sqrt(2 * self.config.num_layers)
        params = {}
        for name, shape in self.param_shapes().items():
            if name.endswith(("/w", "/table")):
                std = _INIT_STD * (residual_scale if name.endswith(("attn/out/w", "mlp/out/w")) else 1.0)
                params[name] = tf.random.stateless_normal(shape, nn.param_seed(seed, name)) * std
            elif name.endswith("/gain"):
                params[name] = tf.ones(shape)
            else:
                params[name] = tf.zeros(shape)
        return params

    def logits(self, params, inputs):
        c = self.config
        x = embed(params["embed/table"], inputs)
        if c.positions == "learned":
            x = x + params["pos/table"][None, :tf.shape(inputs)[1]]
        else:
            x = x + sinusoidal_positions(tf.shape(inputs)[1], c.width)[None]
        for i in range(c.num_layers):
            p = f"layer{i}/"
            h = nn.layer_norm(x, params[p + "ln1/gain"], params[p + "ln1/bias"])
            x = x + causal_attention(h, params[p + "attn/qkv/w"], params[p + "attn/qkv/b"],
                                     params[p + "attn/out/w"], params[p + "attn/out/b"], c.num_heads)
            h = nn.layer_norm(x, params[p + "ln2/gain"], params[p + "ln2/bias"])
            h = tf.nn.gelu(tf.einsum("btw,wk->btk", h, params[p + "mlp/in/w"]) + params[p + "mlp/in/b"])
            x = x + tf.einsum("btk,kw->btw", h, params[p + "mlp/out/w"]) + params[p + "mlp/out/b"]
        x = nn.layer_norm(x, params["final_ln/gain"], params["final_ln/bias"])
        return tf.einsum("btw,wv->btv", x, params["out/w"]) + params["out/b"]


class TransformerLmFamily(TaskFamily):
    name = "transformer_lm"
    config_class = TransformerLmConfig
    task_class = TransformerLmTask
    description = "decoder-only pre-LN transformer LMs: depth, width, heads, positions, tokens, dataset"

    def sample_config(self, seed: int) -> TransformerLmConfig:
        def rng(field):
            return field_rng(self.name, seed, field)

        pool = WORD_LM_POOL if coin(rng("tokens")) else BYTE_LM_POOL
        heads = uniform_int(rng("num_heads"), 1, 8)
        return TransformerLmConfig(
            dataset=choice(rng("dataset"), pool),
            num_layers=uniform_int(rng("num_layers"), 1, 4),
            width=round_width(log_int(rng("width"), *WIDTH_RANGE), heads),
            num_heads=heads,
            sequence_length=log_int(rng("sequence_length"), 16, 128),
            positions=choice(rng("positions"), POSITIONS),
            batch_size=log_int(rng("batch_size"), *BATCH_SIZE_RANGE),
        )


register_family(TransformerLmFamily())
