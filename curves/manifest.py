"""`manifest.json`: the index of a curve directory.

The shards are the truth and the manifest is an index of them: it lists every
shard (rows, bytes, sha256 and the job facts needed to filter without opening
it) and the jobs that failed with their error. It is rewritten atomically, but
not after every shard, so a run that dies may leave shards the manifest does
not list yet; `Store.sync` (run by every `curves generate`) adds them back from
the shards' own metadata, and `curves verify` reports any disagreement.

Layout:
  {"format": "taskset-curves", "schema_version": 1,
   "shards": {<job key>: {"file": "shards/<key>.parquet", "rows": .., "bytes": ..,
                          "sha256": .., "task": .., "family": .., "optimizer_families": [..],
                          "hparam_columns": [..], "steps": .., "replica": ..}},
   "failed": {<job key>: {"task": .., "optimizers": [..], "replica": .., "error": .., "traceback": ..}}}
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any

from taskset.paths import atomic_write_bytes

from curves.errors import SchemaMismatchError, StoreError
from curves.schema import SCHEMA_VERSION

MANIFEST_NAME = "manifest.json"
FORMAT = "taskset-curves"


@dataclasses.dataclass
class Manifest:
    """The in-memory manifest: shard entries and failed jobs, keyed by job key."""

    shards: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    failed: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "schema_version": SCHEMA_VERSION, "shards": self.shards, "failed": self.failed}

    @property
    def num_rows(self) -> int:
        return sum(entry["rows"] for entry in self.shards.values())


def manifest_path(root: pathlib.Path) -> pathlib.Path:
    return root / MANIFEST_NAME


def load_manifest(root: pathlib.Path) -> Manifest | None:
    """The manifest of `root`, or None if the directory has none yet.

    Raises:
      StoreError: the manifest is not valid JSON or not a curve manifest.
      SchemaMismatchError: it was written for another schema version.
    """
    path = manifest_path(root)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise StoreError(f"{str(path)!r} is unreadable ({err}); delete it and run `taskset-bench curves "
                         "generate` again to rebuild it from the shards") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StoreError(f"{str(path)!r} is not a curve manifest (expected \"format\": {FORMAT!r})")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise SchemaMismatchError(f"{str(path)!r} has curve schema version {data.get('schema_version')!r}, this "
                                  f"taskset reads version {SCHEMA_VERSION}; regenerate the curves with this version")
    return Manifest(shards=dict(data.get("shards", {})), failed=dict(data.get("failed", {})))


def save_manifest(root: pathlib.Path, manifest: Manifest) -> None:
    """Writes the manifest atomically (temp file, fsync, rename, fsync of the directory)."""
    text = json.dumps(manifest.to_json(), indent=1, sort_keys=True) + "\n"
    atomic_write_bytes(manifest_path(root), text.encode())


