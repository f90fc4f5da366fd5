import json

import pytest

from hparam_lists import artifact
from hparam_lists.artifact import (FitSettings, HparamList, ListEntry, ListFileError, load_list, manifest_sha256,
                                   save_list)
from taskset.errors import UnknownNameError


def make_list(size: int = 2) -> HparamList:
    entries = tuple(ListEntry("adam1p", f"adam1p_seed{i}", {"lr": 10.0 ** -(i + 2)}, 0.5 / (i + 1))
                    for i in range(size))
    return HparamList(entries, FitSettings("adam1p", size, "valid_inner", "final", ("mlp_seed1", "mlp_seed2"), 7),
                      dataset="curves/mini", manifest_sha256="ab" * 32)


def test_round_trip_through_a_file(tmp_path):
    original = make_list()
    path = save_list(original, tmp_path / "l.json")
    loaded = load_list(path)
    assert loaded == original
    data = json.loads(path.read_text())
    assert data["format"] == "taskset-hparam-list" and data["format_version"] == 1
    assert data["package_version"] == original.package_version != ""
    assert data["entries"][0] == {"family": "adam1p", "optimizer": "adam1p_seed0", "hparams": {"lr": 0.01},
                                  "train_score": 0.5}


def test_shipped_names_resolve_into_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(artifact, "DATA_DIR", tmp_path)
    save_list(make_list(), tmp_path / "adam1p_demo.json")
    assert artifact.shipped_lists() == ["adam1p_demo"]
    assert load_list("adam1p_demo") == make_list()
    with pytest.raises(UnknownNameError, match="unknown hyperparameter list 'adam1p_dem'; did you mean 'adam1p_demo'"):
        load_list("adam1p_dem")


def test_missing_file_says_how_to_get_one(tmp_path):
    with pytest.raises(ListFileError, match="does not exist; fit one with `taskset-bench lists fit`"):
        load_list(str(tmp_path / "nope.json"))


def _write(tmp_path, data) -> str:
    path = tmp_path / "bad.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def _broken(change):
    data = make_list().to_json()
    change(data)
    return data


@pytest.mark.parametrize("data, message", [
    ("{not json", "is not valid JSON"),
    ([1, 2], "expected a JSON object"),
    (_broken(lambda d: d.update(format="other")), "not a hyperparameter list"),
    (_broken(lambda d: d.update(format_version=9)), "format version 9 is not supported"),
    (_broken(lambda d: d.pop("fit")), "missing field 'fit'"),
    (_broken(lambda d: d["fit"].update(size="2")), r"fit.size: expected int, got '2'"),
    (_broken(lambda d: d["fit"].update(size=3)), "fit.size is 3 but the list has 2 entries"),
    (_broken(lambda d: d["fit"].update(split="validation")), "unknown loss split 'validation'"),
    (_broken(lambda d: d.update(entries=[])), "the list has no entries"),
    (_broken(lambda d: d["entries"][1].update(family="nadamw")), r"entries\[1\]: family 'nadamw' differs"),
    (_broken(lambda d: d["entries"][0]["hparams"].update(lr=100.0)), "'lr'=100.0 is outside its range"),
    (_broken(lambda d: d["entries"][0]["hparams"].update(beta1=0.9)), r"unknown \['beta1'\]"),
    (_broken(lambda d: d["entries"][0]["hparams"].update(lr=None)), "hparams.lr: expected a finite number"),
    (_broken(lambda d: d["dataset"].update(manifest_sha256=5)), "manifest_sha256: expected a hex string"),
])
def test_invalid_files_name_the_problem(tmp_path, data, message):
    with pytest.raises(ListFileError, match=message):
        load_list(_write(tmp_path, data))


def test_unknown_family_is_reported(tmp_path):
    data = _broken(lambda d: [d["fit"].update(family="adamx")] + [e.update(family="adamx") for e in d["entries"]])
    with pytest.raises(ListFileError, match="unknown optimizer family 'adamx'"):
        load_list(_write(tmp_path, data))


def test_manifest_hash_is_the_sha256_of_manifest_json(tmp_path):
    assert manifest_sha256(tmp_path) is None
    (tmp_path / "manifest.json").write_bytes(b"{}\n")
    assert manifest_sha256(tmp_path) == "ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356"
