"""benchmarks/gpu_check.py: a clean exit and a clear message where TensorFlow sees no GPU."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

PATH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_a_gpu_it_says_so_and_exits_0(gpu_check, capsys):
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU: the check would measure")
    assert gpu_check.main([]) == 0
    out = capsys.readouterr().out
    assert "no GPU visible to TensorFlow; nothing measured" in out and "TASKSET_TENSORFLOW=gpu" in out


@pytest.mark.parametrize("argv", [["--tasks", "resnet"], ["--members", "0"], ["--members", "eight"]])
def test_bad_arguments_exit_2_with_one_line(gpu_check, capsys, argv):
    assert gpu_check.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gpu_check: ")


def test_the_keras_models_build_for_the_three_tasks(gpu_check):
    from taskset import get_task

    for key, name in gpu_check.TASKS.items():
        task = get_task(name)
        if not task.is_runnable():
            continue
        model = gpu_check.keras_model(task)
        assert model.count_params() > 0, key
