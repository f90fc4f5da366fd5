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

and prints (c)/(a) and (c)/(b). Before those it measures the set-up time of
two identical `train` calls on the task (K Adam configs, `--steps` steps,
evaluated at step 0 and at the end on one batch per split): a call's wall time
less its timed training (K x steps x `Curve.seconds_per_step`), i.e. tracing,
compiling, the warm-up step and the two evaluations (real work, so this bounds
the tracing from above). The first call traces and compiles; the repeat must
reuse the compiled loops (target: its set-up under 10% of the first's). For the MLP it also prints the achieved FLOP/s
(matmul FLOPs of forward and backward) against the peak of a large float32
matmul measured in the same run. Targets: MLP >= 8x Keras and >= 50% of peak;
conv and RNN >= 2x Keras. The CPU may be shared, so the variants of a task
(and the peak matmul) are timed in alternating windows, `--repeats` rounds,
and each reports its best window: a ratio compares windows taken under the
same load. Every window does the same work, K x `--steps` config-steps (the
peak's windows: the same FLOPs as the MLP's), so that none is favoured by
being short enough to fit between other processes' bursts; the peak is the
best of 512, 1024 and 2048-wide matmuls. The trainer's variants run with op
determinism enabled, as `train` does; Keras runs in a child process without
it (measured: determinism slows Keras fit by 10-20% here), timed by the same
alternation. `--compare-xla` also times (c) with the member step XLA-compiled
and not, the evidence behind `taskset.training.compile_rule`.

  python benchmarks/trainer_throughput.py [--quick] [--members 16] [--steps 200] [--repeats 3]
      [--tasks mlp,conv,rnn] [--compare-xla] [--setup-only]
"""

from __future__ import annotations

import argparse
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from taskset.tasks import TASK_FAMILIES, task_from_config  # noqa: E402

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
SETUP_TARGET = 0.10   # a repeat call's set-up / the first call's
SETUP_REPLICA = 1     # a replica seed no throughput window uses, so the first call starts cold
PEAK_FRACTION_TARGET = 0.5
PEAK_SIZES = (512, 1024, 2048)


class Window:
    """A timed unit of work: `run()` does `work` units; `best` is the highest rate seen."""

    def __init__(self, run, work: float) -> None:
        self.run, self.work, self.best = run, work, 0.0

    def time(self) -> None:
        start = time.perf_counter()
        self.run()
        self.best = max(self.best, self.work / (time.perf_counter() - start))


def alternate(windows: dict[str, Window], repeats: int) -> dict[str, float]:
    """Times every window once per round, `repeats` rounds; returns each one's best rate."""
    for _ in range(repeats):
        for window in windows.values():
            window.time()
    return {name: window.best for name, window in windows.items()}


def matmul_window(n: int, flops: float) -> Window:
    """FLOP/s of square float32 matmuls of size n, about `flops` FLOPs per window."""
    import tensorflow as tf

    a, b = tf.random.normal([n, n], seed=1), tf.random.normal([n, n], seed=2)
    matmul = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
    matmul(a, b).numpy()
    calls = max(2, round(flops / (2 * n ** 3)))

    def run():
        for _ in range(calls):
            out = matmul(a, b)
        out.numpy()

    return Window(run, calls * 2.0 * n ** 3)


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


def keras_window(task, steps: int) -> Window:
    """Keras fit steps per second (one config), after a first, compiling epoch."""
    x, y = keras_data(task)
    batch = task.config_dict["batch_size"]
    per_epoch = math.ceil(len(x) / batch)
    epochs = max(1, round(steps / per_epoch))
    model = keras_model(task)
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    return Window(lambda: model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0), epochs * per_epoch)


def _keras_child(conn, config: dict, steps: int) -> None:
    """Child process: builds the Keras window, then times it once per message until told to stop."""
    window = keras_window(task_from_config(config), steps)
    conn.send(window.work)
    while conn.recv():
        start = time.perf_counter()
        window.run()
        conn.send(time.perf_counter() - start)


class ChildWindow(Window):
    """A Keras window timed in a child process that never enables op determinism."""

    def __init__(self, config: dict, steps: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_keras_child, args=(child, config, steps), daemon=True)
        self._process.start()
        super().__init__(None, self._conn.recv())

    def time(self) -> None:
        self._conn.send(True)
        self.best = max(self.best, self.work / self._conn.recv())

    def close(self) -> None:
        self._conn.send(False)
        self._process.join()


# --- (b) and (c): the trainer's compiled step ---------------------------------------

def adam_configs(count: int):
    """`count` Adam configs with learning rates log-spaced in [1e-4, 1e-2] (none diverges here)."""
    from taskset.optimizers import make_config

    return [make_config("adam1p", {"lr": float(lr)}, f"adam_lr{lr:.3g}") for lr in np.logspace(-4, -2, count)]


