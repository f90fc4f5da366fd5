"""`benchmark`: score optimizers against a suite of tasks and its reference curves.

    taskset-bench benchmark --optimizer adam_default --optimizer nadamw_seed0 --report DIR

trains every `--optimizer` SPEC (a config name, `list:NAME|PATH:INDEX`, or a
`MODULE:FUNCTION` factory of an update rule or a Keras 3 optimizer; see
`eval.benchmark.contenders`) on every task of the suite, with the schedule of
the suite's reference curves, and prints per optimizer the family-weighted
mean normalised score with its bootstrap interval, the mean percentile among
the reference configs, the win rates against the baselines and the tasks on
which it reached the reference median's final loss (see
`eval.benchmark.scoring`), then the same per task family. With
`--report DIR` it writes DIR/report.md, DIR/summary.json, plots, and the run's
curves as a curve directory DIR/curves (a rerun into DIR skips the training
already stored there); `--json` prints summary.json (keys documented in
`eval.benchmark.report`) and no progress. Progress: a bar on a terminal, else
one line per finished job on stderr (done/total, elapsed, estimate left).
Training runs in one worker process per core by default (`--workers 0`: in
this process; `--dask` a local Dask cluster); `--scheduler ADDR` uses an existing
Dask scheduler, whose workers must import any factory's module but need not see
--report DIR: they return the curves to this process, which writes them (see
`taskset.cli.executor` and `curves.runner`).
Exit status: 0 success; 2 bad input (one line on stderr, e.g. a bad SPEC, or
no reference curves for the tasks or steps); 1 a failed training run.
"""

from __future__ import annotations

import os
import shlex
import sys

from taskset.cli.executor import add_executor_options, executor_from_args
from taskset.cli.output import print_json, print_table


def add_commands(sub) -> None:
    p = sub.add_parser("benchmark", help="score optimizers against a task suite and its reference curves")
    p.add_argument("--optimizer", action="append", required=True, metavar="SPEC",
                   help="a config name (adam_default, adam8p_seed3), list:NAME|PATH:INDEX, or MODULE:FUNCTION "
                        "returning (UpdateRule, hparams) or a Keras optimizer (repeatable: compares several)")
    p.add_argument("--suite", default="quick", metavar="NAME",
                   help="task suite and its reference: quick (default, a smoke test), standard (the one to cite: "
                        "neural-network tasks, family-weighted, 1,000 steps), mini (every taskset-mini task)")
    p.add_argument("--tasks", action="append", default=[], metavar="PATTERN",
                   help="only the suite's tasks (with --reference: the reference's) matching this shell pattern "
                        "(repeatable)")
    p.add_argument("--steps", type=int, metavar="N", help="training steps (default: the suite's, 200 for quick)")
    p.add_argument("--replicas", type=int, default=1, metavar="R",
                   help="replica seeds 0..R-1 per task (default 1)")
    p.add_argument("--reference", metavar="NAME|DIR",
                   help="reference curves: a registered curve dataset or a curve directory (default: the suite's)")
    p.add_argument("--report", metavar="DIR", help="write report.md, summary.json, plots and curves/ to DIR")
    p.add_argument("--json", action="store_true", help="print summary.json only, no progress bar")
    add_executor_options(p)
    p.set_defaults(func=cmd_benchmark)


def command_line(args, settings) -> str:
    """The command that reproduces `args`, with the suite, tasks and steps spelled out."""
    parts = ["taskset-bench", "benchmark"]
    for spec in args.optimizer:
        parts += ["--optimizer", spec]
    parts += ["--suite", args.suite]
    for pattern in args.tasks:
        parts += ["--tasks", pattern]
    if settings.steps is not None:
        parts += ["--steps", str(settings.steps)]
    parts += ["--replicas", str(settings.replicas)]
    if args.reference:
        parts += ["--reference", args.reference]
    if args.report:
        parts += ["--report", args.report]
    return shlex.join(parts)


