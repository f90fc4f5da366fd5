"""GPU check: config-steps/s of the population trainer on one GPU against Keras `fit` there.

One prepared script for a machine with a GPU. It trains three reference tasks
  mlp          fixed_mlp_mnist5k_128x3_relu_bs128
  conv         fixed_conv_pooling_mnist5k_32x64x64_max_bs128
  transformer  fixed_transformer_lm_shakespeare_bytes_2x128_h4_seq64_bs32
(all on embedded data, so no download) as populations of K = 8, 32 and 128 Adam
configs with `taskset.training.train`, and prints per task and K:
  - the XLA rule's choice (`taskset.training.compile_rule.use_xla`),
  - the trainer's config-steps/s (`1 / Curve.seconds_per_step`: training only,
    compilation and evaluations excluded) and the call's set-up seconds,
  - a plain Keras `model.fit` of the same architecture and batch size, one
    config, Adam, on the same GPU, in a child process without op determinism
    (as `benchmarks/trainer_throughput.py` does), in config-steps/s,
  - their ratio.
Keras runs first (its own process, GPU memory growth on), then the trainer.

On a machine where TensorFlow sees no GPU it prints why and how to install the
GPU build (README, "GPU") and exits with status 0 having measured nothing;
`--allow-cpu` runs the same measurement on the CPU anyway (to try the script).

  python benchmarks/gpu_check.py [--members 8,32,128] [--steps 200] [--tasks mlp,conv,transformer]
      [--allow-cpu]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")  # Keras' child and the trainer share the GPU

import numpy as np  # noqa: E402

TASKS = {
    "mlp": "fixed_mlp_mnist5k_128x3_relu_bs128",
    "conv": "fixed_conv_pooling_mnist5k_32x64x64_max_bs128",
    "transformer": "fixed_transformer_lm_shakespeare_bytes_2x128_h4_seq64_bs32",
}
GPU_INSTALL = 'TASKSET_TENSORFLOW=gpu pip install -e ".[test]"'


def gpu_problem() -> str | None:
    """None when TensorFlow sees a GPU, else a one-paragraph reason and remedy."""
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return None
    if not tf.test.is_built_with_cuda():
        return (f"TensorFlow {tf.__version__} here is a CPU-only build, so no GPU can be used. On a machine "
                f"with an NVIDIA GPU install the CUDA build (one TensorFlow, see README 'GPU'):\n  {GPU_INSTALL}")
    return (f"TensorFlow {tf.__version__} is built with CUDA but sees no GPU: check `nvidia-smi`, the driver "
            "and CUDA_VISIBLE_DEVICES.")


def adam_configs(count: int):
    """`count` Adam configs, learning rates log-spaced in [1e-4, 1e-2] (none diverges on these tasks)."""
    from taskset.optimizers import make_config

    return [make_config("adam1p", {"lr": float(lr)}, f"adam_lr{lr:.3g}") for lr in np.logspace(-4, -2, count)]


# --- Keras fit, one config --------------------------------------------------------------

def keras_data(task):
    """(x, y) arrays of the task's train split, as the task feeds them."""
    from taskset.datasets import DATASETS

    config = task.config_dict
    train = DATASETS.get(config["dataset"]).splits()["train"]
    if config["family"] == "transformer_lm":
        tokens = np.asarray(train["tokens"])
        length = config["sequence_length"]
        count = (len(tokens) - 1) // length
        return (tokens[:count * length].reshape(count, length).astype("int32"),
                tokens[1:count * length + 1].reshape(count, length).astype("int32"))
    x = train["image"].astype("float32")
    x = x / 255.0 if train["image"].dtype == np.uint8 else x
    if config.get("center_data"):
        x = x * 2.0 - 1.0
    if config["family"] == "mlp":
        x = x.reshape(len(x), -1)
    return x, train["label"]


