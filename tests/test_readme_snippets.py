"""The README's Python blocks run as pasted.

Every ```python block of README.md is checked for names it uses but never
binds (the `NameError` a reader hits when pasting it), and run from an empty
directory. The default run executes the quick blocks in this process, each in
a fresh namespace (a new interpreter per block spent 30-40 s importing
TensorFlow on the loaded 2-core development machine); blocks that train take
minutes there, so they run under `-m slow`, each in a fresh interpreter. A block that names a placeholder the
reader must fill in (`DIR`) is checked for names but not run.
"""

from __future__ import annotations

import ast
import builtins
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PLACEHOLDERS = ("DIR",)
"""Names the README leaves for the reader to replace: such a block cannot run as pasted."""
SLOW_MARKERS = ("train(",)
"""A block containing one of these trains a population (minutes here): run only under `-m slow`."""


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, source) of every ```python fenced block."""
    blocks, lines = [], text.splitlines()
    start = None
    for number, line in enumerate(lines, 1):
        if start is None and line.strip() == "```python":
            start = number + 1
        elif start is not None and line.strip() == "```":
            blocks.append((start, "\n".join(lines[start - 1:number - 1]) + "\n"))
            start = None
    return blocks


def unbound_names(source: str) -> set[str]:
    """Names read somewhere in `source` that nothing in it binds and that are not builtins.

    Any binding anywhere counts (imports, assignments, defs, arguments, loop and
    `with` targets), which can miss a name used before it is bound, never
    flags a name that is bound.
    """
    tree = ast.parse(source)
    bound, read = set(dir(builtins)), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return read - bound


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def _id(block: tuple[int, str]) -> str:
    return f"README.md:{block[0]}"


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("block", BLOCKS, ids=_id)
def test_every_name_a_block_uses_is_bound_in_it(block):
    line, source = block
    missing = unbound_names(source) - set(PLACEHOLDERS)
    assert not missing, f"README.md:{line}: pasted alone, this block raises NameError for {sorted(missing)}"


def run_block(source: str, tmp_path: pathlib.Path) -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run([sys.executable, "-c", source], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=1800)
    assert out.returncode == 0, out.stderr[-3000:]


def _runnable(slow: bool) -> list:
    out = []
    for block in BLOCKS:
        if any(re.search(rf"\b{p}\b", block[1]) for p in PLACEHOLDERS):
            continue
        if any(m in block[1] for m in SLOW_MARKERS) == slow:
            out.append(block)
    return out


@pytest.mark.parametrize("block", _runnable(slow=False), ids=_id)
def test_quick_blocks_run_as_pasted(block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(block[1], f"README.md:{block[0]}", "exec"), {"__name__": "__readme__"})


@pytest.mark.slow
@pytest.mark.parametrize("block", _runnable(slow=True), ids=_id)
def test_training_blocks_run_as_pasted(block, tmp_path):
    run_block(block[1], tmp_path)


def test_the_name_check_finds_a_missing_import():
    assert unbound_names("from x import f\nf(taskset.get_task('a'))\n") == {"taskset"}
    assert unbound_names("import taskset\ndef g(a):\n    return taskset.f(a)\n") == set()
