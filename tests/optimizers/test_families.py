"""Families: deterministic sampling, ranges, nadamw's weight-decay thirds, named configs, errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskset.errors import ConfigError, UnknownNameError
from taskset.optimizers import (NAMED_CONFIGS, OPTIMIZER_FAMILIES, get_family, get_optimizer_config, get_rule,
                                list_optimizer_families, make_config)
from taskset.optimizers.adam import adam_lr_name

# Recorded once; drift here means these names changed meaning for every user and curve.
RECORDED = {
    "adam8p_seed12": {"beta1": 0.623405662321393, "beta2": 0.9656375282960619, "eps": 2.6260287538985664e-06,
                      "exponential_decay": 0.00017608151700820694, "l1": 2.5235190229980172e-06,
                      "l2": 4.8221925615039404e-08, "linear_decay": 5.279555495821123e-06,
                      "lr": 1.3187812970590908e-05},
    "nadamw_seed3": {"adamw_weight_decay": 3.321546656681225e-05, "beta1": 0.8491593163792237,
                     "beta2": 0.9943387084392148, "constant_fraction": 0.3248058701167339,
                     "eps": 0.002668328355001662, "l2_weight_decay": 0.0, "lr": 0.29339552604142977,
                     "min_lr_mult": 2.000452242520436e-05, "nesterov": 1.0, "warmup_fraction": 0.0578397384064351},
    "sgdm_seed7": {"lr": 0.008758032969201895, "momentum": 0.9969184957122863, "nesterov": 1.0},
}

# The spaces as specified (TaskSet's ranges), written out independently of the Dims.
# name -> (kind, low, high): kind "log" checks value, "1-log" checks 1 - value.
RANGES = {
    "adam1p": {"lr": ("log", 1e-8, 10)},
    "adam4p": {"lr": ("log", 1e-8, 10), "beta1": ("1-log", 1e-4, 1), "beta2": ("1-log", 1e-6, 1),
               "eps": ("log", 1e-10, 1e3)},
    "adam6p": {"lr": ("log", 1e-8, 10), "beta1": ("1-log", 1e-4, 1), "beta2": ("1-log", 1e-6, 1),
               "eps": ("log", 1e-10, 1e3), "linear_decay": ("log", 1e-7, 1e-4),
               "exponential_decay": ("log", 1e-6, 1e-3)},
    "adam8p": {"lr": ("log", 1e-8, 10), "beta1": ("1-log", 1e-4, 1), "beta2": ("1-log", 1e-6, 1),
               "eps": ("log", 1e-10, 1e3), "linear_decay": ("log", 1e-7, 1e-4),
               "exponential_decay": ("log", 1e-6, 1e-3), "l1": ("log", 1e-8, 10), "l2": ("log", 1e-8, 10)},
    "nadamw": {"lr": ("log", 1e-5, 1), "beta1": ("1-log", 1e-3, 1), "beta2": ("1-log", 1e-5, 1),
               "eps": ("log", 1e-8, 1e4), "nesterov": ("bool", 0, 1),
               "adamw_weight_decay": ("0|log", 1e-5, 1e-1), "l2_weight_decay": ("0|log", 1e-5, 1e-1),
               "warmup_fraction": ("0|log", 1e-5, 1e-1), "min_lr_mult": ("0|log", 1e-5, 1),
               "constant_fraction": ("linear", 0, 1)},
    "sgdm": {"lr": ("log", 1e-5, 10), "momentum": ("1-log", 1e-3, 1), "nesterov": ("bool", 0, 1)},
}
# The TaskSet-exact variants share their standard family's space.
RANGES.update({f"{name}_tf1": RANGES[name] for name in ("adam1p", "adam4p", "adam6p", "adam8p", "nadamw")})


def in_range(value: float, kind: str, low: float, high: float) -> bool:
    tol = 1e-12
    if kind == "bool":
        return value in (0.0, 1.0)
    if kind.startswith("0|"):
        return value == 0.0 or in_range(value, kind[2:], low, high)
    x = 1.0 - value if kind == "1-log" else value
    return low * (1 - 1e-9) - tol <= x <= high * (1 + 1e-9) + tol


def test_families_and_public_api():
    assert list_optimizer_families() == ["adam1p", "adam1p_tf1", "adam4p", "adam4p_tf1", "adam6p", "adam6p_tf1",
                                         "adam8p", "adam8p_tf1", "nadamw", "nadamw_tf1", "sgdm"]
    assert set(RANGES) == set(OPTIMIZER_FAMILIES.list())
    for name in OPTIMIZER_FAMILIES.list():
        family = get_family(name)
        assert [d.name for d in family.space] == list(RANGES[name])
        doc = type(family).__doc__
        assert "References" in doc and "arXiv" in doc, name
        assert callable(get_rule(name).init) and callable(get_rule(name).update)


def test_recorded_configs_are_the_same_in_a_fresh_process():
    code = ("import json; from taskset.optimizers import get_optimizer_config as g; "
            f"print(json.dumps({{n: g(n).hparams for n in {sorted(RECORDED)!r}}}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == RECORDED
    for name, hparams in RECORDED.items():
        config = get_optimizer_config(name)
        assert (config.name, config.family, config.hparams) == (name, name.split("_seed")[0], hparams)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), family=st.sampled_from(sorted(RANGES)))
def test_sampled_configs_respect_the_space(seed, family):
    config = get_optimizer_config(f"{family}_seed{seed}")
    assert config.name == f"{family}_seed{seed}" and config.family == family
    assert list(config.hparams) == list(RANGES[family])
    for key, value in config.hparams.items():
        assert isinstance(value, float) and in_range(value, *RANGES[family][key]), (key, value)
    # Every sample is a valid config of its family, and sampling is repeatable.
    assert make_config(family, config.hparams, config.name) == config == get_family(family).sample(seed)
    if family == "nadamw":
        assert config.hparams["adamw_weight_decay"] > 0 or config.hparams["l2_weight_decay"] > 0


def test_nadamw_proportions():
    samples = [get_family("nadamw").sample(seed).hparams for seed in range(3000)]
    adamw = np.array([h["adamw_weight_decay"] > 0 for h in samples])
    l2 = np.array([h["l2_weight_decay"] > 0 for h in samples])
    # Thirds: AdamW only, L2 only, both (never neither); tolerance ~4 standard deviations.
    for share in (np.mean(adamw & ~l2), np.mean(~adamw & l2), np.mean(adamw & l2)):
        assert abs(share - 1 / 3) < 0.035, share
    assert not np.any(~adamw & ~l2)
    for key in ("warmup_fraction", "min_lr_mult"):
        assert abs(np.mean([h[key] == 0.0 for h in samples]) - 0.5) < 0.04, key
    assert abs(np.mean([h["nesterov"] for h in samples]) - 0.5) < 0.04
    # Log-uniform: the median of log10(lr) is the middle of [-5, 0].
    assert abs(np.median(np.log10([h["lr"] for h in samples])) + 2.5) < 0.15


def test_sampling_is_log_uniform_on_one_minus_beta():
    betas = [get_family("adam4p").sample(seed).hparams["beta2"] for seed in range(2000)]
    assert abs(np.median(np.log10(1 - np.array(betas))) + 3.0) < 0.15


def test_named_configs():
    # Literal, so every machine must give these bits (np.logspace gives 9.999999999999999e-06 on AVX-512).
    rates = [1e-07, 3.162277660168379e-07, 1e-06, 3.162277660168379e-06, 1e-05, 3.1622776601683795e-05, 0.0001,
             0.00031622776601683794, 0.001, 0.0031622776601683794, 0.01, 0.03162277660168379, 0.1,
             0.31622776601683794, 1.0, 3.1622776601683795, 10.0]
    expected = {adam_lr_name(lr): lr for lr in rates}
    assert list(expected)[:3] == ["adam_lr_1e-07", "adam_lr_3.16e-07", "adam_lr_1e-06"]
    assert list(expected)[-2:] == ["adam_lr_3.16e+00", "adam_lr_1e+01"]
    assert set(NAMED_CONFIGS.list()) == set(expected) | {"adam_default"}
    for name, lr in expected.items():
        config = get_optimizer_config(name)
        assert (config.name, config.family, config.hparams) == (name, "adam1p", {"lr": lr})
    assert get_optimizer_config("adam_default").hparams == {"lr": 1e-3}
    assert get_optimizer_config("adam_lr_1e-03").hparams["lr"] == pytest.approx(1e-3, rel=1e-12)


@pytest.mark.parametrize("name,match", [
    ("adam9p_seed3", "did you mean 'adam8p_seed3'"),
    ("adam_defualt", "did you mean 'adam_default'"),
    ("adam8p", "'adam8p' is a family; name one of its configs, e.g. 'adam8p_seed0'"),
    ("sgd_seed1", "did you mean 'sgdm_seed1'"),
    ("zzz", r"<family>_seed<N> for a family in \['adam1p'"),
])
def test_unknown_config_names(name, match):
    with pytest.raises(UnknownNameError, match=match):
        get_optimizer_config(name)


def test_unknown_family():
    with pytest.raises(UnknownNameError, match="did you mean 'nadamw'"):
        get_family("nadam")
    with pytest.raises(UnknownNameError, match="'adam2p'"):
        make_config("adam2p", {"lr": 1e-3}, "x")


NADAMW_OK = dict(RECORDED["nadamw_seed3"])


@pytest.mark.parametrize("family,hparams,match", [
    ("adam1p", {"lr": 100.0}, r"'lr'=100.0 is outside its range \(log-uniform \[1e-08, 10\]\)"),
    ("adam1p", {"lr": 0.0}, "'lr'=0.0 is outside"),
    ("adam1p", {"lr": float("nan")}, "'lr' must be a finite number, got nan"),
    ("adam1p", {"lr": "0.1"}, "'lr' must be a finite number, got '0.1'"),
    ("adam1p", {"lr": 0.1, "beta1": 0.9}, r"unknown \['beta1'\], missing \[\]"),
    ("adam4p", {"lr": 0.1}, r"missing \['beta1', 'beta2', 'eps'\]"),
    ("adam4p", {"lr": 0.1, "beta1": 1.0, "beta2": 0.9, "eps": 1e-8}, "'beta1'=1.0 is outside"),
    ("sgdm", {"lr": 0.1, "momentum": 0.9, "nesterov": 0.5}, r"'nesterov'=0.5 is outside its range \(bool"),
    ("nadamw", {**NADAMW_OK, "adamw_weight_decay": 0.0}, "both 0; the space uses one or both"),
    ("nadamw", {**NADAMW_OK, "warmup_fraction": 0.5}, "'warmup_fraction'=0.5 is outside"),
    ("nadamw", {**NADAMW_OK, "constant_fraction": 1.5}, "'constant_fraction'=1.5 is outside"),
])
def test_bad_hparams_are_named(family, hparams, match):
    with pytest.raises(ConfigError, match=match):
        make_config(family, hparams, "custom")


def test_make_config_accepts_the_edges_and_zero_where_allowed():
    config = make_config("nadamw", {**NADAMW_OK, "warmup_fraction": 0.0, "min_lr_mult": 1.0,
                                    "constant_fraction": 1.0}, "mine")
    assert config.name == "mine" and config.hparams["min_lr_mult"] == 1.0
    assert make_config("adam4p", {"lr": 10, "beta1": 0.0, "beta2": 1 - 1e-6, "eps": 1e-10}, "edge").hparams["lr"] == 10.0
    assert math.isclose(make_config("sgdm", {"lr": 1e-5, "momentum": 0.999, "nesterov": 1}, "s").hparams["momentum"],
                        0.999)
