"""Benchmark: config-steps per second of the population trainer against two baselines.

For each reference task (an MLP on mnist5k, a conv net on digits, a character
LSTM language model on shakespeare_bytes; a task whose family is not registered
is skipped with a message) it measures config-steps per second of:

  (a) keras    a plain Keras `model.fit` of the same architecture and batch size,
               one config at a time, with default settings (Adam, no XLA unless
               Keras picks it), what a user would write;
  (b) single   one config per call of the trainer's compiled step (a Python loop
               over steps, i.e. `Population` with K=1 and one step per call);
  (c) trainer  `taskset.training`'s population of K Adam configs, one compiled
               call per timed window, timed as `Curve.seconds_per_step` is.

and prints (c)/(a) and (c)/(b). For the MLP it also prints the achieved FLOP/s
(matmul FLOPs of forward and backward) against the peak of a large float32
matmul measured in the same run. Targets: MLP >= 8x Keras and >= 50% of peak;
conv and RNN >= 2x Keras. Each number is the best of `--repeats` timed windows,
since the CPU may be shared. `--compare-xla` also times (c) with the member step
XLA-compiled and not, the evidence behind `taskset.training.compile_rule`.

  python benchmarks/trainer_throughput.py [--quick] [--members 16] [--steps 200] [--repeats 3]
      [--tasks mlp,conv,rnn] [--compare-xla]
"""

from __future__ import annotations

import argparse
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from taskset.tasks import FAMILIES, task_from_config  # noqa: E402

# The fixed task fixed_mlp_mnist5k_128x3_relu_bs128, spelled out.
MLP = {"family": "mlp", "dataset": "mnist5k", "hidden_sizes": [128, 128, 128], "activation": "relu",
       "initializer": "he_normal", "init_scale": 1.0, "center_data": False, "batch_size": 128, "dropout": 0.0,
       "normalization": "none"}
CONV = {"family": "conv_pooling", "dataset": "digits", "channels": [32, 32, 32], "strides": [1, 2, 1],
        "paddings": ["SAME", "SAME", "SAME"], "activation": "relu", "initializer": "glorot_uniform",
        "init_scale": 1.0, "use_bias": True, "pool": "mean", "center_data": True, "batch_size": 64}
RNN = {"family": "char_rnn_lm", "dataset": "shakespeare_bytes", "core": "lstm", "embed_dim": 32, "hidden_size": 64,
       "trainable_init": False, "sequence_length": 32, "batch_size": 32}
REFERENCE = {"mlp": MLP, "conv": CONV, "rnn": RNN}
TARGETS = {"mlp": 8.0, "conv": 2.0, "rnn": 2.0}   # (c)/(a)
PEAK_FRACTION_TARGET = 0.5


def best_rate(run, work: float, repeats: int) -> float:
    """Largest work/second over `repeats` calls of `run()`."""
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = max(best, work / (time.perf_counter() - start))
    return best


def matmul_peak(repeats: int) -> float:
    """FLOP/s of the fastest large square float32 matmul (n = 512, 1024, 2048)."""
    import tensorflow as tf

    best = 0.0
    for n in (512, 1024, 2048):
        a, b = tf.random.normal([n, n], seed=1), tf.random.normal([n, n], seed=2)
        matmul = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
        matmul(a, b).numpy()
        calls = max(2, int(4e9 / (2 * n ** 3)))

        def run():
            for _ in range(calls):
                out = matmul(a, b)
            out.numpy()

        best = max(best, best_rate(run, calls * 2 * n ** 3, repeats))
    return best


def mlp_flops_per_step(config: dict, input_size: int, num_classes: int) -> float:
    """Matmul FLOPs of one training step: forward, weight gradients and input gradients (none for the input)."""
    sizes = [input_size, *config["hidden_sizes"], num_classes]
    macs = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    batch = config["batch_size"]
    return 2.0 * batch * (2 * sum(macs) + sum(macs[1:]))


# --- (a) Keras ------------------------------------------------------------------

def keras_data(task):
    """(x, y) arrays of the task's train split, preprocessed as the task does."""
    from taskset.datasets import DATASETS

    config = task.config_dict
    train = DATASETS.get(config["dataset"]).splits()["train"]
    if config["family"] == "char_rnn_lm":
        tokens = np.asarray(train["tokens"])
        length = config["sequence_length"]
        count = (len(tokens) - 1) // length
        x = tokens[:count * length].reshape(count, length)
        y = tokens[1:count * length + 1].reshape(count, length)
        return x, y
    x = train["image"].astype("float32")
    x = x / 255.0 if train["image"].dtype == np.uint8 else x
    if config["center_data"]:
        x = x * 2.0 - 1.0
    if config["family"] == "mlp":
        x = x.reshape(len(x), -1)
    return x, train["label"]


def keras_model(task):
    """The task's architecture as a Keras model (same layers, widths and batch shapes)."""
    import keras

    config = task.config_dict
    layers = keras.layers
    if config["family"] == "mlp":
        body = [layers.Input((int(np.prod(task.input_shape)),))]
        body += [layers.Dense(h, activation=config["activation"]) for h in config["hidden_sizes"]]
        body += [layers.Dense(task.num_classes)]
    elif config["family"] == "conv_pooling":
        body = [layers.Input(task.input_shape)]
        body += [layers.Conv2D(c, 3, strides=s, padding=p.lower(), activation=config["activation"],
                               use_bias=config["use_bias"])
                 for c, s, p in zip(config["channels"], config["strides"], config["paddings"])]
        body += [layers.GlobalAveragePooling2D(), layers.Dense(task.num_classes)]
    else:
        from taskset.datasets import DATASETS

        vocab = DATASETS.get(config["dataset"]).info.vocab_size
        body = [layers.Input((config["sequence_length"],), dtype="int32"), layers.Embedding(vocab, config["embed_dim"]),
                layers.LSTM(config["hidden_size"], return_sequences=True), layers.Dense(vocab)]
    model = keras.Sequential(body)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def keras_rate(task, steps: int, repeats: int) -> float:
    """Keras fit steps per second (one config), excluding the first, compiling epoch."""
    x, y = keras_data(task)
    batch = task.config_dict["batch_size"]
    per_epoch = math.ceil(len(x) / batch)
    epochs = max(1, round(steps / per_epoch))
    model = keras_model(task)
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    return best_rate(lambda: model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0), epochs * per_epoch,
                     repeats)


