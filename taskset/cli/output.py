"""Printing helpers shared by the CLI commands: stable JSON and aligned tables."""

from __future__ import annotations

import json
import sys
from typing import Any, Sequence


def print_json(data: Any) -> None:
    """Stable, machine-readable JSON on stdout (sorted keys, 2-space indent)."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def print_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    """Left-aligned columns with a header line."""
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        sys.stdout.write("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")
