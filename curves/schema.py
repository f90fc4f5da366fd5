"""The Parquet layout of a curve dataset: one row per curve, versioned in the file metadata.

Columns (every shard has all of them, plus one `hp_<name>` column per
hyperparameter of the optimizer families in that shard):

  task, family             the task's name and task family (dictionary-encoded)
  task_config              the task's config as canonical JSON (rebuilds the task)
  optimizer_family         the optimizer family, e.g. "adam8p"
  optimizer                the optimizer config's name, e.g. "adam8p_seed12"
  hparams                  the optimizer's hyperparameters as canonical JSON
  hp_<name>                each hyperparameter as float64; null where the family lacks it
  replica                  the replica index r of the job
  seed                     the replica seed given to the trainer (init and data order)
  steps                    list<int64>: the training steps at which the splits were evaluated
  train, valid_inner,      list<float32>: mean loss over the evaluation batches of each
  valid_outer, test          split at each of `steps`
  final_valid_inner        float32: the last value of `valid_inner` of an "ok" curve, NaN
                             for a diverged one. A deliberate denormalisation: "best final
                             validation loss" queries read this 4-byte column alone instead
                             of the list and status columns.
  status                   "ok" or "diverged"
  diverged_step            int64, the step the member diverged at; null when "ok"
  seconds_per_step         float32 wall-clock seconds per training step of the population
  package_version          the taskset version that produced the curve
  job_key                  the key of the job (and name of the shard) that produced it

The file metadata holds the schema version and the job's facts (`taskset.curves.job`: key, task,
family, replica, steps, evaluation schedule, optimizer families, and since taskset-small version 2
`machine`, the numeric environment that trained it, `taskset.machine.describe`); a pack lists its
members' facts under `jobs`. Facts are added without a schema bump: readers ignore unknown keys.

Low-cardinality strings are dictionary-encoded, so they cost a few bits per row
on disk and read back as pandas categoricals. Float columns use Parquet's
BYTE_STREAM_SPLIT encoding before zstd, which lets the compressor see the
slowly varying exponent bytes of a loss curve together.

Changing a column's meaning or type requires bumping `SCHEMA_VERSION`.
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterable, Sequence

import numpy as np
import pyarrow as pa

from curves.errors import SchemaMismatchError
from taskset.datasets.base import SPLITS

SCHEMA_VERSION = 1
HP_PREFIX = "hp_"
METRICS = SPLITS  # one list column per split, in this order

# Keys of the Parquet key-value metadata of every shard.
META_SCHEMA_VERSION = b"taskset.curves.schema_version"
META_JOB = b"taskset.curves.job"

_DICT = pa.dictionary(pa.int32(), pa.string())
_FLOAT_LIST = pa.list_(pa.float32())

BASE_SCHEMA = pa.schema([
    pa.field("task", _DICT, nullable=False),
    pa.field("family", _DICT, nullable=False),
    pa.field("task_config", _DICT, nullable=False),
    pa.field("optimizer_family", _DICT, nullable=False),
    pa.field("optimizer", _DICT, nullable=False),
    pa.field("hparams", pa.string(), nullable=False),
    pa.field("replica", pa.int32(), nullable=False),
    pa.field("seed", pa.int64(), nullable=False),
    pa.field("steps", pa.list_(pa.int64()), nullable=False),
    *[pa.field(metric, _FLOAT_LIST, nullable=False) for metric in METRICS],
    pa.field("final_valid_inner", pa.float32(), nullable=False),
    pa.field("status", _DICT, nullable=False),
    pa.field("diverged_step", pa.int64(), nullable=True),
    pa.field("seconds_per_step", pa.float32(), nullable=False),
    pa.field("package_version", _DICT, nullable=False),
    pa.field("job_key", _DICT, nullable=False),
])
HP_TYPE = pa.float64()
_BASE_TYPES = {field.name: field.type for field in BASE_SCHEMA}

# Parquet leaf paths that get BYTE_STREAM_SPLIT (float data) or dictionary encoding.
FLOAT_LEAVES = tuple(f"{m}.list.element" for m in METRICS) + ("final_valid_inner", "seconds_per_step")
DICTIONARY_LEAVES = tuple(f.name for f in BASE_SCHEMA if pa.types.is_dictionary(f.type)) + ("steps.list.element",)


def hp_column(name: str) -> str:
    """The column holding hyperparameter `name`."""
    return HP_PREFIX + name


def dataset_schema(hparam_names: Iterable[str]) -> pa.Schema:
    """The base schema plus one float64 `hp_<name>` column per name, sorted."""
    schema = BASE_SCHEMA
    for name in sorted(set(hparam_names)):
        schema = schema.append(pa.field(hp_column(name), HP_TYPE, nullable=True))
    return schema


def curves_to_table(curves: Sequence[Any], replica: int, job_key: str, package_version: str,
                    job_meta: dict[str, Any]) -> pa.Table:
    """One job's curves as a shard table, with the schema version in its metadata.

    Args:
      curves: the trainer's `Curve`s (see `taskset.training`), one per optimizer config.
      replica: the job's replica index.
      job_key: the job's key (also the shard's name).
      package_version: the taskset version that trained them.
      job_meta: JSON-ready facts about the job stored in the file metadata, so a
        manifest can be rebuilt from the shard alone.

    Raises:
      ValueError: the curves disagree on their evaluation steps or have
        metric arrays of the wrong length (a trainer bug, not user input).
    """
    names = sorted({hp for c in curves for hp in c.optimizer.hparams})
    columns: dict[str, list[Any]] = {f.name: [] for f in BASE_SCHEMA}
    columns.update({hp_column(n): [] for n in names})
    for curve in curves:
        steps = np.asarray(curve.steps, dtype=np.int64)
        for metric in METRICS:
            values = np.asarray(getattr(curve, metric), dtype=np.float32)
            if values.shape != steps.shape:
                raise ValueError(f"curve {curve.task}/{curve.optimizer.name}: {metric} has shape {values.shape}, "
                                 f"steps has {steps.shape}")
            columns[metric].append(values)
        hparams = curve.optimizer.hparams
        row = {
            "task": curve.task, "family": curve.task_config["family"],
            "task_config": json.dumps(curve.task_config, sort_keys=True, separators=(",", ":")),
            "optimizer_family": curve.optimizer.family, "optimizer": curve.optimizer.name,
            "hparams": json.dumps({k: float(v) for k, v in hparams.items()}, sort_keys=True, separators=(",", ":")),
            "replica": replica, "seed": int(curve.replica_seed), "steps": steps,
            "final_valid_inner": float(columns["valid_inner"][-1][-1])
            if len(steps) and curve.status == "ok" else math.nan,
            "status": curve.status,
            "diverged_step": None if curve.diverged_step is None else int(curve.diverged_step),
            "seconds_per_step": float(curve.seconds_per_step),
            "package_version": package_version, "job_key": job_key,
        }
        for key, value in row.items():
            columns[key].append(value)
        for name in names:
            columns[hp_column(name)].append(float(hparams[name]) if name in hparams else None)
    schema = dataset_schema(names)
    arrays = [pa.array(columns[f.name], type=f.type if not pa.types.is_dictionary(f.type) else pa.string())
              for f in schema]
    arrays = [a.dictionary_encode() if pa.types.is_dictionary(f.type) else a for a, f in zip(arrays, schema)]
    return with_job_meta(pa.Table.from_arrays(arrays, schema=schema), job_meta)


def with_job_meta(table: pa.Table, job_meta: dict[str, Any]) -> pa.Table:
    """`table` with the schema version and `job_meta` in its metadata, as every shard carries them."""
    return table.replace_schema_metadata({
        META_SCHEMA_VERSION: str(SCHEMA_VERSION).encode(),
        META_JOB: json.dumps(job_meta, sort_keys=True).encode(),
    })


def check_schema(schema: pa.Schema, where: str) -> None:
    """Raises SchemaMismatchError unless `schema` is a shard schema of this version.

    Args:
      schema: a Parquet file's Arrow schema, with its key-value metadata.
      where: the file, for the message.
    """
    meta = schema.metadata or {}
    version = meta.get(META_SCHEMA_VERSION)
    if version is None:
        raise SchemaMismatchError(f"{where}: not a curve shard (no {META_SCHEMA_VERSION.decode()!r} metadata)")
    if version.decode() != str(SCHEMA_VERSION):
        raise SchemaMismatchError(f"{where}: written with curve schema version {version.decode()}, this taskset "
                                  f"reads version {SCHEMA_VERSION}; regenerate the curves with this version")
    # Expected types by name, once, instead of a by-name lookup per column and file.
    missing = set(_BASE_TYPES)
    for field in schema:
        expected = _BASE_TYPES.get(field.name)
        if expected is not None:
            missing.discard(field.name)
            if not field.type.equals(expected):
                raise SchemaMismatchError(f"{where}: column {field.name!r} has type {field.type}, "
                                          f"expected {expected}")
        elif not field.name.startswith(HP_PREFIX) or not field.type.equals(HP_TYPE):
            raise SchemaMismatchError(f"{where}: unexpected column {field.name!r} of type {field.type}; "
                                      f"only {HP_PREFIX}<name> float64 columns may be added")
    if missing:
        raise SchemaMismatchError(f"{where}: column(s) {sorted(missing)!r} are missing")


def job_meta(schema: pa.Schema, where: str) -> dict[str, Any]:
    """The job facts stored in a shard's metadata (see `curves_to_table`)."""
    raw = (schema.metadata or {}).get(META_JOB)
    if raw is None:
        raise SchemaMismatchError(f"{where}: shard metadata lacks {META_JOB.decode()!r}")
    return json.loads(raw)