def _settings(args):
    from eval.benchmark import BenchmarkSettings, get_suite
    from eval.benchmark.reference import reference_tasks
    from eval.benchmark.suites import match_tasks

    suite = get_suite(args.suite)
    reference = args.reference or suite.reference
    if args.reference:
        tasks, where = reference_tasks(reference), f"the reference {reference!r}"
    else:
        tasks = suite.tasks if suite.tasks is not None else reference_tasks(reference)
        where = f"suite {suite.name!r}"
    if args.tasks:
        tasks = match_tasks(args.tasks, tasks, where)
    settings = BenchmarkSettings(suite=suite.name, tasks=tuple(tasks), reference=reference,
                                 steps=args.steps if args.steps is not None else suite.steps, replicas=args.replicas)
    settings.validate()
    return settings


def cmd_benchmark(args) -> int:
    import tempfile

    # Before anything imports TensorFlow, here and in the spawned workers (which inherit the
    # environment): its C++ start-up lines would bury the progress lines of a logged run.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from eval.benchmark import resolve, run_benchmark, summary_json, write_report
    from eval.benchmark.progress import LineProgress
    from eval.benchmark.runs import RunFailedError

    contenders = [resolve(spec) for spec in args.optimizer]
    settings = _settings(args)
    command = command_line(args, settings)
    terminal = sys.stderr.isatty()
    with tempfile.TemporaryDirectory(prefix="taskset-benchmark-") as scratch:
        curves_dir = os.path.join(args.report, "curves") if args.report else os.path.join(scratch, "curves")
        try:
            with executor_from_args(args) as executor:
                if not args.json and not terminal:
                    executor = LineProgress(executor, sys.stderr)  # one line per job: CI, nohup, log files
                result = run_benchmark(contenders, settings, curves_dir, executor=executor,
                                       progress=not args.json and terminal)
        except RunFailedError as err:
            sys.stderr.write(f"taskset-bench: training failed: {err}\n")
            return 1
        if args.report:
            write_report(result, args.report, command)
    if args.json:
        print_json(summary_json(result, command))
        return 0
    scores = result.scores
    families = sorted(set(scores.families.values()))
    sys.stdout.write(f"{len(settings.tasks)} tasks ({len(families)} families, each weighing the same) of suite "
                     f"{settings.suite!r} against {len(scores.reference_configs)} reference configs of "
                     f"{settings.reference!r}, {result.wall_seconds:.0f} s, {result.jobs_run} of "
                     f"{result.jobs} training jobs run (score: 0 = the reference's best, "
                     "1 = no progress, below 0 = better than every reference config; lower is better)\n")
    keys = [b.key for b in scores.baselines]
    print_table([(c.contender.spec, f"{c.mean_score:.3f}", f"[{c.score_ci[0]:.3f}, {c.score_ci[1]:.3f}]",
                  f"{c.mean_percentile:.1f}", *[_rate(c.win_rate[k]) for k in keys],
                  f"{c.reached_target}/{len(settings.tasks)}") for c in scores.contenders],
                ("optimizer", "score", "95% CI", "percentile", *[f"win_vs_{b.label}" for b in scores.baselines],
                 "reached_target"))
    if len(families) > 1:
        sys.stdout.write("per family (mean over its tasks):\n")
        print_table([(c.contender.spec, family, str(r.tasks), f"{r.score:.3f}", f"{r.percentile:.1f}",
                      *[_rate(r.win_rate[k]) for k in keys])
                     for c in scores.contenders for family, r in c.families.items()],
                    ("optimizer", "family", "tasks", "score", "percentile",
                     *[f"win_vs_{b.label}" for b in scores.baselines]))
    for note in result.notes:
        sys.stdout.write(f"note: {note}\n")
    if args.report:
        sys.stdout.write(f"report: {os.path.join(args.report, 'report.md')}\n")
    return 0


def _rate(value: float) -> str:
    return "-" if value != value else f"{value:.2f}"
