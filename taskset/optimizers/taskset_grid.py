"""TaskSet's `nadamw_grid` configs: the sampler of Google's published nadamw table, transcribed.

TaskSet's `sample_nadamw_grid(seed)` (google-research task_set/optimizers/nadamw.py:
numpy `RandomState(seed + 14358)` and `utils.sample_log_float`) made the 1,000
configs `nadamw_grid_seed0` ... `nadamw_grid_seed999` that opt_list publishes in
`opt_list/opt_list/nadamw_configs.json` and that TaskSet's nadamw curves ran.
They are regenerated here instead of copied, under TaskSet's names
(learning_rate, epsilon, use_nesterov as a bool, min_learning_rate_mult, ...).

This is the one source of that table: `curves.taskset_convert` reads it to
label converted nadamw curves, and `scripts/make_opt_list.py` builds the
shipped list `opt-list-nadamw` (hparam_lists) from it; tests check entries
against values copied from the published JSON, float for float.
"""

from __future__ import annotations

import functools
import math

import numpy as np

NADAMW_GRID_PREFIX = "nadamw_grid_seed"
"""TaskSet's config names are this prefix and the seed."""
NADAMW_GRID_SEEDS = range(1000)
"""The seeds of the published table."""


def _log_float(rng: np.random.RandomState, low: float, high: float) -> float:
    # math's exp and log (the C library's), not NumPy's: NumPy's AVX-512 kernels round some values
    # one ulp differently, so the table would depend on the CPU (measured on an AVX-512 EPYC).
    return math.exp(rng.uniform(math.log(float(low)), math.log(float(high))))


def taskset_nadamw_grid(seed: int) -> dict[str, float | bool]:
    """TaskSet's `nadamw_grid` config `seed`, under TaskSet's names (use_nesterov a bool)."""
    rng = np.random.RandomState(seed + 14358)
    cfg = {"learning_rate": _log_float(rng, 1e-5, 1e0), "beta1": 1 - _log_float(rng, 1e-3, 1e0),
           "beta2": 1 - _log_float(rng, 1e-5, 1e0), "epsilon": _log_float(rng, 1e-8, 1e4),
           "use_nesterov": bool(rng.uniform(0.0, 1.0) > 0.5)}
    third = rng.uniform(0, 1)  # AdamW only, L2 only, or both (TaskSet's thresholds)
    if third < 0.3333:
        cfg["adamw_weight_decay"], cfg["l2_weight_decay"] = _log_float(rng, 1e-5, 1e-1), 0.0
    elif third < 0.6666:
        cfg["adamw_weight_decay"], cfg["l2_weight_decay"] = 0.0, _log_float(rng, 1e-5, 1e-1)
    else:
        cfg["adamw_weight_decay"] = _log_float(rng, 1e-5, 1e-1)
        cfg["l2_weight_decay"] = _log_float(rng, 1e-5, 1e-1)
    cfg["warmup_fraction"] = _log_float(rng, 1e-5, 1e-1) if rng.uniform(0, 1) > 0.5 else 0.0
    cfg["min_learning_rate_mult"] = 0.0 if rng.uniform(0, 1) > 0.5 else _log_float(rng, 1e-5, 1e0)
    cfg["constant_fraction"] = float(rng.uniform(0.0, 1.0))
    return cfg


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, float | bool]]:
    return {f"{NADAMW_GRID_PREFIX}{seed}": taskset_nadamw_grid(seed) for seed in NADAMW_GRID_SEEDS}


def nadamw_grid_table() -> dict[str, dict[str, float | bool]]:
    """The published table: `nadamw_grid_seed<N>` -> its config, for N in 0..999 (a fresh copy)."""
    return {name: dict(cfg) for name, cfg in _table().items()}
