"""Every shard records the numeric environment that trained it (`taskset.machine`, `curves.store.job_machines`)."""

from __future__ import annotations

import json
import subprocess
import sys

from curves import compact
from curves.runner import generate
from curves.store import job_machines
from taskset import machine
from tests.curves.fakes import fake_train


def test_describing_a_process_without_tensorflow_does_not_load_it():
    code = ("import json, sys; from taskset import machine; d = machine.describe(); "
            "print(json.dumps([d, 'tensorflow' in sys.modules]))")
    facts, loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                              check=True).stdout)
    assert not loaded and facts["tensorflow"] is None and facts["threads"] is None
    assert len(facts["id"]) == 16 and facts["cpu"] and facts["machine"]


def test_the_id_hashes_every_fact(monkeypatch):
    from taskset.lazy import tf

    tf.constant(0.0)  # TensorFlow is loaded, so its version and threads are facts
    here = machine.describe()
    assert here["tensorflow"] == tf.__version__ and all(n >= 1 for n in here["threads"])
    assert machine.describe() == here
    cpu = machine._cpu()
    monkeypatch.setattr(machine, "_cpu", lambda: {**cpu, "simd": "avx2"})
    other = machine.describe()
    assert other["id"] != here["id"] and {k: v for k, v in other.items() if k not in ("id", "simd")} == {
        k: v for k, v in here.items() if k not in ("id", "simd")}


def test_shards_and_packs_say_where_each_job_ran(jobs, tmp_path):
    out = tmp_path / "curves"
    generate(jobs, out, train_fn=fake_train, progress=False)
    recorded = job_machines(out)
    assert set(recorded) == {job.key for job in jobs}
    assert all(facts == machine.describe() for facts in recorded.values())  # in-process workers: this process
    compact(out)
    assert job_machines(out) == recorded


def test_regeneration_demands_the_bits_of_jobs_made_in_this_environment_only(tmp_path):
    """Jobs trained here in one-thread workers (as the shipped datasets are) record this environment, so
    the regeneration check demands their bits; the same curves, altered after step 0, pass only when
    the record says they were made elsewhere."""
    import numpy as np
    import pytest

    import curves
    from curves.executors import ProcessExecutor
    from curves.jobs import plan
    from curves.spec import parse_spec
    from tests.curves.test_taskset_mini import check_regenerates, load_make_mini

    spec = parse_spec("sweep.name = 't'\nsweep.steps = 20\nsweep.eval_every = 10\nsweep.eval_batches = 1\n"
                      "sweep.population = 2\ntasks.names = ['quadratic_seed3', 'test_functions_seed2', 'quadratic_seed5']\n"
                      "optimizers.families = {'nadamw': (0, 2)}\n", source="t.gin")
    jobs = plan(spec)
    with ProcessExecutor(workers=1, threads=1) as executor:
        generate(jobs, tmp_path, executor=executor, progress=False)
    stored, recorded = curves.read(tmp_path), job_machines(tmp_path)
    assert set(recorded) == {job.key for job in jobs} and all(m["threads"] == [1, 1] for m in recorded.values())
    mini_jobs = load_make_mini().spec_jobs()  # the canary's job
    check_regenerates(stored, mini_jobs, jobs, recorded=recorded)

    altered = stored.copy()
    altered["train"] = [np.concatenate([v[:1], v[1:] * np.float32(1.5)]) for v in altered["train"]]
    elsewhere = {key: {**facts, "id": "0" * 16} for key, facts in recorded.items()}
    check_regenerates(altered, mini_jobs, jobs, recorded=elsewhere)
    with pytest.raises(AssertionError, match="not the stored bits"):
        check_regenerates(altered, mini_jobs, jobs, recorded=recorded)
