"""`curves plan|generate|info|compact|verify`: record learning curves at scale.

`plan`, `info`, `compact` and `verify` never import TensorFlow; `generate` imports it in
the workers that train. `--json` output (stable keys):
  plan:     {"spec", "name", "settings", "tasks", "missing_tasks", "dropped_tasks", "optimizers",
             "families": [{"family", "tasks", "missing", "extrapolated", "jobs", "curves", "worker_hours",
             "bytes", "longest_job_hours"}], "total": {same keys}, "wall_hours": {"N": hours on N workers},
             "cost_model", "num_jobs", "num_curves", and with --jobs "jobs": [{"key", "task",
             "optimizers", "replica", "steps", "eval_every", "eval_batches", "seconds"}]}
  generate: {"planned", "existing", "skipped_failed", "written", "raced", "failed": [{"key", "task",
             "optimizers", "replica", "error"}], "curves", "seconds"}
  info:     {"path", "schema_version", "shards", "curves", "bytes", "tasks", "optimizer_configs",
             "families", "optimizer_families", "status", "steps", "failed_jobs",
             "machines": {"recorded": {id: {"cpu", "machine", "simd", "tensorflow", "threads", "jobs"}},
                          "unrecorded_jobs"}}
  compact:  {"tasks", "packed_tasks", "shards_before", "shards_after", "rows", "bytes_before", "bytes_after"}
  verify:   {"ok", "problems", "shards", "rows", "failed_jobs"}
Exit status: 0 success; 1 when generate recorded failed jobs or verify found
problems; 2 bad input (one line on stderr).
"""

from __future__ import annotations

import os
import sys

from taskset.cli.executor import add_executor_options, executor_from_args
from taskset.cli.output import print_json, print_table


def add_commands(sub) -> None:
    curves = sub.add_parser("curves", help="plan, generate, inspect and verify curve datasets")
    csub = curves.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = csub.add_parser("plan", help="price a sweep spec by task family (worker-hours, bytes) without running it")
    p.add_argument("spec", help="sweep spec (gin), e.g. curves/specs/quick.gin")
    p.add_argument("--jobs", action="store_true", help="also list every job with its key and estimated seconds")
    p.add_argument("--runnable-here", action="store_true",
                   help="drop tasks whose data is not on this machine (default: plan them, marked)")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.set_defaults(func=cmd_plan)

    p = csub.add_parser("generate", help="run the jobs of a sweep spec that have no shard yet")
    p.add_argument("spec", help="sweep spec (gin)")
    p.add_argument("--out", required=True, help="curve directory (created if missing; reruns resume)")
    add_executor_options(p)
    p.add_argument("--retry-failed", action="store_true", help="also rerun jobs that failed before")
    p.add_argument("--json", action="store_true", help="print JSON only, no progress bar")
    p.set_defaults(func=cmd_generate)

    p = csub.add_parser("info", help="summarise a curve directory")
    p.add_argument("path", help="curve directory")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.set_defaults(func=cmd_info)

    p = csub.add_parser("compact", help="merge each task's job shards into one pack (faster reads)")
    p.add_argument("path", help="curve directory")
    p.add_argument("--json", action="store_true", help="print JSON only, no progress bar")
    p.set_defaults(func=cmd_compact)

    p = csub.add_parser("verify", help="check a curve directory: schema, checksums, duplicates")
    p.add_argument("path", help="curve directory")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.set_defaults(func=cmd_verify)

    from taskset.cli import curve_data  # list, download, convert-taskset

    curve_data.add_commands(csub)


PLAN_WORKERS = (1, 2, 100, 1000)
"""Worker counts the plan prices the sweep's wall time for."""


