"""`lists fit|evaluate|show`: learned hyperparameter lists from curve datasets.

None of these import TensorFlow. `--curves` takes a curve directory or the
name of a registered curve dataset (see `taskset-bench curves list`).
`--json` output (stable keys):
  fit:       the list artifact (see `hparam_lists.artifact`)
  evaluate:  the evaluation results (see `hparam_lists.evaluate`; also written to
             DIR/results.json, with DIR/report.md and its plots)
  show:      the list artifact
Output paths (--out, --report) are checked before any work; if one still
cannot be written at the end, the result goes next to it or to a temporary
file or directory, whose path is printed, and the exit status is 1. Bounds
(exit 2 beyond them, `taskset.limits`): --size and --trials at most 100,000,
--folds at most 10,000, --bo-seeds 0 to 10,000, --seed 0 to 2**31 - 1, --workers 1 to 256.
Exit status: 0 success; 2 bad input (one line on stderr); 1 a result written elsewhere.
"""

from __future__ import annotations

import json
import sys

from taskset.cli.output import print_json, print_table
from taskset.datasets.base import SPLITS

DEFAULT_CURVES = "taskset-small"
"""`curves.registry.DEFAULT_DATASET` (a test keeps them equal), spelled here so that building
the parser does not import `curves` (pyarrow, 0.4 s)."""

# The columns the list code reads; skipping the others keeps reading cheap.
_COLUMNS = ("task", "family", "optimizer_family", "optimizer", "hparams", "replica", "status")
AGGREGATIONS = ("final", "mean")
WEIGHTINGS = ("family", "task")
"""`hparam_lists.normalize.AGGREGATIONS` and `hparam_lists.weighting.WEIGHTINGS` (a test keeps them
equal), spelled here because importing `hparam_lists` to build the parser costs 0.4 s."""


def add_commands(sub) -> None:
    lists = sub.add_parser("lists", help="fit, evaluate and show learned hyperparameter lists")
    lsub = lists.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = lsub.add_parser("fit", help="fit a greedy ordered list of one optimizer family's configs")
    p.add_argument("--curves", default=DEFAULT_CURVES, metavar="NAME|DIR",
                   help=f"curve directory or registered dataset name (default: the shipped {DEFAULT_CURVES})")
    p.add_argument("--family", required=True, help="optimizer family of the entries, e.g. nadamw")
    p.add_argument("--size", type=int, default=50, help="number of entries (default 50)")
    p.add_argument("--out", required=True, help="the list file to write (JSON)")
    p.add_argument("--split", choices=SPLITS, default="valid_inner", help="loss split to fit on (default valid_inner)")
    p.add_argument("--aggregation", choices=AGGREGATIONS, default="final",
                   help="score a curve by its final point or its mean (default final)")
    p.add_argument("--tasks", metavar="T1,T2,...", help="fit on these tasks only (default: all in the curves)")
    p.add_argument("--weighting", choices=WEIGHTINGS, default="family",
                   help="objective weights: 'family' gives each task family one unit, shared by its tasks; "
                        "'task' weighs every task equally (default family)")
    p.add_argument("--json", action="store_true", help="print the list as JSON only")
    p.set_defaults(func=cmd_fit)

    p = lsub.add_parser("evaluate", help="held-out evaluation against random search, BO and defaults")
    p.add_argument("list", help="list file, or the name of a shipped list")
    p.add_argument("--curves", default=DEFAULT_CURVES, metavar="NAME|DIR",
                   help=f"curve directory or registered dataset name (default: the shipped {DEFAULT_CURVES})")
    p.add_argument("--report", required=True, metavar="DIR", help="directory for report.md, plots and results.json")
    p.add_argument("--folds", type=int, default=5, help="k-fold task splits (default 5)")
    p.add_argument("--trials", type=int, default=None,
                   help="largest number of trials scored (default: the list's length, at most 20 "
                        "and at most the family's configs in the curves)")
    p.add_argument("--bo-seeds", type=int, default=2, help="Bayesian optimisation runs per task; 0 skips BO "
                                                           "(default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the k-fold split (default 0)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="local processes for Bayesian optimisation, the dearest part; the results do not depend "
                        "on it (1 to 256, default 1: this process)")
    p.add_argument("--weighting", choices=WEIGHTINGS, default="family",
                   help="weights of the refits and of best_single, and of the printed means: 'family' (each "
                        "task family one unit) or 'task' (default family); the report shows both")
    p.add_argument("--report-split", choices=SPLITS, default="test", help="split scores are reported on "
                                                                          "(default test)")
    p.add_argument("--json", action="store_true", help="print the results as JSON only, no progress bar")
    p.set_defaults(func=cmd_evaluate)

    p = lsub.add_parser("show", help="show a list's entries and how it was fitted")
    p.add_argument("list", help="list file, or the name of a shipped list")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.set_defaults(func=cmd_show)


def _read_curves(name_or_dir: str, split_columns: tuple[str, ...]):
    """(DataFrame, manifest sha256) of a curve dataset, reading only the needed columns."""
    from curves import read
    from curves.reader import resolve
    from hparam_lists import manifest_sha256

    root = resolve(name_or_dir)
    frame = read(root, columns=list(_COLUMNS) + sorted(set(split_columns)))
    return frame, manifest_sha256(root)


def _non_negative(value: int, flag: str) -> int:
    from taskset.errors import ConfigError

    if value < 0:
        raise ConfigError(f"{flag} must be a non-negative integer, got {value!r}")
    return value


def _bounded(value: int, flag: str, low: int, high: int) -> int:
    from taskset.limits import check_int

    return check_int(value, flag, low, high)


