"""A real Dask cluster of separate processes whose workers cannot see the client's `--out` (issue 19).

`dask scheduler` and two `dask worker` processes are started through their
CLIs on 127.0.0.1, each worker in its own working directory and, where the
machine allows (root and `unshare`), in its own mount namespace with a tmpfs
over the client's directory, so they cannot see `--out` (as on two machines).
A sweep runs on it, one worker is SIGKILLed mid-sweep, and the result must
equal a run without the cluster, rows and bits, with nothing written outside
`--out`:

- default run: `curves.generate` with the fake trainer (no TensorFlow, ~20 s
  on a loaded 2-core machine); the killed worker is the one stalled in a job.
- `-m slow`: `curves generate --scheduler` through the CLI on real training
  jobs (2-D test functions and quadratics, 100 steps), against a local run
  with the same thread settings (one TensorFlow thread per worker); about
  2 minutes on a loaded 2-core machine.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from curves import verify
from curves.executors import DaskExecutor
from curves.runner import generate
from tests.curves.conftest import snapshot
from tests.curves.fakes import MARKER_ENV, fake_train, stalls_once_train

REPO = pathlib.Path(__file__).resolve().parents[2]

SPEC = """
sweep.name = 'cluster'
sweep.steps = 100
sweep.eval_every = 50
sweep.eval_batches = 1
sweep.replicas = 1
sweep.population = 2

tasks.names = ['fixed_2d_bowl_cond1', 'fixed_2d_rosenbrock', 'quadratic_seed0', 'quadratic_seed1']
optimizers.families = {'nadamw': (0, 4)}
"""
JOBS = 8  # 4 tasks x 2 chunks of 2 configs
CLI = "import sys; from taskset.cli.main import main; sys.exit(main(sys.argv[1:]))"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1", **extra}


def can_isolate() -> bool:
    """True when workers can get a private mount namespace (root and a working `unshare --mount`)."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


def _worker_command(scheduler: str, workdir: pathlib.Path, hide: pathlib.Path, isolate: bool) -> list[str]:
    worker = [sys.executable, "-m", "dask", "worker", scheduler, "--host", "127.0.0.1", "--nthreads", "1",
              "--nworkers", "1", "--no-dashboard", "--local-directory", str(workdir), "--death-timeout", "60"]
    if not isolate:
        return worker
    # A tmpfs over the client's directory in a private mount namespace: the worker sees an empty
    # directory where --out is (mounts stay private: unshare's default propagation).
    script = f'mount -t tmpfs taskset-test {hide} && cd {workdir} && exec "$@"'
    return ["unshare", "--mount", "sh", "-c", script, "sh", *worker]


class Cluster:
    """A scheduler and two workers, each a process group of its own, stopped by `close`."""

    def __init__(self, root: pathlib.Path, hide: pathlib.Path, isolate: bool, **env: str) -> None:
        self.env = _env(**env)
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.procs: list[subprocess.Popen] = []
        self.logs = root / "logs"
        self.logs.mkdir()
        self.scheduler = self._start("scheduler", [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1",
                                                   "--port", self.address.rsplit(":", 1)[1], "--no-dashboard"],
                                     root)
        self.workdirs = [root / f"worker{i}" for i in range(2)]
        self.workers = []
        for i, workdir in enumerate(self.workdirs):
            workdir.mkdir()
            self.workers.append(self._start(f"worker{i}", _worker_command(self.address, workdir, hide, isolate),
                                            workdir))

    def _start(self, name: str, command: list[str], cwd: pathlib.Path) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")
        proc = subprocess.Popen(command, cwd=cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def wait_for_workers(self, n: int, timeout_s: float = 120.0) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout_s) as client:
            client.wait_for_workers(n, timeout=timeout_s)

    def kill(self, proc: subprocess.Popen) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the worker, its nanny and its unshare wrapper
        except ProcessLookupError:
            pass
        proc.wait()

    def close(self) -> None:
        for proc in self.procs:
            self.kill(proc)

    def log_tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted(self.logs.iterdir()))


