"""Fixtures of the fault tests: small, real curve directories copied into tmp_path."""

from __future__ import annotations

import pathlib
import shutil

import pytest

from curves.integrity import clear_cache

DATA = pathlib.Path(__file__).resolve().parents[2] / "curves" / "data"


@pytest.fixture
def reference_copy(tmp_path) -> pathlib.Path:
    """A copy of the shipped quick-reference dataset (10 shards, 330 curves)."""
    out = tmp_path / "quick-reference"
    shutil.copytree(DATA / "quick-reference", out)
    clear_cache()
    return out


@pytest.fixture
def tiny_curves(tmp_path) -> pathlib.Path:
    """A curve directory of 2 quadratic tasks x 1 config trained by the fake trainer (what `tiny.gin` gives)."""
    from curves.jobs import plan
    from curves.runner import generate
    from curves.spec import parse_spec
    from tests.curves.fakes import fake_train

    spec = parse_spec("sweep.name = 'tiny'\nsweep.steps = 20\nsweep.eval_every = 10\nsweep.eval_batches = 1\n"
                      "sweep.replicas = 2\ntasks.names = ['quadratic_seed0', 'quadratic_seed1']\n"
                      "optimizers.names = ['adam_default']\n", source="tiny.gin")
    out = tmp_path / "tiny"
    summary = generate(plan(spec), out, train_fn=fake_train, progress=False)
    assert summary.written and not summary.failed
    return out
