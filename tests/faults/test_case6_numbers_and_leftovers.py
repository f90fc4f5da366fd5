"""Issue 17, case 6: bad numbers and bytes are exit 2 with one line; network failures exit 1 with the URL;
failed downloads, extractions and conversions leave nothing behind; files get ordinary permissions;
"N tasks are known" counts the catalogue."""

from __future__ import annotations

import io
import os
import socket
import stat
import zipfile

import pytest

from taskset.cli.main import main


def _exit_2_one_line(capsys, argv, *needles):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert all(n in err for n in needles), err


@pytest.mark.parametrize("option, value", [("--steps", "99999999999999999999"), ("--eval-batches", "99999999999999")])
def test_train_numbers_beyond_their_bounds(capsys, monkeypatch, option, value):
    monkeypatch.setattr("taskset.training.train", lambda *a, **k: pytest.fail("trained"))
    argv = ["train", "quadratic_seed0", "--optimizer", "adam_default", "--steps", "4", option, value]
    _exit_2_one_line(capsys, argv, option, "at most")


def test_sweep_steps_beyond_bound_and_undecodable_specs(tmp_path, capsys):
    spec = tmp_path / "big.gin"
    spec.write_text("sweep.name = 'big'\nsweep.steps = 100000000000000000000\nsweep.eval_every = 10\n"
                    "tasks.names = ['quadratic_seed0']\noptimizers.names = ['adam_default']\n")
    _exit_2_one_line(capsys, ["curves", "plan", str(spec)], "sweep.steps", "10,000,000")
    binary = tmp_path / "binary.gin"
    binary.write_bytes(b"\xff\xfe\x00sweep.steps = 1\n")
    _exit_2_one_line(capsys, ["curves", "plan", str(binary)], "not UTF-8")


def test_negative_seed(tmp_path, capsys):
    _exit_2_one_line(capsys, ["lists", "evaluate", "nadamw-mini", "--report", str(tmp_path / "r"), "--seed", "-5"],
                     "--seed", "-5")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("content", [None, "notes.txt"])
def test_compact_refuses_an_empty_or_unrelated_directory(tmp_path, capsys, content):
    target = tmp_path / "d"
    target.mkdir()
    if content:
        (target / content).write_text("mine")
    _exit_2_one_line(capsys, ["curves", "compact", str(target)], "not a curve directory")
    assert sorted(p.name for p in target.iterdir()) == ([content] if content else [])


def test_a_server_that_is_down_exits_1_naming_the_url_and_leaves_nothing(tmp_path, capsys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "o"
    assert main(["curves", "download", "taskset-original", "--mirror", f"http://127.0.0.1:{port}/x",
                 "--out", str(out), "--retries", "1"]) == 1
    assert f"http://127.0.0.1:{port}/x/task_names.txt" in capsys.readouterr().err
    assert not out.exists()


def test_a_zip_with_a_bad_crc_in_its_second_member_leaves_nothing(tmp_path):
    from curves import download as dl

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("a.txt", b"first member " * 100)
        zf.writestr("b.txt", b"second member " * 100)
    data = bytearray(buffer.getvalue())
    data[data.index(b"second member") + 5] ^= 0xFF  # the stored bytes no longer match the CRC
    source = tmp_path / "src"
    source.mkdir()
    (source / "bundle.zip").write_bytes(bytes(data))
    root = tmp_path / "root"
    with pytest.raises(dl.DownloadError, match="bundle.zip"):
        dl.fetch_file([(source / "bundle.zip").as_uri()], root / "bundle.zip", partial=root / dl.PARTIAL_DIR,
                      unpack=lambda part: dl.safe_extract(part, dest=root, scratch=root / dl.PARTIAL_DIR))
    assert [p for p in root.rglob("*") if p.is_file()] == []


def test_a_failed_conversion_leaves_no_curve_directory(tmp_path, capsys):
    src = tmp_path / "taskset"
    (src / "mlp_family_seed1").mkdir(parents=True)
    (src / "mlp_family_seed1" / "adam1p_wide_grid_1k_10000_replica5.npz").write_bytes(b"not an npz")
    out = tmp_path / "converted"
    assert main(["curves", "convert-taskset", str(src), "--out", str(out)]) == 2
    assert not out.exists()


def test_manifest_gets_the_permissions_of_its_shards(tiny_curves):
    shard = next((tiny_curves / "shards").glob("*.parquet"))
    mode = stat.S_IMODE(os.stat(tiny_curves / "manifest.json").st_mode)
    assert mode == stat.S_IMODE(os.stat(shard).st_mode)  # not 0600 while shards follow the umask


def test_the_known_count_is_the_whole_catalogue(capsys):
    from taskset.tasks import task_names

    _exit_2_one_line(capsys, ["train", "zzzzzzzzzzzz", "--optimizer", "adam_default", "--steps", "4"],
                     f"{len(task_names())} are known")
