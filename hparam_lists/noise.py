"""Replica-to-replica noise: how far a config's result moves when only the batch stream changes.

A replica r trains the same configs from the same task with replica seed r
(another init and batch order). For every (task, config) with two or more
replicas this module measures the spread of

  score  the normalised score (`hparam_lists.normalize`, bounds from all of the
         task's curves), the unit lists and benchmarks compare in;
  loss   the final loss relative to its magnitude, |l_r - mean_r l| / |mean_r l|,
         the unit a tie tolerance on raw losses needs;

as the standard deviation over replicas (ddof=1), and summarises it per task
family by the median and 90th percentile over that family's *trained* (task,
config) pairs: those whose every replica trained (no divergence) and at least
one replica made progress (a score below the cap of 1). A config that fails or
never leaves its initial loss scores 1 on every replica, a spread of exactly 0
that says nothing about noise; counting those would pull the median to 0 on
families where most random configs fail (measured: mlp_vae and the RNN text
classifier). `diverging_pairs` counts the pairs where some replicas diverged
and others did not, the other face of noise.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from hparam_lists.normalize import check_split, curve_arrays, curve_scores


@dataclasses.dataclass(frozen=True)
class FamilyNoise:
    """Replica noise of one task family.

    Attributes:
      tasks: tasks of the family with replicas.
      pairs: (task, config) pairs with two or more replicas.
      trained_pairs: those pairs the spreads are taken over (module docstring).
      diverging_pairs: pairs where some but not all replicas diverged.
      score_std_median, score_std_p90: spread of normalised scores (score units).
      loss_rel_std_median, loss_rel_std_p90: spread of final losses relative to their magnitude.
    """

    tasks: int
    pairs: int
    trained_pairs: int
    diverging_pairs: int
    score_std_median: float
    score_std_p90: float
    loss_rel_std_median: float
    loss_rel_std_p90: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def replica_noise(curves, split: str = "valid_inner", aggregation: str = "final") -> dict[str, FamilyNoise]:
    """Task family -> its replica noise, from a curves DataFrame (`curves.read` layout).

    Only (task, config) pairs with two or more replicas count; a family with none is absent. A family
    whose pairs are all untrained has NaN spreads.
    """
    import pandas as pd

    check_split(split)
    tasks, task_codes, values, lengths, failed = curve_arrays(curves, split)
    scores = curve_scores(values, lengths, failed, task_codes, len(tasks), aggregation)
    final = values[np.arange(len(values)), np.maximum(lengths - 1, 0)]
    frame = pd.DataFrame({"task": curves["task"].astype(str).to_numpy(),
                          "family": curves["family"].astype(str).to_numpy(),
                          "optimizer": curves["optimizer"].astype(str).to_numpy(),
                          "score": scores, "failed": failed,
                          "loss": np.where(failed | ~np.isfinite(final), np.nan, final)})
    grouped = frame.groupby(["family", "task", "optimizer"], observed=True)
    stats = grouped.agg(n=("score", "size"), score_std=("score", "std"), score_min=("score", "min"),
                        failures=("failed", "sum"), loss_std=("loss", "std"), loss_mean=("loss", "mean")).reset_index()
    stats = stats[stats["n"] >= 2]
    stats["loss_rel"] = stats["loss_std"] / stats["loss_mean"].abs()
    stats["trained"] = (stats["failures"] == 0) & (stats["score_min"] < 1.0)
    out = {}
    for family, group in stats.groupby("family", observed=True):
        trained = group[group["trained"]]
        rel = trained["loss_rel"].replace([np.inf, -np.inf], np.nan).dropna()
        out[str(family)] = FamilyNoise(
            tasks=int(group["task"].nunique()), pairs=len(group), trained_pairs=len(trained),
            diverging_pairs=int(((group["failures"] > 0) & (group["failures"] < group["n"])).sum()),
            score_std_median=_quantile(trained["score_std"], 0.5), score_std_p90=_quantile(trained["score_std"], 0.9),
            loss_rel_std_median=_quantile(rel, 0.5), loss_rel_std_p90=_quantile(rel, 0.9))
    return out


def _quantile(values, q: float) -> float:
    """The q-quantile of a Series; NaN when it is empty."""
    return float(values.quantile(q)) if len(values) else float("nan")
