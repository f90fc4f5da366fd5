"""The benchmark report: summary.json, report.md and PNG plots (matplotlib, Agg backend).

`write_report(result, directory, command)` writes, beside the run's curves:
- `summary.json` (`summary_json`, stable keys, NaN written as null):
    format ("taskset-benchmark"), format_version (1), command, package_version,
    wall_seconds, suite, tasks, reference {name, configs, config_names, manifest_sha256,
    best_config, best_config_mean_score}, schedules {task: {steps, eval_every}}, replicas,
    eval_batches, split ("valid_inner"), bootstrap {resamples, seed, confidence},
    notes [str],
    optimizers [{spec, kind, family, hparams, source_sha256, mean_score, score_ci [low, high],
                 mean_score_curve_mean, mean_percentile, win_rate {adam_default, list?},
                 tasks_reaching_target,
                 tasks {task: {score, score_mean, final_loss, percentile, target,
                               time_to_target, diverged}}}],
    baselines {key: {label, family, hparams, source, column, mean_score, scores {task: score}}},
    reference_scores {task: [score of each reference config, in reference.config_names order]},
    profile {epsilon, taus, rho {solver: [fraction of tasks at each tau]}},
    curves {task: {steps, reference_quantiles {"0.1", "0.5", "0.9": [loss]}, optimizers {name: [loss]}}};
  what the numbers mean is in `eval.benchmark.scoring`;
- `profile.png`: the performance profile of the contenders and baselines;
- `scores.png`: per task, every reference config's normalised score and the contenders' and baselines';
- `curves.png`: per task, the validation curves against the reference's pointwise 10-90% band and median;
- `report.md`: the command, the setup, the aggregate and per-task tables, the plots and notes.
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
from eval.benchmark.results import QUANTILES, RESULT_FORMAT, RESULT_VERSION, SPLIT, json_number

SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.md"


def summary_json(result: BenchmarkResult, command: str = "") -> dict[str, Any]:
    """The stable JSON summary (the module docstring lists its keys)."""
    s, scores = result.settings, result.scores
    best_name, best_score = scores.best_reference
    return {
        "format": RESULT_FORMAT, "format_version": RESULT_VERSION, "command": command,
        "package_version": result.package_version, "wall_seconds": result.wall_seconds,
        "suite": s.suite, "tasks": list(s.tasks),
        "reference": {"name": result.reference.name, "configs": len(scores.reference_configs),
                      "config_names": list(scores.reference_configs),
                      "manifest_sha256": result.reference.manifest_sha256, "best_config": best_name,
                      "best_config_mean_score": json_number(best_score)},
        "schedules": {t: {"steps": st, "eval_every": e} for t, (st, e) in result.reference.schedules.items()},
        "replicas": s.replicas, "eval_batches": s.eval_batches, "split": SPLIT,
        "bootstrap": {"resamples": scoring.BOOTSTRAP_RESAMPLES, "seed": scoring.BOOTSTRAP_SEED,
                      "confidence": scoring.CONFIDENCE},
        "notes": list(result.notes),
        "optimizers": [c.to_json() for c in scores.contenders],
        "baselines": {b.key: {**b.to_json(),
                              "mean_score": json_number(np.mean(list(scores.baseline_scores[b.key].values()))),
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


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _solver_names(summary: dict[str, Any]) -> list[str]:
    return [o["spec"] for o in summary["optimizers"]] + [b["label"] for b in summary["baselines"].values()]


def plot_profile(summary: dict[str, Any], path: pathlib.Path) -> None:
    """Dolan-More performance profile: fraction of tasks within a factor tau of the best solver."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    taus = summary["profile"]["taus"]
    for name, rho in summary["profile"]["rho"].items():
        ax.step(taus, rho, where="post", label=name)
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"tau (ratio of (score + {summary['profile']['epsilon']:g}) to the best solver's)")
    ax.set_ylabel("fraction of tasks within tau")
    ax.set_title("performance profile (Dolan & More 2002)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_scores(summary: dict[str, Any], path: pathlib.Path) -> None:
    """Per task: reference configs' normalised scores (grey) and each solver's (coloured markers)."""
    plt = _pyplot()
    tasks = summary["tasks"]
    fig, ax = plt.subplots(figsize=(9.0, 0.45 * len(tasks) + 1.6))
    for i, task in enumerate(tasks):
        values = [v for v in summary["reference_scores"][task] if v is not None]
        ax.scatter(values, [i] * len(values), s=12, color="0.7", zorder=1,
                   label="reference configs" if i == 0 else None)
    solvers = [(o["spec"], {t: r["score"] for t, r in o["tasks"].items()}) for o in summary["optimizers"]]
    solvers += [(b["label"], b["scores"]) for b in summary["baselines"].values() if b["label"] not in dict(solvers)]
    markers = "oDs^vP*X"
    for k, (name, by_task) in enumerate(solvers):
        offset = (k - (len(solvers) - 1) / 2) * 0.12
        ax.scatter(_floats([by_task[t] for t in tasks]),
                   [i + offset for i in range(len(tasks))], marker=markers[k % len(markers)], s=40, zorder=2,
                   label=name)
    ax.set_yticks(range(len(tasks)))
    ax.set_yticklabels(tasks, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(-0.03, 1.03)
    ax.set_xlabel(f"normalised final {summary['split']} score (0 = best seen, 1 = no progress)")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_curves(summary: dict[str, Any], path: pathlib.Path) -> None:
    """One panel per task: the reference configs' pointwise 10-90% band and median, and each solver's curve."""
    plt = _pyplot()
    tasks = summary["tasks"]
    columns = min(len(tasks), 3)
    rows = math.ceil(len(tasks) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.9 * rows), squeeze=False)
    low, mid, high = (f"{q:g}" for q in QUANTILES)
    for ax, task in zip(axes.flat, tasks):
        data = summary["curves"][task]
        steps = data["steps"]
        q = {k: _floats(data["reference_quantiles"][k]) for k in (low, mid, high)}
        ax.fill_between(steps, q[low], q[high], color="0.85", label="reference 10-90%")
        ax.plot(steps, q[mid], color="0.4", lw=1, ls="--", label="reference median (pointwise)")
        for name, values in data["optimizers"].items():
            ax.plot(steps, _floats(values), lw=1.4, label=name)
        finite = np.concatenate([q[low], q[high]])
        if np.isfinite(finite).any() and np.nanmin(finite) > 0 and np.nanmax(finite) / np.nanmin(finite) > 30:
            ax.set_yscale("log")
        ax.set_title(task, fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8)
    fig.supxlabel("step", fontsize=8)
    fig.supylabel(f"{summary['split']} loss", fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def _floats(values) -> np.ndarray:
    """JSON numbers (None for NaN) as a float array."""
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _fmt(value, digits: int = 3, style: str = "f") -> str:
    """`value` with `digits` decimals ("f") or significant digits ("g"); "-" for None and NaN."""
    return "-" if value is None or (isinstance(value, float) and not math.isfinite(value)) \
        else f"{value:.{digits}{style}}"


def markdown(summary: dict[str, Any], result: BenchmarkResult) -> str:
    """report.md from the summary (the numbers) and the result (where the curves are)."""
    baselines = summary["baselines"]
    ref = summary["reference"]
    steps = sorted({s["steps"] for s in summary["schedules"].values()})
    lines = [
        f"# Benchmark: {', '.join(o['spec'] for o in summary['optimizers'])} on the {summary['suite']!r} suite",
        "",
        "```", summary["command"], "```", "",
        f"{len(summary['tasks'])} tasks, {'/'.join(map(str, steps))} steps, {summary['replicas']} replica(s), "
        f"evaluated on {summary['eval_batches']} batches per split; reference `{ref['name']}` "
        f"({ref['configs']} configs, manifest sha256 `{(ref['manifest_sha256'] or 'none')[:16]}`); "
        f"{summary['wall_seconds']:.0f} s on {os.cpu_count()} CPU core(s) ({platform.machine()}), "
        f"taskset {summary['package_version']}. Curves of this run: `{result.curves_dir}` "
        "(a curve directory: `taskset-bench curves info`).", "",
        "## How to read it", "",
        f"- **score**: TaskSet's normalised score of the final `{summary['split']}` loss, "
        "clip((loss - best) / (initial - best), 0, 1), per task over the pool of the reference curves and this "
        "run's curves: 0 = the best loss anyone reached, 1 = no progress or a failure (divergence). Lower is better.",
        f"- **CI**: {summary['bootstrap']['confidence']:.0%} percentile bootstrap over tasks "
        f"({summary['bootstrap']['resamples']} resamples, seed {summary['bootstrap']['seed']}).",
        "- **percentile**: share of reference configs with a worse final loss (ties half, diverged = worst); "
        "50 = the median reference config, 100 = better than all.",
        "- **win rate**: share of tasks with a lower score than the baseline, ties half.",
        "- **time to target**: first evaluation step at which the loss reaches the final loss of the reference's "
        "median config (lower median).",
        f"- **performance profile**: for each solver, the fraction of tasks on which its (score + "
        f"{summary['profile']['epsilon']:g}) is within a factor tau of the best solver's (Dolan & More 2002); "
        "higher and further left is better.", "",
        "## Summary", "",
        "| optimizer | mean score | CI | mean score (curve mean) | mean percentile | "
        + " | ".join(f"win rate vs {b['label']}" for b in baselines.values()) + " | tasks reaching target |",
        "|---|---|---|---|---|" + "---|" * len(baselines) + "---|",
    ]
    for o in summary["optimizers"]:
        ci = o["score_ci"]
        lines.append(f"| `{o['spec']}` | {_fmt(o['mean_score'])} | [{_fmt(ci[0])}, {_fmt(ci[1])}] | "
                     f"{_fmt(o['mean_score_curve_mean'])} | {_fmt(o['mean_percentile'], 1)} | "
                     + " | ".join(_fmt(o["win_rate"].get(key), 2) for key in baselines)
                     + f" | {o['tasks_reaching_target']} / {len(summary['tasks'])} |")
    for b in baselines.values():
        lines.append(f"| baseline `{b['label']}` ({b['source']}) | {_fmt(b['mean_score'])} | | | |"
                     + " |" * len(baselines) + " |")
    lines.append(f"| best reference config `{ref['best_config']}` | {_fmt(ref['best_config_mean_score'])} | | | |"
                 + " |" * len(baselines) + " |")
    lines += ["", "![performance profile](profile.png)", "", "## Per task", ""]
    for o in summary["optimizers"]:
        lines += [f"### `{o['spec']}` ({o['kind']}, family `{o['family']}`)", "",
                  "| task | score | score (curve mean) | final loss | percentile | target | time to target | "
                  + " | ".join(f"{b['label']} score" for b in baselines.values()) + " |",
                  "|---|---|---|---|---|---|---|" + "---|" * len(baselines)]
        for task in summary["tasks"]:
            r = o["tasks"][task]
            diverged = f" ({r['diverged']} diverged)" if r["diverged"] else ""
            time = "never" if r["time_to_target"] is None and r["target"] is not None else \
                ("-" if r["time_to_target"] is None else str(r["time_to_target"]))
            lines.append(f"| {task} | {_fmt(r['score'])} | {_fmt(r['score_mean'])} | {_fmt(r['final_loss'], 4, 'g')}"
                         f"{diverged} | {_fmt(r['percentile'], 1)} | {_fmt(r['target'], 4, 'g')} | {time} | "
                         + " | ".join(_fmt(b["scores"][task]) for b in baselines.values()) + " |")
        lines.append("")
    lines += ["![scores per task](scores.png)", "", "![validation curves](curves.png)", ""]
    if summary["notes"]:
        lines += ["## Notes", ""] + [f"- {note}" for note in summary["notes"]] + [""]
    return "\n".join(lines)