def _files(root: pathlib.Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _check_nothing_outside_out(client_dir: pathlib.Path, out: pathlib.Path, cluster: Cluster) -> None:
    """The client's directory holds the spec and --out only, --out holds shards and the index only,
    and the workers' directories hold no curves."""
    assert _files(client_dir) - {"spec.gin"} == {f"out/{f}" for f in _files(out)}
    assert {f for f in _files(out) if not f.startswith("shards/")} == {"manifest.json", ".generate.lock"}
    for workdir in cluster.workdirs:
        assert not [f for f in _files(workdir) if f.endswith((".parquet", ".tmp", "manifest.json"))]


def test_fake_sweep_on_a_cluster_survives_a_killed_worker(tmp_path, jobs):
    client_dir, marker = tmp_path / "client", tmp_path / "marker"
    client_dir.mkdir()
    out = client_dir / "out"
    # The workers import the fake trainers from this repository's tests package.
    cluster = Cluster(tmp_path, client_dir, can_isolate(), PYTHONPATH=str(REPO), **{MARKER_ENV: str(marker)})
    try:
        cluster.wait_for_workers(2)

        def kill_the_stalled_worker() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                text = marker.read_text() if marker.exists() else ""
                if text:
                    os.killpg(os.getpgid(int(text)), signal.SIGKILL)
                    return
                time.sleep(0.1)

        import threading

        killer = threading.Thread(target=kill_the_stalled_worker, daemon=True)
        killer.start()
        with DaskExecutor(scheduler=cluster.address, threads=None) as executor:
            summary = generate(jobs, out, executor=executor, train_fn=stalls_once_train, progress=False)
        killer.join(timeout=1)
        alive = [w.poll() is None for w in cluster.workers]
    finally:
        cluster.close()
    assert marker.read_text() and alive.count(True) == 1, "no worker was killed mid-sweep"
    assert summary.written == len(jobs) and not summary.failed, summary
    expected = generate(jobs, tmp_path / "expected", train_fn=fake_train, progress=False)
    assert expected.written == len(jobs)
    assert verify(out).ok and snapshot(out) == snapshot(tmp_path / "expected")
    assert shard_contents(out) == shard_contents(tmp_path / "expected")  # and snapshot() compared the rows
    _check_nothing_outside_out(client_dir, out, cluster)


def shard_contents(root) -> list:
    """Each shard's name, row count and job facts but where it ran (the workers' environment is not the
    client's, so the bytes differ there)."""
    import pyarrow.parquet as pq

    from curves.schema import job_meta

    out = []
    for path in sorted((root / "shards").glob("*.parquet")):
        table = pq.read_table(path)
        meta = job_meta(table.schema, str(path))
        assert meta.pop("machine")["id"]
        out.append((path.name, table.num_rows, meta))
    return out


@pytest.mark.slow
def test_generate_on_a_cluster_without_shared_filesystem(tmp_path):
    client_dir = tmp_path / "client"  # what the workers must not see
    client_dir.mkdir()
    spec, out, local = client_dir / "spec.gin", client_dir / "out", tmp_path / "local"
    spec.write_text(SPEC)
    isolate = can_isolate()
    cluster = Cluster(tmp_path, client_dir, isolate)
    try:
        # The reference: local worker processes with one TensorFlow thread, as the cluster's workers have.
        reference = subprocess.Popen([sys.executable, "-c", CLI, "curves", "generate", str(spec), "--out",
                                      str(local), "--workers", "1", "--json"], env=_env(), cwd=tmp_path,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cluster.wait_for_workers(2)
        began = time.monotonic()
        client = subprocess.Popen([sys.executable, "-c", CLI, "curves", "generate", str(spec), "--out", str(out),
                                   "--scheduler", cluster.address, "--json"], env=_env(), cwd=client_dir,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Kill one worker once the client has written a shard: its running job must be rerun elsewhere.
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and client.poll() is None:
            if list((out / "shards").glob("*.parquet")):
                break
            time.sleep(0.2)
        done_before_kill = len(list((out / "shards").glob("*.parquet")))
        cluster.kill(cluster.workers[0])
        stdout, stderr = client.communicate(timeout=300)
        seconds = time.monotonic() - began
        assert client.returncode == 0, f"{stderr[-3000:]}\n{cluster.log_tail()}"
        ref_out, ref_err = reference.communicate(timeout=300)
        assert reference.returncode == 0, ref_err[-3000:]
    finally:
        cluster.close()
    summary = json.loads(stdout)
    assert summary["written"] == JOBS and not summary["failed"], summary
    assert done_before_kill < JOBS, "the sweep ended before a worker could be killed"
    assert verify(out).ok and snapshot(out) == snapshot(local)
    _check_nothing_outside_out(client_dir, out, cluster)
    print(f"cluster run: {seconds:.1f} s for {JOBS} jobs, workers isolated by mount namespace: {isolate}")
