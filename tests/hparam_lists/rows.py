"""Fabricated curve rows in the `curves.read` layout, for tests that need a DataFrame, not a store."""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np
import pandas as pd

SPLITS = ("train", "valid_inner", "valid_outer", "test")


def curve_row(task: str, optimizer: str, losses: Sequence[float] | dict[str, Sequence[float]],
              optimizer_family: str = "adam1p", hparams: dict[str, float] | None = None, family: str = "mlp",
              replica: int = 0, status: str = "ok") -> dict[str, Any]:
    """One curve; `losses` is used for every split unless given per split."""
    per_split = losses if isinstance(losses, dict) else {s: losses for s in SPLITS}
    length = len(next(iter(per_split.values())))
    row = {"task": task, "family": family, "task_config": json.dumps({"family": family}),
           "optimizer_family": optimizer_family, "optimizer": optimizer,
           "hparams": json.dumps(hparams if hparams is not None else {"lr": 1e-3}, sort_keys=True),
           "replica": replica, "seed": replica, "steps": np.arange(length, dtype=np.int64) * 10, "status": status}
    for split in SPLITS:
        row[split] = np.asarray(per_split.get(split, per_split[next(iter(per_split))]), dtype=np.float32)
    for name, value in (hparams or {"lr": 1e-3}).items():
        row[f"hp_{name}"] = float(value)
    return row


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def adam1p_frame(final_losses: np.ndarray, lrs: Sequence[float], task_families: Sequence[str] | None = None,
                 initial: float = 2.0, points: int = 3) -> pd.DataFrame:
    """Curves of adam1p configs `adam1p_seed<j>` (lr = lrs[j]) on tasks `task<i>`.

    Every curve starts at `initial` and falls linearly to final_losses[i, j].
    """
    rows = []
    for i, finals in enumerate(np.asarray(final_losses, dtype=np.float64)):
        family = task_families[i] if task_families is not None else "mlp"
        for j, final in enumerate(finals):
            losses = np.linspace(initial, final, points)
            rows.append(curve_row(f"task{i:02d}", f"adam1p_seed{j:03d}", losses, hparams={"lr": float(lrs[j])},
                                  family=family))
    return frame(rows)
