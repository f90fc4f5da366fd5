"""Trial generators: list prefixes, random seeds, the Adam grid's order, BO's encoding and determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eval import methods
from hparam_lists import ListEntry
from taskset.errors import ConfigError
from taskset.optimizers import get_family, list_optimizer_families


def test_farthest_point_order_is_coarse_to_fine():
    assert methods.farthest_point_order(1) == [0]
    assert methods.farthest_point_order(5) == [2, 0, 4, 1, 3]
    for count in range(1, 12):
        assert sorted(methods.farthest_point_order(count)) == list(range(count))


def test_adam_grid_is_log_spaced_over_the_documented_range_centre_first():
    assert methods.adam_lr_grid(1) == pytest.approx([1e-3])
    assert methods.adam_lr_grid(5) == pytest.approx([1e-3, 1e-5, 1e-1, 1e-4, 1e-2])
    grid = sorted(methods.adam_lr_grid(7))
    assert grid[0] == pytest.approx(1e-5) and grid[-1] == pytest.approx(1e-1)
    assert np.allclose(np.diff(np.log(grid)), math.log(1e4) / 6)
    configs = methods.adam_grid_trials(3)
    assert [c.name for c in configs] == ["adam_lr_1e-03", "adam_lr_1e-05", "adam_lr_1e-01"]
    assert all(c.family == "adam1p" for c in configs)


def test_random_trials_are_seeded_far_from_curve_pools_and_prefix_stable():
    a = methods.random_trials("nadamw", 3, repetition=0)
    assert [c.name for c in a] == ["nadamw_seed1000000", "nadamw_seed1000001", "nadamw_seed1000002"]
    assert methods.random_trials("nadamw", 5, repetition=0)[:3] == a
    b = methods.random_trials("nadamw", 3, repetition=1)
    assert not {c.name for c in a} & {c.name for c in b}
    assert a[0] == get_family("nadamw").sample(1_000_000)


def test_list_trials_take_the_first_k_entries_and_refuse_more():
    family = get_family("nadamw")
    entries = [ListEntry("nadamw", "nadamw_seed7", family.sample(7).hparams),
               ListEntry("nadamw", "nadamw_seed7", family.sample(7).hparams),
               ListEntry("nadamw", "nadamw_seed2", family.sample(2).hparams)]
    configs = methods.list_trials(entries, 2)
    assert [c.name for c in configs] == ["list0_nadamw_seed7", "list1_nadamw_seed7"]
    assert configs[0].hparams == family.sample(7).hparams
    with pytest.raises(ConfigError, match="trials for the list=4 exceeds the 3 entries available"):
        methods.list_trials(entries, 4)
    with pytest.raises(ConfigError, match="must be a positive integer, got 0"):
        methods.list_trials(entries, 0)


@settings(max_examples=60, deadline=None)
@given(family=st.sampled_from(sorted(list_optimizer_families())), data=st.data())
def test_every_point_of_the_unit_cube_is_a_valid_config(family, data):
    space = get_family(family).space
    point = [data.draw(st.sampled_from([0.0, 1.0]) if d.kind == "bool" else
                       st.sampled_from([float(i) for i in range(len(d.choices))]) if d.kind == "choice" else
                       st.floats(0.0, 1.0)) for d in space]
    hparams = methods.from_unit(space, point)
    get_family(family).make_config("x", hparams)  # raises on any out-of-range or jointly invalid value
    for dim, u in zip(space, point):
        if dim.kind == "log" and u in (0.0, 1.0):
            assert hparams[dim.name] == pytest.approx(dim.low if u == 0.0 else dim.high)


def test_bayes_opt_is_deterministic_and_uses_the_answers():
    def run(answers):
        search = methods.BayesOptSearch("adam4p", seed=3, initial_points=2)
        asked = []
        for answer in answers:
            config = search.ask()
            asked.append(config)
            search.tell(config, answer)
        return asked

    first, again = run([1.0, 2.0, 0.5, 0.7]), run([1.0, 2.0, 0.5, 0.7])
    assert first == again
    assert [c.name for c in first] == [f"bo3_{i}_adam4p" for i in range(4)]
    assert run([1.0, 2.0, 3.0, 0.7])[:2] == first[:2]  # initial points do not depend on answers
    assert run([1.0, 2.0, 3.0, 0.7])[3] != first[3]  # the GP's asks do
    with pytest.raises(ValueError, match="must be finite"):
        search = methods.BayesOptSearch("adam4p", seed=0)
        search.tell(search.ask(), math.nan)
