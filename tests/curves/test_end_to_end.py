"""The real trainer end to end on mlp_seed12 (mnist1d, offline): one job in-process, a small
sweep through the CLI, and a CLI run killed with SIGKILL mid-sweep whose rerun gives exactly
the dataset of an uninterrupted run. The CLI tests are slow: every job pays the trainer's
fixed set-up cost (over ten seconds per job on two busy cores)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from curves import generate, load_spec, parse_spec, plan, read, verify
from taskset.tasks import get_task, task_from_config
from tests.curves.conftest import snapshot

# 3 configs of mlp_seed12, one per job, 20 steps.
SPEC = """
sweep.name = 'e2e'
sweep.steps = 20
sweep.eval_every = 10
sweep.eval_batches = 1
sweep.replicas = 1
sweep.population = 1

tasks.names = ['mlp_seed12']
optimizers.names = ['adam_default', 'nadamw_seed1', 'sgdm_seed2']
"""
CONFIGS = ["adam_default", "nadamw_seed1", "sgdm_seed2"]


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "e2e.gin"
    path.write_text(SPEC)
    return path


def cli(spec_path, out, *extra):
    """`python -m taskset curves generate` in its own session, so the whole group can be killed."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, "-m", "taskset", "curves", "generate", str(spec_path), "--out", str(out),
                             "--workers", "1", "--json", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)


@pytest.fixture(scope="module")
def uninterrupted(spec_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted") / "curves"
    proc = cli(spec_path, out)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    return out, json.loads(stdout)


def test_real_trainer_job_in_process(tmp_path):
    spec = parse_spec(SPEC.replace("sweep.steps = 20", "sweep.steps = 4").replace("sweep.eval_every = 10",
                                                                                "sweep.eval_every = 2"))
    job = plan(spec)[0]
    summary = generate([job], tmp_path / "curves", progress=False)
    assert summary.written == 1 and summary.curves == 1 and not summary.failed
    row = next(read(tmp_path / "curves").itertuples())
    assert (row.task, row.family, row.optimizer, row.seed, row.replica) == ("mlp_seed12", "mlp", "adam_default", 0, 0)
    assert row.steps.tolist() == [0, 2, 4] and row.seconds_per_step > 0 and row.status == "ok"
    assert np.isfinite(row.train).all() and row.final_valid_inner == row.valid_inner[-1]
    assert row.train[-1] < row.train[0]
    assert task_from_config(json.loads(row.task_config)).config == get_task("mlp_seed12").config
    assert json.loads(row.hparams) == {"lr": row.hp_lr} == {"lr": 1e-3}
    assert verify(tmp_path / "curves").ok


@pytest.mark.slow
def test_real_sweep_through_the_cli(uninterrupted, spec_path):
    out, summary = uninterrupted
    assert summary["written"] == 3 and summary["curves"] == 3 and not summary["failed"]
    df = read(out)
    assert sorted(df.optimizer) == CONFIGS and set(df.status) <= {"ok", "diverged"}
    assert all(row.steps.tolist() == [0, 10, 20] for row in df.itertuples())
    assert verify(out).ok
    again = generate(plan(load_spec(spec_path)), out, progress=False)
    assert again.existing == 3 and again.written == 0


@pytest.mark.slow
def test_sigkill_mid_sweep_then_rerun_equals_uninterrupted_run(uninterrupted, spec_path, tmp_path):
    reference, _ = uninterrupted
    out = tmp_path / "killed"
    proc = cli(spec_path, out)
    deadline = time.monotonic() + 300
    while not list((out / "shards").glob("*.parquet")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its worker, mid-sweep
    proc.communicate()
    done = len(list((out / "shards").glob("*.parquet")))
    assert 1 <= done < 3, "the kill came too late to interrupt the sweep"

    rerun = cli(spec_path, out)
    stdout, stderr = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["existing"] == done and summary["written"] == 3 - done
    assert not [p for p in (out / "shards").iterdir() if p.name.endswith(".tmp")]
    assert snapshot(out) == snapshot(reference)  # same rows, bit for bit, none twice
    assert verify(out).ok
