"""Issue 17, case 1: a mirror cannot replace a registered dataset, and a bad index is never cached."""

from __future__ import annotations

import pytest

import curves
from curves.registry import MINI_DIR, TASKSET_FILES
from taskset.cli.main import main


def test_a_mirror_of_another_dataset_is_refused_and_nothing_is_cached(tiny_curves, private_cache, capsys):
    code = main(["curves", "download", "taskset-mini", "--mirror", tiny_curves.as_uri(), "--json"])
    err = capsys.readouterr().err
    assert code == 1 and "registered as version" in err and "manifest.json" in err
    assert not (private_cache / "curves" / "taskset-mini").exists()  # nothing cached, not even a directory
    # The name still means the shipped data, not the mirror's 4 rows.
    frame = curves.read("taskset-mini", columns=["task"])
    assert len(frame) == 24150


def test_an_html_index_is_not_cached_and_does_not_poison_a_later_download(http_files, tmp_path, capsys):
    files, base = http_files
    files["/bad/task_names.txt"] = b"<!DOCTYPE html>\n<html><body>Sign in</body></html>\n"
    out = tmp_path / "original"
    argv = ["curves", "download", "taskset-original", "--out", str(out), "--retries", "1", "--json"]
    assert main(argv + ["--mirror", base + "/bad"]) == 1
    assert "not a task list" in capsys.readouterr().err
    assert not out.exists()
    # A good mirror afterwards: the download works in the same directory.
    import io

    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, optimizers=np.array(["c0"]), xs=np.arange(3) * 5000, ys=np.ones((1, 5, 3, 4), np.float32))
    files["/good/task_names.txt"] = b"quadratic_family_seed1\n"
    for name in TASKSET_FILES.values():
        files[f"/good/quadratic_family_seed1/{name}"] = buf.getvalue()
    assert main(argv + ["--mirror", base + "/good", "--optimizer-family", "adam1p"]) == 0
    assert (out / "task_names.txt").read_bytes() == b"quadratic_family_seed1\n"


def test_a_manifest_of_another_version_is_refused(http_files, tmp_path, capsys):
    files, base = http_files
    edited = MINI_DIR.joinpath("manifest.json").read_bytes().replace(b'"rows": 161', b'"rows": 162', 1)
    assert edited != MINI_DIR.joinpath("manifest.json").read_bytes()
    files["/m/manifest.json"] = edited
    assert main(["curves", "download", "taskset-mini", "--out", str(tmp_path / "m"), "--mirror", base + "/m",
                 "--retries", "1"]) == 1
    assert not (tmp_path / "m").exists()