def keras_model(task):
    """The task's architecture as a compiled Keras model (same layers, widths and batch shapes)."""
    import keras

    config, layers = task.config_dict, keras.layers
    if config["family"] == "mlp":
        inputs = layers.Input((int(np.prod(task.input_shape)),))
        x = inputs
        for width in config["hidden_sizes"]:
            x = layers.Dense(width, activation=config["activation"])(x)
        outputs = layers.Dense(task.num_classes)(x)
    elif config["family"] == "conv_pooling":
        inputs = layers.Input(task.input_shape)
        x = inputs
        for channels, stride, padding in zip(config["channels"], config["strides"], config["paddings"]):
            x = layers.Conv2D(channels, 3, strides=stride, padding=padding.lower(), activation=config["activation"],
                              use_bias=config["use_bias"])(x)
        pool = layers.GlobalMaxPooling2D() if config["pool"] == "max" else layers.GlobalAveragePooling2D()
        outputs = layers.Dense(task.num_classes)(pool(x))
    else:
        from taskset.datasets import DATASETS

        vocab = DATASETS.get(config["dataset"]).info.vocab_size
        width, heads, length = config["width"], config["num_heads"], config["sequence_length"]
        inputs = layers.Input((length,), dtype="int32")
        x = PositionEmbedding(length, width)(layers.Embedding(vocab, width)(inputs))
        for _ in range(config["num_layers"]):
            h = layers.LayerNormalization()(x)
            x = x + layers.MultiHeadAttention(heads, width // heads)(h, h, use_causal_mask=True)
            h = layers.LayerNormalization()(x)
            x = x + layers.Dense(width)(layers.Dense(4 * width, activation="gelu")(h))
        outputs = layers.Dense(vocab)(layers.LayerNormalization()(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _position_embedding_class():
    import keras

    class _PositionEmbedding(keras.layers.Layer):
        """Adds a learned [length, width] position embedding."""

        def __init__(self, length: int, width: int, **kwargs) -> None:
            super().__init__(**kwargs)
            self.table = self.add_weight(shape=(length, width), initializer="random_normal", name="positions")

        def call(self, x):
            return x + self.table

    return _PositionEmbedding


def PositionEmbedding(length: int, width: int):  # noqa: N802  (a layer factory; keras is imported lazily)
    return _position_embedding_class()(length, width)


def keras_rate(task_name: str, steps: int) -> float:
    """Keras fit steps per second of one config, after a first, compiling epoch (run in a child process)."""
    from taskset import get_task

    task = get_task(task_name)
    x, y = keras_data(task)
    batch = task.config_dict["batch_size"]
    per_epoch = math.ceil(len(x) / batch)
    model = keras_model(task)
    model.fit(x[:batch * 4], y[:batch * 4], batch_size=batch, epochs=1, verbose=0)  # compiles
    epochs = max(1, round(steps / per_epoch))
    rows = min(len(x), steps * batch) if epochs == 1 else len(x)
    start = time.perf_counter()
    model.fit(x[:rows], y[:rows], batch_size=batch, epochs=epochs, verbose=0)
    done = epochs * math.ceil(rows / batch)
    return done / (time.perf_counter() - start)


def _keras_child(conn, task_name: str, steps: int) -> None:
    try:
        conn.send(("ok", keras_rate(task_name, steps)))
    except Exception as error:  # reported by the parent, which carries on with the trainer
        conn.send(("error", f"{type(error).__name__}: {error}"))


def keras_in_child(task_name: str, steps: int) -> float | str:
    """`keras_rate` in a spawned process (no op determinism there); a string on failure."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_keras_child, args=(child, task_name, steps), daemon=True)
    process.start()
    status, value = parent.recv()
    process.join()
    return value


# --- the trainer ---------------------------------------------------------------------------

def trainer_rate(task, members: int, steps: int) -> tuple[float, float]:
    """(config-steps/s of training, set-up seconds) of one `train` call with `members` Adam configs."""
    from taskset.training import train

    start = time.perf_counter()
    curves = train(task, adam_configs(members), steps=steps, eval_every=steps, eval_batches=1)
    wall = time.perf_counter() - start
    trained = curves[0].seconds_per_step * members * steps
    return 1.0 / curves[0].seconds_per_step, wall - trained


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpu_check", description="trainer vs Keras fit config-steps/s on a GPU")
    parser.add_argument("--members", default="8,32,128", help="comma-separated K values (default 8,32,128)")
    parser.add_argument("--steps", type=int, default=200, help="training steps per measurement (default 200)")
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated subset of {','.join(TASKS)}")
    parser.add_argument("--allow-cpu", action="store_true", help="measure even when no GPU is visible")
    args = parser.parse_args(argv)
    try:
        members = [int(k) for k in args.members.split(",")]
        keys = args.tasks.split(",")
        unknown = [k for k in keys if k not in TASKS]
        if unknown or min(members) < 1 or args.steps < 1:
            raise ValueError(f"unknown task(s) {unknown!r}" if unknown else "K and --steps must be >= 1")
    except ValueError as error:
        print(f"gpu_check: {error}", file=sys.stderr)
        return 2

    import tensorflow as tf

    problem = gpu_problem()
    if problem is not None:
        print(f"gpu_check: no GPU visible to TensorFlow; nothing measured.\n{problem}")
        if not args.allow_cpu:
            return 0
        print("gpu_check: --allow-cpu: measuring on the CPU instead")
    devices = tf.config.list_physical_devices("GPU")
    print(f"TensorFlow {tf.__version__}, devices: {[d.name for d in devices] or ['CPU only']}, "
          f"{args.steps} steps per measurement")

    from taskset import get_task
    from taskset.training.compile_rule import use_xla

    print(f"{'task':12} {'xla':5} {'K':>4} {'trainer':>10} {'set-up s':>9} {'keras fit':>10} {'ratio':>7}"
          "   config-steps/s")
    for key in keys:
        task = get_task(TASKS[key])
        if not task.is_runnable():
            print(f"{key:12} skipped: its data is not available here")
            continue
        keras = keras_in_child(TASKS[key], args.steps)
        xla = use_xla(task)
        for k in members:
            rate, setup = trainer_rate(task, k, args.steps)
            if isinstance(keras, str):
                keras_text, ratio = "failed", "-"
            else:
                keras_text, ratio = f"{keras:10.1f}", f"{rate / keras:7.2f}"
            print(f"{key:12} {str(xla):5} {k:4d} {rate:10.1f} {setup:9.1f} {keras_text:>10} {ratio:>7}", flush=True)
        if isinstance(keras, str):
            print(f"{'':12} keras fit failed: {keras}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
