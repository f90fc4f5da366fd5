"""The benchmark report: summary.json, report.md and PNG plots (matplotlib, Agg backend).

`write_report(result, directory, command)` writes, beside the run's curves:
- `summary.json` (`summary_json`, stable keys, NaN written as null):
    format ("taskset-benchmark"), format_version (3), command, package_version,
    wall_seconds, jobs, jobs_run, suite, tasks, families {task: family}, weights {task: weight},
    weighting ("family"), tie_rtol, tie_scores {family: score units}, reference {name, configs, config_names,
    manifest_sha256, best_config, best_config_mean_score}, schedules {task: {steps,
    eval_every}}, replicas, eval_batches, split ("valid_inner"), bootstrap
    {resamples, seed, confidence, over}, notes [str],
    optimizers [{spec, kind, family, hparams, source_sha256, mean_score, score_ci [low, high],
                 mean_score_curve_mean, mean_percentile, win_rate {adam_default, list?},
                 tasks_reaching_target,
                 families {family: {tasks, score, percentile, win_rate {...}}},
                 tasks {task: {score, score_mean, final_loss, percentile, win {...}, target,
                               time_to_target, diverged, replicas, replica_scores}}}],
    baselines {key: {label, family, hparams, source, column, mean_score, scores {task: score}}},
    reference_scores {task: [score of each reference config, in reference.config_names order]},
    profile {epsilon, taus, rho {solver: [fraction of tasks at each tau]}},
    curves {task: {steps, reference_quantiles {"0.1", "0.5", "0.9": [loss]}, optimizers {name: [loss]},
                   diverged_at {name: step or null}}};
  what the numbers mean is in `eval.benchmark.scoring`;
- `profile.png`: the performance profile of the contenders and baselines;
- `scores.png`: per task, every reference config's normalised score and the contenders' and baselines';
- `curves.png`: per task, the validation curves against the reference's pointwise 10-90% band and
  median, a cross where a run diverged;
- `report.md`: the command, the setup, the aggregate, per-family and per-task tables, the plots and notes.
Every optimizer keeps its colour and marker in every report (`eval.reporting.style_for`).
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import platform
from typing import Any

import numpy as np

from eval.benchmark import scoring
from eval.benchmark.pipeline import BenchmarkResult
from eval.benchmark.results import QUANTILES, RESULT_FORMAT, RESULT_VERSION, SPLIT, WEIGHTING, json_number
from eval.reporting import fmt, legend_outside, pyplot, save, style_for, table

SUMMARY_FILE = "summary.json"
DIVERGED = "diverged (at its step)"
REPORT_FILE = "report.md"


def summary_json(result: BenchmarkResult, command: str = "") -> dict[str, Any]:
    """The stable JSON summary (the module docstring lists its keys)."""
    s, scores = result.settings, result.scores
    best_name, best_score = scores.best_reference
    return {
        "format": RESULT_FORMAT, "format_version": RESULT_VERSION, "command": command,
        "package_version": result.package_version, "wall_seconds": result.wall_seconds,
        "jobs": result.jobs, "jobs_run": result.jobs_run,
        "suite": s.suite, "tasks": list(s.tasks), "families": dict(scores.families),
        "weights": dict(scores.weights), "weighting": WEIGHTING, "tie_rtol": scoring.TIE_RTOL,
        "tie_scores": {f: result.reference.tie_scores[f] for f in sorted(set(scores.families.values()))
                       if f in result.reference.tie_scores},
        "reference": {"name": result.reference.name, "configs": len(scores.reference_configs),
                      "config_names": list(scores.reference_configs),
                      "manifest_sha256": result.reference.manifest_sha256, "best_config": best_name,
                      "best_config_mean_score": json_number(best_score)},
        "schedules": {t: {"steps": st, "eval_every": e} for t, (st, e) in result.reference.schedules.items()},
        "replicas": s.replicas, "eval_batches": s.eval_batches, "split": SPLIT,
        "bootstrap": {"resamples": scoring.BOOTSTRAP_RESAMPLES, "seed": scoring.BOOTSTRAP_SEED,
                      "confidence": scoring.CONFIDENCE, "over": ["families", "tasks", "replicas"]},
        "notes": list(result.notes),
        "optimizers": [c.to_json() for c in scores.contenders],
        "baselines": {b.key: {**b.to_json(),
                              "mean_score": json_number(scores.baseline_means[b.key]),
                              "scores": {t: json_number(v) for t, v in scores.baseline_scores[b.key].items()}}
                      for b in scores.baselines},
        "reference_scores": {t: [json_number(v) for v in values] for t, values in scores.reference_scores.items()},
        "profile": {"epsilon": scoring.PROFILE_EPSILON, "taus": scores.taus.tolist(),
                    "rho": {name: scores.profile[:, k].tolist() for k, name in enumerate(scores.solvers)}},
        "curves": scores.curves,
    }


def write_report(result: BenchmarkResult, directory: str | os.PathLike, command: str) -> pathlib.Path:
    """Writes summary.json, the plots and report.md under `directory`; returns report.md's path."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    summary = summary_json(result, command)
    (directory / SUMMARY_FILE).write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    plot_profile(summary, directory / "profile.png")
    plot_scores(summary, directory / "scores.png")
    plot_curves(summary, directory / "curves.png")
    path = directory / REPORT_FILE
    path.write_text(markdown(summary, result))
    return path


