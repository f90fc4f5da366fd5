"""Packaging for taskset: the library, its stages and the `taskset-bench` CLI.

TensorFlow comes in one of two builds, chosen when installing from this
checkout, so that one environment never holds two distributions that both
provide the `tensorflow` package (`tensorflow-cpu` and `tensorflow`, as the old
`gpu` extra produced):

  pip install -e .                               # tensorflow-cpu (the default)
  TASKSET_TENSORFLOW=gpu pip install -e .        # tensorflow[and-cuda]: CUDA build plus NVIDIA's pip libraries

Add extras as usual (`".[test]"`). To switch an existing environment, uninstall
the other build first (`pip uninstall -y tensorflow-cpu`; both own the same files).
"""

import os
import re
from pathlib import Path

from setuptools import find_packages, setup

TENSORFLOW = {
    # arm64 (Apple silicon) has no tensorflow-cpu wheel: install TensorFlow there yourself.
    "cpu": ["tensorflow-cpu>=2.16,<2.22; platform_machine != 'arm64'"],
    "gpu": ["tensorflow[and-cuda]>=2.16,<2.22"],
}


def tensorflow_requirements(environ=os.environ) -> list:
    """The TensorFlow requirement for `TASKSET_TENSORFLOW` (unset: "cpu"); an unknown value stops the install."""
    variant = environ.get("TASKSET_TENSORFLOW", "cpu").strip().lower() or "cpu"
    if variant not in TENSORFLOW:
        raise SystemExit(f"TASKSET_TENSORFLOW={variant!r} is not a TensorFlow build; use one of {sorted(TENSORFLOW)}")
    return TENSORFLOW[variant]


VERSION = re.search(r'__version__ = "([^"]+)"', Path("taskset/__init__.py").read_text()).group(1)

SETUP = dict(
    name="taskset",
    version=VERSION,
    description="Optimizer benchmark tasks, curve datasets and learned hyperparameter lists",
    long_description=Path("README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["taskset*", "curves*", "hparam_lists*", "eval*"]),
    include_package_data=True,
    package_data={
        "taskset": ["tasks/fixed/*.gin", "datasets/data/*"],
        "curves": ["specs/*.gin", "specs/*.json", "data/**/*"],
        "hparam_lists": ["data/*.json"],
    },
    install_requires=tensorflow_requirements() + [
        "tensorflow-datasets>=4.9,<5",
        "importlib_resources>=6",  # tfds 4.9.10 imports it without declaring it
        "gin-config>=0.5,<0.6",
        "numpy>=1.26,<3",
        "pandas>=2.1,<4",
        "pyarrow>=14,<30",
        "scikit-learn>=1.3,<2",
        "scikit-optimize>=0.10,<0.11",
        "mlxtend>=0.23,<1",
        "mnist1d>=0.0.2,<0.1",
        "tqdm>=4.60,<5",
        "matplotlib>=3.7,<4",
    ],
    extras_require={
        "dask": ["dask[distributed]>=2024.1"],
        "test": ["pytest>=7", "hypothesis>=6", "dask[distributed]>=2024.1"],
    },
    entry_points={"console_scripts": ["taskset-bench=taskset.cli:main"]},
)

if __name__ == "__main__":  # what pip's build backend runs; tests import this file for its functions
    setup(**SETUP)
