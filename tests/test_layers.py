"""The layer contract: imports go `taskset <- curves <- hparam_lists <- eval`.

A module may import its own package and the packages below it, never one
above; the CLI (`taskset/cli/`), the one composition root, may import every
stage. Every import statement counts, including the lazy ones inside
functions: a lazy import upward is still a dependency upward. Read from the
source with `ast`, so nothing is imported and the check takes milliseconds.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LAYERS = ("taskset", "curves", "hparam_lists", "eval")
"""Lowest first: a package may import those at or before its own position."""
COMPOSITION_ROOTS = ("taskset/cli/",)
KNOWN: set[str] = set()
"""Upward imports known and waiting for a fix; each must still exist, so a fix shrinks this set."""


def imported_packages(path: pathlib.Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in the file that names a layer package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue  # relative imports stay inside their package
        found += [(node.lineno, name.split(".")[0]) for name in names if name.split(".")[0] in LAYERS]
    return sorted(found)


def layer_files():
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if not relative.startswith(COMPOSITION_ROOTS):
                yield package, path


def violations() -> dict[str, list[int]]:
    """"<file> imports <package>" -> lines, for every import of a layer above the file's own."""
    out: dict[str, list[int]] = {}
    for package, path in layer_files():
        for line, imported in imported_packages(path):
            if LAYERS.index(imported) > LAYERS.index(package):
                out.setdefault(f"{path.relative_to(ROOT).as_posix()} imports {imported}", []).append(line)
    return out


def test_no_package_imports_a_layer_above_it():
    found = violations()
    new = {k: v for k, v in found.items() if k not in KNOWN}
    assert not new, f"upward imports (lines): {new}; the order is {' <- '.join(LAYERS)}"
    assert set(found) == KNOWN, f"fixed, remove from KNOWN: {sorted(KNOWN - set(found))}"


def test_the_check_sees_upward_imports(tmp_path, monkeypatch):
    """The walk finds module-level and lazy imports, `import x` and `from x import y` alike."""
    source = "import os\nimport curves.reader\ndef f():\n    from eval import problems\nfrom taskset import tasks\n"
    path = tmp_path / "m.py"
    path.write_text(source)
    assert imported_packages(path) == [(2, "curves"), (4, "eval"), (5, "taskset")]


@pytest.mark.parametrize("package", LAYERS)
def test_every_layer_package_is_checked(package):
    assert any(p == package for p, _ in layer_files())


REGISTRY_SNAPSHOT = """
import importlib, json, pkgutil, sys
import taskset.datasets, taskset.optimizers, taskset.tasks

def snapshot():
    return {"datasets": taskset.datasets.DATASETS.list(), "task families": taskset.tasks.TASK_FAMILIES.list(),
            "optimizer families": taskset.optimizers.OPTIMIZER_FAMILIES.list(),
            "named configs": taskset.optimizers.NAMED_CONFIGS.list()}

before = snapshot()
for package in sys.argv[1:]:
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        importlib.import_module(info.name)
print(json.dumps({"before": before, "after": snapshot()}))
"""


def test_importing_the_upper_layers_adds_nothing_to_taskset_registries():
    """Registration happens in the owning package: `eval` once added two datasets to taskset's registry."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run([sys.executable, "-c", REGISTRY_SNAPSHOT, *LAYERS[1:]], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["after"] == result["before"]
