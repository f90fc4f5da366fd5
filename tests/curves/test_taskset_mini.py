"""The shipped `taskset-mini` dataset: complete, as its spec says, and reproducible by the runner.

The regeneration tests retrain randomly picked jobs and demand the shipped
numbers bit for bit on the CPU type that made them (found by a canary job, see
`check_regenerates`), which catches any silent drift in tasks, data, optimizer
rules or trainer; on another CPU type only the first point of each curve can be
demanded. Each picks three jobs (a fresh seed every run, printed on
failure; set TASKSET_MINI_SEED to repeat one) and retrains one group of
`GROUP_SIZE` of each job's configs: a member's curve does not depend on the
other members (tests/training), so this checks those configs exactly at a
fortieth of the cost. It runs in a fresh one-thread process, as the dataset was
made (see scripts/make_mini.py for why the thread count matters).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import multiprocessing
import os
import random
import subprocess
import sys

import numpy as np
import pytest

import curves
from curves.registry import MINI_DIR
from taskset.tasks import TASK_FAMILIES

SPLITS = ("train", "valid_inner", "valid_outer", "test")
REFERENCE_CANARY = "mlp_seed35"
"""A cheap task (3 s for a group of 4 configs) whose curves differ between CPU types: on an AVX-512
AMD EPYC none of its first 4 configs retrains to the bits the "reference" type (which made
taskset-mini) stored, so the digest of the group retrained here tells this machine's type. Training
is deterministic per CPU type, not across types: XLA compiles for the host's instruction set and
oneDNN picks its kernels at run time, so another type rounds differently (1e-7 to 1e-6 relative
after 1,000 steps for most configs, 10% for one near its stability limit), and pinning the
instruction sets (`ONEDNN_MAX_CPU_ISA`, `--xla_cpu_max_isa`) did not restore the bits."""
STEP0_RTOL = 1e-5
"""How far a curve's first point (before any training) may move on another CPU type."""


@pytest.fixture(scope="module")
def shipped():
    return curves.read(MINI_DIR)


@pytest.fixture(scope="module")
def spec_jobs():
    return load_make_mini().spec_jobs()


def test_info_and_verify_pass_from_the_cli():
    info = subprocess.run([sys.executable, "-m", "taskset", "curves", "info", "taskset-mini", "--json"],
                          capture_output=True, text=True, check=True)
    assert json.loads(info.stdout)["curves"] > 0
    subprocess.run([sys.executable, "-m", "taskset", "curves", "verify", "taskset-mini"], capture_output=True,
                   check=True)


def test_size_and_contents_meet_the_spec(shipped, spec_jobs):
    assert sum(p.stat().st_size for p in MINI_DIR.rglob("*") if p.is_file()) <= 25_000_000
    assert set(shipped["job_key"].astype(str)) == {job.key for job in spec_jobs}, "data and spec disagree"
    tasks = set(shipped["task"].astype(str))
    assert len(tasks) >= 150
    assert set(shipped["family"].astype(str)) == set(TASK_FAMILIES.list())
    assert any(name.startswith("fixed_") for name in tasks)
    configs = shipped.groupby(shipped["optimizer_family"].astype(str))["optimizer"].nunique()
    assert configs["nadamw"] >= 128 and configs["adam8p"] >= 32
    assert all(len(s) == 11 and int(s[-1]) == 1000 for s in shipped["steps"])
    per_task = sum(len(job.optimizers) for job in spec_jobs if job.task == spec_jobs[0].task)
    assert per_task == 161 and shipped.groupby("task", observed=True).size().min() == per_task
    assert (shipped["optimizer"] == "adam_default").sum() == len(set(shipped["task"]))


def retrain(task: str, configs: list[str], steps: int, eval_every: int, replica: int, eval_batches: int):
    """The curves of `configs` on `task`, as plain arrays (runs in the one-thread worker)."""
    from taskset.tasks import get_task
    from taskset.training import train

    out = train(get_task(task), configs, steps=steps, eval_every=eval_every, replica_seed=replica,
                eval_batches=eval_batches)
    return [{"optimizer": c.optimizer.name, "status": c.status, **{s: c.split(s) for s in SPLITS}} for c in out]


def curves_digest(curves) -> str:
    """sha256 of (optimizer, status, the four splits' float32 bytes) of each curve, in order."""
    digest = hashlib.sha256()
    for optimizer, status, splits in curves:
        digest.update(f"{optimizer}:{status}:".encode())
        for values in splits:
            digest.update(np.asarray(values, np.float32).tobytes())
    return digest.hexdigest()


