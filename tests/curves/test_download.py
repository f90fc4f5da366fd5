"""Downloads against a local HTTP server on 127.0.0.1 whose misbehaviour the tests control.

Nothing here reaches another machine: every URL is the local server or a
file:// path, and the registered datasets are reached only through the mirror
override.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import http.server
import io
import json
import pathlib
import tarfile
import threading
import urllib.parse
import zipfile

import numpy as np
import pytest

from curves import download as dl
from curves.registry import PUBLISHED_CURVES, TASKSET_FILES, CurveDataset, dataset_files, select_files
from taskset.cli.main import main
from taskset.errors import ConfigError, UnknownNameError

FAST = dl.RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01, timeout=5.0)


@dataclasses.dataclass
class ServerState:
    """What the server serves and how it misbehaves; `log` records (path, Range header)."""

    files: dict[str, bytes] = dataclasses.field(default_factory=dict)
    drop_after: dict[str, list[int]] = dataclasses.field(default_factory=dict)  # path -> bytes sent per request
    fail_first: dict[str, int] = dataclasses.field(default_factory=dict)  # path -> 503 answers before success
    ignore_range: bool = False
    log: list[tuple[str, str | None]] = dataclasses.field(default_factory=list)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        """Silenced, to keep test output clean."""

    def do_GET(self):
        state: ServerState = self.server.state
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        range_header = self.headers.get("Range")
        state.log.append((path, range_header))
        if state.fail_first.get(path, 0) > 0:
            state.fail_first[path] -= 1
            self._empty(503)
            return
        data = state.files.get(path)
        if data is None:
            self._empty(404)
            return
        start = 0
        if range_header and not state.ignore_range:
            start = int(range_header.split("=", 1)[1].split("-", 1)[0])
            if start >= len(data):
                self._empty(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cuts = state.drop_after.get(path)
        if cuts:
            # Send part of the body and hang up: the client sees a short read.
            self.wfile.write(body[:cuts.pop(0)])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def _empty(self, code: int) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def server():
    """A threaded HTTP server on 127.0.0.1; yields (state, base URL)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.state = ServerState()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd.state, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def _no_mirror(monkeypatch, tmp_path):
    """No environment leaks in: no mirror override, a private cache."""
    monkeypatch.delenv(dl.ENV_MIRROR, raising=False)
    monkeypatch.setenv(dl.ENV_CACHE_DIR, str(tmp_path / "cache"))