def cmd_plan(args) -> int:
    from curves.cost import default_model
    from curves.jobs import plan
    from curves.pricing import job_seconds, price
    from curves.spec import load_spec

    spec = load_spec(args.spec, runnable_only=True if args.runnable_here else False)
    model = default_model()
    table = price(spec, model)
    settings = spec.settings
    data = {
        "spec": spec.source, "name": settings.name,
        "settings": {f: getattr(settings, f) for f in ("steps", "eval_every", "eval_batches", "replicas",
                                                        "population")},
        "tasks": [t.name for t in spec.tasks], "missing_tasks": list(spec.missing),
        "dropped_tasks": list(spec.dropped), "optimizers": [o.name for o in spec.optimizers],
        "families": [row.to_json() for row in table.families], "total": table.total.to_json(),
        "wall_hours": {str(n): table.wall_hours(n) for n in PLAN_WORKERS}, "cost_model": model.source,
        "num_jobs": table.total.jobs, "num_curves": table.total.curves,
    }
    if args.jobs:
        tasks = {t.name: t for t in spec.tasks}
        data["jobs"] = [{"key": j.key, "task": j.task, "optimizers": j.optimizer_names, "replica": j.replica,
                         "steps": j.steps, "eval_every": j.eval_every, "eval_batches": j.eval_batches,
                         "seconds": job_seconds(model, tasks[j.task], len(j.optimizers), j.steps, j.eval_every,
                                                j.eval_batches)}
                        for j in plan(spec)]
    if args.json:
        print_json(data)
        return 0
    total = table.total
    sys.stdout.write(f"sweep {data['name']!r} ({data['spec']}): {len(spec.tasks)} tasks x {len(spec.optimizers)} "
                     f"optimizer configs x {settings.replicas} replicas, {settings.steps} steps (evaluated every "
                     f"{settings.eval_every} on {settings.eval_batches} batches), populations of "
                     f"{settings.population} -> {total.jobs:,} jobs, {total.curves:,} curves\n")
    sys.stdout.write(f"tasks: {_some(data['tasks'])}\n")
    if spec.missing:
        sys.stdout.write(f"{len(spec.missing)} tasks' data is not on this machine: planned and counted under "
                         f"'not here' (--runnable-here drops them): {_some(spec.missing)}\n")
    if spec.dropped:
        sys.stdout.write(f"dropped {len(spec.dropped)} tasks whose data is not on this machine\n")
    print_table([(r.family, r.tasks, r.missing, r.extrapolated, f"{r.jobs:,}", f"{r.curves:,}",
                  _hours(r.worker_hours), _size(r.bytes), _hours(r.longest_job_hours))
                 for r in [*table.families, total]],
                ("family", "tasks", "not here", "beyond pilot", "jobs", "curves", "worker-hours", "size",
                 "longest job h"))
    sys.stdout.write(f"worker-hours: one-thread workers of this machine's CPU, from the cost model fitted on the "
                     f"{model.source} (`python -m curves.cost` prints its calibration error); 'beyond pilot': "
                     "tasks larger than any timed, priced by extrapolation\n")
    sys.stdout.write("wall time on N such workers (at least the longest job): "
                     + ", ".join(f"{n}: {_hours(data['wall_hours'][str(n)])} h" for n in PLAN_WORKERS) + "\n")
    if args.jobs:
        print_table([(j["key"][:12], j["task"], len(j["optimizers"]), j["replica"], f"{j['seconds']:.0f}")
                     for j in data["jobs"]], ("job", "task", "configs", "replica", "est. seconds"))
    return 0


def _some(names, shown: int = 8) -> str:
    names = list(names)
    more = f", ... ({len(names) - shown} more)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _hours(hours: float) -> str:
    return f"{hours:,.0f}" if hours >= 100 else f"{hours:.3g}"


def _size(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def cmd_generate(args) -> int:
    from curves.jobs import plan
    from curves.runner import generate
    from curves.spec import load_spec
    from taskset.paths import check_output_dir

    check_output_dir(args.out, "--out")  # before any planning or training
    jobs = plan(load_spec(args.spec))
    with executor_from_args(args) as executor:
        summary = generate(jobs, args.out, executor=executor, retry_failed=args.retry_failed,
                           progress=False if args.json else None)
    if args.json:
        print_json(summary.to_json())
    else:
        sys.stdout.write(f"{summary.written} shards written ({summary.curves} curves), {summary.existing} already "
                         f"there, {summary.skipped_failed} failed before (skipped), {len(summary.failed)} failed "
                         f"now, in {summary.seconds:.1f} s -> {args.out}\n")
        for failure in summary.failed:
            sys.stdout.write(f"failed: {failure['task']} replica {failure['replica']}: {failure['error']}\n")
    if summary.failed:
        sys.stderr.write(f"{len(summary.failed)} job(s) failed (errors in {args.out}/manifest.json); fix the cause "
                         "and rerun with --retry-failed\n")
        return 1
    return 0


def cmd_info(args) -> int:
    from curves.verify import info

    data = info(args.path)
    if args.json:
        print_json(data)
        return 0
    for key in ("path", "schema_version", "shards", "curves", "bytes", "tasks", "optimizer_configs", "steps",
                "failed_jobs"):
        sys.stdout.write(f"{key}: {data[key]}\n")
    for key in ("families", "optimizer_families", "status"):
        sys.stdout.write(f"{key}:\n")
        for name, count in data[key].items():
            sys.stdout.write(f"  {name}: {count}\n")
    machines = data["machines"]
    sys.stdout.write(f"machines (where the jobs ran; {machines['unrecorded_jobs']} job(s) from before the record):\n")
    for ident, facts in machines["recorded"].items():
        sys.stdout.write(f"  {ident}: {facts['jobs']} job(s), {facts['cpu']}, simd {facts['simd'] or '-'}, "
                         f"tensorflow {facts['tensorflow']}, threads {facts['threads']}\n")
    return 0


def cmd_compact(args) -> int:
    from curves.compact import compact

    summary = compact(args.path, progress=not args.json and sys.stderr.isatty())
    if args.json:
        print_json(summary.to_json())
    else:
        sys.stdout.write(f"{summary.packed_tasks} of {summary.tasks} tasks packed: {summary.shards_before} -> "
                         f"{summary.shards_after} files, {summary.bytes_before} -> {summary.bytes_after} bytes, "
                         f"{summary.rows} curves\n")
    return 0


def cmd_verify(args) -> int:
    from curves.verify import verify

    report = verify(args.path)
    if args.json:
        print_json(report.to_json())
    else:
        for problem in report.problems:
            sys.stdout.write(f"problem: {problem}\n")
        state = "ok" if report.ok else f"{len(report.problems)} problem(s)"
        sys.stdout.write(f"{state}: {report.shards} shards, {report.rows} curves checked, "
                         f"{report.failed_jobs} failed job(s) recorded\n")
    return 0 if report.ok else 1
