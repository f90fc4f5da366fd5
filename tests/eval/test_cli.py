"""`taskset-bench eval`: arguments, exit codes, JSON output and the report it writes (fast trainer)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from eval import trials
from taskset.cli.main import main
from tests.curves.fakes import fake_train


@pytest.fixture
def fast_trainer(monkeypatch):
    monkeypatch.setattr(trials, "_default_train", fake_train)


def test_json_summary_and_report(fast_trainer, list_file, tmp_path, capsys):
    report = tmp_path / "report"
    code = main(["eval", "transformer", "--list", str(list_file), "--trials", "2", "--steps", "20",
                 "--random-repeats", "2", "--report", str(report), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"problem", "preset", "task", "list", "settings", "wall_seconds", "summary"}
    assert out["task"] == "transformer_tiny" and out["list"] == {"name": str(list_file), "family": "nadamw"}
    assert out["settings"]["eval_every"] == 2 and out["settings"]["random_repeats"] == 2
    assert set(out["summary"]) == {"list", "random", "adam_lr_grid", "bayes_opt"}
    assert all(len(s["best_valid_mean"]) == 2 for s in out["summary"].values())
    readme = (report / "README.md").read_text()
    command = (f"taskset-bench eval transformer --list {list_file} --trials 2 --steps 20 --preset tiny "
               f"--eval-every 2 --eval-batches 5 --random-repeats 2 --bo-seeds 1 --replica 0 --report {report}")
    assert command in readme


def test_table_output(fast_trainer, list_file, capsys):
    assert main(["eval", "transformer", "--list", str(list_file), "--trials", "2", "--steps", "10"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("transformer_tiny: best valid_inner loss after j trials")
    assert "method" in out and "adam_lr_grid" in out and "j=2" in out


@pytest.mark.parametrize("argv, message", [
    (["--trials", "0", "--steps", "10"], "trials must be a positive integer, got 0"),
    (["--trials", "2", "--steps", "0"], "steps must be a positive integer, got 0"),
    (["--trials", "9", "--steps", "10"], "trials for the list=9 exceeds the 4 entries available"),
    (["--trials", "2", "--steps", "10", "--dataset", "digits"], "'digits' is not usable by resnet50"),
    (["--trials", "2", "--steps", "10", "--dataset", "imagenette"], "taskset-bench data prepare imagenette"),
    (["--trials", "2", "--steps", "10", "--workers", "-1"], "--workers must be >= 0, got -1"),
])
def test_bad_input_exits_2_with_one_line(argv, message, list_file, capsys, tmp_path, monkeypatch):
    from taskset.datasets.tfds_sets import _is_prepared

    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    _is_prepared.cache_clear()
    assert main(["eval", "resnet50", "--list", str(list_file), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    _is_prepared.cache_clear()


def test_help_does_not_import_tensorflow():
    code = ("import sys\nfrom taskset.cli.main import main\n"
            "try:\n    main(['eval', '--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'tensorflow' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--list NAME|FILE" in done.stdout