def population_window(task, configs, steps: int, jit_compile: bool, per_call: int) -> Window:
    """Config-steps per second of a `Population`, `per_call` steps per compiled call, after compiling."""
    from taskset.optimizers import get_rule
    from taskset.training.population import Population

    population = Population(task, configs, {c.family: get_rule(c.family) for c in configs}, 0, steps, jit_compile)
    states = population.initial_states(task.init(0))
    population.train(states, 0, 1)
    calls = max(1, steps // per_call)

    def run():
        current = states
        for call in range(calls):
            current = population.train(current, call * per_call, per_call)
        diverged = sum(not bool(s.alive) for s in current)
        if diverged:
            print(f"  warning: {diverged} member(s) diverged; frozen members skip work, so the rate is optimistic")

    return Window(run, len(configs) * calls * per_call)


def setup_seconds(task, configs, steps: int) -> tuple[float, float]:
    """Set-up seconds (wall time less timed training) of a first and a repeat identical `train` call."""
    from taskset.training import train

    out = []
    for _ in range(2):
        start = time.perf_counter()
        curves = train(task, configs, steps=steps, eval_every=steps, eval_batches=1, replica_seed=SETUP_REPLICA)
        wall = time.perf_counter() - start
        out.append(wall - curves[0].seconds_per_step * len(configs) * steps)
    return out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(prog="trainer_throughput", description="config-steps/s of the trainer")
    parser.add_argument("--quick", action="store_true", help="fewer steps, members and repeats")
    parser.add_argument("--members", type=int, default=16, help="K, configs trained together (default 16)")
    parser.add_argument("--steps", type=int, default=200,
                        help="trainer steps per timed window; every window does K x this many config-steps "
                             "(default 200)")
    parser.add_argument("--repeats", type=int, default=3, help="timed windows; the best counts (default 3)")
    parser.add_argument("--tasks", default="mlp,conv,rnn", help="comma-separated subset of mlp,conv,rnn")
    parser.add_argument("--compare-xla", action="store_true", help="also time (c) with and without XLA")
    parser.add_argument("--setup-only", action="store_true",
                        help="only measure the set-up time of a first and a repeat train call")
    args = parser.parse_args()
    if args.quick:
        args.members, args.steps, args.repeats = min(args.members, 8), min(args.steps, 40), min(args.repeats, 2)

    import tensorflow as tf

    from taskset.training.compile_rule import use_xla

    tasks = {}
    for key in args.tasks.split(","):
        config = REFERENCE[key]
        if config["family"] not in TASK_FAMILIES:
            print(f"{key}: skipped, task family {config['family']!r} is not registered")
            continue
        task = task_from_config(config, name=f"reference_{key}")
        if not task.is_runnable():
            print(f"{key}: skipped, dataset {config['dataset']!r} is not available")
            continue
        tasks[key] = task
    work = args.members * args.steps
    print(f"K={args.members} members, {work} config-steps per window, best of {args.repeats} alternating rounds, "
          f"{os.cpu_count()} CPUs")
    tf.config.experimental.enable_op_determinism()
    configs = adam_configs(args.members)
    if not args.setup_only:
        print(f"{'task':5} {'xla':5} {'(a) keras':>10} {'(b) single':>11} {'(c) trainer':>12} {'c/a':>6} "
              f"{'c/b':>6}   config-steps per second")
    for key, task in tasks.items():
        # First, while nothing of this task is traced (use_xla's graph included).
        first, repeat = setup_seconds(task, configs, args.steps)
        verdict = "meets" if repeat < SETUP_TARGET * first else "MISSES"
        print(f"{key:5} set-up of a train call: first {first:.2f} s, repeat {repeat:.2f} s "
              f"({100 * repeat / first:.1f}% of the first; {verdict} the {100 * SETUP_TARGET:.0f}% target)")
        if args.setup_only:
            continue
        xla = use_xla(task)
        windows = {"keras": ChildWindow(task.config_dict, work),
                   "single": population_window(task, configs[:1], work, xla, per_call=1),
                   "trainer": population_window(task, configs, args.steps, xla, per_call=args.steps)}
        if key == "mlp":
            flops = mlp_flops_per_step(task.config_dict, int(np.prod(task.input_shape)), task.num_classes)
            windows.update({f"peak{n}": matmul_window(n, flops * work) for n in PEAK_SIZES})
        if args.compare_xla:
            windows["other"] = population_window(task, configs, args.steps, not xla, per_call=args.steps)
        rate = alternate(windows, args.repeats)
        windows["keras"].close()
        ratio = rate["trainer"] / rate["keras"]
        verdict = "meets" if ratio >= TARGETS[key] else "MISSES"
        print(f"{key:5} {str(xla):5} {rate['keras']:10.1f} {rate['single']:11.1f} {rate['trainer']:12.1f} "
              f"{ratio:6.2f} {rate['trainer'] / rate['single']:6.2f}   "
              f"({verdict} the {TARGETS[key]:g}x Keras target)")
        if key == "mlp":
            achieved = flops * rate["trainer"]
            peak = max(rate[f"peak{n}"] for n in PEAK_SIZES)
            fraction = achieved / peak
            verdict = "meets" if fraction >= PEAK_FRACTION_TARGET else "MISSES"
            print(f"      achieved {achieved / 1e9:.1f} GFLOP/s, matmul peak {peak / 1e9:.1f} GFLOP/s: "
                  f"{100 * fraction:.0f}% ({verdict} the {100 * PEAK_FRACTION_TARGET:.0f}% target)")
        if args.compare_xla:
            faster = "faster" if rate["other"] > rate["trainer"] else "slower"
            print(f"      (c) with xla={not xla}: {rate['other']:.1f} config-steps/s, "
                  f"{max(rate['other'], rate['trainer']) / min(rate['other'], rate['trainer']):.2f}x {faster} "
                  "than the rule's choice")


if __name__ == "__main__":
    main()
