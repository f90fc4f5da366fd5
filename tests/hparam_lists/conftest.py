"""A small real curve directory (the `curves` store), trained by the fake trainer."""

from __future__ import annotations

import pytest

# 4 mlp + 4 quadratic tasks x (adam_default + 24 nadamw configs) x 2 replicas: 64 jobs, 400 curves.
SPEC = """
sweep.name = 'lists-test'
sweep.steps = 40
sweep.eval_every = 10
sweep.eval_batches = 1
sweep.replicas = 2
sweep.population = 8

tasks.families = {'mlp': (0, 4), 'quadratic': (0, 4)}
tasks.runnable = False  # The fake trainer needs no data.

optimizers.names = ['adam_default']
optimizers.families = {'nadamw': (0, 24)}
"""


@pytest.fixture(scope="session")
def curve_dir(tmp_path_factory):
    from curves.jobs import plan
    from curves.runner import generate
    from curves.spec import parse_spec
    from tests.hparam_lists.fake_trainer import train

    out = tmp_path_factory.mktemp("lists") / "curves"
    summary = generate(plan(parse_spec(SPEC, source="lists-test.gin")), out, train_fn=train, progress=False)
    assert summary.written > 0 and not summary.failed
    return out
