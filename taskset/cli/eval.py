"""`eval resnet50|transformer`: a learned list against random search, an Adam lr grid and BO.

    taskset-bench eval resnet50 --list nadamw-mini --trials 4 --steps 100 --preset tiny --report DIR

trains every method's k trials on the problem (see `eval.protocol`), prints the
best validation loss after each trial per method, and with `--report DIR`
writes DIR/README.md, DIR/results.json and plots (see `eval.report`).
`--json` prints (stable keys) problem, preset, task, list {name, family},
settings, wall_seconds and summary {method: {best_valid_mean, best_valid_min,
best_valid_max, runs, final, seconds}}, with no progress bar.
Training runs in this process by default; `--workers N` uses N local
processes, `--dask` a local Dask cluster, `--scheduler ADDR` an existing one.
Exit status: 0 success; 2 bad input (one line on stderr); 1 a failed training run.

Importing this module imports no TensorFlow. The `imagenette` and
`imagenet2012` datasets the problems train on are taskset datasets
(`taskset.datasets.imagenet`), so `data list` and `data prepare` know them
without importing eval.
"""

from __future__ import annotations

import shlex
import sys

from taskset.cli.executor import add_executor_options, executor_from_args
from taskset.cli.output import print_json, print_table


def add_commands(sub) -> None:
    from eval.problems import PRESETS, PROBLEMS

    p = sub.add_parser("eval", help="evaluate a list against baselines on ResNet-50 or a transformer LM")
    p.add_argument("problem", choices=PROBLEMS.list(), help="the problem to train")
    p.add_argument("--list", required=True, metavar="NAME|FILE", help="list file, or the name of a shipped list")
    p.add_argument("--trials", type=int, required=True, metavar="K", help="training runs per method run")
    p.add_argument("--steps", type=int, required=True, metavar="N", help="training steps per run")
    p.add_argument("--preset", choices=PRESETS, default="tiny", help="problem size (default tiny)")
    p.add_argument("--dataset", help="train the preset on this dataset instead of its own")
    p.add_argument("--eval-every", type=int, metavar="N",
                   help="steps between evaluations (default: the divisor of --steps closest to steps/10)")
    p.add_argument("--eval-batches", type=int, default=5, metavar="N", help="batches per evaluation (default 5)")
    p.add_argument("--random-repeats", type=int, default=3, metavar="R",
                   help="independent random-search runs (default 3)")
    p.add_argument("--bo-seeds", type=int, default=1, metavar="S", help="independent BO runs (default 1)")
    p.add_argument("--replica", type=int, default=0, help="replica seed: initialisation and data order (default 0)")
    p.add_argument("--population", type=int, metavar="P",
                   help="most configs per trainer call (default: all list, random and grid configs in one; "
                        "smaller spreads them over --workers)")
    add_executor_options(p, default_workers=0)
    p.add_argument("--report", metavar="DIR", help="write README.md, results.json and plots to DIR")
    p.add_argument("--json", action="store_true", help="print the summary as JSON only, no progress bar")
    p.set_defaults(func=cmd_eval)


def command_line(args) -> str:
    """The command that reproduces `args`, with every setting spelled out (what a report records)."""
    parts = ["taskset-bench", "eval", args.problem, "--list", args.list, "--trials", str(args.trials),
             "--steps", str(args.steps), "--preset", args.preset]
    if args.dataset:
        parts += ["--dataset", args.dataset]
    parts += ["--eval-every", str(_eval_every(args)), "--eval-batches", str(args.eval_batches),
              "--random-repeats", str(args.random_repeats), "--bo-seeds", str(args.bo_seeds),
              "--replica", str(args.replica)]
    if args.population:
        parts += ["--population", str(args.population)]
    if args.workers:
        parts += ["--workers", str(args.workers)]
    if args.dask:
        parts.append("--dask")
    if args.scheduler:
        parts += ["--scheduler", args.scheduler]
    if args.report:
        parts += ["--report", args.report]
    return shlex.join(parts)


def _eval_every(args) -> int:
    from eval.protocol import default_eval_every

    return args.eval_every if args.eval_every is not None else default_eval_every(args.steps)


def _check_numbers_and_paths(args) -> None:
    """Exit 2 before any training for numbers beyond `taskset.limits` or an unwritable --report."""
    from taskset.limits import MAX_COUNT, MAX_EVAL_BATCHES, MAX_POPULATION, MAX_SEED, MAX_STEPS, check_at_most

    # Lower bounds are `ProtocolSettings.validate`'s (its messages name the rule).
    for value, flag, high in ((args.trials, "--trials", MAX_POPULATION), (args.steps, "--steps", MAX_STEPS),
                              (args.eval_every, "--eval-every", MAX_STEPS),
                              (args.eval_batches, "--eval-batches", MAX_EVAL_BATCHES),
                              (args.random_repeats, "--random-repeats", MAX_COUNT),
                              (args.bo_seeds, "--bo-seeds", MAX_COUNT), (args.replica, "--replica", MAX_SEED),
                              (args.population, "--population", MAX_POPULATION)):
        if value is not None:
            check_at_most(value, flag, high)
    if args.report:
        from taskset.paths import check_output_dir

        check_output_dir(args.report, "--report")


def cmd_eval(args) -> int:
    from eval.problems import PROBLEMS
    from eval.protocol import ProtocolSettings, run_protocol
    from eval.report import summary_json, write_report
    from hparam_lists import load_list

    _check_numbers_and_paths(args)
    hparam_list = load_list(args.list)
    task = PROBLEMS.get(args.problem).task(args.preset, args.dataset)
    settings = ProtocolSettings(trials=args.trials, steps=args.steps, eval_every=_eval_every(args),
                                eval_batches=args.eval_batches, random_repeats=args.random_repeats,
                                bo_seeds=args.bo_seeds, replica=args.replica, max_population=args.population)
    settings.validate()
    with executor_from_args(args, default_workers=0) as executor:
        result = run_protocol(task, hparam_list, settings, list_name=args.list, problem=args.problem,
                              preset=args.preset, executor=executor,
                              progress=not args.json and sys.stderr.isatty())
    status = 0
    if args.report:
        from taskset.paths import write_dir_with_fallback

        _, written = write_dir_with_fallback(args.report, lambda d: write_report(result, d, command_line(args)))
        if str(written) != str(args.report):
            sys.stderr.write(f"taskset-bench: error: could not write --report {args.report!r}; the report was "
                             f"written to {str(written)!r} instead\n")
            status = 1
    if args.json:
        print_json(summary_json(result))
        return status
    summary = result.summary()
    sys.stdout.write(f"{result.task}: best valid_inner loss after j trials (mean over runs), "
                     f"{result.wall_seconds:.0f} s\n")
    print_table([(method, s["runs"], *[f"{v:.4f}" for v in s["best_valid_mean"]], f"{s['seconds']:.0f}")
                 for method, s in summary.items()],
                ("method", "runs", *[f"j={j}" for j in range(1, settings.trials + 1)], "train_s"))
    if args.report:
        sys.stdout.write(f"report: {written}/README.md\n")
    return status
