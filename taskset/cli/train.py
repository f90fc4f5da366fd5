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
curve), atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
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
    task = get_task(args.task)
    configs = resolve_configs(names)
    eval_every = args.steps if args.eval_every is None else args.eval_every
    show = sys.stderr.isatty() and not args.json
    with tqdm(total=args.steps, unit="step", disable=not show, dynamic_ncols=True, leave=False) as bar:
        curves = train(task, configs, args.steps, eval_every, replica_seed=args.replica_seed,
                       eval_batches=args.eval_batches, progress=lambda done: bar.update(done - bar.n))
    if args.out is not None:
        write_parquet(pathlib.Path(args.out), curves, args)
    if args.json:
        print_json([curve.to_json() for curve in curves])
        return 0
    rows = []
    for curve in curves:
        status = curve.status if curve.diverged_step is None else f"{curve.status}@{curve.diverged_step}"
        rows.append((curve.optimizer.name, curve.optimizer.family, status,
                     *(f"{float(curve.split(s)[-1]):.4g}" for s in ("train", "valid_inner", "valid_outer", "test")),
                     f"{curve.seconds_per_step * 1e3:.3g}"))
    print_table(rows, ("optimizer", "family", "status", "train", "valid_inner", "valid_outer", "test", "ms/step"))
    return 0


def write_parquet(path: pathlib.Path, curves, args) -> None:
    """The curves as one curve-shard Parquet file (see `curves.schema`), written to a temporary name and renamed."""
    import pyarrow.parquet as pq

    from curves.schema import curves_to_table
    from curves.store import parquet_options
    from taskset import __version__

    run = {"source": "taskset-bench train", "task": curves[0].task, "task_config": curves[0].task_config,
           "optimizers": [c.optimizer.to_json() for c in curves], "steps": args.steps,
           "eval_every": int(curves[0].steps[1] - curves[0].steps[0]), "eval_batches": args.eval_batches,
           "replica_seed": args.replica_seed}
    key = hashlib.sha256(json.dumps(run, sort_keys=True).encode()).hexdigest()
    table = curves_to_table(curves, replica=args.replica_seed, job_key=key, package_version=__version__, job_meta=run)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp, **parquet_options(table.schema))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
