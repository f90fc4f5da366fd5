import numpy as np
import pytest

from hparam_lists.artifact import FitSettings, HparamList, ListEntry, save_list
from hparam_lists.keras_optimizer import optimizer_from_list
from taskset.errors import ConfigError
from taskset.optimizers import get_optimizer_config


def nadamw_list() -> HparamList:
    configs = [get_optimizer_config(f"nadamw_seed{i}") for i in (3, 7)]
    # A moderate learning rate, so that a few steps move the parameters visibly but stably.
    entries = tuple(ListEntry("nadamw", c.name, {**c.hparams, "lr": 0.05}) for c in configs)
    return HparamList(entries, FitSettings("nadamw", 2, "valid_inner", "final", ("mlp_seed1",), 2))


def test_functional_rule_and_keras_optimizer_give_the_same_parameters(tmp_path):
    import tensorflow as tf

    path = save_list(nadamw_list(), tmp_path / "l.json")
    built = optimizer_from_list(str(path), 1, total_steps=6)
    assert built.entry.optimizer == "nadamw_seed7" and built.index == 1
    rng = np.random.default_rng(0)
    initial = {"w": rng.normal(size=(3, 2)).astype(np.float32), "b": rng.normal(size=(2,)).astype(np.float32)}
    grads = [{k: rng.normal(size=v.shape).astype(np.float32) for k, v in initial.items()} for _ in range(5)]

    params = {k: tf.constant(v) for k, v in initial.items()}
    state = built.rule.init(params)
    for step, g in enumerate(grads):
        params, state = built.rule.update({k: tf.constant(v) for k, v in g.items()}, state, params, step)

    variables = [tf.Variable(initial["w"]), tf.Variable(initial["b"])]
    for g in grads:
        built.keras.apply([tf.constant(g["w"]), tf.constant(g["b"])], variables)
    np.testing.assert_allclose(variables[0].numpy(), params["w"].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(variables[1].numpy(), params["b"].numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(variables[0].numpy(), initial["w"])


def test_keras_optimizer_trains_a_model_with_fit():
    import keras

    rng = np.random.default_rng(1)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = x @ np.array([[1.0], [2.0], [-1.0], [0.5]], dtype="float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    built = optimizer_from_list(nadamw_list(), 0, total_steps=8 * 6)
    model.compile(optimizer=built.keras, loss="mse")
    history = model.fit(x, y, epochs=6, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < 0.5 * losses[0]
    assert int(built.keras.iterations.numpy()) == 48
    assert built.keras.get_config()["hparams"] == built.entry.hparams


@pytest.mark.parametrize("index, total_steps, message", [
    (2, 10, r"index must be an integer in \[0, 1\], got 2"),
    (-1, 10, "got -1"),
    (0, 0, "total_steps must be a positive integer"),
])
def test_bad_index_or_run_length(index, total_steps, message):
    with pytest.raises(ConfigError, match=message):
        optimizer_from_list(nadamw_list(), index, total_steps)
