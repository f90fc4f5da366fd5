"""The shipped Google list `opt-list-nadamw`: published order and values, provenance, semantics, use."""

from __future__ import annotations

import importlib.util
import json
import pathlib

import numpy as np
import pytest

from hparam_lists import load_list, optimizer_from_list, shipped_lists
from hparam_lists.artifact import HparamList, ListFileError
from taskset.errors import ConfigError

ROOT = pathlib.Path(__file__).resolve().parents[2]
NAME = "opt-list-nadamw"

# Copied from google-research opt_list/opt_list/nadamw_configs.json (commit 1f7bb5f),
# verbatim: the regenerated entries must equal them float for float.
PUBLISHED = {
    "nadamw_grid_seed0": {"learning_rate": 0.00013043019947775472, "beta1": 0.6184381722189567,
                          "beta2": 0.9994057151352359, "epsilon": 5.7755507421823396e-05, "use_nesterov": False,
                          "adamw_weight_decay": 0.010296116606084241, "l2_weight_decay": 0.000569334985961975,
                          "warmup_fraction": 0.014360184808201766, "min_learning_rate_mult": 0.0,
                          "constant_fraction": 0.25251538281125563},
    "nadamw_grid_seed10": {"learning_rate": 0.022642200416011712, "beta1": 0.9691516670830862,
                           "beta2": 0.6163700826390757, "epsilon": 0.0001660721610809923, "use_nesterov": True,
                           "adamw_weight_decay": 0.0, "l2_weight_decay": 0.0019074491883267325,
                           "warmup_fraction": 0.0, "min_learning_rate_mult": 0.0,
                           "constant_fraction": 0.2851836662863304},
    "nadamw_grid_seed100": {"learning_rate": 0.1488100966121965, "beta1": 0.926921896057771,
                            "beta2": 0.2614055971473538, "epsilon": 4.956584152652382e-05, "use_nesterov": True,
                            "adamw_weight_decay": 0.0005433445585306165, "l2_weight_decay": 0.00468632659334109,
                            "warmup_fraction": 0.03743363110418479, "min_learning_rate_mult": 0.0,
                            "constant_fraction": 0.59333401696363},
    "nadamw_grid_seed992": {"learning_rate": 4.8144956400915616e-05, "beta1": 0.826338423459615,
                            "beta2": 0.9999572966271213, "epsilon": 727.8916368520369, "use_nesterov": True,
                            "adamw_weight_decay": 0.007210410365939807, "l2_weight_decay": 0.0442035799609412,
                            "warmup_fraction": 0.008795827225355816, "min_learning_rate_mult": 0.0,
                            "constant_fraction": 0.5532525020768582},
    "nadamw_grid_seed999": {"learning_rate": 0.0003033444884791146, "beta1": 0.7960016377487121,
                            "beta2": 0.869085551376238, "epsilon": 0.0020915261149098523, "use_nesterov": False,
                            "adamw_weight_decay": 0.007356587309209756, "l2_weight_decay": 0.0,
                            "warmup_fraction": 0.0, "min_learning_rate_mult": 0.0,
                            "constant_fraction": 0.47336551908529734},
}
# From opt_list/opt_list/nadamw_opt_list.txt: its first five and last three lines.
PUBLISHED_HEAD = ["nadamw_grid_seed251", "nadamw_grid_seed611", "nadamw_grid_seed799", "nadamw_grid_seed209",
                  "nadamw_grid_seed739"]
PUBLISHED_TAIL = ["nadamw_grid_seed438", "nadamw_grid_seed918", "nadamw_grid_seed283"]


@pytest.fixture(scope="module")
def google() -> HparamList:
    return load_list(NAME)


