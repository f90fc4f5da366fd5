"""setup.py installs exactly one TensorFlow distribution, chosen by TASKSET_TENSORFLOW."""

from __future__ import annotations

import pathlib
import runpy

import pytest

SETUP = runpy.run_path(str(pathlib.Path(__file__).resolve().parents[1] / "setup.py"), run_name="setup_under_test")


def tensorflow_distributions(requirements: list[str]) -> list[str]:
    names = [r.split(";")[0].split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip() for r in requirements]
    return [n for n in names if n in ("tensorflow", "tensorflow-cpu")]


@pytest.mark.parametrize("environ, expected", [({}, ["tensorflow-cpu"]), ({"TASKSET_TENSORFLOW": "cpu"}, ["tensorflow-cpu"]),
                                               ({"TASKSET_TENSORFLOW": "GPU"}, ["tensorflow"])])
def test_one_tensorflow_per_install(environ, expected):
    requirements = SETUP["tensorflow_requirements"](environ)
    assert tensorflow_distributions(requirements) == expected
    extras = [r for rs in SETUP["SETUP"]["extras_require"].values() for r in rs]
    assert tensorflow_distributions(extras) == []  # no extra can add a second TensorFlow


def test_the_gpu_build_brings_cuda():
    assert SETUP["tensorflow_requirements"]({"TASKSET_TENSORFLOW": "gpu"}) == ["tensorflow[and-cuda]>=2.16,<2.22"]


def test_an_unknown_build_stops_the_install():
    with pytest.raises(SystemExit, match="TASKSET_TENSORFLOW='rocm' is not a TensorFlow build"):
        SETUP["tensorflow_requirements"]({"TASKSET_TENSORFLOW": "rocm"})
