"""Reports of a protocol run: results JSON, Markdown, and PNG plots (matplotlib, Agg backend).

`write_report(result, directory, command)` writes
- `results.json`: `ProblemResult.to_json()` (settings, summary, every trial's curves);
- `best_so_far.png`: best validation loss after each of the k trials, one line per
  method (the mean over its runs, shaded between the best and worst run);
- `curves.png`: every trial's validation curve, one panel per method;
- `README.md`: the command, the setup, a table of the best validation loss
  after 1, 2, ..., k trials per method, the selected configs with their
  held-out losses (and accuracy where measured), and the time spent.
`load_result(path)` reads `results.json` back, so a report can be redrawn.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import platform
from typing import Any

from eval.accuracy import ACCURACY_SPLITS
from eval.methods import ADAM_LR_RANGE, METHODS
from eval.protocol import ProblemResult
from eval.reporting import fmt, pyplot, save, style_for, table
from eval.trials import REPORT_SPLITS, SELECT_SPLIT

METHOD_LABELS = {
    "list": "learned list (first k entries)",
    "random": "random search (family's space)",
    "adam_lr_grid": f"Adam lr grid (log [{ADAM_LR_RANGE[0]:g}, {ADAM_LR_RANGE[1]:g}])",
    "bayes_opt": "Bayesian optimisation (skopt GP-EI)",
}
RESULTS_FILE = "results.json"


def load_result(path: str | os.PathLike) -> ProblemResult:
    """A `ProblemResult` from a results.json (or a directory that holds one)."""
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    return ProblemResult.from_json(json.loads(path.read_text()))


def write_report(result: ProblemResult, directory: str | os.PathLike, command: str) -> pathlib.Path:
    """Writes results.json, the two plots and README.md under `directory`; returns the README's path."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / RESULTS_FILE).write_text(json.dumps(result.to_json(), indent=1, sort_keys=True) + "\n")
    plot_best_so_far(result, directory / "best_so_far.png")
    plot_curves(result, directory / "curves.png")
    readme = directory / "README.md"
    readme.write_text(markdown(result, command))
    return readme


def plot_best_so_far(result: ProblemResult, path: pathlib.Path) -> None:
    """Best validation loss vs trials, one line per method (mean over runs, min-max band)."""
    plt = pyplot()
    summary = result.summary()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    trials = list(range(1, result.settings.trials + 1))
    for method in METHODS:
        if method not in summary:
            continue
        s = summary[method]
        colour, marker, _ = style_for(method)
        line, = ax.plot(trials, s["best_valid_mean"], marker=marker, color=colour,
                        label=f"{METHOD_LABELS[method]} (n={s['runs']})")
        if s["runs"] > 1:
            ax.fill_between(trials, s["best_valid_min"], s["best_valid_max"], color=line.get_color(), alpha=0.15)
    ax.set_xlabel("trials (training runs)")
    ax.set_ylabel(f"best {SELECT_SPLIT} loss so far")
    ax.set_title(f"{result.task}: {result.settings.steps} steps per trial")
    ax.set_xticks(trials)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, path, dpi=110)


def plot_curves(result: ProblemResult, path: pathlib.Path) -> None:
    """Every trial's validation curve, one panel per method; diverged runs dashed."""
    plt = pyplot()
    present = [m for m in METHODS if result.runs_of(m)]
    fig, axes = plt.subplots(1, len(present), figsize=(3.6 * len(present), 3.4), sharey=True, squeeze=False)
    finite = [v for r in result.runs for t in r.trials for v in t.curves[SELECT_SPLIT] if math.isfinite(v)]
    top = min(max(finite), 2.0 * result.runs[0].trials[0].curves[SELECT_SPLIT][0]) if finite else 1.0
    for ax, method in zip(axes[0], present):
        for run in result.runs_of(method):
            for trial in run.trials:
                ax.plot(trial.steps, trial.curves[SELECT_SPLIT], lw=1, alpha=0.8,
                        ls="--" if trial.status != "ok" else "-")
        ax.set_title(method)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"{SELECT_SPLIT} loss")
    if finite:
        axes[0][0].set_ylim(min(finite) * 0.95, top)
    fig.tight_layout()
    save(fig, path, dpi=100)


