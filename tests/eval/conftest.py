"""Fixtures of the eval tests: a small list artifact on disk."""

from __future__ import annotations

import pytest

from hparam_lists import FitSettings, HparamList, ListEntry, save_list
from taskset.optimizers import get_family


def make_list(size: int = 4) -> HparamList:
    """A nadamw list of pool configs nadamw_seed0..size-1, as if fitted."""
    family = get_family("nadamw")
    entries = tuple(ListEntry("nadamw", f"nadamw_seed{i}", family.sample(i).hparams) for i in range(size))
    return HparamList(entries=entries, fit=FitSettings("nadamw", size, "valid_inner", "final", ("mlp_seed0",), 10))


@pytest.fixture
def list_file(tmp_path):
    return save_list(make_list(), tmp_path / "list.json")
