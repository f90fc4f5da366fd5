import json
import subprocess
import sys

import pytest

from hparam_lists import load_list
from taskset.cli import main


@pytest.fixture(scope="module")
def fitted(curve_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("fit") / "nadamw.json"
    assert main(["lists", "fit", "--curves", str(curve_dir), "--family", "nadamw", "--size", "6",
                 "--out", str(out)]) == 0
    return out


def test_fit_writes_a_list_from_the_real_store(fitted, curve_dir):
    hparam_list = load_list(fitted)
    assert len(hparam_list) == 6 and all(e.family == "nadamw" for e in hparam_list.entries)
    assert len(hparam_list.fit.train_tasks) == 8 and hparam_list.fit.pool_size == 24
    assert hparam_list.dataset == str(curve_dir) and len(hparam_list.manifest_sha256) == 64
    scores = [e.train_score for e in hparam_list.entries]
    assert scores == sorted(scores, reverse=True)
    # The fake tasks all prefer lr near 1e-3: the first entry is a small, non-diverging rate.
    assert 1e-5 < hparam_list.entries[0].hparams["lr"] < 1e-1


def test_fit_json_is_the_artifact(curve_dir, tmp_path, capsys):
    out = tmp_path / "l.json"
    assert main(["lists", "fit", "--curves", str(curve_dir), "--family", "nadamw", "--size", "2", "--out", str(out),
                 "--aggregation", "mean", "--tasks", "mlp_seed0,mlp_seed1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert printed["fit"]["aggregation"] == "mean" and printed["fit"]["train_tasks"] == ["mlp_seed0", "mlp_seed1"]


def test_show_text_and_json(fitted, capsys):
    assert main(["lists", "show", str(fitted)]) == 0
    text = capsys.readouterr().out
    assert "family: nadamw" in text and "source config" in text and text.count("nadamw_seed") >= 6
    assert main(["lists", "show", str(fitted), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(fitted.read_text())


def test_evaluate_writes_the_report_and_results(fitted, curve_dir, tmp_path, capsys):
    report = tmp_path / "report"
    assert main(["lists", "evaluate", str(fitted), "--curves", str(curve_dir), "--report", str(report),
                 "--folds", "2", "--trials", "4", "--bo-seeds", "1", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results == json.loads((report / "results.json").read_text())
    assert set(results["protocols"]) == {"kfold", "leave_one_family_out", "as_given"}
    kfold = results["protocols"]["kfold"]
    assert set(kfold["methods"]) == {"list", "random_search", "bayes_opt", "best_single", "adam_default"}
    assert kfold["methods"]["list"][-1] <= kfold["methods"]["random_search"][-1]
    assert set(kfold["per_family"]) == {"mlp", "quadratic"}
    for name in ("report.md", "kfold.png", "kfold_families.png", "leave_one_family_out.png", "as_given.png"):
        assert (report / name).stat().st_size > 0
    markdown = (report / "report.md").read_text()
    assert "## kfold" in markdown and "![kfold](kfold.png)" in markdown and "speed-up" in markdown


def test_evaluate_on_worker_processes_gives_the_same_results(fitted, curve_dir, tmp_path, capsys):
    results = []
    for workers in ("1", "2"):
        assert main(["lists", "evaluate", str(fitted), "--curves", str(curve_dir), "--report",
                     str(tmp_path / workers), "--folds", "2", "--trials", "4", "--bo-seeds", "2", "--workers", workers,
                     "--json"]) == 0
        results.append(json.loads(capsys.readouterr().out))
    assert results[0] == results[1]
    assert results[0]["protocols"]["kfold"]["methods"]["bayes_opt"]


def test_evaluate_text_summary(fitted, curve_dir, tmp_path, capsys):
    assert main(["lists", "evaluate", str(fitted), "--curves", str(curve_dir), "--report", str(tmp_path / "r"),
                 "--folds", "2", "--trials", "2", "--bo-seeds", "0"]) == 0
    out = capsys.readouterr().out
    assert "kfold (mean best test score" in out and "speed-up vs random" in out and "report:" in out


@pytest.mark.parametrize("args, message", [
    (["lists", "fit", "--curves", "{dir}", "--family", "adam8p", "--size", "2", "--out", "{tmp}/x.json"],
     "no curves of optimizer family 'adam8p'"),
    (["lists", "fit", "--curves", "{dir}", "--family", "nadamw", "--size", "0", "--out", "{tmp}/x.json"],
     "list size must be an integer in [1, 24]"),
    (["lists", "fit", "--curves", "{tmp}/nowhere", "--family", "nadamw", "--out", "{tmp}/x.json"],
     "is neither a curve directory nor a registered curve dataset"),
    (["lists", "show", "{tmp}/missing.json"], "does not exist"),
    (["lists", "show", "no_such_list"], "unknown hyperparameter list 'no_such_list'"),
    (["lists", "evaluate", "{list}", "--curves", "{dir}", "--report", "{tmp}/r", "--folds", "1"],
     "folds must be an integer in [2, 8]"),
    (["lists", "evaluate", "{list}", "--curves", "{dir}", "--report", "{tmp}/r", "--bo-seeds", "-1"],
     "--bo-seeds must be a non-negative integer, got -1"),
    (["lists", "evaluate", "{list}", "--curves", "{dir}", "--report", "{tmp}/r", "--workers", "0"],
     "--workers must be an integer from 1 to 256, got 0"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, curve_dir, fitted, tmp_path, capsys):
    args = [a.format(dir=curve_dir, tmp=tmp_path, list=fitted) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_show_does_not_import_tensorflow(fitted):
    code = (f"import sys; from taskset.cli import main; main(['lists', 'show', {str(fitted)!r}, '--json']); "
            "sys.stderr.write('TF=' + str('tensorflow' in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.endswith("TF=False")


def test_the_parser_offers_exactly_the_library_choices():
    from hparam_lists.normalize import AGGREGATIONS
    from hparam_lists.weighting import WEIGHTINGS
    from taskset.cli import lists

    assert lists.AGGREGATIONS == AGGREGATIONS and lists.WEIGHTINGS == WEIGHTINGS