def _fmt(value: float) -> str:
    return fmt(value, 4, missing=str(value))


def markdown(result: ProblemResult, command: str) -> str:
    """The report's README.md text."""
    s, summary = result.settings, result.summary()
    lines = [
        f"# {result.problem or result.task} ({result.preset or 'custom'}): list vs baselines",
        "",
        "Made by:",
        "",
        "```bash",
        command,
        "```",
        "",
        f"- task: `{result.task}`, config `{json.dumps(result.task_config, sort_keys=True)}`",
        f"- list: `{result.list_name}` (family `{result.list_family}`)",
        f"- budget: k = {s.trials} trials per method run, {s.steps} steps each, evaluated every "
        f"{s.eval_every} steps on {s.eval_batches} batches per split, replica seed {s.replica}",
        f"- runs: random search x{s.random_repeats}, BO x{s.bo_seeds} (seeds 0..{s.bo_seeds - 1})",
        f"- machine: {platform.platform()}, {os.cpu_count()} CPU cores; taskset {result.package_version}",
        f"- wall time of the protocol: {result.wall_seconds:.0f} s"
        + (f" (of which {result.accuracy_seconds:.0f} s replaying selected trials to measure accuracy)"
           if result.has_accuracy else ""),
        "",
        f"Score of a trial: its lowest `{SELECT_SPLIT}` loss over the evaluation steps. Table: the best score "
        "after j trials (mean over a method's runs; [min, max] where it has several).",
        "",
        "![best so far](best_so_far.png)",
        "",
    ]
    rows = []
    for method in METHODS:
        if method not in summary:
            continue
        m = summary[method]
        cells = []
        for j in range(s.trials):
            cell = _fmt(m["best_valid_mean"][j])
            if m["runs"] > 1:
                cell += f" [{_fmt(m['best_valid_min'][j])}, {_fmt(m['best_valid_max'][j])}]"
            cells.append(cell)
        rows.append([method, *cells, f"{m['seconds']:.0f}"])
    lines += table(["method", *[f"j={j}" for j in range(1, s.trials + 1)], "train seconds"], rows)
    held_out = [(f"{split}_at_best_mean", f"`{split}` loss") for split in REPORT_SPLITS]
    if result.has_accuracy:
        held_out += [(f"{split}_accuracy_mean", f"`{split}` accuracy") for split in ACCURACY_SPLITS]
    for key, what in held_out:
        lines += ["", f"{what} of the trial selected after j trials, at its best step (mean over runs):", ""]
        lines += table(["method", *[f"j={j}" for j in range(1, s.trials + 1)]],
                       [[method, *[_fmt(v) for v in summary[method][key]]] for method in METHODS if method in summary])
    lines += ["", f"Selected trial after k = {s.trials} (per run), with losses at its best step on splits no "
              "method selected on:", ""]
    accuracy_splits = [f"{split}_accuracy" for split in ACCURACY_SPLITS] if result.has_accuracy else []
    header = ["method", "run", "config", SELECT_SPLIT, *[f"{split} at best" for split in REPORT_SPLITS],
              *accuracy_splits]
    lines += table(header, [[method, str(final["run"]), f"`{final['optimizer']}`", _fmt(final["best_valid"]),
                             *[_fmt(final[f"{split}_at_best"]) for split in REPORT_SPLITS],
                             *[_fmt(final[k]) for k in accuracy_splits]]
                            for method in METHODS for final in summary.get(method, {}).get("final", [])])
    lines += ["", "Every trial's validation curve (dashed: diverged):", "", "![curves](curves.png)", "",
              f"All trials, curves and hyperparameters: [`{RESULTS_FILE}`]({RESULTS_FILE}).", ""]
    return "\n".join(lines)


def summary_json(result: ProblemResult) -> dict[str, Any]:
    """The stable `--json` output of `taskset-bench eval`: setup and per-method summary, no curves."""
    return {"problem": result.problem, "preset": result.preset, "task": result.task,
            "list": {"name": result.list_name, "family": result.list_family},
            "settings": result.settings.to_json(), "wall_seconds": result.wall_seconds,
            "summary": result.summary()}
