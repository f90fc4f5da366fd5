import json

import pytest

from taskset.errors import ConfigError, UnknownNameError
from taskset.tasks import TASK_FAMILIES, get_task, list_tasks, task_from_config, task_names
from taskset.tasks import catalogue


def test_catalogue_size_and_runnable_count():
    entries = list_tasks()
    families = {e.family for e in entries if not e.fixed}
    assert len(entries) >= 1000 and len(families) >= 13, (len(entries), sorted(families))
    assert sum(e.runnable for e in entries) >= 300
    assert len([e for e in entries if e.fixed]) == len(task_names("fixed"))


def test_index_cache_is_written_and_matches_a_fresh_computation(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKSET_CACHE_DIR", str(tmp_path))
    cold = list_tasks(family="mlp")
    files = list(tmp_path.glob("catalogue-*.json"))
    assert len(files) == 1
    warm = list_tasks(family="mlp")
    assert cold == warm
    for entry in warm[:5]:
        task = get_task(entry.name)
        assert entry.num_params == task.num_params and entry.datasets == task.required_datasets()


def test_corrupt_index_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKSET_CACHE_DIR", str(tmp_path))
    list_tasks(family="quadratic")
    path = next(tmp_path.glob("catalogue-*.json"))
    path.write_text("{not json")
    entries = list_tasks(family="quadratic")
    assert len(entries) == TASK_FAMILIES.get("quadratic").num_seeds
    assert json.loads(path.read_text())  # rewritten


def test_unwritable_cache_still_lists(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("TASKSET_CACHE_DIR", str(blocker / "sub"))
    assert len(list_tasks(family="quadratic")) == 100


def test_unknown_and_malformed():
    with pytest.raises(UnknownNameError, match="did you mean"):
        get_task("mlp_sed3")
    with pytest.raises(ConfigError, match="needs a 'family' key"):
        task_from_config({"dataset": "digits"})
    with pytest.raises(UnknownNameError, match="unknown task family 'nope'"):
        task_from_config({"family": "nope"})
    config = dict(get_task("mlp_seed12").config_dict, hidden_sizes=[0])
    with pytest.raises(ConfigError, match="hidden_sizes must be positive"):
        task_from_config(config)
    config = dict(get_task("mlp_seed12").config_dict, dataset="mnist_typo")
    with pytest.raises(ConfigError, match="dataset 'mnist_typo' is not usable"):
        task_from_config(config)


def test_custom_name_is_stable():
    config = get_task("mlp_seed12").config_dict
    assert task_from_config(config).name == task_from_config(dict(config)).name
    assert catalogue.task_from_config(config).name.startswith("mlp_custom_")


def test_split_tensors_first_built_inside_a_trace_stay_usable():
    import tensorflow as tf

    from taskset.tasks import base

    base._TENSORS.pop(("digits", "valid_outer"), None)
    traced = tf.function(lambda: base.split_tensors("digits", "valid_outer")["label"][:3])()
    eager = base.split_tensors("digits", "valid_outer")["label"][:3]
    assert traced.numpy().tolist() == eager.numpy().tolist()
