"""Shared fixtures: a small spec, its jobs, and a curve directory made with the fake trainer."""

from __future__ import annotations

import numpy as np
import pytest

from curves import read
from curves.jobs import plan
from curves.runner import generate
from curves.spec import parse_spec
from tests.curves.fakes import fake_train

# 2 tasks x 6 configs (3 families) x 2 replicas, populations of 4: 8 jobs, 24 curves.
SPEC = """
sweep.name = 'test'
sweep.steps = 40
sweep.eval_every = 10
sweep.eval_batches = 1
sweep.replicas = 2
sweep.population = 4

tasks.names = ['mlp_seed12', 'mlp_seed16']

optimizers.names = ['adam_default']
optimizers.families = {'adam8p': (0, 3), 'nadamw': (0, 2)}
"""


@pytest.fixture(scope="session")
def spec():
    return parse_spec(SPEC, source="test.gin")


@pytest.fixture(scope="session")
def jobs(spec):
    return plan(spec)


@pytest.fixture
def store_dir(tmp_path, jobs):
    """A complete curve directory of `jobs`, trained by `fake_train`."""
    out = tmp_path / "curves"
    summary = generate(jobs, out, train_fn=fake_train, progress=False)
    assert summary.written == len(jobs) and not summary.failed
    return out


def snapshot(out) -> dict[str, list]:
    """A dataset's rows, sorted, without the timing column: equal for equal curves."""
    df = read(out).drop(columns=["seconds_per_step"])
    df = df.sort_values(["task", "optimizer", "replica"]).reset_index(drop=True)
    return {c: [_plain(v) for v in df[c].astype(object)] for c in df.columns}


def _plain(value):
    """Comparable Python data: lists for arrays, None for NaN (NaN != NaN)."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, float) and np.isnan(value):
        return None
    return value
