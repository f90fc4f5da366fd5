"""`taskset-bench`: the composition root that reaches every stage.

Each command group lives in its own module with an `add_commands(subparsers)`
function; commands are functions `(args) -> int` that parse, call the library
and print. Exit codes: 0 success, 2 bad input (one line on stderr), 1 internal
failure. TensorFlow is imported only by commands that train.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from taskset.errors import TasksetError

PROG = "taskset-bench"
COMMAND_MODULES = (
    "taskset.cli.tasks",
    "taskset.cli.optimizers",
    "taskset.cli.curves",
    "taskset.cli.lists",
    "taskset.cli.eval",
    "taskset.cli.train",
    "taskset.cli.benchmark",
)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (exit 2) instead of the usage dump."""

    def error(self, message: str):  # noqa: D102 - argparse hook
        sys.stderr.write(f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The full parser, one sub-command group per module in COMMAND_MODULES."""
    parser = _Parser(prog=PROG, description="benchmark tasks, curves and hyperparameter lists for optimizers")
    from taskset import __version__

    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="group", metavar="COMMAND", parser_class=_Parser, required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the CLI; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TasksetError as err:
        sys.stderr.write(f"{PROG}: error: {err}\n")
        return 2
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error of ours.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