def _solvers(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, {task: score}) of the contenders, then of the baselines that are not contenders."""
    solvers = [(o["spec"], {t: r["score"] for t, r in o["tasks"].items()}) for o in summary["optimizers"]]
    names = {name for name, _ in solvers}
    return solvers + [(b["label"], b["scores"]) for b in summary["baselines"].values() if b["label"] not in names]


def plot_profile(summary: dict[str, Any], path: pathlib.Path) -> None:
    """Dolan-More performance profile: fraction of tasks within a factor tau of the best solver."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    taus = summary["profile"]["taus"]
    for name, rho in summary["profile"]["rho"].items():
        colour, _, ls = style_for(name)
        ax.step(taus, rho, where="post", label=name, color=colour, ls=ls)
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"tau (ratio of (score + {summary['profile']['epsilon']:g}) to the best solver's)")
    ax.set_ylabel("fraction of tasks within tau")
    ax.set_title("performance profile (Dolan & More 2002)")
    ax.grid(True, alpha=0.3)
    legend_outside(ax)
    save(fig, path)


def plot_scores(summary: dict[str, Any], path: pathlib.Path) -> None:
    """Per task: reference configs' normalised scores (grey) and each solver's (coloured markers)."""
    plt = pyplot()
    tasks = summary["tasks"]
    fig, ax = plt.subplots(figsize=(9.0, 0.45 * len(tasks) + 1.6))
    for i, task in enumerate(tasks):
        values = [v for v in summary["reference_scores"][task] if v is not None]
        ax.scatter(values, [i] * len(values), s=12, color="0.7", zorder=1,
                   label="reference configs" if i == 0 else None)
    solvers = _solvers(summary)
    low = 0.0
    for k, (name, by_task) in enumerate(solvers):
        colour, marker, _ = style_for(name)
        offset = (k - (len(solvers) - 1) / 2) * 0.12
        values = _floats([by_task[t] for t in tasks])
        if np.isfinite(values).any():
            low = min(low, float(np.nanmin(values)))
        ax.scatter(values, [i + offset for i in range(len(tasks))], marker=marker, color=colour, s=40, zorder=2,
                   label=name)
    ax.set_yticks(range(len(tasks)))
    ax.set_yticklabels([f"{t} ({summary['families'][t]})" for t in tasks], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(low - 0.03, 1.03)
    ax.axvline(0.0, color="0.5", lw=0.8)
    ax.set_xlabel(f"normalised final {summary['split']} score (0 = the reference's best, 1 = no progress, "
                  "< 0 = better than every reference config)")
    ax.set_ylabel("task (family)")
    ax.grid(True, axis="x", alpha=0.3)
    legend_outside(ax)
    save(fig, path)


def plot_curves(summary: dict[str, Any], path: pathlib.Path) -> None:
    """One panel per task: the reference's pointwise 10-90% band and median, each solver's curve, and a
    cross at the step where a solver diverged (on its last finite loss)."""
    plt = pyplot()
    tasks = summary["tasks"]
    columns = min(len(tasks), 3)
    rows = math.ceil(len(tasks) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.1 * rows), squeeze=False)
    low, mid, high = (f"{q:g}" for q in QUANTILES)
    handles: dict[str, Any] = {}
    for ax, task in zip(axes.flat, tasks):
        data = summary["curves"][task]
        steps = np.asarray(data["steps"])
        q = {k: _floats(data["reference_quantiles"][k]) for k in (low, mid, high)}
        handles["reference 10-90% (pointwise)"] = ax.fill_between(steps, q[low], q[high], color="0.85")
        handles["reference median (pointwise)"], = ax.plot(steps, q[mid], color="0.4", lw=1, ls="--")
        for name, values in data["optimizers"].items():
            colour, _, ls = style_for(name)
            values = _floats(values)
            handles[name], = ax.plot(steps, values, lw=1.4, color=colour, ls=ls)
            at = data.get("diverged_at", {}).get(name)
            finite = np.flatnonzero(np.isfinite(values))
            if at is not None:
                y = values[finite[-1]] if finite.size else q[mid][0]
                handles[DIVERGED] = ax.scatter([at], [y], marker="X", s=60, color=colour,
                                                               edgecolors="black", linewidths=0.6, zorder=3)
        finite = np.concatenate([q[low], q[high]])
        if np.isfinite(finite).any() and np.nanmin(finite) > 0 and np.nanmax(finite) / np.nanmin(finite) > 30:
            ax.set_yscale("log")
        ax.set_title(f"{task} ({summary['families'][task]})", fontsize=7)
        ax.set_xlabel("step", fontsize=7)
        ax.set_ylabel(f"{summary['split']} loss", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    if DIVERGED in handles:
        handles[DIVERGED] = handles.pop(DIVERGED)  # last in the legend, after every solver
    fig.tight_layout()
    legend_outside(fig, list(handles.values()), list(handles), where="right")
    save(fig, path, dpi=100)


def _floats(values) -> np.ndarray:
    """JSON numbers (None for NaN) as a float array."""
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _fmt(value, digits: int = 3, style: str = "f") -> str:
    return fmt(value, digits, style)


def markdown(summary: dict[str, Any], result: BenchmarkResult) -> str:
    """report.md from the summary (the numbers) and the result (where the curves are)."""
    baselines = summary["baselines"]
    ref = summary["reference"]
    tasks = summary["tasks"]
    families = sorted(set(summary["families"].values()))
    steps = sorted({s["steps"] for s in summary["schedules"].values()})
    boot = summary["bootstrap"]
    lines = [
        f"# Benchmark: {', '.join(o['spec'] for o in summary['optimizers'])} on the {summary['suite']!r} suite",
        "",
        "```", summary["command"], "```", "",
        f"{len(tasks)} tasks of {len(families)} task families, {'/'.join(map(str, steps))} steps, "
        f"{summary['replicas']} replica(s), evaluated on {summary['eval_batches']} batches per split; reference "
        f"`{ref['name']}` ({ref['configs']} configs, manifest sha256 `{(ref['manifest_sha256'] or 'none')[:16]}`); "
        f"{summary['wall_seconds']:.0f} s on {os.cpu_count()} CPU core(s) ({platform.machine()})"
        + ("" if summary["jobs_run"] == summary["jobs"] else
           f" training {summary['jobs_run']} of its {summary['jobs']} jobs (the others' curves were stored by an "
           "earlier run and only rescored)") + ", "
        f"taskset {summary['package_version']}. Curves of this run: `{result.curves_dir}` "
        "(a curve directory: `taskset-bench curves info`).", "",
        "## How to read it", "",
        "Every number of an optimizer depends only on its own curves and the reference's, never on the other "
        "optimizers of the run (the performance profile, which compares solvers, excepted). Every mean over "
        "tasks weighs task **families** equally: a family's tasks share one unit of weight.", "",
        f"- **score**: the normalised final `{summary['split']}` loss, (loss - best) / (initial - best), with "
        "initial = the reference curves' mean step-0 loss and best = the lowest loss any reference curve reached "
        "on the task: 0 = the reference's best, 1 = no progress or a failure (divergence). Not clipped at 0: a "
        "score below 0 means better than every reference config, by that fraction of the reference's "
        "initial-to-best gap (TaskSet clips at 0). Lower is better; mean over replicas.",
        f"- **CI**: {boot['confidence']:.0%} percentile bootstrap of the family-weighted mean score, resampling "
        f"families, then their tasks, then the tasks' replicas ({boot['resamples']} resamples, seed {boot['seed']}).",
        "- **ties**: two final losses are tied (counted half) when they differ by at most the larger of a relative "
        f"{summary['tie_rtol']:g} (last-bit differences between CPUs, thread counts and TensorFlow builds, "
        "measured up to ~1e-4, decide nothing) and the task family's replica noise: the median standard deviation "
        "over replica seeds of a reference config's score, times the task's initial-to-best gap"
        + (" (" + ", ".join(f"{f} {v:.4f}" for f, v in summary["tie_scores"].items()) + " score units; "
           "measured on the reference's replicas; percentiles, which are ranks, use the relative tolerance "
           "only)." if summary["tie_scores"] else
           " (this reference has no replicas, so only the relative tolerance applies)."),
        "- **percentile**: share of reference configs with a worse final loss (ties half, diverged = worst; a "
        "loss tied with reference configs takes the rank of the closest one); 50 = the median reference config, "
        "100 = better than all. Replica r is compared with the reference's replica r where it has one.",
        "- **win rate**: share of tasks (family-weighted) on which the final loss is lower than the baseline's "
        "(same replica), ties half.",
        "- **time to target**: first evaluation step at which the loss reaches (or ties) the final loss of the "
        "reference's median config (lower median).",
        f"- **performance profile**: for each solver, the fraction of tasks on which its (score + "
        f"{summary['profile']['epsilon']:g}) is within a factor tau of the best solver's (Dolan & More 2002; "
        "scores clipped to [0, 1] here); higher and further left is better.", "",
        "## Summary", "",
    ]
    rows = []
    for o in summary["optimizers"]:
        ci = o["score_ci"]
        rows.append([f"`{o['spec']}`", _fmt(o["mean_score"]), f"[{_fmt(ci[0])}, {_fmt(ci[1])}]",
                     _fmt(o["mean_score_curve_mean"]), _fmt(o["mean_percentile"], 1),
                     *[_fmt(o["win_rate"].get(key), 2) for key in baselines],
                     f"{o['tasks_reaching_target']} / {len(tasks)}"])
    blank = [""] * (3 + len(baselines) + 1)
    rows += [[f"baseline `{b['label']}` ({b['source']})", _fmt(b["mean_score"]), *blank] for b in baselines.values()]
    rows.append([f"best reference config `{ref['best_config']}`", _fmt(ref["best_config_mean_score"]), *blank])
    lines += table(["optimizer", "mean score", "CI", "mean score (curve mean)", "mean percentile",
                    *[f"win rate vs {b['label']}" for b in baselines.values()], "tasks reaching target"], rows)
    lines += ["", "![performance profile](profile.png)", "", "## Per family", "",
              "Plain means over each family's tasks; the summary's means weigh these rows equally.", ""]
    rows = [[f"`{o['spec']}`", family, str(r["tasks"]), _fmt(r["score"]), _fmt(r["percentile"], 1),
             *[_fmt(r["win_rate"].get(key), 2) for key in baselines]]
            for o in summary["optimizers"] for family, r in o["families"].items()]
    lines += table(["optimizer", "family", "tasks", "score", "percentile",
                    *[f"win rate vs {b['label']}" for b in baselines.values()]], rows)
    lines += ["", "## Per task", ""]
    for o in summary["optimizers"]:
        lines += [f"### `{o['spec']}` ({o['kind']}, family `{o['family']}`)", ""]
        rows = []
        for task in tasks:
            r = o["tasks"][task]
            diverged = f" ({r['diverged']} of {r['replicas']} diverged)" if r["diverged"] else ""
            time = "never" if r["time_to_target"] is None and r["target"] is not None else \
                ("-" if r["time_to_target"] is None else str(r["time_to_target"]))
            rows.append([task, summary["families"][task], _fmt(r["score"]), _fmt(r["score_mean"]),
                         _fmt(r["final_loss"], 4, "g") + diverged, _fmt(r["percentile"], 1),
                         _fmt(r["target"], 4, "g"), time,
                         *[f"{_fmt(b['scores'][task])} ({_verdict(r['win'].get(key))})"
                           for key, b in baselines.items()]])
        lines += table(["task", "family", "score", "score (curve mean)", "final loss", "percentile", "target",
                        "time to target", *[f"{b['label']} score (verdict)" for b in baselines.values()]], rows)
        lines.append("")
    lines += ["![scores per task](scores.png)", "", "![validation curves](curves.png)", ""]
    if summary["notes"]:
        lines += ["## Notes", ""] + [f"- {note}" for note in summary["notes"]] + [""]
    return "\n".join(lines)


def _verdict(win) -> str:
    """The optimizer's verdict against a baseline on one task: win, tie or loss (a mean over replicas)."""
    if win is None:
        return "-"
    return {1.0: "win", 0.5: "tie", 0.0: "loss"}.get(win, f"{win:.2f}")
