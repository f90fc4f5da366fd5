"""`taskset-bench benchmark` end to end on the shipped quick reference, and its exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid

import pytest

from curves import load_spec, read, verify
from eval.benchmark.suites import QUICK_STEPS, QUICK_TASKS, SUITES
from taskset.cli.main import main

SPEC = "curves/specs/quick_reference.gin"
TWO_TASKS = ["fixed_quadratic_10d_logspace_1e3", "fixed_2d_rosenbrock"]  # the two cheapest quick tasks


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    # Reading the reference by name copies it into the cache: keep that in the test's directory.
    monkeypatch.setenv("TASKSET_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """An importable module with a Keras Adam factory and an update-rule factory; returns its name."""
    name = f"bench_cli_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent("""
        from taskset.optimizers import get_rule

        def keras_adam():
            import keras
            return keras.optimizers.Adam(learning_rate=1e-3)

        def adam_rule():
            return get_rule("adam1p"), {"lr": 1e-3}
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(["benchmark", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_quick_suite_matches_its_reference_spec():
    spec = load_spec(SPEC)
    assert [t.name for t in spec.tasks] == list(QUICK_TASKS)
    assert spec.settings.steps == QUICK_STEPS == SUITES.get("quick").steps
    assert len(spec.optimizers) == 33 and spec.optimizers[0].name == "adam_default"


def test_shipped_reference_is_complete_and_small():
    import pathlib

    root = pathlib.Path("curves/data/quick-reference")
    assert verify(root).ok
    assert sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) < 3_000_000
    frame = read(root, columns=["task", "optimizer", "steps"])
    assert sorted(set(frame["task"].astype(str))) == sorted(QUICK_TASKS)
    assert len(frame) == len(QUICK_TASKS) * 33
    assert {int(s[-1]) for s in frame["steps"]} == {QUICK_STEPS}


@pytest.mark.parametrize("spec, fragment", [
    ("adam_defualt", "did you mean 'adam_default'"),
    ("no_such_module_xyz:make", "cannot import module"),
    ("json:dumps", "calling it raised TypeError"),
    ("os:getcwd", "returned str"),
])
def test_bad_spec_exits_2_with_one_line(capsys, spec, fragment):
    code, out, err = run_cli(capsys, "--optimizer", "adam_default", "--optimizer", spec, "--workers", "0")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and repr(spec) in err and fragment in err


@pytest.mark.parametrize("args, fragment", [
    (["--tasks", "fixed_mlp_digits_32x2_relu_bs64"], "matches none of the 10 tasks of suite 'quick'"),
    (["--reference", "quick-reference", "--tasks", "mlp_seed*"], "of the reference 'quick-reference'"),
    (["--tasks", TWO_TASKS[0], "--steps", "100"], "no 100-step curves for fixed_quadratic_10d_logspace_1e3"),
    (["--tasks", "no_such_task*"], "matches none of the 10 tasks of suite 'quick'"),
    (["--suite", "quik"], "did you mean 'quick'"),
    (["--replicas", "0"], "replicas must be a positive integer"),
    (["--reference", "/no/such/dir"], "neither a curve directory nor a registered curve dataset"),
])
def test_unusable_settings_exit_2(capsys, args, fragment):
    code, out, err = run_cli(capsys, "--optimizer", "adam_default", "--workers", "0", *args)
    assert code == 2, err
    assert fragment in err and err.count("\n") == 1


def test_tasks_patterns_select_from_the_suites_tasks():
    from taskset.cli.benchmark import _settings
    from taskset.cli.main import build_parser

    args = build_parser().parse_args(["benchmark", "--optimizer", "adam_default", "--suite", "mini",
                                      "--tasks", "fixed_2d_rosen*", "--tasks", "mlp_seed2*"])
    settings = _settings(args)
    assert settings.reference == "taskset-mini" and settings.steps is None
    assert settings.tasks == ("fixed_2d_rosenbrock", "fixed_2d_rosenbrock_noisy", "mlp_seed21")


def test_parser_does_not_import_tensorflow():
    code = ("import sys; from taskset.cli.main import build_parser; build_parser(); "
            "assert 'tensorflow' not in sys.modules and 'eval.benchmark' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_two_task_benchmark_with_builtin_rule_and_keras_optimizers(capsys, tmp_path, user_module):
    report = tmp_path / "report"
    keras_spec, rule_spec = f"{user_module}:keras_adam", f"{user_module}:adam_rule"
    code, out, err = run_cli(capsys, "--optimizer", "adam_default", "--optimizer", rule_spec,
                             "--optimizer", keras_spec, "--tasks", TWO_TASKS[0], "--tasks", TWO_TASKS[1],
                             "--workers", "0", "--report", str(report), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary == json.loads((report / "summary.json").read_text())
    assert summary["format"] == "taskset-benchmark" and summary["tasks"] == TWO_TASKS  # the suite's order
    assert summary["schedules"][TWO_TASKS[0]] == {"steps": QUICK_STEPS, "eval_every": QUICK_STEPS // 10}
    assert summary["reference"]["configs"] == 33
    assert summary["baselines"]["adam_default"]["source"] == "reference"
    by_spec = {o["spec"]: o for o in summary["optimizers"]}
    assert [o["kind"] for o in summary["optimizers"]] == ["config", "rule", "keras"]
    adam_scores = summary["baselines"]["adam_default"]["scores"]
    for task in TWO_TASKS:
        # Rerunning a reference config reproduces its reference curve; the same rule from a
        # factory runs in the same trainer; Keras's Adam (eps 1e-7 instead of 1e-8) in its own loop.
        for spec in ("adam_default", rule_spec, keras_spec):
            assert by_spec[spec]["tasks"][task]["score"] == pytest.approx(adam_scores[task], abs=1e-3), spec
    assert by_spec["adam_default"]["win_rate"]["adam_default"] == 0.5
    assert by_spec["adam_default"]["tasks"][TWO_TASKS[0]]["win"]["adam_default"] == 0.5
    assert summary["weighting"] == "family" and summary["tie_rtol"] == 1e-3
    assert sum(summary["weights"].values()) == pytest.approx(1.0)
    for o in summary["optimizers"]:
        assert o["mean_score"] <= 1 and o["score_ci"][0] <= o["mean_score"] <= o["score_ci"][1]
        assert set(o["tasks"][TWO_TASKS[0]]) == {"score", "score_mean", "final_loss", "percentile", "win", "target",
                                                  "time_to_target", "diverged", "replicas", "replica_scores"}
        assert set(o["families"]) == {summary["families"][t] for t in TWO_TASKS}
    for name in ("report.md", "profile.png", "scores.png", "curves.png"):
        assert (report / name).stat().st_size > 0
    text = (report / "report.md").read_text()
    assert keras_spec in text and "## Per family" in text
    assert verify(report / "curves").ok
    curves = read(report / "curves", columns=["task", "optimizer", "optimizer_family"])
    # The three contenders and the shipped list's first entry, a baseline no reference holds.
    listed = summary["baselines"]["list"]
    assert listed["label"] == "list:nadamw-mini:0" and listed["source"] == "run"
    assert len(curves) == 2 * 4
    assert set(curves["optimizer_family"].astype(str)) == {"adam1p", f"rule:{rule_spec}", f"keras:{keras_spec}",
                                                           "nadamw"}

    # A rerun into the same directory trains nothing and reports the same scores.
    shards = sorted(p.name for p in (report / "curves" / "shards").iterdir())
    code, out, err = run_cli(capsys, "--optimizer", "adam_default", "--tasks", TWO_TASKS[0], "--tasks",
                             TWO_TASKS[1], "--workers", "0", "--report", str(report))
    assert code == 0, err
    assert sorted(p.name for p in (report / "curves" / "shards").iterdir()) == shards
    assert "adam_default" in out and "report:" in out

    # With stderr not a terminal (here: captured), each finished job is one line of progress.
    code, out, err = run_cli(capsys, "--optimizer", "nadamw_seed0", "--tasks", TWO_TASKS[0], "--workers", "0",
                             "--report", str(report))
    assert code == 0, err
    assert err.startswith(f"benchmark: 1/1 jobs done ({TWO_TASKS[0]} replica 0), ") and err.count("\n") == 1


@pytest.mark.slow
def test_quick_suite_end_to_end(capsys):
    code, out, err = run_cli(capsys, "--optimizer", "adam_default", "--workers", "2", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["tasks"] == list(QUICK_TASKS)
    (result,) = summary["optimizers"]
    # adam_default is a reference config with stable trajectories: rerun, it reproduces its
    # reference curves up to float32 rounding and ties itself on every task.
    reference = summary["baselines"]["adam_default"]
    assert reference["source"] == "reference"
    for task, r in result["tasks"].items():
        assert r["score"] == pytest.approx(reference["scores"][task], abs=1e-4), task
    assert result["win_rate"]["adam_default"] == 0.5
    assert result["tasks_reaching_target"] >= 8
