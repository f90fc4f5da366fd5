"""The `taskset-bench` command line (see `taskset.cli.main`)."""

from taskset.cli.main import main

__all__ = ["main"]