def canary_curves(pool, spec_jobs):
    """The canary's curves retrained here (`REFERENCE_CANARY`'s main job, its first `GROUP_SIZE` configs)."""
    from taskset.training.population import GROUP_SIZE

    job = next(j for j in spec_jobs if j.task == REFERENCE_CANARY and j.replica == 0 and len(j.optimizers) > 1)
    fresh = pool.submit(retrain, job.task, job.optimizer_names[:GROUP_SIZE], job.steps, job.eval_every, job.replica,
                        job.eval_batches).result()
    return job, [(c["optimizer"], c["status"], [c[s] for s in SPLITS]) for c in fresh]


def this_cpu_type(pool, spec_jobs, fingerprints: dict[str, str]) -> tuple[str | None, str]:
    """(the CPU type whose canary digest the canary retrained here matches, or None; that digest).

    "reference" is the type that made taskset-mini: its digest is that of the stored canary curves;
    `fingerprints` gives other types' (`curves/specs/cpu_types.json`).
    """
    job, fresh = canary_curves(pool, spec_jobs)
    stored = curves.read(MINI_DIR, tasks=job.task)
    stored = stored[stored["job_key"] == job.key].set_index("optimizer")
    reference = curves_digest([(o, stored.loc[o, "status"], [stored.loc[o, s] for s in SPLITS]) for o, _, _ in fresh])
    digest = curves_digest(fresh)
    known = {"reference": reference, **fingerprints}
    return next((name for name, value in known.items() if value == digest), None), digest


def worker_machine() -> dict:
    """`taskset.machine.describe()` in the retraining worker (after it trained, so TensorFlow is loaded)."""
    from taskset import machine

    return machine.describe()


def check_regenerates(shipped, spec_jobs, candidates, made_on: dict[str, str] | None = None,
                      fingerprints: dict[str, str] | None = None, recorded: dict[str, dict] | None = None):
    """Retrains one group of configs of three random `candidates` and compares them with `shipped`.

    Args:
      made_on: job key -> the CPU type that made it (`curves/specs/cpu_types.json`); unlisted jobs
        were made on "reference", the type that made taskset-mini.
      fingerprints: CPU type -> the digest (`curves_digest`) of the canary curves it trains.
      recorded: job key -> the numeric environment its shard recorded (`curves.store.job_machines`);
        these jobs are made here when it is the retraining worker's, whatever `made_on` says.

    The canary, retrained first when a picked job recorded no environment, tells this machine's CPU
    type (`this_cpu_type`) for those jobs. Jobs made here must come back bit for bit. A job made on another type must agree at step 0 (same task, data,
    init and loss) to `STEP0_RTOL`, and the rest of its curve is not compared: trained on other
    kernels, a config near its stability limit drifts (10% after 1,000 steps, measured) from the
    round-off alone.
    """
    from curves.executors import limit_tf_threads
    from taskset.training.population import GROUP_SIZE

    made_on = made_on or {}
    seed = int(os.environ.get("TASKSET_MINI_SEED", random.SystemRandom().randrange(2 ** 32)))
    rng = random.Random(seed)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context, initializer=limit_tf_threads,
                                                initargs=(1,)) as pool:
        picked = rng.sample(candidates, 3)
        here, digest = None, None
        if any(job.key not in (recorded or {}) for job in picked):
            here, digest = this_cpu_type(pool, spec_jobs, fingerprints or {})
        for job in picked:
            configs = rng.sample(job.optimizer_names, min(GROUP_SIZE, len(job.optimizers)))
            rows = shipped[shipped["job_key"] == job.key].set_index("optimizer")
            fresh = pool.submit(retrain, job.task, configs, job.steps, job.eval_every, job.replica,
                                job.eval_batches).result()
            if job.key in (recorded or {}):
                worker = pool.submit(worker_machine).result()
                made, made_here = recorded[job.key], recorded[job.key]["id"] == worker["id"]
                where = f"TASKSET_MINI_SEED={seed}: {job.task} (made on {made}; this worker is {worker})"
            else:
                made = made_on.get(job.key, "reference")
                made_here = made == here
                where = (f"TASKSET_MINI_SEED={seed}: {job.task} (made on CPU type {made!r}; this machine's type is "
                         f"{here or f'unknown, canary digest {digest}'!r})")
            for curve in fresh:
                row = rows.loc[curve["optimizer"]]
                if made_here:
                    assert curve["status"] == row["status"], where
                    for split in SPLITS:
                        assert np.asarray(row[split], np.float32).tobytes() == curve[split].tobytes(), \
                            f"{where} {curve['optimizer']} {split}: not the stored bits"
                    continue
                for split in SPLITS:
                    np.testing.assert_allclose(curve[split][0], np.asarray(row[split], np.float32)[0], rtol=STEP0_RTOL,
                                               err_msg=f"{where} {curve['optimizer']} {split} at step 0")


