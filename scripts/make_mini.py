"""Makes `taskset-mini`, the curve dataset shipped in `curves/data/taskset-mini/`.

Five steps, each rerunnable, from the repository root:

    python scripts/make_mini.py pilot      # time every candidate task (~15 min on 2 cores)
    python scripts/make_mini.py spec       # choose the tasks -> curves/specs/taskset_mini.gin
    python scripts/make_mini.py generate   # curves generate into staging/taskset-mini (resumable)
    python scripts/make_mini.py publish    # once complete: compact, verify, move to curves/data/taskset-mini
    python scripts/make_mini.py datasheet  # statistics and plot -> curves/data/taskset-mini/README.md

Generation takes hours, so it may span sessions: the shards finished so far
are committed under `staging/taskset-mini/` (outside the package, so an
incomplete dataset is never installed or registered), and the next
`generate` resumes there. `publish` refuses until every job of the spec is in.

Why a pilot: the cost of a task's 160 configs x 1,000 steps varies 300-fold
across the catalogue (a 2-parameter test function vs. an LSTM on 64 bytes),
and the parameter-count estimate of `curves plan` misses sequence length and
convolution area. So every candidate (the cheapest by that estimate in each
family, plus the cheapest fixed tasks) is trained once for 40 steps with 4
configs on one thread, and the measured seconds per config-step decide.

Why one thread per worker: XLA's CPU kernels split reductions by thread
count, so conv and RNN curves are bit-identical only at the same thread count.
The dataset is made, and checked by the tests, with one TensorFlow thread per
worker (what `curves generate` uses on this 2-core machine).
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import multiprocessing
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
PILOT = ROOT / "curves" / "specs" / "taskset_mini_pilot.json"
SPEC = ROOT / "curves" / "specs" / "taskset_mini.gin"
DEFAULTS_SPEC = ROOT / "curves" / "specs" / "taskset_mini_defaults.gin"
DEFAULTS = ("adam_default",)
"""Named configs trained on every task beside the sampled ones, so the lists' evaluation can
score `adam_default` as a single default. They have a spec of their own: appended to the main
spec they would change its chunks, and with them every job key already generated."""
DATA = ROOT / "curves" / "data" / "taskset-mini"
STAGING = ROOT / "staging" / "taskset-mini"
PLOT_FAMILIES = ("mlp", "conv_pooling", "char_rnn_lm", "quadratic")
"""The datasheet plots the first task of each: a classifier, a conv net, a language model, a quadratic."""

NADAMW_CONFIGS, ADAM8P_CONFIGS = 128, 32
STEPS, EVAL_EVERY, EVAL_BATCHES = 1000, 100, 5
PILOT_CONFIGS, PILOT_STEPS = 4, 40
CANDIDATES = {"quadratic": 3, "test_functions": 3, "fixed": 20, "mlp": 12, "mlp_ae": 12, "mlp_vae": 12,
              "nvp": 12, "maf": 12}
"""Candidates per family for the pilot (other families: `CANDIDATES_DEFAULT`). Quadratics and
test functions cost almost nothing but set-up, so a few stand for all; the recurrent, conv and
transformer families cost 10-100x an MLP per step, so only their cheapest few are worth timing."""
CANDIDATES_DEFAULT = 5
SETUP_SECONDS = 5.0
"""Fixed cost of one job (tracing and compiling both families' steps, data): about twice the
pilot's set-up for one family, which was 2-4 s for the cheap tasks."""


def candidates() -> list[str]:
    """The cheapest runnable tasks of each family by `curves plan`'s estimate, in family order."""
    from taskset.tasks import get_task, list_tasks

    by_family: dict[str, list[tuple[float, str]]] = {}
    for entry in list_tasks(runnable_only=True):
        config = get_task(entry.name).config_dict
        length = config.get("sequence_length", config.get("length", 1)) or 1
        estimate = entry.num_params * int(config.get("batch_size", 1)) * int(length)
        by_family.setdefault("fixed" if entry.fixed else entry.family, []).append((estimate, entry.name))
    names = []
    for family in sorted(by_family):
        ranked = sorted(by_family[family])
        names += [name for _, name in ranked[:CANDIDATES.get(family, CANDIDATES_DEFAULT)]]
    return names


def time_task(name: str) -> dict:
    """Seconds per config-step of `name` in the trainer (one thread, `PILOT_CONFIGS` configs)."""
    from taskset.tasks import get_task
    from taskset.training import train

    began = time.perf_counter()
    try:
        curves = train(get_task(name), [f"nadamw_seed{i}" for i in range(PILOT_CONFIGS)], steps=PILOT_STEPS,
                       eval_every=PILOT_STEPS // 2, eval_batches=1)
    except Exception as error:  # a task that cannot train is recorded, not fatal
        return {"name": name, "error": f"{type(error).__name__}: {error}"[:300]}
    return {"name": name, "seconds_per_config_step": curves[0].seconds_per_step,
            "wall_seconds": time.perf_counter() - began}


def pilot(args) -> None:
    run_pilot(PILOT, candidates(), time_task, args.workers)


def run_pilot(path: pathlib.Path, names: list[str], timer, workers: int) -> None:
    """Times every name not yet in the pilot file `path` with `timer` on one-thread workers,
    rewriting the file atomically after each task, so an interrupted pilot resumes where it stopped."""
    from curves.executors import limit_tf_threads
    from taskset.paths import atomic_write_text

    done = {r["name"]: r for r in json.loads(path.read_text())["tasks"]} if path.exists() else {}
    names = [name for name in names if name not in done]
    print(f"timing {len(names)} tasks on {workers} workers ({len(done)} timed before)", file=sys.stderr)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=limit_tf_threads,
                                                initargs=(1,)) as pool:
        for count, row in enumerate(pool.map(timer, names), 1):
            done[row["name"]] = row
            print(f"{count}/{len(names)} {row}", file=sys.stderr, flush=True)
            atomic_write_text(path, json.dumps({"configs": PILOT_CONFIGS, "steps": PILOT_STEPS, "threads": 1,
                                                "tasks": sorted(done.values(), key=lambda r: r["name"])},
                                               indent=1) + "\n")
    print(f"wrote {path}", file=sys.stderr)


def estimated_seconds(seconds_per_config_step: float, configs: int = NADAMW_CONFIGS + ADAM8P_CONFIGS) -> float:
    """One job of `configs` configs (a task's main job: 160): set-up plus configs x (1,000 steps +
    evaluations at a third of a step)."""
    evaluated = (STEPS // EVAL_EVERY + 1) * 4 * EVAL_BATCHES / 3
    return SETUP_SECONDS + configs * (STEPS + evaluated) * seconds_per_config_step


QUOTAS = {"fixed": 14, "mlp": 5, "mlp_ae": 4, "mlp_vae": 3, "sequence": 2, "nvp": 1, "maf": 1, "conv_fc": 1,
          "conv_pooling": 1, "char_rnn_lm": 1, "word_rnn_lm": 1, "rnn_text_classification": 1, "transformer_lm": 1}
"""Timed tasks taken per family, cheapest first. Every family appears; the dear ones cost 10-100x
an MLP per step (the cheapest word RNN LM alone is estimated at half an hour of a worker), so they
appear once, and the budget goes to many cheap tasks instead (see the datasheet's limits)."""
FILL_FAMILIES = ("quadratic", "test_functions")
"""Families that fill the dataset up to `--total` tasks, alternately: their steps cost mostly the
trainer's fixed per-step overhead, so each costs about the same as the few that were timed."""


def family_of(name: str) -> str:
    return "fixed" if name.startswith("fixed_") else name.rsplit("_seed", 1)[0]


def choose(rows: list[dict], fill: dict[str, list[str]], total: int) -> tuple[list[str], dict]:
    """Tasks for the dataset: `QUOTAS` cheapest timed tasks per family, then `fill`'s tasks
    (family -> names, cheapest first by the plan's estimate), alternating, up to `total`.

    Returns (names, facts): facts has "estimated_worker_seconds" and "left_out", which maps
    every timed task not chosen to why.
    """
    import statistics

    timed = sorted((r for r in rows if "error" not in r), key=lambda r: r["seconds_per_config_step"])
    left_out = {r["name"]: f"failed in the pilot: {r['error']}" for r in rows if "error" in r}
    cost = {r["name"]: estimated_seconds(r["seconds_per_config_step"]) for r in timed}
    chosen: list[str] = []
    for family, quota in sorted(QUOTAS.items()):
        chosen += [r["name"] for r in timed if family_of(r["name"]) == family][:quota]
    untimed = [f for f in fill if not any(family_of(n) == f for n in cost)]
    if untimed:
        raise ValueError(f"the pilot timed no task of {untimed}; give them candidates in CANDIDATES")
    typical = {f: statistics.median(cost[n] for n in cost if family_of(n) == f) for f in fill}
    queues = {f: [n for n in names if n not in chosen] for f, names in fill.items()}
    while len(chosen) < total and any(queues.values()):
        for family in sorted(queues):
            if queues[family] and len(chosen) < total:
                name = queues[family].pop(0)
                chosen.append(name)
                cost.setdefault(name, typical[family])
    for name in cost:
        if name not in chosen:
            left_out.setdefault(name, f"dearer than the {QUOTAS.get(family_of(name), 0)} chosen of its family "
                                      f"(estimated {cost[name]:.0f} s)")
    return chosen, {"estimated_worker_seconds": sum(cost[n] for n in chosen), "left_out": left_out}


def fill_candidates() -> dict[str, list[str]]:
    """Runnable tasks of `FILL_FAMILIES`, cheapest first by the plan's estimate."""
    from taskset.tasks import list_tasks

    return {family: [e.name for e in sorted(list_tasks(family, runnable_only=True), key=lambda e: e.num_params)]
            for family in FILL_FAMILIES}


def spec(args) -> None:
    rows = json.loads(PILOT.read_text())["tasks"]
    names, facts = choose(rows, fill_candidates(), args.total)
    hours = facts["estimated_worker_seconds"] / 3600
    counts = collections.Counter(family_of(name) for name in names)
    lines = [
        "# taskset-mini: the curve dataset shipped in curves/data/taskset-mini (see its README.md).",
        "# Written by `python scripts/make_mini.py spec` from the pilot timings in",
        f"# curves/specs/taskset_mini_pilot.json: {len(names)} tasks, estimated {hours:.2f} worker-hours",
        f"# ({hours / args.workers:.2f} h on {args.workers} one-thread workers). Tasks per family:",
        "#   " + ", ".join(f"{f} {n}" for f, n in sorted(counts.items())),
        "",
        "sweep.name = 'taskset-mini'",
        f"sweep.steps = {STEPS}",
        f"sweep.eval_every = {EVAL_EVERY}",
        f"sweep.eval_batches = {EVAL_BATCHES}",
        "sweep.replicas = 1",
        f"sweep.population = {NADAMW_CONFIGS + ADAM8P_CONFIGS}",
        "",
        "tasks.names = [",
        *[f"    '{name}'," for name in sorted(names)],
        "]",
        "tasks.runnable = True",
        "",
        f"optimizers.families = {{'adam8p': (0, {ADAM8P_CONFIGS}), 'nadamw': (0, {NADAMW_CONFIGS})}}",
    ]
    SPEC.write_text("\n".join(lines) + "\n")
    DEFAULTS_SPEC.write_text(defaults_spec(SPEC.read_text()))
    left_out = ROOT / "curves" / "specs" / "taskset_mini_left_out.json"
    left_out.write_text(json.dumps(facts["left_out"], indent=1, sort_keys=True) + "\n")
    print(f"wrote {SPEC} ({len(names)} tasks, estimated {hours:.2f} worker-hours) and {left_out}", file=sys.stderr)


def defaults_spec(main_spec: str, dataset: str = "taskset-mini") -> str:
    """The spec of the `DEFAULTS` configs: the main spec's tasks and settings, one job per task.

    `dataset` ("taskset-mini", "taskset-small") names the dataset, its main spec file and its script
    in the header comment.
    """
    script = f"scripts/make_{dataset.split('-', 1)[1]}.py"
    lines = [f"# {dataset}, second part: the named configs DEFAULTS of {script} on the",
             f"# tasks of {dataset.replace('-', '_')}.gin, with its settings. Written by `python {script} spec`.", ""]
    for line in main_spec.splitlines():
        if line.startswith("#") or (not line and not lines[-1]):
            continue
        if line.startswith("sweep.population"):
            line = f"sweep.population = {len(DEFAULTS)}"
        elif line.startswith("optimizers."):
            line = f"optimizers.names = {list(DEFAULTS)!r}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def spec_jobs() -> list:
    """Every job of taskset-mini: the main spec's, then the defaults spec's."""
    import curves

    return [job for path in (SPEC, DEFAULTS_SPEC) for job in curves.plan(curves.load_spec(path))]


def generate(args) -> None:
    import curves
    from curves.executors import ProcessExecutor

    jobs = spec_jobs()
    with ProcessExecutor(workers=args.workers, threads=1) as executor:
        summary = curves.generate(jobs, args.out, executor=executor, progress=True)
    print(json.dumps(summary.to_json(), default=str))


def missing_jobs(root: pathlib.Path) -> list[str]:
    """Tasks of the specs' jobs that `root` does not hold yet (every job, when `root` is empty)."""
    from curves.store import Store

    jobs = spec_jobs()
    if not root.is_dir():
        return [job.task for job in jobs]
    with Store.open(root) as store:
        return [job.task for job in jobs if not store.has_job(job.key)]


def publish(args) -> None:
    publish_staging(STAGING, DATA, missing_jobs(STAGING), "python scripts/make_mini.py generate")


def publish_staging(staging: pathlib.Path, data: pathlib.Path, missing: list, generate: str) -> None:
    """Compacts, verifies and moves a complete staging directory to `data` (never over an existing one).

    Args:
      missing: the spec's jobs (or their tasks) that `staging` lacks; publishing refuses unless empty.
      generate: the command that fills `staging`, for the refusal message.
    """
    import curves

    if missing:
        names = [getattr(job, "task", job) for job in missing[:3]]
        sys.exit(f"{staging} lacks {len(missing)} job(s), e.g. {names}; run `{generate}` until it has them all")
    from curves.partials import pending

    unfinished = pending(staging)
    if unfinished:
        sys.exit(f"{staging}/partial holds unfinished chunks of {len(unfinished)} job(s); run `{generate}` "
                 "until they are done")
    if data.exists():
        sys.exit(f"{data} exists; move it away first (a published dataset is never overwritten)")
    curves.compact(staging)
    report = curves.verify(staging)
    if not report.ok:
        sys.exit(f"verify failed: {report}")
    (staging / ".generate.lock").unlink(missing_ok=True)
    staging.rename(data)
    print(f"published {data}", file=sys.stderr)


def family_table(frame) -> list[str]:
    """Markdown rows per task family: tasks, curves, diverged, and the spread of best final valid loss."""
    import numpy as np

    rows = ["| task family | tasks | curves | diverged | best final valid_inner per task: min / median / max |",
            "| --- | --- | --- | --- | --- |"]
    for family, group in frame.assign(family=frame["family"].astype(str)).groupby("family"):
        best = group.groupby("task", observed=True)["final_valid_inner"].min()
        diverged = float(np.mean(group["status"] != "ok"))
        rows.append(f"| {family} | {best.size} | {len(group)} | {diverged:.1%} | "
                    f"{best.min():.4g} / {best.median():.4g} / {best.max():.4g} |")
    return rows


def optimizer_table(frame) -> list[str]:
    """Markdown rows per optimizer family: curves, status counts, fraction diverged, median rank."""
    import numpy as np

    rank = frame.groupby("task", observed=True)["final_valid_inner"].rank(pct=True, na_option="bottom")
    rows = ["| optimizer family | configs | curves | ok | diverged | diverged fraction | median rank of final valid_inner among its task's configs (percent; 0 = best) |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for family, group in frame.assign(optimizer_family=frame["optimizer_family"].astype(str)).groupby("optimizer_family"):
        counts = group["status"].value_counts()
        rows.append(f"| {family} | {group['optimizer'].nunique()} | {len(group)} | {counts.get('ok', 0)} | "
                    f"{counts.get('diverged', 0)} | {float(np.mean(group['status'] == 'diverged')):.1%} | "
                    f"{100 * float(rank[group.index].median()):.0f} |")
    return rows


def plot_tasks(frame, tasks: list[str], path: pathlib.Path) -> None:
    """valid_inner curves of every config on each of `tasks`, best config in black, outliers cut off."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.2), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        group = frame[frame["task"] == task]
        best = group["final_valid_inner"].idxmin()
        for index, row in group.iterrows():
            color = {"nadamw": "tab:blue", "adam8p": "tab:orange", "adam1p": "tab:red"}.get(row["optimizer_family"], "tab:gray")
            named = row["optimizer_family"] == "adam1p"
            ax.plot(row["steps"], row["valid_inner"], color=color, alpha=1.0 if named else 0.25,
                    linewidth=1.2 if named else 0.7)
        ax.plot(group.at[best, "steps"], group.at[best, "valid_inner"], color="black", linewidth=1.5)
        # Outliers (a diverging config, a flow's density collapse) would squash every
        # curve into a line: show the best curve and everything below the initial loss.
        low = float(np.nanmin(group.at[best, "valid_inner"]))
        high = max(float(np.nanmedian([curve[0] for curve in group["valid_inner"]])),
                   float(np.nanmax(group.at[best, "valid_inner"])))
        pad = 0.1 * (abs(high - low) or abs(high) or 1.0)
        ax.set_ylim(low - pad, high + pad)
        ax.set_title(task, fontsize=7)
        ax.set_xlabel("step")
    axes[0][0].set_ylabel("valid_inner loss")
    fig.suptitle("every config: nadamw blue, adam8p orange, adam_default red; the best final loss black", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def datasheet_header(frame) -> str:
    """`scripts/taskset_mini_datasheet.md` with its blanks filled from the shipped data."""
    import subprocess

    counts = collections.Counter(frame.drop_duplicates("task")["family"].astype(str))
    cheap = counts.get("quadratic", 0) + counts.get("test_functions", 0)
    tasks = sum(counts.values())
    size = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file() and p.name not in ("README.md", "curves.png"))
    hours = float((frame["seconds_per_step"] * frame["steps"].map(lambda s: int(s[-1]))).sum()) / 3600
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    fills = {
        "TASK_COUNTS": ", ".join(f"{f} {n}" for f, n in sorted(counts.items())),
        "SIZE_LINE": f"{len(frame):,} curves in {size / 1e6:.1f} MB.",
        "SKEW_LINE": f"{cheap} of the {tasks} tasks are quadratics or test functions.",
        "COMMIT": commit,
        "WALL": f"{hours:.1f} worker-hours",
    }
    text = (pathlib.Path(__file__).with_name("taskset_mini_datasheet.md")).read_text()
    for blank, value in fills.items():
        text = text.replace(blank, value)
    return text


def datasheet(args) -> None:
    import curves

    frame = curves.read(DATA)
    info = curves.info(DATA)
    families = sorted(frame["family"].astype(str).unique())
    shown = [f for f in PLOT_FAMILIES if f in families] or families[:4]
    plot_tasks(frame, [frame[frame["family"] == f]["task"].astype(str).min() for f in shown], DATA / "curves.png")
    stats = ["## Sanity statistics", "", "Generated by `python scripts/make_mini.py datasheet` from the shipped shards.",
             "", *family_table(frame), "", *optimizer_table(frame), "",
             "![curves of a few tasks](curves.png)", ""]
    (DATA / "README.md").write_text(datasheet_header(frame) + "\n".join(stats))
    print(json.dumps(info if isinstance(info, dict) else vars(info), default=str, indent=1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("pilot", help="time the candidate tasks")
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(run=pilot)
    p = sub.add_parser("spec", help="choose the tasks and write the sweep spec")
    p.add_argument("--workers", type=int, default=2, help="workers the estimate is divided by")
    p.add_argument("--total", type=int, default=150, help="number of tasks")
    p.set_defaults(run=spec)
    p = sub.add_parser("generate", help="run the sweep into staging/taskset-mini (resumes)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", type=pathlib.Path, default=STAGING, help="curve directory (default staging/taskset-mini)")
    p.set_defaults(run=generate)
    p = sub.add_parser("publish", help="compact, verify and move the complete staging directory into place")
    p.set_defaults(run=publish)
    p = sub.add_parser("datasheet", help="refresh the statistics and plot of curves/data/taskset-mini/README.md")
    p.set_defaults(run=datasheet)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