def make_opt_list_module():
    spec = importlib.util.spec_from_file_location("make_opt_list", ROOT / "scripts" / "make_opt_list.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_with_all_entries_in_published_order(google):
    assert NAME in shipped_lists()
    names = [e.optimizer for e in google.entries]
    assert len(names) == 1000 and len(set(names)) == 1000
    assert sorted(int(n.removeprefix("nadamw_grid_seed")) for n in names) == list(range(1000))
    assert names[:5] == PUBLISHED_HEAD and names[-3:] == PUBLISHED_TAIL
    assert google.fit.family == "nadamw_tf1" and {e.family for e in google.entries} == {"nadamw_tf1"}


def test_entries_equal_the_published_configs(google):
    by_name = {e.optimizer: e for e in google.entries}
    for name, published in PUBLISHED.items():
        entry = by_name[name]
        assert entry.source_hparams == published
        assert entry.hparams == {"lr": published["learning_rate"], "beta1": published["beta1"],
                                 "beta2": published["beta2"], "eps": published["epsilon"], "nesterov": 0.0,
                                 "adamw_weight_decay": published["adamw_weight_decay"],
                                 "l2_weight_decay": published["l2_weight_decay"],
                                 "warmup_fraction": published["warmup_fraction"],
                                 "min_lr_mult": published["min_learning_rate_mult"],
                                 "constant_fraction": published["constant_fraction"]}


def test_nesterov_off_as_taskset_ran_it_and_published_flag_kept(google):
    assert all(e.hparams["nesterov"] == 0.0 for e in google.entries)
    flags = [e.source_hparams["use_nesterov"] for e in google.entries]
    assert set(flags) == {True, False} and 400 < sum(flags) < 600


def test_provenance_recorded(google):
    source = google.source
    assert source["repository"] == "google-research/google-research"
    assert set(source["files"]) == {"opt_list/opt_list/nadamw_opt_list.txt", "opt_list/opt_list/nadamw_configs.json"}
    assert source["licence"].startswith("Apache-2.0") and "arXiv:2002.11887" in source["paper"]
    assert "nadamw_tf1" in source["semantics"] and source["version"]


def test_the_script_regenerates_the_shipped_file_exactly():
    module = make_opt_list_module()
    assert module.render() == (ROOT / "hparam_lists" / "data" / f"{NAME}.json").read_text()


def test_round_trip_and_lists_without_source_are_unchanged(google, tmp_path):
    from hparam_lists import save_list

    again = HparamList.from_json(json.loads(json.dumps(google.to_json())))
    assert again == google
    mini = load_list("nadamw-mini")
    assert mini.source is None and "source" not in mini.to_json()
    assert all("source_hparams" not in e for e in mini.to_json()["entries"])


def test_bad_source_field_is_a_list_file_error(google):
    data = google.to_json()
    data["source"] = "somewhere"
    with pytest.raises(ListFileError, match=r"list.source: expected a JSON object"):
        HparamList.from_json(data)


def test_optimizer_from_list_runs_the_exact_variant_by_default():
    import tensorflow as tf

    first = optimizer_from_list(NAME, 0, total_steps=100)
    assert first.entry.family == "nadamw_tf1" and first.entry.optimizer == "nadamw_grid_seed251"
    params = {"w": tf.constant([1.0, -2.0])}
    grads = {"w": tf.constant([0.5, 0.25])}
    state = first.rule.init(params)
    new, _ = first.rule.update(grads, state, params, 0)
    standard = optimizer_from_list(NAME, 0, total_steps=100, family="nadamw")
    other, _ = standard.rule.update(grads, standard.rule.init(params), params, 0)
    assert not np.allclose(new["w"].numpy(), other["w"].numpy(), rtol=1e-6, atol=0)
    with pytest.raises(ConfigError, match="'sgdm'.*space"):
        optimizer_from_list(NAME, 0, total_steps=100, family="sgdm")


def test_lists_show_names_the_source(capsys):
    from taskset.cli.main import main

    assert main(["lists", "show", NAME]) == 0
    out = capsys.readouterr().out
    assert "family: nadamw_tf1\nentries: 1000\n" in out
    assert "licence Apache-2.0" in out and "runs as: nadamw_tf1" in out
    assert out.splitlines()[7].split()[:2] == ["0", "nadamw_grid_seed251"]
    assert main(["lists", "show", NAME, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["source"]["repository"] == "google-research/google-research"


def test_benchmark_accepts_a_google_list_entry():
    from eval.benchmark.contenders import resolve

    contender = resolve(f"list:{NAME}:0")
    assert contender.config.family == "nadamw_tf1"
    assert contender.config.hparams == load_list(NAME).entries[0].hparams


def test_converter_and_list_share_the_published_table(google):
    """One source: the converter's nadamw_grid table is the list's source_hparams, entry for entry."""
    from curves.taskset_convert import published_table

    assert published_table() == {e.optimizer: e.source_hparams for e in google.entries}