# --- (b) and (c): the trainer's compiled step ---------------------------------------

def adam_configs(count: int):
    """`count` Adam configs with learning rates log-spaced in [1e-4, 1e-2] (none diverges here)."""
    from taskset.optimizers import make_config

    return [make_config("adam1p", {"lr": float(lr)}, f"adam_lr{lr:.3g}") for lr in np.logspace(-4, -2, count)]


def population_rate(task, configs, steps: int, repeats: int, jit_compile: bool, per_call: int) -> float:
    """Config-steps per second of a `Population`, `per_call` steps per compiled call."""
    from taskset.optimizers import get_rule
    from taskset.training.population import Population

    population = Population(task, configs, {c.family: get_rule(c.family) for c in configs}, 0, steps, jit_compile)
    states = population.initial_states(task.init(0))
    population.train(states, 0, 1)  # compile
    calls = max(1, steps // per_call)
    final = []

    def run():
        current = states
        for call in range(calls):
            current = population.train(current, call * per_call, per_call)
        final[:] = current

    rate = best_rate(run, len(configs) * calls * per_call, repeats)
    diverged = sum(not bool(s.alive) for s in final)
    if diverged:
        print(f"  warning: {diverged} member(s) diverged; frozen members skip work, so the rate is optimistic")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(prog="trainer_throughput", description="config-steps/s of the trainer")
    parser.add_argument("--quick", action="store_true", help="fewer steps, members and repeats")
    parser.add_argument("--members", type=int, default=16, help="K, configs trained together (default 16)")
    parser.add_argument("--steps", type=int, default=200, help="steps per timed window (default 200)")
    parser.add_argument("--repeats", type=int, default=3, help="timed windows; the best counts (default 3)")
    parser.add_argument("--tasks", default="mlp,conv,rnn", help="comma-separated subset of mlp,conv,rnn")
    parser.add_argument("--compare-xla", action="store_true", help="also time (c) with and without XLA")
    args = parser.parse_args()
    if args.quick:
        args.members, args.steps, args.repeats = min(args.members, 8), min(args.steps, 40), min(args.repeats, 2)

    import tensorflow as tf

    from taskset.training.compile_rule import use_xla

    tasks = {}
    for key in args.tasks.split(","):
        config = REFERENCE[key]
        if config["family"] not in FAMILIES:
            print(f"{key}: skipped, task family {config['family']!r} is not registered")
            continue
        task = task_from_config(config, name=f"reference_{key}")
        if not task.is_runnable():
            print(f"{key}: skipped, dataset {config['dataset']!r} is not available")
            continue
        tasks[key] = task
    print(f"K={args.members} members, {args.steps} steps per window, best of {args.repeats}, "
          f"{os.cpu_count()} CPUs")
    peak = matmul_peak(args.repeats)
    print(f"matmul peak: {peak / 1e9:.1f} GFLOP/s")

    # Keras first, before the trainer turns on op determinism for the process.
    keras = {key: keras_rate(task, args.steps, args.repeats) for key, task in tasks.items()}
    tf.config.experimental.enable_op_determinism()
    configs = adam_configs(args.members)
    header = f"{'task':5} {'xla':5} {'(a) keras':>10} {'(b) single':>11} {'(c) trainer':>12} {'c/a':>6} {'c/b':>6}"
    print("config-steps per second\n" + header)
    for key, task in tasks.items():
        xla = use_xla(task)
        single = population_rate(task, configs[:1], args.steps, args.repeats, xla, per_call=1)
        trainer = population_rate(task, configs, args.steps, args.repeats, xla, per_call=args.steps)
        ratio = trainer / keras[key]
        verdict = "meets" if ratio >= TARGETS[key] else "MISSES"
        print(f"{key:5} {str(xla):5} {keras[key]:10.1f} {single:11.1f} {trainer:12.1f} {ratio:6.2f} "
              f"{trainer / single:6.2f}  ({verdict} the {TARGETS[key]:g}x Keras target)")
        if key == "mlp":
            flops = mlp_flops_per_step(task.config_dict, int(np.prod(task.input_shape)), task.num_classes) * trainer
            fraction = flops / peak
            verdict = "meets" if fraction >= PEAK_FRACTION_TARGET else "MISSES"
            print(f"      mlp achieved {flops / 1e9:.1f} GFLOP/s = {100 * fraction:.0f}% of the measured peak "
                  f"({verdict} the {100 * PEAK_FRACTION_TARGET:.0f}% target)")
        if args.compare_xla:
            other = population_rate(task, configs, args.steps, args.repeats, not xla, per_call=args.steps)
            print(f"      (c) with xla={not xla}: {other:.1f} config-steps/s ({trainer / other:.2f}x slower "
                  f"than the rule's choice)" if other < trainer else
                  f"      (c) with xla={not xla}: {other:.1f} config-steps/s ({other / trainer:.2f}x FASTER "
                  f"than the rule's choice)")


if __name__ == "__main__":
    main()
