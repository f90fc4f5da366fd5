"""Issue 17, case 2: `curves verify` must check every manifest fact against its shard and report strays;
reads and `compact` must not trust an edited manifest."""

from __future__ import annotations

import json

import pytest

import curves
from curves.errors import CorruptShardError
from taskset.cli.main import main


def _lie_about_every_shard(root):
    """Every shard's task becomes mlp_seed0 and its families ["sgdm"]; the sha256 entries stay right."""
    path = root / "manifest.json"
    manifest = json.loads(path.read_text())
    for entry in manifest["shards"].values():
        entry["task"] = "mlp_seed0"
        entry["optimizer_families"] = ["sgdm"]
    path.write_text(json.dumps(manifest))


def test_verify_reports_edited_facts_and_strays(reference_copy, capsys):
    _lie_about_every_shard(reference_copy)
    (reference_copy / "shards" / "notes.txt").write_text("a stray file")
    report = curves.verify(reference_copy)
    assert not report.ok
    assert sum("manifest says task=" in p for p in report.problems) == report.shards == 10
    assert sum("manifest says optimizer_families=" in p for p in report.problems) == 10
    assert any("shards/notes.txt" in p and "stray" in p for p in report.problems)
    assert main(["curves", "verify", str(reference_copy)]) == 1


def test_read_refuses_a_shard_whose_manifest_facts_lie(reference_copy):
    _lie_about_every_shard(reference_copy)
    with pytest.raises(CorruptShardError, match="disagrees with manifest.json.*curves verify"):
        curves.read(reference_copy, tasks=["mlp_seed0"])


def test_compact_refuses_instead_of_making_the_lie_permanent(reference_copy, capsys):
    _lie_about_every_shard(reference_copy)
    before = sorted(p.name for p in (reference_copy / "shards").iterdir())
    assert main(["curves", "compact", str(reference_copy)]) == 2
    assert "curves verify" in capsys.readouterr().err
    assert sorted(p.name for p in (reference_copy / "shards").iterdir()) == before
