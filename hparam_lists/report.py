"""A Markdown report with PNG plots, and the results JSON, from an EvaluationResult.

`write_report(result, directory)` writes:
  report.md                       settings, per protocol: the score-vs-trials table at a
                                  few k, the speed-up over random search, a per-family table
  results.json                    `EvaluationResult.to_json()` (sorted keys)
  <protocol>.png                  mean best score vs trials, one line per method
  <protocol>_families.png         the same per task family, one panel per family
Plots use matplotlib's Agg backend, so no display is needed.
"""

from __future__ import annotations

import json
import math
import pathlib
from typing import Sequence

from hparam_lists.evaluate import METHODS, EvaluationResult, ProtocolResult

LABELS = {"list": "learned list", "random_search": "random search", "bayes_opt": "Bayesian opt. (skopt)",
          "best_single": "best single config", "adam_default": "adam_default"}
STYLES = {"list": "-", "random_search": "--", "bayes_opt": "-.", "best_single": ":", "adam_default": ":"}


def table_trials(trials: int) -> list[int]:
    """The k shown in tables: 1, 2, 3, 5, 10, 20, 50, ... up to `trials`, and `trials` itself."""
    shown = [k for k in (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000) if k <= trials]
    return shown if shown and shown[-1] == trials else shown + [trials]


def write_report(result: EvaluationResult, directory: str | pathlib.Path) -> pathlib.Path:
    """Writes report.md, results.json and the plots into `directory` (created); returns report.md's path."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "results.json").write_text(json.dumps(result.to_json(), indent=1, sort_keys=True) + "\n")
    lines = _header(result)
    for name, protocol in result.protocols.items():
        plot_methods(protocol, directory / f"{name}.png")
        plot_families(protocol, directory / f"{name}_families.png")
        lines += _protocol_section(protocol, result.settings.trials)
    for name, reason in result.skipped.items():
        lines += [f"## {name}", "", f"Skipped: {reason}.", ""]
    path = directory / "report.md"
    path.write_text("\n".join(lines))
    return path


def plot_methods(protocol: ProtocolResult, path: pathlib.Path, title: str | None = None) -> None:
    """Mean best normalised score vs number of trials, one line per method."""
    figure, axes = _figure(1)
    _draw(axes[0], protocol.methods, title or f"{protocol.name}: mean over held-out tasks")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    _close(figure)


def plot_families(protocol: ProtocolResult, path: pathlib.Path) -> None:
    """One panel per task family: mean best score vs trials for every method."""
    families = sorted(protocol.per_family)
    figure, axes = _figure(len(families))
    for ax, family in zip(axes, families):
        _draw(ax, protocol.per_family[family], f"{family} ({protocol.tasks_per_family[family]} tasks)")
    for ax in axes[len(families):]:
        ax.set_visible(False)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    _close(figure)


def _figure(panels: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(panels, 3)
    rows = math.ceil(panels / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5.0 * columns, 3.6 * rows), squeeze=False)
    return figure, list(axes.ravel())


def _close(figure) -> None:
    import matplotlib.pyplot as plt

    plt.close(figure)


def _draw(ax, methods: dict[str, Sequence[float]], title: str) -> None:
    for method in METHODS:
        if method in methods:
            values = methods[method]
            ax.plot(range(1, len(values) + 1), values, STYLES[method], label=LABELS[method], marker=".")
    trials = max((len(v) for v in methods.values()), default=1)
    if trials > 20:  # Long lists: a log axis shows the first trials, where lists differ most.
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("trials k")
    ax.set_ylabel("mean best normalised score")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)


def _header(result: EvaluationResult) -> list[str]:
    s = result.settings
    return [
        f"# Hyperparameter list evaluation: {s.family}", "",
        f"- curves: `{s.dataset or '(in memory)'}` (manifest sha256 `{s.manifest_sha256 or 'none'}`), "
        f"{s.num_tasks} tasks, a pool of {s.pool_size} `{s.family}` configs",
        f"- lists fitted on `{s.fit_split}`, scores reported on `{s.report_split}`, aggregation `{s.aggregation}`",
        f"- refits and `best_single` weigh training tasks by `{s.weighting}` ("
        + ("each task family one unit, shared by its tasks" if s.weighting == "family" else "every task equally")
        + "); the tables below show both the per-task mean and the family-balanced mean",
        f"- {s.trials} trials, {s.folds}-fold split with seed {s.seed}, Bayesian optimisation seeds "
        f"{list(s.bo_seeds) or 'none (skipped)'}",
        "- score: normalised loss, 0 = the best any config reached on the task, 1 = the initial loss "
        "(or worse, or diverged); each method's score after k trials is the best of its first k configs; "
        "lower is better.", "",
    ]


def _protocol_section(protocol: ProtocolResult, trials: int) -> list[str]:
    shown = table_trials(trials)
    methods = [m for m in METHODS if m in protocol.methods]
    lines = [f"## {protocol.name}", ""]
    if protocol.name == "as_given":
        lines += [f"The list as given, on every task ({protocol.in_sample_tasks} of them among its training "
                  "tasks, so in-sample).", ""]
    else:
        lines += [f"{len(protocol.holdouts)} held-out sets; the list is refitted without each.", ""]
    lines += [f"![{protocol.name}]({protocol.name}.png)", "",
              "| method | " + " | ".join(f"k={k}" for k in shown) + " |",
              "| --- |" + " --- |" * len(shown)]
    for method in methods:
        lines.append(f"| {LABELS[method]} | " + " | ".join(f"{protocol.methods[method][k - 1]:.4f}" for k in shown)
                     + " |")
    lines += ["", "Random-search trials needed to match the list's first k (interpolated), and the ratio:", "",
              "| k | " + " | ".join(str(k) for k in shown) + " |", "| --- |" + " --- |" * len(shown),
              "| trials | " + " | ".join(f"{protocol.trials_to_match[k - 1]:.1f}" for k in shown) + " |",
              "| speed-up | " + " | ".join(f"{protocol.speedup[k - 1]:.2f}x" for k in shown) + " |", "",
              f"Per task family (k=1 / k={trials}):", "", f"![{protocol.name} by family]({protocol.name}_families.png)",
              "", "| family | tasks | " + " | ".join(LABELS[m] for m in methods) + " |",
              "| --- | --- |" + " --- |" * len(methods)]
    for family, values in sorted(protocol.per_family.items()):
        cells = [f"{values[m][0]:.3f} / {values[m][trials - 1]:.3f}" for m in methods]
        lines.append(f"| {family} | {protocol.tasks_per_family[family]} | " + " | ".join(cells) + " |")
    balanced = protocol.family_balanced
    lines += ["", f"Every family weighted equally (the mean of the {len(protocol.per_family)} family means above, "
              "so the families with many tasks do not dominate):", "",
              "| method | " + " | ".join(f"k={k}" for k in shown) + " |", "| --- |" + " --- |" * len(shown)]
    for method in (m for m in methods if m in balanced):
        lines.append(f"| {LABELS[method]} | " + " | ".join(f"{balanced[method][k - 1]:.4f}" for k in shown) + " |")
    if protocol.chosen_defaults:
        lines += ["", "Best single config chosen per held-out set: "
                  + ", ".join(f"`{c}`" for c in protocol.chosen_defaults) + "."]
    return lines + [""]