def cmd_fit(args) -> int:
    from hparam_lists import fit, save_list
    from taskset.limits import MAX_POPULATION, check_at_most
    from taskset.paths import check_output_file, write_with_fallback

    check_at_most(args.size, "--size", MAX_POPULATION)
    check_output_file(args.out, "--out")
    frame, sha = _read_curves(args.curves, (args.split,))
    tasks = [t for t in args.tasks.split(",") if t] if args.tasks else None
    fitted = fit(frame, args.family, args.size, args.split, args.aggregation, tasks, dataset=args.curves,
                 manifest_sha256=sha, weighting=args.weighting)
    status = 0
    try:
        save_list(fitted, args.out)
    except OSError as err:
        text = (json.dumps(fitted.to_json(), indent=1, sort_keys=True) + "\n").encode()
        written = write_with_fallback(args.out, lambda handle: handle.write(text))
        if str(written) != str(args.out):
            sys.stderr.write(f"taskset-bench: error: could not write --out {args.out!r} ({err}); the list was "
                             f"written to {str(written)!r} instead\n")
            status = 1
    if args.json:
        print_json(fitted.to_json())
        return status
    sys.stdout.write(f"wrote {args.out}: {len(fitted)} {args.family} entries fitted on {len(fitted.fit.train_tasks)} "
                     f"tasks from a pool of {fitted.fit.pool_size} ({args.split}, {args.aggregation})\n")
    _print_entries(fitted, limit=10)
    return status


def cmd_evaluate(args) -> int:
    from hparam_lists import evaluate, load_list
    from hparam_lists.report import table_trials, write_report
    from taskset.limits import MAX_COUNT, MAX_POPULATION, MAX_SEED, MAX_WORKERS, check_at_most
    from taskset.paths import check_output_dir, write_dir_with_fallback

    # Lower bounds of --folds and --trials depend on the data: `evaluate` checks them.
    check_at_most(args.folds, "--folds", MAX_COUNT)
    if args.trials is not None:
        check_at_most(args.trials, "--trials", MAX_POPULATION)
    check_at_most(_non_negative(args.bo_seeds, "--bo-seeds"), "--bo-seeds", MAX_COUNT)
    _bounded(args.seed, "--seed", 0, MAX_SEED)
    _bounded(args.workers, "--workers", 1, MAX_WORKERS)
    check_output_dir(args.report, "--report")
    hparam_list = load_list(args.list)
    seeds = range(_non_negative(args.bo_seeds, "--bo-seeds"))
    frame, sha = _read_curves(args.curves, (hparam_list.fit.split, args.report_split))
    result = evaluate(frame, hparam_list, trials=args.trials, folds=args.folds, bo_seeds=tuple(seeds),
                      seed=args.seed, report_split=args.report_split,
                      progress=not args.json and sys.stderr.isatty(), dataset=args.curves, manifest_sha256=sha,
                      weighting=args.weighting, workers=args.workers)
    report, written = write_dir_with_fallback(args.report, lambda directory: write_report(result, directory))
    status = 0
    if str(written) != str(args.report):
        sys.stderr.write(f"taskset-bench: error: could not write --report {args.report!r}; the report was written to "
                         f"{str(written)!r} instead\n")
        status = 1
    if args.json:
        print_json(result.to_json())
        return status
    trials = result.settings.trials
    shown = table_trials(trials)
    for name, protocol in result.protocols.items():
        means = protocol.family_balanced if args.weighting == "family" else protocol.methods
        sys.stdout.write(f"{name} (mean best {result.settings.report_split} score, {args.weighting}-weighted; "
                         "lower is better):\n")
        rows = [(method, *(f"{values[k - 1]:.4f}" for k in shown)) for method, values in means.items()]
        rows.append(("speed-up vs random", *(f"{protocol.speedup[k - 1]:.2f}x" for k in shown)))
        print_table(rows, ("method", *(f"k={k}" for k in shown)))
        sys.stdout.write("\n")
    for name, reason in result.skipped.items():
        sys.stdout.write(f"{name}: skipped ({reason})\n")
    sys.stdout.write(f"report: {report}\n")
    return status


def cmd_show(args) -> int:
    from hparam_lists import load_list

    hparam_list = load_list(args.list)
    if args.json:
        print_json(hparam_list.to_json())
        return 0
    fit = hparam_list.fit
    sys.stdout.write(f"family: {fit.family}\nentries: {len(hparam_list)}\n"
                     f"fitted on: {len(fit.train_tasks)} tasks of {hparam_list.dataset or '(unknown)'} "
                     f"(manifest sha256 {hparam_list.manifest_sha256 or 'none'}), pool of {fit.pool_size}, "
                     f"split {fit.split}, aggregation {fit.aggregation}\n"
                     f"package version: {hparam_list.package_version}\n")
    if hparam_list.source:  # a list made elsewhere: say whose it is and under which terms
        source = hparam_list.source
        sys.stdout.write(f"source: {source.get('name', '?')}, {source.get('repository', '?')} "
                         f"({', '.join(source.get('files', {})) or 'no files named'}); "
                         f"version {source.get('version', '?')}; licence {source.get('licence', '?')}\n")
        if "semantics" in source:
            sys.stdout.write(f"runs as: {source['semantics']}\n")
    _print_entries(hparam_list)
    return 0


def _print_entries(hparam_list, limit: int | None = None) -> None:
    entries = hparam_list.entries[:limit]
    names = [d for d in entries[0].hparams]
    rows = [(i, e.optimizer, "" if e.train_score is None else f"{e.train_score:.4f}",
             *(f"{e.hparams[n]:.4g}" for n in names)) for i, e in enumerate(entries)]
    print_table(rows, ("index", "source config", "train score", *names))
    if limit is not None and len(hparam_list) > limit:
        sys.stdout.write(f"... {len(hparam_list) - limit} more (`taskset-bench lists show`)\n")
