"""Issue 17, case 3: every read path checks the shards it opens against the manifest and refuses
shards the manifest does not list."""

from __future__ import annotations

import json
import shutil

import pytest

import curves
from curves.errors import CorruptShardError
from taskset.cli.main import main


def _flip_one_bit(path, byte: int, bit: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[byte] ^= 1 << bit
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("where", [0.3, 0.6, 0.9])
def test_a_flipped_bit_is_refused_by_read_info_and_lists_fit(reference_copy, tmp_path, capsys, where):
    shard = sorted((reference_copy / "shards").glob("*.parquet"))[3]
    _flip_one_bit(shard, int(shard.stat().st_size * where))
    with pytest.raises(CorruptShardError, match=f"{shard.name}.*curves verify"):
        curves.read(reference_copy)
    assert main(["curves", "info", str(reference_copy)]) == 2
    assert main(["lists", "fit", "--curves", str(reference_copy), "--family", "adam8p", "--size", "2",
                 "--out", str(tmp_path / "l.json")]) == 2
    err = capsys.readouterr().err
    assert err.count(shard.name) == 2 and "Traceback" not in err
    assert not (tmp_path / "l.json").exists()


def test_a_valid_shard_of_another_dataset_is_refused(reference_copy, tiny_curves, tmp_path, capsys):
    foreign = sorted((tiny_curves / "shards").glob("*.parquet"))[0]
    shutil.copy(foreign, reference_copy / "shards" / foreign.name)
    with pytest.raises(CorruptShardError, match=f"{foreign.name}.*not listed in manifest.json.*curves verify"):
        curves.read(reference_copy)
    assert main(["curves", "info", str(reference_copy)]) == 2
    assert main(["lists", "fit", "--curves", str(reference_copy), "--family", "adam8p", "--size", "2",
                 "--out", str(tmp_path / "l.json")]) == 2
    assert main(["curves", "compact", str(reference_copy)]) == 2
    manifest = json.loads((reference_copy / "manifest.json").read_text())
    assert foreign.name[:-len(".parquet")] not in manifest["shards"]  # not adopted


def test_verdicts_are_cached_by_path_size_and_mtime(reference_copy, monkeypatch):
    import curves.integrity as integrity
    from curves.integrity import clear_cache

    calls = []
    real = integrity.file_sha256
    monkeypatch.setattr(integrity, "file_sha256", lambda p: calls.append(p) or real(p))
    clear_cache()
    first = curves.read(reference_copy, columns=["task", "final_valid_inner"])
    assert len(calls) == 10
    second = curves.read(reference_copy, columns=["task", "final_valid_inner"])
    assert len(calls) == 10 and first.equals(second)  # nothing hashed again
    shard = sorted((reference_copy / "shards").glob("*.parquet"))[0]
    data = shard.read_bytes()
    shard.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, new mtime
    with pytest.raises(CorruptShardError):
        curves.read(reference_copy)
    assert len(calls) == 11