def payload(n: int = 300_000, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def files_under(root: pathlib.Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# ---------------------------------------------------------------- pure helpers


def test_backoff_doubles_then_caps():
    policy = dl.RetryPolicy(attempts=9, base_delay=0.5, max_delay=3.0)
    assert [dl.backoff_delay(policy, k) for k in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    with pytest.raises(ConfigError, match="attempts"):
        dl.RetryPolicy(attempts=0)


def test_gs_urls_map_to_public_https():
    assert dl.http_url("gs://gresearch/task_set_data") == "https://storage.googleapis.com/gresearch/task_set_data"
    assert dl.join_url("gs://b/p", "t/x y.npz") == "https://storage.googleapis.com/b/p/t/x%20y.npz"
    assert dl.http_url("https://h/x") == "https://h/x"
    with pytest.raises(ConfigError, match="'ftp://h/x'"):
        dl.http_url("ftp://h/x")


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(dl.ENV_CACHE_DIR)
    assert dl.cache_root() == tmp_path / "xdg" / "taskset"
    monkeypatch.setenv(dl.ENV_CACHE_DIR, str(tmp_path / "env"))
    assert dl.cache_root() == tmp_path / "env"
    assert dl.cache_root(tmp_path / "arg") == tmp_path / "arg"
    dataset = PUBLISHED_CURVES.get("taskset-original")
    assert dl.dataset_root(dataset) == tmp_path / "env" / "curves" / "taskset-original" / dataset.version
    assert dl.dataset_root(dataset, out=tmp_path / "o") == tmp_path / "o"


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/etc/passwd", "C:/x", "..\\x", ""])
def test_unsafe_paths_are_refused(name):
    with pytest.raises(dl.UnsafeArchiveError):
        dl.safe_relpath(name)


def test_safe_paths_pass():
    assert dl.safe_relpath("task/a.npz").parts == ("task", "a.npz")


# ---------------------------------------------------------------- one file


def fetch(base, tmp_path, path="/d/f.bin", **kwargs):
    dest = tmp_path / "root" / "f.bin"
    kwargs.setdefault("retry", FAST)
    fetched = dl.fetch_file([base + path], dest, partial=tmp_path / "root" / dl.PARTIAL_DIR, **kwargs)
    return fetched, dest


def test_fetch_places_verified_file_and_skips_it_next_time(server, tmp_path):
    state, base = server
    data = payload()
    state.files["/d/f.bin"] = data
    fetched, dest = fetch(base, tmp_path, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    assert fetched and dest.read_bytes() == data
    assert files_under(tmp_path / "root") == ["f.bin"]
    assert fetch(base, tmp_path)[0] is False
    assert len(state.log) == 1


def test_dropped_connection_resumes_with_range(server, tmp_path):
    state, base = server
    data = payload()
    state.files["/d/f.bin"] = data
    state.drop_after["/d/f.bin"] = [100_000, 50_000]
    seen = []
    fetched, dest = fetch(base, tmp_path, on_bytes=seen.append)
    assert dest.read_bytes() == data
    assert [r for _, r in state.log] == [None, "bytes=100000-", "bytes=150000-"]
    assert sum(seen) == len(data)  # every byte received once


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    state, base = server
    data = payload()
    state.files["/d/f.bin"] = data
    state.ignore_range = True
    part = tmp_path / "root" / dl.PARTIAL_DIR / "f.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"stale bytes of another attempt")
    fetched, dest = fetch(base, tmp_path)
    assert dest.read_bytes() == data
    assert state.log == [("/d/f.bin", f"bytes={len(b'stale bytes of another attempt')}-")]


def test_checksum_mismatch_names_both_digests_and_leaves_nothing(server, tmp_path):
    state, base = server
    data = payload()
    state.files["/d/f.bin"] = data
    with pytest.raises(dl.ChecksumError) as err:
        fetch(base, tmp_path, sha256="0" * 64)
    assert "0" * 64 in str(err.value) and hashlib.sha256(data).hexdigest() in str(err.value)
    assert base + "/d/f.bin" in str(err.value)
    assert files_under(tmp_path / "root") == []


def test_404_names_the_url_and_leaves_nothing(server, tmp_path):
    _, base = server
    with pytest.raises(dl.NotFoundError, match=f"{base}/d/missing.bin does not exist"):
        fetch(base, tmp_path, path="/d/missing.bin")
    assert files_under(tmp_path / "root") == []


def test_server_errors_are_retried_then_given_up(server, tmp_path):
    state, base = server
    state.files["/d/f.bin"] = data = payload(1000)
    state.fail_first["/d/f.bin"] = 2
    assert fetch(base, tmp_path)[1].read_bytes() == data
    state.fail_first["/d/g.bin"] = 5
    state.files["/d/g.bin"] = data
    with pytest.raises(dl.DownloadError, match="HTTP 503.*gave up after 3 attempts"):
        dl.fetch_file([base + "/d/g.bin"], tmp_path / "g.bin", partial=tmp_path / dl.PARTIAL_DIR, retry=FAST)


def test_mirrors_are_tried_in_order(server, tmp_path):
    state, base = server
    state.files["/mirror/f.bin"] = data = payload(5000)
    dest = tmp_path / "f.bin"
    dl.fetch_file([base + "/primary/f.bin", base + "/mirror/f.bin"], dest, partial=tmp_path / dl.PARTIAL_DIR,
                  retry=FAST)
    assert dest.read_bytes() == data
    assert [p for p, _ in state.log] == ["/primary/f.bin", "/mirror/f.bin"]


def test_file_urls_copy_and_resume(tmp_path):
    source = tmp_path / "src.bin"
    source.write_bytes(data := payload(10_000))
    part = tmp_path / "root" / dl.PARTIAL_DIR / "f.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(data[:4000])
    seen = []
    dl.fetch_file([source.as_uri()], tmp_path / "root" / "f.bin", partial=part.parent, on_bytes=seen.append)
    assert (tmp_path / "root" / "f.bin").read_bytes() == data and sum(seen) == 6000
    with pytest.raises(dl.NotFoundError, match="does not exist"):
        dl.fetch_file([(tmp_path / "nope").as_uri()], tmp_path / "x", partial=part.parent)


# ---------------------------------------------------------------- archives


def tar_with(names: dict[str, bytes], link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, data in names.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tf.addfile(info)
    return buffer.getvalue()


def zip_with(names: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in names.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("make", [tar_with, zip_with])
def test_archives_extract_safely(tmp_path, make):
    archive = tmp_path / "a.bin"
    archive.write_bytes(make({"shards/x.parquet": b"x", "manifest.json": b"{}"}))
    written = dl.safe_extract(archive, tmp_path / "out", scratch=tmp_path / "scratch")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == ["manifest.json", "shards/x.parquet"]
    assert (tmp_path / "out" / "shards" / "x.parquet").read_bytes() == b"x"


@pytest.mark.parametrize("make", [tar_with, zip_with])
@pytest.mark.parametrize("evil", ["../evil.txt", "ok/../../evil.txt", "/tmp/evil.txt"])
def test_archive_traversal_is_rejected_and_nothing_extracted(tmp_path, make, evil):
    archive = tmp_path / "a.bin"
    archive.write_bytes(make({"fine.txt": b"fine", evil: b"evil"}))
    with pytest.raises(dl.UnsafeArchiveError, match="refusing"):
        dl.safe_extract(archive, tmp_path / "out", scratch=tmp_path / "scratch")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()


def test_archive_links_are_rejected(tmp_path):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(tar_with({"fine.txt": b"fine"}, link="passwd"))
    with pytest.raises(dl.UnsafeArchiveError, match="link or device"):
        dl.safe_extract(archive, tmp_path / "out", scratch=tmp_path / "scratch")
    assert not (tmp_path / "out").exists()


def test_downloaded_archive_with_traversal_leaves_nothing(server, tmp_path):
    state, base = server
    state.files["/d/a.tar.gz"] = tar_with({"../escape.txt": b"x"})
    with pytest.raises(dl.UnsafeArchiveError):
        dl.fetch_file([base + "/d/a.tar.gz"], tmp_path / "root" / "a.tar.gz", partial=tmp_path / "root" / ".partial",
                      retry=FAST, unpack=lambda p: dl.safe_extract(p, tmp_path / "root", tmp_path / "root/.partial"))
    assert files_under(tmp_path) == []


# ---------------------------------------------------------------- registry


def test_taskset_original_is_registered_with_its_layout():
    dataset = PUBLISHED_CURVES.get("taskset-original")
    assert dataset.urls[0] == "gs://gresearch/task_set_data"
    assert dataset.index_file == "task_names.txt" and "sha256" not in dataset.checksums.split(":")[0]
    files = dataset_files(dataset, b"mlp_family_seed1\nFixedMLP_x\n\n")
    assert [f.path for f in files[:5]] == [f"mlp_family_seed1/{name}" for name in TASKSET_FILES.values()]
    assert all(f.sha256 is None and f.size is None for f in files)
    with pytest.raises(UnknownNameError, match="did you mean 'taskset-original'"):
        PUBLISHED_CURVES.get("taskset-orignal")


def test_select_files_by_pattern_and_family():
    files = dataset_files(PUBLISHED_CURVES.get("taskset-original"), b"mlp_family_seed1\nmlp_family_seed2\nconv_family_seed1\n")
    chosen = select_files(files, ["mlp_*"], ["adam8p", "nadamw"])
    assert [f.path for f in chosen] == ["mlp_family_seed1/adam8p_wide_grid_1k_10000_replica5.npz",
                                        "mlp_family_seed1/nadamw_grid_1k_10000_replica5.npz",
                                        "mlp_family_seed2/adam8p_wide_grid_1k_10000_replica5.npz",
                                        "mlp_family_seed2/nadamw_grid_1k_10000_replica5.npz"]
    with pytest.raises(ConfigError, match="'rnn_\\*' matches none"):
        select_files(files, ["rnn_*"])
    with pytest.raises(ConfigError, match="'sgd' is not in this dataset"):
        select_files(files, [], ["sgd"])


# ---------------------------------------------------------------- whole datasets


def taskset_npz(configs: int = 3, seed: int = 0, family: str = "adam8p") -> bytes:
    """A file in TaskSet's exact layout."""
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    prefix = "nadamw_grid" if family == "nadamw" else f"{family}_wide_grid"
    np.savez(buffer, optimizers=np.array([f"{prefix}_seed{i}" for i in range(configs)]),
             xs=np.arange(0, 10001, 200), ys=rng.random((configs, 5, 51, 4), dtype=np.float32))
    return buffer.getvalue()


def serve_taskset(state: ServerState, tasks: list[str], prefix: str = "/task_set_data") -> None:
    state.files[f"{prefix}/task_names.txt"] = ("\n".join(tasks) + "\n").encode()
    for i, task in enumerate(tasks):
        for j, (family, name) in enumerate(TASKSET_FILES.items()):
            state.files[f"{prefix}/{task}/{name}"] = taskset_npz(seed=10 * i + j, family=family)


def test_cli_downloads_a_selection_of_taskset_original_through_the_mirror(server, tmp_path, capsys):
    state, base = server
    serve_taskset(state, ["mlp_family_seed1", "mlp_family_seed12", "conv_pooling_family_seed1"])
    out = tmp_path / "taskset"
    argv = ["curves", "download", "taskset-original", "--tasks", "mlp_family_seed1*", "--optimizer-family",
            "adam8p", "--optimizer-family", "nadamw", "--out", str(out), "--mirror", base + "/task_set_data",
            "--workers", "3", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["files"], report["fetched"], report["present"]) == (4, 4, 0)
    assert files_under(out) == sorted([
        ".download.lock", ".index/task_names.txt", "task_names.txt",
        "mlp_family_seed1/adam8p_wide_grid_1k_10000_replica5.npz",
        "mlp_family_seed1/nadamw_grid_1k_10000_replica5.npz",
        "mlp_family_seed12/adam8p_wide_grid_1k_10000_replica5.npz",
        "mlp_family_seed12/nadamw_grid_1k_10000_replica5.npz"])
    for task in ("mlp_family_seed1", "mlp_family_seed12"):
        name = TASKSET_FILES["nadamw"]
        assert (out / task / name).read_bytes() == state.files[f"/task_set_data/{task}/{name}"]
    requests = len(state.log)
    assert main(argv) == 0  # everything present: no data requests, the index is cached
    assert json.loads(capsys.readouterr().out)["present"] == 4 and len(state.log) == requests


def test_env_mirror_and_cache_dir(server, tmp_path, monkeypatch):
    state, base = server
    serve_taskset(state, ["quadratic_family_seed3"], prefix="/m")
    monkeypatch.setenv(dl.ENV_MIRROR, base + "/m")
    report = dl.download_dataset("taskset-original", optimizer_families=["adam1p"], progress=False)
    root = tmp_path / "cache" / "curves" / "taskset-original" / PUBLISHED_CURVES.get("taskset-original").version
    assert report.root == root and report.fetched == 1
    assert (root / "quadratic_family_seed3" / TASKSET_FILES["adam1p"]).is_file()


def test_malformed_npz_is_rejected_and_deleted(server, tmp_path):
    state, base = server
    serve_taskset(state, ["mlp_family_seed1"])
    state.files["/task_set_data/mlp_family_seed1/" + TASKSET_FILES["adam4p"]] = b"<html>not an npz</html>"
    with pytest.raises(dl.ChecksumError, match="malformed.*not a readable npz"):
        dl.download_dataset("taskset-original", optimizer_families=["adam4p"], out=tmp_path / "o",
                            mirror=base + "/task_set_data", retry=FAST, progress=False)
    assert not list((tmp_path / "o").rglob("*.npz")) and not list((tmp_path / "o").rglob("*.part"))


def test_cli_errors_are_one_line_exit_2(server, tmp_path, capsys):
    state, base = server
    serve_taskset(state, ["mlp_family_seed1"])
    assert main(["curves", "download", "taskset-original", "--tasks", "rnn*", "--out", str(tmp_path / "a"),
                 "--mirror", base + "/task_set_data"]) == 2
    assert "--tasks 'rnn*' matches none of the 1 tasks" in capsys.readouterr().err
    assert main(["curves", "download", "taskset-original", "--out", str(tmp_path / "b"),
                 "--mirror", base + "/nothing"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{base}/nothing/task_names.txt does not exist (HTTP 404)" in err


def test_a_second_download_into_the_same_root_is_refused(server, tmp_path):
    _, base = server
    root = tmp_path / "o"
    root.mkdir()
    with open(root / dl.LOCK_NAME, "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        with pytest.raises(dl.DownloadError, match="another download is writing"):
            dl.download_dataset("taskset-original", out=root, mirror=base, progress=False)


def test_curve_directory_dataset_verifies_every_shard(store_dir, tmp_path):
    """A dataset in this project's layout (like taskset-mini), served from file://."""
    from curves import read, verify

    from curves.registry import shipped_version

    dataset = CurveDataset(name="test-curves", version=shipped_version(store_dir), description="d", licence="l",
                           urls=(store_dir.as_uri(),), layout="taskset-curves", checksums="sha256")
    with PUBLISHED_CURVES.temporary("test-curves", dataset):
        report = dl.download_dataset("test-curves", tasks=["mlp_seed12"], progress=False)
        assert report.fetched == report.files == 4  # 2 replicas x 2 populations
        root = report.root
        assert verify(root).ok and set(read(root, columns=["task"])["task"]) == {"mlp_seed12"}
        assert dl.local_dataset("test-curves") == root  # what `curves.read(name)` calls: fetches the rest
        assert verify(root).ok and len(read(root, columns=["task"])) == len(read(store_dir, columns=["task"]))
        assert dl.download_dataset("test-curves", progress=False).present == 8

        manifest = json.loads((store_dir / "manifest.json").read_text())
        victim = sorted(manifest["shards"].values(), key=lambda e: e["file"])[0]
        (store_dir / victim["file"]).write_bytes(b"tampered")
        with pytest.raises(dl.ChecksumError, match=f"expected {victim['bytes']} bytes|sha256 mismatch"):
            dl.download_dataset("test-curves", out=tmp_path / "fresh", progress=False)
        assert not (tmp_path / "fresh" / victim["file"]).exists()
        assert not list((tmp_path / "fresh").rglob("*.part"))


def test_remote_file_paths_from_an_index_cannot_escape(server, tmp_path):
    state, base = server
    state.files["/evil/task_names.txt"] = b"../../outside\n"
    with pytest.raises(dl.DownloadError, match="'../../outside"):  # refused as a task name, before any path
        dl.download_dataset("taskset-original", out=tmp_path / "o", mirror=base + "/evil", retry=FAST,
                            progress=False)
    assert not (tmp_path / "outside").exists()


def test_npz_layout_refuses_local_read():
    with pytest.raises(ConfigError, match="convert-taskset"):
        dl.local_dataset("taskset-original")


def test_a_regenerated_shipped_dataset_gets_a_fresh_cache_version(tmp_path):
    from curves.registry import MINI_DIR, get_dataset, shipped_version

    (tmp_path / "manifest.json").write_text('{"shards": []}')
    before = shipped_version(tmp_path)
    (tmp_path / "manifest.json").write_text('{"shards": ["one more"]}')
    assert shipped_version(tmp_path) != before
    assert get_dataset("taskset-mini").version == shipped_version(MINI_DIR)
