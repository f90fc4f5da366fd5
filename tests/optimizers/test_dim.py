"""`Dim` validates itself and owns its unit-cube encoding and skopt dimension."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st

from taskset.optimizers import OPTIMIZER_FAMILIES
from taskset.optimizers.base import Dim, skopt_space


@pytest.mark.parametrize("kwargs, match", [
    ({"kind": "lgo"}, "unknown kind 'lgo'"),
    ({"kind": "log", "low": 0.0, "high": 1.0}, "needs 0 < low < high"),
    ({"kind": "one_minus_log", "low": 1.0, "high": 0.1}, "needs 0 < low < high"),
    ({"kind": "linear", "low": 1.0, "high": 1.0}, "needs low < high"),
    ({"kind": "choice"}, "needs choices"),
    ({"kind": "log", "low": 1e-3, "high": 1.0, "zero_prob": 1.0}, "zero_prob"),
])
def test_bad_dims_fail_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Dim("x", **kwargs)


DIMS = [Dim("lr", "log", 1e-4, 1.0), Dim("beta1", "one_minus_log", 1e-3, 1.0), Dim("frac", "linear", 0.5, 3.0),
        Dim("warmup", "log", 1e-5, 1e-1, zero_prob=0.5)]


@pytest.mark.parametrize("dim", DIMS, ids=lambda d: d.kind)
@given(u=st.floats(0.0, 1.0))
def test_to_unit_inverts_from_unit(dim, u):
    value = dim.from_unit(u)
    dim.check(value)
    assert math.isclose(dim.to_unit(value), u, abs_tol=1e-9)


def test_categorical_dims_keep_their_index_and_out_of_range_values_clip():
    assert Dim("n", "bool").to_unit(1.0) == 1.0 and Dim("n", "bool").from_unit(0.0) == 0.0
    assert Dim("c", "choice", choices=("a", "b", "c")).from_unit(2.0) == 2.0
    assert DIMS[0].to_unit(10.0) == 1.0 and DIMS[0].to_unit(0.0) == 0.0 and DIMS[2].from_unit(-5) == 0.5


def test_every_family_has_an_skopt_space():
    from skopt.space import Categorical, Real

    for name in OPTIMIZER_FAMILIES.list():
        space = OPTIMIZER_FAMILIES.get(name).space
        dims = skopt_space(space)
        assert [d.name for d in dims] == [d.name for d in space]
        for dim, sk in zip(space, dims):
            assert isinstance(sk, Categorical if dim.categorical else Real)