def affordable(shipped, spec_jobs, seconds: float):
    """Jobs whose group of configs retrains in about `seconds` (from their recorded step times)."""
    from taskset.training.population import GROUP_SIZE

    per_step = shipped.groupby("job_key", observed=True)["seconds_per_step"].median()
    return [job for job in spec_jobs if per_step[job.key] * GROUP_SIZE * job.steps <= seconds]


def test_three_cheap_jobs_regenerate_bit_for_bit(shipped, spec_jobs):
    check_regenerates(shipped, spec_jobs, affordable(shipped, spec_jobs, 4.0))


@pytest.mark.slow
def test_any_three_jobs_regenerate_bit_for_bit(shipped, spec_jobs):
    check_regenerates(shipped, spec_jobs, spec_jobs)


def load_make_mini():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "make_mini.py"
    spec = importlib.util.spec_from_file_location("make_mini", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_choice_takes_quotas_cheapest_first_then_fills_alternately(monkeypatch):
    make_mini = load_make_mini()
    monkeypatch.setattr(make_mini, "QUOTAS", {"mlp": 1, "fixed": 1})
    rows = [{"name": "mlp_seed1", "seconds_per_config_step": 2e-3},
            {"name": "mlp_seed2", "seconds_per_config_step": 1e-3},
            {"name": "fixed_a", "seconds_per_config_step": 1e-4},
            {"name": "quadratic_seed5", "seconds_per_config_step": 1e-4},
            {"name": "test_functions_seed1", "seconds_per_config_step": 3e-4},
            {"name": "maf_seed0", "error": "ValueError: boom"}]
    fill = {"quadratic": ["quadratic_seed5", "quadratic_seed6"], "test_functions": ["test_functions_seed1"]}
    names, facts = make_mini.choose(rows, fill, total=5)
    assert names == ["fixed_a", "mlp_seed2", "quadratic_seed5", "test_functions_seed1", "quadratic_seed6"]
    assert "dearer" in facts["left_out"]["mlp_seed1"] and "boom" in facts["left_out"]["maf_seed0"]
    # Untimed fill tasks are costed at their family's timed median; every chosen task is costed.
    assert facts["estimated_worker_seconds"] == pytest.approx(
        sum(make_mini.estimated_seconds(s) for s in (1e-4, 1e-3, 1e-4, 1e-4, 3e-4)))
    with pytest.raises(ValueError, match="timed no task of"):
        make_mini.choose(rows[:2], fill, total=5)


def test_publish_refuses_an_incomplete_staging_directory(tmp_path, monkeypatch):
    make_mini = load_make_mini()
    monkeypatch.setattr(make_mini, "STAGING", tmp_path / "staging")
    monkeypatch.setattr(make_mini, "DATA", tmp_path / "data")
    with pytest.raises(SystemExit, match=r"lacks 300 job\(s\)"):
        make_mini.publish(None)
    assert not (tmp_path / "data").exists()


def test_the_defaults_spec_reuses_the_main_specs_tasks_and_settings(tmp_path):
    make_mini = load_make_mini()
    main = ("# comment\n\nsweep.name = 'm'\nsweep.steps = 20\nsweep.eval_every = 10\nsweep.population = 3\n\n"
            "tasks.names = [\n    'fixed_2d_rosenbrock',\n]\n\noptimizers.families = {'nadamw': (0, 3)}\n")
    (tmp_path / "main.gin").write_text(main)
    (tmp_path / "defaults.gin").write_text(make_mini.defaults_spec(main))
    first, second = (curves.load_spec(tmp_path / name) for name in ("main.gin", "defaults.gin"))
    assert [t.name for t in second.tasks] == [t.name for t in first.tasks]
    assert [o.name for o in second.optimizers] == ["adam_default"]
    jobs = curves.plan(second)
    assert [(j.steps, j.eval_every, len(j.optimizers)) for j in jobs] == [(20, 10, 1)]
    # The shipped defaults spec is the one `spec` would write from the shipped main spec.
    assert make_mini.DEFAULTS_SPEC.read_text() == make_mini.defaults_spec(make_mini.SPEC.read_text())


def test_the_shipped_list_is_the_greedy_fit_of_the_shipped_curves(shipped):
    """`nadamw-mini` is in sync with the data: refitting on taskset-mini gives the same list."""
    from hparam_lists import fit, load_list, manifest_sha256

    shipped_list = load_list("nadamw-mini")
    assert shipped_list.dataset == "taskset-mini" and len(shipped_list) == 50
    assert shipped_list.manifest_sha256 == manifest_sha256(MINI_DIR)
    assert shipped_list.fit.weighting == "task"  # fitted before family weighting became the default
    refit = fit(shipped, "nadamw", size=50, dataset="taskset-mini", manifest_sha256=manifest_sha256(MINI_DIR),
                weighting=shipped_list.fit.weighting)
    assert refit.entries == shipped_list.entries and refit.fit == shipped_list.fit
