"""Replica noise per task family (issue 15: the benchmark's tie rule rests on it)."""

import json

import numpy as np
import pandas as pd
import pytest

from hparam_lists.noise import replica_noise


def _curves(spread):
    rows = []
    for task, family in (("a0", "mlp"), ("b0", "quadratic")):
        for config in ("c0", "c1"):
            for replica in range(3):
                final = 0.5 + (spread if family == "mlp" else 0.0) * replica
                rows.append({"task": task, "family": family, "optimizer": config, "optimizer_family": "nadamw",
                             "hparams": json.dumps({}), "replica": replica, "status": "ok",
                             "valid_inner": np.array([1.0, 0.8, final], np.float32)})
    # a config with one replica only does not count
    rows.append({**rows[0], "optimizer": "single", "replica": 0})
    return pd.DataFrame(rows)


def test_noise_is_zero_for_identical_replicas_and_grows_with_their_spread():
    quiet = replica_noise(_curves(0.0))
    assert quiet["mlp"].score_std_median == 0.0 and quiet["mlp"].pairs == 2
    noisy = replica_noise(_curves(0.1))
    assert noisy["quadratic"].score_std_median == 0.0
    # finals 0.5, 0.6, 0.7 with bounds initial 1.0 and best 0.5: scores 0, 0.2, 0.4, std 0.2
    assert noisy["mlp"].score_std_median == pytest.approx(0.2, rel=1e-5)
    assert noisy["mlp"].loss_rel_std_median == pytest.approx(0.1 / 0.6, rel=1e-5)
    assert noisy["mlp"].tasks == 1


def test_untrained_pairs_are_left_out_and_divergence_splits_are_counted():
    frame = _curves(0.1)
    # c1 on a0 diverges on replica 2 only; c0 on b0 never leaves its initial loss (score 1 everywhere).
    frame.loc[(frame["task"] == "a0") & (frame["optimizer"] == "c1") & (frame["replica"] == 2), "status"] = "diverged"
    flat = (frame["task"] == "b0") & (frame["optimizer"] == "c0")
    frame.loc[flat, "valid_inner"] = pd.Series([np.array([1.0, 1.0, 1.0], np.float32)] * int(flat.sum()),
                                               index=frame.index[flat])
    noise = replica_noise(frame)
    assert (noise["mlp"].pairs, noise["mlp"].trained_pairs, noise["mlp"].diverging_pairs) == (2, 1, 1)
    assert noise["mlp"].score_std_median == pytest.approx(0.2, rel=1e-5)
    assert (noise["quadratic"].pairs, noise["quadratic"].trained_pairs) == (2, 1)
