"""`taskset-bench curves ...`: output, exit codes, and no TensorFlow in the metadata commands."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

import curves
from curves.store import shard_relpath
from taskset.cli import main

QUICK = str(pathlib.Path(curves.__file__).parent / "specs" / "quick.gin")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_text_and_json(capsys):
    code, out, _ = run(capsys, "curves", "plan", QUICK)
    assert code == 0 and out.startswith("sweep 'quick'") and "mlp_seed12" in out
    assert "worker-hours" in out and "\njob " not in out  # jobs are listed with --jobs only
    code, out, _ = run(capsys, "curves", "plan", QUICK, "--json", "--jobs")
    data = json.loads(out)
    assert code == 0 and data["tasks"] == ["mlp_seed12"] and data["num_jobs"] == len(data["jobs"])
    assert data["num_curves"] == sum(len(j["optimizers"]) for j in data["jobs"]) == len(data["optimizers"])
    assert data["total"]["worker_hours"] * 3600 == pytest.approx(sum(j["seconds"] for j in data["jobs"]))
    assert data["total"]["worker_hours"] > 0 and data["total"]["bytes"] > 0
    assert {"key", "task", "optimizers", "replica", "steps", "eval_every", "eval_batches", "seconds"} == \
        set(data["jobs"][0])
    code, out, _ = run(capsys, "curves", "plan", QUICK, "--json")
    assert code == 0 and "jobs" not in json.loads(out)


def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path):
    spec = tmp_path / "bad.gin"
    spec.write_text(pathlib.Path(QUICK).read_text().replace("'mlp_seed12'", "'mlp_sed12'"))
    code, _, err = run(capsys, "curves", "plan", str(spec))
    assert code == 2 and err.count("\n") == 1 and "unknown task 'mlp_sed12'" in err
    code, _, err = run(capsys, "curves", "generate", QUICK, "--out", str(tmp_path / "o"), "--dask",
                       "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2 and "either --dask" in err
    code, _, err = run(capsys, "curves", "info", str(tmp_path / "nothing"))
    assert code == 2 and "neither a curve directory" in err


def test_info_compact_and_verify(capsys, store_dir, jobs):
    code, out, _ = run(capsys, "curves", "info", str(store_dir), "--json")
    info = json.loads(out)
    assert code == 0 and info["curves"] == 24 and info["shards"] == len(jobs) and info["tasks"] == 2
    assert info["families"] == {"mlp": 24} and info["steps"] == [40] and info["failed_jobs"] == 0
    assert info["optimizer_families"] == {"adam1p": 4, "adam8p": 12, "nadamw": 8}
    assert info["status"] == {"diverged": 2, "ok": 22}
    from taskset import machine

    here = machine.describe()  # store_dir's jobs ran in this process
    assert info["machines"] == {"recorded": {here["id"]: {**{k: v for k, v in here.items() if k != "id"},
                                                          "jobs": len(jobs)}}, "unrecorded_jobs": 0}
    code, out, _ = run(capsys, "curves", "info", str(store_dir))
    assert f"machines (where the jobs ran; 0 job(s) from before the record):\n  {here['id']}: {len(jobs)} job(s)" in out
    code, out, _ = run(capsys, "curves", "compact", str(store_dir), "--json")
    assert code == 0 and json.loads(out)["shards_after"] == 2
    code, out, _ = run(capsys, "curves", "verify", str(store_dir))
    assert code == 0 and out.startswith("ok: 2 shards, 24 curves checked")
    (store_dir / "shards" / ".junk.tmp").write_bytes(b"partial")
    code, out, _ = run(capsys, "curves", "verify", str(store_dir), "--json")
    report = json.loads(out)
    assert code == 1 and not report["ok"] and "partial shard" in report["problems"][0]


def test_metadata_commands_do_not_import_tensorflow(store_dir):
    script = (
        "import sys\n"
        "from taskset.cli import main\n"
        f"for argv in (['curves', 'plan', {QUICK!r}, '--json'], ['curves', 'info', {str(store_dir)!r}, '--json'],\n"
        f"             ['curves', 'verify', {str(store_dir)!r}, '--json']):\n"
        "    assert main(argv) == 0, argv\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("damage", ["truncate", "schema"])
def test_verify_names_each_damaged_shard(capsys, store_dir, jobs, damage):
    import pyarrow.parquet as pq

    from curves.schema import META_SCHEMA_VERSION

    path = store_dir / shard_relpath(jobs[0].key)
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    else:
        table = pq.read_table(path)
        path.unlink()
        pq.write_table(table.replace_schema_metadata({**table.schema.metadata, META_SCHEMA_VERSION: b"7"}), path)
    code, out, _ = run(capsys, "curves", "verify", str(store_dir))
    assert code == 1 and f"problem: {shard_relpath(jobs[0].key)}" in out and "1 problem(s)" in out
