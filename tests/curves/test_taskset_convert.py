"""TaskSet npz -> curve store: files built here in TaskSet's exact layout, values compared bit for bit."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from curves import read, verify
from hparam_lists import fit, load_list, optimizer_from_list
from curves import taskset_convert as tc
from curves.registry import TASKSET_FILES
from taskset.cli.main import main

XS = np.arange(0, 10001, 200)  # TaskSet's 51 evaluation steps
TASKS = ("mlp_family_seed7", "FixedMLP_cifar10_BatchNorm_128x3_bs128")


def write_taskset_file(path: pathlib.Path, family: str, configs: int, seed: int) -> dict[str, np.ndarray]:
    """Writes `<task>/<file>.npz` as TaskSet does, with diverged runs; returns its arrays."""
    rng = np.random.default_rng(seed)
    prefix = "nadamw_grid" if family == "nadamw" else f"{family}_wide_grid"
    ys = rng.lognormal(size=(configs, 5, len(XS), 4)).astype(np.float32)
    ys[0, 1, 30:, :] = np.nan  # config 0, replica 1 diverges at step 6000
    ys[1, 4, 50, 2] = np.inf  # config 1, replica 4: one inf at the last step, valid_outer only
    arrays = {"optimizers": np.array([f"{prefix}_seed{i}" for i in range(configs)]), "xs": XS, "ys": ys}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


@pytest.fixture
def src(tmp_path):
    """Two tasks x two optimizer sets; returns (directory, {(task, family): arrays})."""
    arrays = {}
    for i, task in enumerate(TASKS):
        for j, family in enumerate(("adam8p", "nadamw")):
            arrays[task, family] = write_taskset_file(tmp_path / "src" / task / TASKSET_FILES[family], family,
                                                      configs=4, seed=10 * i + j)
    return tmp_path / "src", arrays


def test_names_give_families():
    assert tc.optimizer_family_of("adam8p_wide_grid_1k_10000_replica5.npz") == "adam8p"
    assert tc.optimizer_family_of("nadamw_grid_1k_10000_replica5.npz") == "nadamw"
    with pytest.raises(tc.ConvertError, match="'adam8p.npz' is not a TaskSet curve file name"):
        tc.optimizer_family_of("adam8p.npz")
    assert tc.task_family_of("conv_pooling_family_seed12") == "conv_pooling"
    assert tc.task_family_of("FixedMLP_cifar10_BatchNorm_128x3_bs128") == "fixed"


def test_conversion_keeps_every_value_exactly(src, tmp_path):
    directory, arrays = src
    report = tc.convert_taskset(directory, tmp_path / "out", progress=False)
    assert (report.files, report.shards_written, report.curves) == (4, 20, 80)  # 4 files x 5 replicas x 4 configs
    # 2 diverged curves per file; the nadamw configs get the published hparams, adam8p's have no table.
    assert report.diverged == 8 and report.without_hparams == 40
    assert verify(tmp_path / "out").ok
    df = read(tmp_path / "out")
    assert len(df) == 80
    for row in df.itertuples():
        task = json.loads(row.task_config)["taskset_task"]
        source = arrays[task, row.optimizer_family.removesuffix("_tf1")]
        c = list(source["optimizers"]).index(row.optimizer)
        np.testing.assert_array_equal(row.steps, XS)
        for k, split in enumerate(tc.SPLITS):
            np.testing.assert_array_equal(getattr(row, split), source["ys"][c, row.replica, :, k])  # NaN == NaN here
        assert row.seed == row.replica and np.isnan(row.seconds_per_step)
        assert (row.hparams == "{}") == (row.optimizer_family == "adam8p_tf1")


def test_rows_describe_tasks_optimizers_and_divergence(src, tmp_path):
    directory, _ = src
    tc.convert_taskset(directory, tmp_path / "out", progress=False)
    df = read(tmp_path / "out")
    by_task = df.groupby("task", observed=True)
    assert {t: set(g["family"]) for t, g in by_task} == {TASKS[0]: {"mlp"}, TASKS[1]: {"fixed"}}
    assert json.loads(df.task_config.iloc[0]).keys() == {"family", "taskset_task"}
    assert set(df.optimizer_family) == {"adam8p_tf1", "nadamw_tf1"}  # the exact variants: what TaskSet ran
    assert set(df.optimizer[df.optimizer_family == "nadamw_tf1"]) == {f"nadamw_grid_seed{i}" for i in range(4)}
    diverged = df[df.status == "diverged"].sort_values(["task", "optimizer"])
    assert set(zip(diverged.optimizer.str[-5:], diverged.replica)) == {("seed0", 1), ("seed1", 4)}
    assert sorted(diverged.diverged_step) == [6000] * 4 + [10000] * 4
    assert df[df.status == "ok"].diverged_step.isna().all()
    assert np.isnan(diverged[diverged.replica == 1].final_valid_inner).all()


def test_rerun_skips_and_a_different_source_is_refused(src, tmp_path):
    directory, _ = src
    out = tmp_path / "out"
    tc.convert_taskset(directory, out, tasks=["mlp_*"], progress=False)
    again = tc.convert_taskset(directory, out, progress=False)
    assert (again.shards_present, again.shards_written) == (10, 10)
    assert verify(out).ok and len(read(out)) == 80
    write_taskset_file(directory / TASKS[0] / TASKSET_FILES["adam8p"], "adam8p", configs=4, seed=99)
    with pytest.raises(tc.ConvertError, match="converted from another source file"):
        tc.convert_taskset(directory, out, progress=False)


def test_config_tables_give_hparams(src, tmp_path):
    directory, _ = src
    taskset_json = tmp_path / "adam8p_wide_grid.json"  # TaskSet's own format: name -> [hparams, set]
    taskset_json.write_text(json.dumps({f"adam8p_wide_grid_seed{i}": [{"learning_rate": 10.0 ** -i, "beta1": 0.9},
                                                                      "adam8p_wide_grid"] for i in range(4)}))
    csv = tmp_path / "nadamw.csv"
    csv.write_text("name,learning_rate,use_nesterov\nnadamw_grid_seed0,0.5,True\nnadamw_grid_seed1,0.25,\n")
    report = tc.convert_taskset(directory, tmp_path / "out", config_tables=[taskset_json, csv], progress=False)
    assert report.without_hparams == 0  # nadamw seeds 2 and 3 come from the published table
    df = read(tmp_path / "out").set_index(["task", "optimizer", "replica"])
    row = df.loc[(TASKS[0], "adam8p_wide_grid_seed2", 0)]
    # Mapped to adam8p_tf1's names; the given tables take precedence over the published one.
    assert json.loads(row.hparams) == {"lr": 0.01, "beta1": 0.9} and row.hp_lr == 0.01
    assert np.isnan(row.hp_nesterov)
    row = df.loc[(TASKS[1], "nadamw_grid_seed0", 3)]
    assert json.loads(row.hparams) == {"lr": 0.5, "nesterov": 0.0}  # TaskSet's getter ran without Nesterov
    assert json.loads(df.loc[(TASKS[1], "nadamw_grid_seed1", 3)].hparams) == {"lr": 0.25}
    published = json.loads(df.loc[(TASKS[1], "nadamw_grid_seed3", 0)].hparams)
    assert published == load_list("opt-list-nadamw").entries[
        [e.optimizer for e in load_list("opt-list-nadamw").entries].index("nadamw_grid_seed3")].hparams
    with pytest.raises(tc.ConvertError, match="converted from another config table"):
        tc.convert_taskset(directory, tmp_path / "out", progress=False)


@pytest.mark.parametrize("text, message", [
    ('{"a": "fast"}', "config 'a' maps to 'fast'"),
    ('{"a": {"lr": "fast"}}', "lr='fast', which is not a number"),
    ('[1, 2]', "must be a JSON object"),
    ('{"a": ', "not valid JSON"),
])
def test_bad_config_tables_are_named(tmp_path, text, message):
    path = tmp_path / "t.json"
    path.write_text(text)
    with pytest.raises(tc.ConvertError, match=message):
        tc.load_config_table([path])


def test_conflicting_config_tables_are_refused(tmp_path):
    (tmp_path / "a.json").write_text('{"x": {"lr": 1}}')
    (tmp_path / "b.csv").write_text("optimizer,lr\nx,2\n")
    with pytest.raises(tc.ConvertError, match="config 'x' has different hyperparameters"):
        tc.load_config_table([tmp_path / "a.json", tmp_path / "b.csv"])
    (tmp_path / "c.csv").write_text("config,lr\nx,2\n")
    with pytest.raises(tc.ConvertError, match="needs a 'name'"):
        tc.load_config_table([tmp_path / "c.csv"])


def test_check_npz_rejects_other_layouts(tmp_path):
    path = tmp_path / "adam8p_wide_grid_1k_10000_replica5.npz"
    good = {"optimizers": np.array(["a", "b"]), "xs": XS, "ys": np.zeros((2, 5, 51, 4), np.float32)}
    np.savez(path, **good)
    checked = tc.check_npz(path)
    assert checked.optimizers == ("a", "b") and checked.replicas == 5 and checked.xs.dtype == np.int64
    cases = [
        ({k: v for k, v in good.items() if k != "xs"}, "lacks the arrays \\['xs'\\]"),
        ({**good, "ys": np.zeros((2, 5, 50, 4), np.float32)}, "'ys' must be float"),
        ({**good, "ys": np.zeros((2, 3, 51, 4), np.float32)}, "its name says 5 replicas but 'ys' has 3"),
        ({**good, "xs": XS + 0.5}, "'xs' must be 1-D non-decreasing integral"),
        ({**good, "optimizers": np.array(["a", 1], dtype=object)}, "not a readable npz"),  # pickle refused
    ]
    for arrays, message in cases:
        np.savez(path, **arrays)
        with pytest.raises(tc.ConvertError, match=message):
            tc.check_npz(path)


def test_missing_source_says_how_to_get_it(tmp_path):
    with pytest.raises(tc.ConvertError, match="curves download taskset-original"):
        tc.convert_taskset(tmp_path, tmp_path / "out", progress=False)


def test_cli_convert_json(src, tmp_path, capsys):
    directory, _ = src
    argv = ["curves", "convert-taskset", str(directory), "--out", str(tmp_path / "out"), "--optimizer-family",
            "nadamw", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {"out": str(tmp_path / "out"), "files": 2, "shards_written": 10, "shards_present": 0,
                      "curves": 40, "diverged": 4, "without_hparams": 0}
    assert main(argv[:-3] + ["--optimizer-family", "nadamw_tf1", "--json"]) == 0  # the recorded name selects too
    assert json.loads(capsys.readouterr().out)["shards_present"] == 10
    assert main(["curves", "convert-taskset", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_a_list_fitted_on_converted_nadamw_curves_runs_as_taskset_did(src, tmp_path):
    directory, _ = src
    tc.convert_taskset(directory, tmp_path / "out", optimizer_families=["nadamw"], progress=False)
    fitted = fit(read(tmp_path / "out"), "nadamw_tf1", 2, "valid_inner", "final", weighting="task")
    published = {e.optimizer: e.hparams for e in load_list("opt-list-nadamw").entries}
    for entry in fitted.entries:
        assert entry.family == "nadamw_tf1" and entry.hparams == published[entry.optimizer]
    assert optimizer_from_list(fitted, 0, total_steps=10).entry.family == "nadamw_tf1"


def test_names_map_to_the_exact_variants():
    assert tc.recorded_family("adam8p") == "adam8p_tf1" and tc.recorded_family("nadamw") == "nadamw_tf1"
    assert tc.recorded_family("rmsprop") == "rmsprop"
    assert tc.recorded_hparams("adam4p", {"learning_rate": 1.0, "epsilon": 2.0, "beta1": 0.5}) == \
        {"lr": 1.0, "eps": 2.0, "beta1": 0.5}
    assert tc.recorded_hparams("rmsprop", {"learning_rate": 1.0}) == {"learning_rate": 1.0}
