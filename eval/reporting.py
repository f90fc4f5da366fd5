"""What every report of `eval` shares: matplotlib set-up, fixed styles per name, legends, numbers, tables.

Used by `eval.report` (protocol runs) and `eval.benchmark.report` (benchmark
runs), so that both draw and format the same way:

  pyplot()             matplotlib's pyplot on the non-interactive Agg backend
  style_for(name)      a colour, marker and line style fixed by the name alone
                       (sha256 of it), so an optimizer looks the same in every
                       report whoever else is in it
  legend_outside(...)  a legend to the right of (or below) the axes, never over
                       the data or an axis label
  save(fig, path)      PNG with a tight bounding box (the outside legend included)
  fmt(value, ...)      a number with fixed decimals or significant digits; "-" for
                       None and NaN
  table(header, rows)  Markdown table lines
"""

from __future__ import annotations

import hashlib
import math
import pathlib
from typing import Any, Sequence

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")
"""Colours for named lines (tab10 without its grey-ish duplicates, then darker tab20b/c shades)."""
MARKERS = "oDs^vP*X"
LINESTYLES = ("-", "--", "-.", ":")
FIXED = {"adam_default": ("#1f77b4", "o", "-")}
"""Names with a reserved style: the baseline every benchmark report shows."""


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def style_for(name: str) -> tuple[str, str, str]:
    """(colour, marker, line style) of `name`, a function of the name only.

    Three independent parts of the name's sha256 pick the colour, marker and
    line style, so two names that share a colour (1 in 16) rarely share the
    other two as well. `FIXED` names keep their reserved style.
    """
    if name in FIXED:
        return FIXED[name]
    digest = hashlib.sha256(name.encode()).digest()
    colour = PALETTE[1 + digest[0] % (len(PALETTE) - 1)]  # PALETTE[0] is adam_default's
    return colour, MARKERS[digest[1] % len(MARKERS)], LINESTYLES[digest[2] % len(LINESTYLES)]


def legend_outside(owner, handles: Sequence[Any] | None = None, labels: Sequence[str] | None = None,
                   where: str = "right", fontsize: int = 8):
    """A legend outside the axes (`owner`: an Axes or a Figure), to the right or below.

    `save` keeps it in the picture (tight bounding box).
    """
    if handles is None:
        handles, labels = owner.get_legend_handles_labels()
    if where == "right":
        return owner.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=fontsize,
                            borderaxespad=0.0)
    return owner.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.02), fontsize=fontsize,
                        ncol=min(len(labels), 3))


def save(fig, path: str | pathlib.Path, dpi: int = 110) -> None:
    """Writes `fig` as PNG with a tight bounding box and closes it."""
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    pyplot().close(fig)


def fmt(value, digits: int = 3, style: str = "f", missing: str = "-") -> str:
    """`value` with `digits` decimals ("f") or significant digits ("g"); `missing` for None and NaN/inf."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return missing
    return f"{value:.{digits}{style}}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table: the header line, the separator, one line per row."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
        ["| " + " | ".join(row) + " |" for row in rows]
