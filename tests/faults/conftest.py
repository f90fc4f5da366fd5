"""Fixtures of the fault tests: small, real curve directories copied into tmp_path."""

from __future__ import annotations

import http.server
import pathlib
import shutil
import threading
import urllib.parse

import pytest

DATA = pathlib.Path(__file__).resolve().parents[2] / "curves" / "data"


@pytest.fixture
def reference_copy(tmp_path) -> pathlib.Path:
    """A copy of the shipped quick-reference dataset (10 shards, 330 curves)."""
    out = tmp_path / "quick-reference"
    shutil.copytree(DATA / "quick-reference", out)
    try:
        from curves.integrity import clear_cache
    except ImportError:  # a taskset without verified reads: the tests then fail on their own asserts
        return out
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


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves `server.files` {path: bytes} with status 200; 404 for anything else."""

    def log_message(self, *args):
        """Silenced."""

    def do_GET(self):
        data = self.server.files.get(urllib.parse.unquote(self.path))
        self.send_response(200 if data is not None else 404)
        data = data if data is not None else b""
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def http_files():
    """(files dict to fill, base URL) of a threaded HTTP server on 127.0.0.1."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.files = {}
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd.files, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def private_cache(monkeypatch, tmp_path) -> pathlib.Path:
    """An empty $TASKSET_CACHE_DIR and no mirror override."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("TASKSET_CACHE_DIR", str(cache))
    monkeypatch.delenv("TASKSET_CURVES_MIRROR", raising=False)
    return cache
