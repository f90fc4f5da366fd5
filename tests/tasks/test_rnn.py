"""The recurrent cores: shapes, init, agreement with Keras' cells, trainable initial state."""

import numpy as np
import pytest
import tensorflow as tf

from taskset.tasks import rnn

B, T, IN, H = 3, 5, 6, 4


def _params(core, trainable_init=False, seed=0):
    params = rnn.init_params(core, IN, H, "rnn", trainable_init, seed)
    # Random biases, so the reference comparison also checks the bias layout.
    b = params["rnn/b"]
    params["rnn/b"] = b + tf.random.stateless_normal(b.shape, [seed, 1])
    return params


@pytest.mark.parametrize("core", rnn.CORES)
@pytest.mark.parametrize("trainable_init", [False, True])
def test_shapes_and_init(core, trainable_init):
    shapes = rnn.param_shapes(core, IN, H, "rnn", trainable_init)
    params = rnn.init_params(core, IN, H, "rnn", trainable_init, seed=3)
    assert {k: tuple(v.shape) for k, v in params.items()} == shapes
    assert shapes["rnn/w_x"] == (IN, rnn.GATES[core] * H)
    assert ("rnn/c0" in shapes) == (core == "lstm" and trainable_init)
    w_h = params["rnn/w_h"].numpy()
    for g in range(rnn.GATES[core]):  # each gate's recurrent block is orthogonal
        block = w_h[:, g * H:(g + 1) * H]
        np.testing.assert_allclose(block.T @ block, np.eye(H), atol=1e-5)
    expected_bias = np.zeros(rnn.GATES[core] * H)
    if core == "lstm":
        expected_bias[H:2 * H] = 1.0  # forget gate
    np.testing.assert_array_equal(params["rnn/b"].numpy(), expected_bias)
    outputs = rnn.run(core, params, "rnn", tf.random.stateless_normal([B, T, IN], [0, 0]), trainable_init)
    assert outputs.shape == (B, T, H)


def _keras_reference(core, params, inputs):
    import keras

    w_x, w_h, b = (params[f"rnn/{k}"].numpy() for k in ("w_x", "w_h", "b"))
    if core == "vrnn":
        layer, weights = keras.layers.SimpleRNN(H, return_sequences=True), [w_x, w_h, b]
    elif core == "gru":
        # Keras' reset_after GRU has a second (recurrent) bias, zero here; gates z, r, h as ours.
        layer, weights = keras.layers.GRU(H, return_sequences=True), [w_x, w_h, np.stack([b, np.zeros_like(b)])]
    else:
        layer, weights = keras.layers.LSTM(H, return_sequences=True, unit_forget_bias=False), [w_x, w_h, b]
    layer.build(inputs.shape)
    layer.set_weights(weights)
    return np.asarray(layer(inputs))


@pytest.mark.parametrize("core", rnn.CORES)
def test_cores_match_keras(core):
    params = _params(core)
    inputs = tf.random.stateless_normal([B, T, IN], [1, 2])
    ours = tf.function(lambda p, x: rnn.run(core, p, "rnn", x, False))(params, inputs)
    np.testing.assert_allclose(ours.numpy(), _keras_reference(core, params, inputs), atol=1e-5)


@pytest.mark.parametrize("core", rnn.CORES)
def test_trainable_initial_state_is_used(core):
    params = _params(core, trainable_init=True)
    inputs = tf.random.stateless_normal([B, T, IN], [1, 2])
    zero_start = rnn.run(core, params, "rnn", inputs, True)
    np.testing.assert_allclose(zero_start.numpy(), rnn.run(core, params, "rnn", inputs, False).numpy(), atol=1e-6)
    params["rnn/h0"] = tf.ones([H])
    moved = rnn.run(core, params, "rnn", inputs, True)
    assert np.abs(moved.numpy()[:, 0] - zero_start.numpy()[:, 0]).min() > 1e-4
    with tf.GradientTape() as tape:
        tape.watch(params["rnn/h0"])
        total = tf.reduce_sum(rnn.run(core, params, "rnn", inputs, True))
    assert np.abs(tape.gradient(total, params["rnn/h0"]).numpy()).sum() > 0


def test_unknown_core_is_rejected():
    with pytest.raises(ValueError, match="unknown rnn core 'rnn'; accepted"):
        rnn.check_core("rnn")
