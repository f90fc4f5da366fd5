"""`train`: train optimizer configs on one task and print their final losses.

  taskset-bench train TASK --optimizer NAME[,NAME...] --steps N [--eval-every E]
      [--eval-batches B] [--replica-seed S] [--out FILE.parquet] [--json]

The configs run as one population (`taskset.training.train`). The table shows,
per config, the status and the losses at the last step; `--json` prints a list
with one object per config, in the order given, with the keys of
`Curve.to_json` (task, task_config, optimizer {name, family, hparams},
replica_seed, init_seed, steps, train, valid_inner, valid_outer, test (NaN as
null), status, diverged_step, seconds_per_step). `--out` writes the curves as
one Parquet file in the curve-shard schema of `curves.schema` (one row per
curve), atomically; the path is checked before training starts, and if it
still cannot be written afterwards the file goes next to it or to a temporary
file, whose path is printed (exit 1). Bounds (exit 2 beyond them, see
`taskset.limits`): --steps and --eval-every 1 to 10,000,000, --eval-batches 1
to 10,000, --replica-seed 0 to 2**31 - 1.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import sys

from taskset.cli.output import print_json, print_table
from taskset.errors import ConfigError


def add_commands(sub) -> None:
    p = sub.add_parser("train", help="train optimizer configs on a task and print final losses")
    p.add_argument("task", help="task name, e.g. mlp_seed12")
    p.add_argument("--optimizer", required=True, metavar="NAME[,NAME...]",
                   help="comma-separated optimizer configs, e.g. adam_default,adam8p_seed3")
    p.add_argument("--steps", type=int, required=True, metavar="N", help="training steps")
    p.add_argument("--eval-every", type=int, metavar="E", help="evaluation interval, dividing --steps (default: --steps)")
    p.add_argument("--eval-batches", type=int, default=5, metavar="B", help="batches per split and evaluation (default 5)")
    p.add_argument("--replica-seed", type=int, default=0, metavar="S", help="seed of the init and the batches (default 0)")
    p.add_argument("--out", metavar="FILE.parquet", help="also write the curves to this Parquet file")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.set_defaults(func=cmd_train)


def cmd_train(args) -> int:
    from tqdm import tqdm

    from taskset.tasks import get_task
    from taskset.training import resolve_configs, train

    names = [name.strip() for name in args.optimizer.split(",")]
    if not all(names):
        raise ConfigError(f"--optimizer {args.optimizer!r} has an empty name; give NAME[,NAME...]")
    if args.out is not None and not args.out.endswith(".parquet"):
        raise ConfigError(f"--out {args.out!r} must end in .parquet")
    _check_numbers(args)
    if args.out is not None:
        from taskset.paths import check_output_file

        check_output_file(args.out, "--out")
    task = get_task(args.task)
    configs = resolve_configs(names)
    eval_every = args.steps if args.eval_every is None else args.eval_every
    show = sys.stderr.isatty() and not args.json
    with tqdm(total=args.steps, unit="step", disable=not show, dynamic_ncols=True, leave=False) as bar:
        curves = train(task, configs, args.steps, eval_every, replica_seed=args.replica_seed,
                       eval_batches=args.eval_batches, progress=lambda done: bar.update(done - bar.n))
    exit_status = 0
    if args.out is not None:
        written = write_parquet(pathlib.Path(args.out), curves, args)
        if written != pathlib.Path(args.out):
            sys.stderr.write(f"taskset-bench: error: could not write --out {args.out!r}; the curves were written to "
                             f"{str(written)!r} instead\n")
            exit_status = 1
    if args.json:
        print_json([curve.to_json() for curve in curves])
        return exit_status
    from taskset.datasets.base import SPLITS

    rows = []
    for curve in curves:
        status = curve.status if curve.diverged_step is None else f"{curve.status}@{curve.diverged_step}"
        rows.append((curve.optimizer.name, curve.optimizer.family, status,
                     *(f"{float(curve.split(s)[-1]):.4g}" for s in SPLITS),
                     f"{curve.seconds_per_step * 1e3:.3g}"))
    print_table(rows, ("optimizer", "family", "status", *SPLITS, "ms/step"))
    return exit_status


def _check_numbers(args) -> None:
    """Exit 2 for numbers beyond `taskset.limits` before anything is built."""
    from taskset.limits import MAX_EVAL_BATCHES, MAX_SEED, MAX_STEPS, check_at_most, check_int

    # Lower bounds are the trainer's own checks (its messages name the rule).
    check_at_most(args.steps, "--steps", MAX_STEPS)
    if args.eval_every is not None:
        check_at_most(args.eval_every, "--eval-every", MAX_STEPS)
    check_at_most(args.eval_batches, "--eval-batches", MAX_EVAL_BATCHES)
    check_int(args.replica_seed, "--replica-seed", 0, MAX_SEED)


def write_parquet(path: pathlib.Path, curves, args) -> pathlib.Path:
    """The curves as one curve-shard Parquet file (see `curves.schema`), written atomically.

    Returns:
      The path written: `path`, or where `taskset.paths.write_with_fallback` put
      the file when `path` could not be written.
    """
    import pyarrow.parquet as pq

    from taskset.paths import write_with_fallback

    from curves.schema import curves_to_table
    from curves.store import parquet_options
    from taskset import __version__

    run = {"source": "taskset-bench train", "task": curves[0].task, "task_config": curves[0].task_config,
           "optimizers": [c.optimizer.to_json() for c in curves], "steps": args.steps,
           "eval_every": int(curves[0].steps[1] - curves[0].steps[0]), "eval_batches": args.eval_batches,
           "replica_seed": args.replica_seed}
    key = hashlib.sha256(json.dumps(run, sort_keys=True).encode()).hexdigest()
    table = curves_to_table(curves, replica=args.replica_seed, job_key=key, package_version=__version__, job_meta=run)
    return write_with_fallback(path, lambda handle: pq.write_table(table, handle, **parquet_options(table.schema)))
