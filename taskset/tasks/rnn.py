"""Recurrent cores as pure functions of a flat param dict, run over time with `tf.scan`.

Three cores (TaskSet's pool), each with an input kernel `w_x` [in, k*H], a
recurrent kernel `w_h` [H, k*H] and a bias `b` [k*H] (k gates), gates laid out
in the order given:
- "vrnn" (k=1): h' = tanh(x W + h U + b).
- "gru" (k=3: z, r, n), the "reset after" form of cuDNN and Keras
  (`reset_after=True`), which needs one recurrent matmul per step:
  z = sigmoid(x W_z + h U_z + b_z), r = sigmoid(x W_r + h U_r + b_r),
  n = tanh(x W_n + b_n + r * (h U_n)), h' = (1 - z) * n + z * h.
  References: Cho et al. 2014, arXiv:1406.1078.
- "lstm" (k=4: i, f, g, o), without peepholes:
  c' = sigmoid(f) * c + sigmoid(i) * tanh(g), h' = sigmoid(o) * tanh(c').
  The forget-gate bias starts at 1 (Jozefowicz et al. 2015) so early gradients
  flow through time. References: Hochreiter & Schmidhuber 1997.

The input projection x W + b of all steps is one matmul before the scan, so
each step costs one [B, H] x [H, k*H] matmul. A trainable initial state is a
parameter `h0` (and `c0` for the LSTM) shared by all sequences of a batch.
"""

from __future__ import annotations

from taskset.lazy import tf
from taskset.tasks import nn, text

CORES = ("vrnn", "gru", "lstm")
GATES = {"vrnn": 1, "gru": 3, "lstm": 4}


def check_core(core: str) -> None:
    """Raises ValueError for an unknown core name."""
    if core not in GATES:
        raise ValueError(f"unknown rnn core {core!r}; accepted: {list(CORES)!r}")


def state_names(core: str) -> tuple[str, ...]:
    """Names of the state tensors: ("h",) or ("h", "c") for the LSTM."""
    return ("h", "c") if core == "lstm" else ("h",)


def param_shapes(core: str, input_size: int, hidden: int, prefix: str,
                 trainable_init: bool) -> dict[str, tuple[int, ...]]:
    """Name -> shape of the core's parameters, computed without TensorFlow."""
    k = GATES[core]
    shapes = {f"{prefix}/w_x": (input_size, k * hidden), f"{prefix}/w_h": (hidden, k * hidden),
              f"{prefix}/b": (k * hidden,)}
    if trainable_init:
        shapes.update({f"{prefix}/{name}0": (hidden,) for name in state_names(core)})
    return shapes


def init_params(core: str, input_size: int, hidden: int, prefix: str, trainable_init: bool, seed: int):
    """Initial parameters: Glorot-uniform input kernel, orthogonal recurrent kernel, zero
    bias (LSTM forget gate: 1), zero initial state."""
    params = {}
    for name, shape in param_shapes(core, input_size, hidden, prefix, trainable_init).items():
        if name.endswith("/w_x"):
            params[name] = nn.initialize("glorot_uniform", shape, nn.param_seed(seed, name))
        elif name.endswith("/w_h"):
            # One orthogonal block per gate keeps each gate's recurrence norm-preserving at start.
            blocks = [nn.initialize("orthogonal", (hidden, hidden), nn.param_seed(seed, f"{name}/{g}"))
                      for g in range(GATES[core])]
            params[name] = tf.concat(blocks, axis=1)
        elif name.endswith("/b") and core == "lstm":
            params[name] = tf.concat([tf.zeros([hidden]), tf.ones([hidden]), tf.zeros([2 * hidden])], axis=0)
        else:
            params[name] = tf.zeros(shape)
    return params


def step(core: str, w_h, state: tuple, x_proj) -> tuple:
    """One time step: the new state from the old and the projected input x W + b [B, k*H]."""
    h = state[0]
    rec = tf.matmul(h, w_h)
    if core == "vrnn":
        return (tf.tanh(x_proj + rec),)
    if core == "gru":
        xz, xr, xn = tf.split(x_proj, 3, axis=-1)
        hz, hr, hn = tf.split(rec, 3, axis=-1)
        z = tf.sigmoid(xz + hz)
        r = tf.sigmoid(xr + hr)
        n = tf.tanh(xn + r * hn)
        return ((1.0 - z) * n + z * h,)
    if core == "lstm":
        i, f, g, o = tf.split(x_proj + rec, 4, axis=-1)
        c = tf.sigmoid(f) * state[1] + tf.sigmoid(i) * tf.tanh(g)
        return (tf.sigmoid(o) * tf.tanh(c), c)
    raise ValueError(f"unknown rnn core {core!r}; accepted: {list(CORES)!r}")


def initial_state(core: str, params, prefix: str, batch_size, hidden: int, trainable_init: bool) -> tuple:
    """The state at t=0: the learned `h0`/`c0` tiled over the batch, or zeros."""
    if trainable_init:
        return tuple(tf.tile(params[f"{prefix}/{name}0"][None, :], [batch_size, 1]) for name in state_names(core))
    return tuple(tf.zeros([batch_size, hidden]) for _ in state_names(core))


def run(core: str, params, prefix: str, inputs, trainable_init: bool):
    """Runs the core over `inputs` [B, T, in]; returns the hidden states [B, T, H]."""
    hidden = params[f"{prefix}/w_h"].shape[0]
    x_proj = tf.einsum("bti,ij->btj", inputs, params[f"{prefix}/w_x"]) + params[f"{prefix}/b"]
    state0 = initial_state(core, params, prefix, tf.shape(inputs)[0], hidden, trainable_init)
    w_h = params[f"{prefix}/w_h"]
    states = tf.scan(lambda state, x: step(core, w_h, state, x), tf.transpose(x_proj, [1, 0, 2]),
                     initializer=state0)
    return tf.transpose(states[0], [1, 0, 2])


# --- the embedding -> core -> dense model shared by the RNN families ------------------

def model_param_shapes(core: str, vocab_size: int, embed_dim: int, hidden: int, trainable_init: bool,
                       num_outputs: int) -> dict[str, tuple[int, ...]]:
    """Shapes of `embed/table`, the core under `rnn/` and the dense readout `out/w`, `out/b`."""
    return {"embed/table": (vocab_size, embed_dim),
            **param_shapes(core, embed_dim, hidden, "rnn", trainable_init),
            "out/w": (hidden, num_outputs), "out/b": (num_outputs,)}


def init_model(core: str, vocab_size: int, embed_dim: int, hidden: int, trainable_init: bool,
               num_outputs: int, seed: int):
    """Initial parameters of the model of `model_param_shapes` (Glorot-uniform readout)."""
    return {"embed/table": text.init_embedding((vocab_size, embed_dim), nn.param_seed(seed, "embed/table")),
            **init_params(core, embed_dim, hidden, "rnn", trainable_init, seed),
            "out/w": nn.initialize("glorot_uniform", (hidden, num_outputs), nn.param_seed(seed, "out/w")),
            "out/b": tf.zeros([num_outputs])}


def encode(core: str, params, tokens, trainable_init: bool):
    """Hidden states [B, T, H] of the core run over the embedded `tokens` [B, T]."""
    return run(core, params, "rnn", text.embed(params["embed/table"], tokens), trainable_init)
