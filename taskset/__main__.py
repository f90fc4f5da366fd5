"""`python -m taskset` runs the `taskset-bench` CLI."""

from taskset.cli import main

raise SystemExit(main())
