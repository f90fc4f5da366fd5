"""Issue 17, case 5: a bad output path is refused before any work (exit 2 naming it), and a result that
still cannot be written afterwards is saved next to it or in a temporary file whose path is printed."""

from __future__ import annotations

import json
import pathlib

import pytest

import taskset.paths
from taskset.cli.main import main


@pytest.fixture
def no_training(monkeypatch):
    """Any training call fails the test: the checks must come first."""
    def refuse(*args, **kwargs):
        raise AssertionError("work started before the output path was checked")

    monkeypatch.setattr("taskset.training.train", refuse)
    monkeypatch.setattr("eval.protocol.run_protocol", refuse)
    monkeypatch.setattr("curves.runner.generate", refuse)


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert all(n in err for n in needles), err


def test_train_out_that_is_a_directory(tmp_path, capsys, no_training):
    (tmp_path / "x.parquet").mkdir()
    out = str(tmp_path / "x.parquet")
    assert main(["train", "quadratic_seed0", "--optimizer", "adam_default", "--steps", "4", "--out", out]) == 2
    _one_line_error(capsys, "--out", out, "is a directory")


def test_eval_report_that_is_a_file(tmp_path, capsys, no_training):
    report = tmp_path / "report.md"
    report.write_text("an existing file")
    assert main(["eval", "transformer", "--list", "nadamw-mini", "--trials", "2", "--steps", "10",
                 "--report", str(report)]) == 2
    _one_line_error(capsys, "--report", str(report))


def test_lists_fit_out_in_a_missing_directory_is_created(tmp_path, capsys, reference_copy):
    out = tmp_path / "nosuchdir" / "l.json"
    assert main(["lists", "fit", "--curves", str(reference_copy), "--family", "adam8p", "--size", "2",
                 "--out", str(out), "--json"]) == 0
    assert json.loads(out.read_text())["entries"]
    below_a_file = tmp_path / "l.json" / "x.json"
    (tmp_path / "l.json").write_text("{}")
    assert main(["lists", "fit", "--curves", str(reference_copy), "--family", "adam8p", "--size", "2",
                 "--out", str(below_a_file)]) == 2
    _one_line_error(capsys, "--out", str(below_a_file))


def test_curves_generate_out_that_cannot_be_created(tmp_path, capsys, no_training):
    spec = tmp_path / "tiny.gin"
    spec.write_text("sweep.name = 'tiny'\nsweep.steps = 4\nsweep.eval_every = 2\n"
                    "tasks.names = ['quadratic_seed0']\noptimizers.names = ['adam_default']\n")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    out = str(blocker / "curves")
    assert main(["curves", "generate", str(spec), "--out", out, "--workers", "0"]) == 2
    _one_line_error(capsys, "--out", out)
    assert not (blocker.parent / "curves").exists()


def _refuse_writes(monkeypatch, refuse) -> list:
    """Makes every atomic write to a path for which `refuse(path)` holds fail with ENOSPC."""
    real = taskset.paths.atomic_open
    refused = []

    def atomic_open(path):
        if refuse(pathlib.Path(path)):
            refused.append(path)
            raise OSError(28, "No space left on device", str(path))
        return real(path)

    monkeypatch.setattr(taskset.paths, "atomic_open", atomic_open)
    return refused


def test_a_result_that_cannot_be_written_after_work_goes_next_to_it(tmp_path, capsys, monkeypatch, reference_copy):
    out = tmp_path / "l.json"
    refused = _refuse_writes(monkeypatch, lambda path: path == out)
    assert main(["lists", "fit", "--curves", str(reference_copy), "--family", "adam8p", "--size", "2",
                 "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert refused and not out.exists()
    written = pathlib.Path(err.split("written to ")[1].split("'")[1])
    assert written.parent == tmp_path and json.loads(written.read_text())["entries"]


def test_train_curves_are_kept_when_out_fails_after_training(tmp_path, capsys, monkeypatch):
    from tests.curves.fakes import fake_train

    monkeypatch.setattr("taskset.training.train", lambda *a, progress=None, **k: fake_train(*a, **k))
    out = tmp_path / "c.parquet"
    _refuse_writes(monkeypatch, lambda path: path.parent == tmp_path)  # nothing next to it either: a temp file
    assert main(["train", "quadratic_seed0", "--optimizer", "adam_default", "--steps", "4", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    written = pathlib.Path(err.split("written to ")[1].split("'")[1])
    import pyarrow.parquet as pq

    assert not out.exists() and pq.read_table(written).num_rows == 1
    written.unlink()
