"""The benchmark report's plots: fixed styles per name, labelled panels, outside legends, divergence marks."""

from __future__ import annotations

import numpy as np
import pytest

from eval import reporting
from eval.benchmark import report


def test_style_depends_on_the_name_alone():
    assert reporting.style_for("nadamw_seed3") == reporting.style_for("nadamw_seed3")
    assert reporting.style_for("adam_default") == reporting.FIXED["adam_default"]
    colours = {reporting.style_for(f"opt{i}")[0] for i in range(50)}
    assert reporting.FIXED["adam_default"][0] not in colours  # reserved for the baseline
    assert len(colours) > 5


def test_fmt_and_table():
    assert reporting.fmt(None) == "-" and reporting.fmt(float("nan")) == "-" and reporting.fmt(0.12345) == "0.123"
    assert reporting.fmt(float("nan"), 4, missing="nan") == "nan"
    assert reporting.table(["a", "b"], [["1", "2"]]) == ["| a | b |", "|---|---|", "| 1 | 2 |"]


@pytest.fixture
def figures(monkeypatch):
    """The figures the plot functions save, instead of writing them."""
    saved = []
    monkeypatch.setattr(report, "save", lambda fig, path, dpi=110: saved.append(fig))
    yield saved
    for fig in saved:
        reporting.pyplot().close(fig)


def summary() -> dict:
    steps = [0, 10, 20]
    return {"tasks": ["t1", "t2"], "families": {"t1": "mlp", "t2": "conv"}, "split": "valid_inner",
            "curves": {t: {"steps": steps,
                           "reference_quantiles": {"0.1": [2.0, 1.0, 0.5], "0.5": [2.0, 1.5, 1.0],
                                                   "0.9": [2.0, 1.9, 1.8]},
                           "optimizers": {"mine": [2.0, 1.2, None], "adam_default": [2.0, 1.4, 1.1]},
                           "diverged_at": {"mine": 15, "adam_default": None}} for t in ("t1", "t2")}}


def test_curves_panels_are_labelled_and_divergence_is_marked(figures, tmp_path):
    report.plot_curves(summary(), tmp_path / "curves.png")
    (fig,) = figures
    panels = [ax for ax in fig.axes if ax.axison]
    assert len(panels) == 2
    for ax in panels:
        assert ax.get_xlabel() == "step" and ax.get_ylabel() == "valid_inner loss"
        (mark,) = ax.collections[1:]  # after the reference band: the one divergence cross
        np.testing.assert_allclose(mark.get_offsets(), [[15, 1.2]])  # at its step, on its last finite loss
        lines = {line.get_color(): line for line in ax.get_lines()}
        assert reporting.style_for("mine")[0] in lines and reporting.style_for("adam_default")[0] in lines
    (legend,) = fig.legends  # one legend for all panels, outside every axes
    assert [t.get_text() for t in legend.get_texts()][-1] == "diverged (at its step)"
    assert legend.get_bbox_to_anchor().x0 >= max(ax.get_position().x1 for ax in panels) * fig.bbox.width - 1
