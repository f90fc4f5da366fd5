"""Converting Google's released TaskSet curves (npz) into this project's curve store.

A TaskSet file `<task>/<set>_<steps>_replica<R>.npz` (e.g.
`mlp_family_seed12/adam8p_wide_grid_1k_10000_replica5.npz`) holds:

  optimizers  [C] str      TaskSet's config names, e.g. "adam8p_wide_grid_seed12"
  xs          [T]          the training steps of the evaluations (T = 51 over 10k steps)
  ys          [C, R, T, 4] losses at those steps: train, valid_inner, valid_outer,
                           test (in that order); NaN or inf where a run diverged

`convert_taskset` writes one curve row per (config, replica), in the schema of
`curves.schema`, one shard per (task, file, replica), into a curve directory
that `curves.read`, `curves info` and `curves verify` accept. Choices:

- steps come from `xs`; the four splits are `ys[c, r, :, 0..3]`, stored as
  float32 (TaskSet's values are copied bit for bit when they are float32 and
  rounded to float32 otherwise).
- status is "diverged" when any of the curve's values is NaN or inf, and then
  `diverged_step` is the first step holding one; the values are stored as
  published, NaN and inf included (nothing is frozen, clipped or filled in),
  so readers must expect non-finite values in diverged curves.
- optimizer_family is the TaskSet-exact variant of the file's family, the update
  rule that made the curves (`adam8p_wide_grid` -> adam8p_tf1, `nadamw_grid` ->
  nadamw_tf1; see `taskset.optimizers.adam_tf1` / `nadamw_tf1`); a family
  without an exact variant keeps TaskSet's name. optimizer is TaskSet's own
  config name, kept verbatim because our samplers do not reproduce Google's
  random numbers, so `adam8p_seed12` here and `adam8p_wide_grid_seed12` there
  are different configs.
- hparams (and the `hp_<name>` columns) come from config tables
  (`load_config_table`: TaskSet's `optimizers/configs/*.json` or a CSV) and,
  for `nadamw_grid_seed0` ... `seed999`, from the published table
  (`taskset.optimizers.taskset_grid`, TaskSet's sampler transcribed; the
  shipped Google list `opt-list-nadamw` is built from the same table). For the families with an exact variant, TaskSet's names are
  mapped to the variant's space (learning_rate -> lr, epsilon -> eps,
  use_nesterov -> nesterov, min_learning_rate_mult -> min_lr_mult), and
  nadamw's nesterov is recorded as 0, because TaskSet's getter never passed
  use_nesterov to its optimizer: that is what ran. So `lists fit` on converted
  curves gives a list that `optimizer_from_list` runs as TaskSet did. Names
  absent from every table get `{}` and null `hp_` columns.
- task_config is {"family": F, "taskset_task": name}: Google's tasks cannot be
  rebuilt by this package (other code, TF1 and Sonnet), so the config names
  the TaskSet task instead of describing a task of ours. F is the TaskSet family
  (`mlp_family_seed12` -> "mlp"), or "fixed" for the hand-designed tasks.
- seed is the replica index (TaskSet does not publish its seeds) and
  seconds_per_step is NaN (not published).

A shard's key hashes the source (task, file, replica), so converting again
into the same directory skips what is there; the source file's sha256 and the
config table's are recorded in each shard's metadata, and a rerun with other
inputs for an existing shard is refused instead of mixing two conversions.
"""

from __future__ import annotations

import csv
import dataclasses
import fnmatch
import hashlib
import io
import json
import math
import os
import pathlib
import re
import sys
from typing import Any, Mapping, Sequence

from taskset.datasets.base import SPLITS
from taskset.errors import TasksetError
from taskset.optimizers.base import OptimizerConfig
from taskset.optimizers.taskset_grid import nadamw_grid_table
from taskset.paths import file_sha256
from taskset.training.curve import STATUS_DIVERGED, STATUS_OK, Curve

SOURCE = "taskset-npz"
FILE_RE = re.compile(r"^(?P<family>[A-Za-z0-9]+)_(?P<grid>[A-Za-z0-9_]*grid[A-Za-z0-9_]*)_(?P<steps>\d+)"
                     r"_replica(?P<replicas>\d+)\.npz$")
SAMPLED_TASK_RE = re.compile(r"^(?P<family>.+)_family_seed\d+$")
EXACT_FAMILIES = {"adam1p": "adam1p_tf1", "adam4p": "adam4p_tf1", "adam6p": "adam6p_tf1", "adam8p": "adam8p_tf1",
                  "nadamw": "nadamw_tf1"}
"""TaskSet's optimizer families -> the exact variants their curves are recorded under."""
TASKSET_NAMES = {"learning_rate": "lr", "epsilon": "eps", "use_nesterov": "nesterov",
                 "min_learning_rate_mult": "min_lr_mult"}
"""TaskSet's hyperparameter names that differ from ours (the others are the same)."""


class ConvertError(TasksetError):
    """A TaskSet file or config table cannot be converted; the message names it."""


@dataclasses.dataclass(frozen=True)
class TasksetFile:
    """The validated arrays of one TaskSet npz file.

    Attributes:
      optimizers: the C config names.
      xs: [T] int64 evaluation steps.
      ys: [C, R, T, 4] losses (train, valid_inner, valid_outer, test).
    """

    optimizers: tuple[str, ...]
    xs: Any
    ys: Any

    @property
    def replicas(self) -> int:
        return int(self.ys.shape[1])


@dataclasses.dataclass
class ConvertReport:
    """What `convert_taskset` did (the `--json` output of `curves convert-taskset`).

    Attributes:
      out: the curve directory written.
      files: TaskSet files converted (or found already converted).
      shards_written: shards written by this call.
      shards_present: shards that were already there and were skipped.
      curves: rows in the shards written by this call.
      diverged: of those, rows with status "diverged".
      without_hparams: of those, rows whose config the config table lacks.
    """

    out: str
    files: int = 0
    shards_written: int = 0
    shards_present: int = 0
    curves: int = 0
    diverged: int = 0
    without_hparams: int = 0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def optimizer_family_of(file_name: str) -> str:
    """The optimizer family of a TaskSet file: `adam8p_wide_grid_1k_10000_replica5.npz` -> "adam8p".

    Raises:
      ConvertError: the name is not `<family>_<...grid...>_<steps>_replica<R>.npz`.
    """
    match = FILE_RE.match(file_name)
    if match is None:
        raise ConvertError(f"{file_name!r} is not a TaskSet curve file name; expected e.g. "
                           "'adam8p_wide_grid_1k_10000_replica5.npz'")
    return match.group("family")


def recorded_family(taskset_family: str) -> str:
    """The family converted curves of `taskset_family` are recorded under: its exact variant, if any."""
    return EXACT_FAMILIES.get(taskset_family, taskset_family)


def recorded_hparams(taskset_family: str, hparams: Mapping[str, float]) -> dict[str, float]:
    """A TaskSet config's hyperparameters under the recorded family's names (module docstring)."""
    if taskset_family not in EXACT_FAMILIES:
        return dict(hparams)
    out = {TASKSET_NAMES.get(k, k): float(v) for k, v in hparams.items()}
    if taskset_family == "nadamw" and "nesterov" in out:
        out["nesterov"] = 0.0  # get_nadamw never passes use_nesterov: the curves ran without it
    return out


def published_table() -> dict[str, dict[str, Any]]:
    """TaskSet's nadamw_grid configs (name -> hparams under TaskSet's names): `taskset.optimizers.taskset_grid`."""
    return nadamw_grid_table()


def task_family_of(task: str) -> str:
    """TaskSet's family of a task: `mlp_family_seed12` -> "mlp"; hand-designed tasks -> "fixed"."""
    match = SAMPLED_TASK_RE.match(task)
    return match.group("family") if match else "fixed"


def check_npz(path: str | os.PathLike) -> TasksetFile:
    """Loads a TaskSet npz file and checks its arrays against the layout above.

    Pickled (object) arrays are refused rather than unpickled: the files come
    from the network, and TaskSet's own files hold none.

    Raises:
      ConvertError: the file is not a readable npz of TaskSet's layout; the
        message names the file and the array at fault.
    """
    import numpy as np

    path = pathlib.Path(path)
    name = path.name[:-len(".part")] if path.name.endswith(".part") else path.name
    where = f"TaskSet file {str(path)!r}"
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = sorted({"optimizers", "xs", "ys"} - set(npz.files))
            if missing:
                raise ConvertError(f"{where} lacks the arrays {missing!r} (has {sorted(npz.files)!r})")
            optimizers, xs, ys = npz["optimizers"], npz["xs"], npz["ys"]
    except ConvertError:
        raise
    except (OSError, ValueError, EOFError) as err:
        raise ConvertError(f"{where} is not a readable npz file ({err}); delete it and download it again") from None
    if optimizers.ndim != 1 or optimizers.dtype.kind not in "US":
        raise ConvertError(f"{where}: 'optimizers' must be a 1-D string array, got {optimizers.dtype} "
                           f"with shape {optimizers.shape}")
    names = tuple(n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in optimizers.tolist())
    if xs.ndim != 1 or xs.dtype.kind not in "iuf" or not np.all(np.isfinite(xs)) or np.any(xs != np.round(xs)) \
            or np.any(np.diff(xs) < 0):
        raise ConvertError(f"{where}: 'xs' must be 1-D non-decreasing integral steps, got {xs.dtype} {xs.shape}")
    expected = (len(names), ys.shape[1] if ys.ndim == 4 else "R", len(xs), len(SPLITS))
    if ys.ndim != 4 or ys.shape[0] != len(names) or ys.shape[2] != len(xs) or ys.shape[3] != len(SPLITS) \
            or ys.dtype.kind != "f":
        raise ConvertError(f"{where}: 'ys' must be float [configs, replicas, steps, 4] = {expected!r}, "
                           f"got {ys.dtype} {ys.shape}")
    match = FILE_RE.match(name)
    if match is not None and int(match.group("replicas")) != ys.shape[1]:
        raise ConvertError(f"{where}: its name says {match.group('replicas')} replicas but 'ys' has {ys.shape[1]}")
    return TasksetFile(optimizers=names, xs=xs.astype(np.int64), ys=ys)


def load_config_table(paths: Sequence[str | os.PathLike]) -> dict[str, dict[str, float]]:
    """Reads config tables mapping TaskSet config names to hyperparameters.

    Accepted formats (several files are merged):
      JSON  {"name": {"hp": value, ...}} or TaskSet's own
            {"name": [{"hp": value, ...}, "set name"]} (task_set/optimizers/configs/*.json);
      CSV   a header with a `name` (or `optimizer`) column and one column per
            hyperparameter; empty cells are omitted.
    Booleans (also the words true/false in any case) become 1.0 / 0.0.

    Raises:
      ConvertError: a file is unreadable or malformed, a value is not a number,
        or two files give one name different values.
    """
    table: dict[str, dict[str, float]] = {}
    for path in paths:
        path = pathlib.Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ConvertError(f"--config-table {str(path)!r} is unreadable ({err})") from None
        entries = _csv_table(path, text) if path.suffix.lower() == ".csv" else _json_table(path, text)
        for name, hparams in entries.items():
            if name in table and table[name] != hparams:
                raise ConvertError(f"config {name!r} has different hyperparameters in two config tables "
                                   f"(one is {str(path)!r}); pass one table per config")
            table[name] = hparams
    return table


def _number(path: pathlib.Path, name: str, key: str, value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        if value.strip().lower() in ("true", "false"):  # CSV spells booleans as words
            return float(value.strip().lower() == "true")
        try:
            return float(value)
        except ValueError:
            pass
    raise ConvertError(f"--config-table {str(path)!r}: config {name!r} has {key}={value!r}, which is not a number")


def _json_table(path: pathlib.Path, text: str) -> dict[str, dict[str, float]]:
    try:
        data = json.loads(text)
    except ValueError as err:
        raise ConvertError(f"--config-table {str(path)!r} is not valid JSON ({err}); use .csv for CSV") from None
    if not isinstance(data, dict):
        raise ConvertError(f"--config-table {str(path)!r} must be a JSON object mapping config names to "
                           f"hyperparameters, got {type(data).__name__}")
    table = {}
    for name, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = value[0]  # TaskSet's [hparams, set name] pairs
        if not isinstance(value, dict):
            raise ConvertError(f"--config-table {str(path)!r}: config {name!r} maps to {value!r}; expected "
                               "{\"hp\": value, ...} or [{\"hp\": value, ...}, \"set name\"]")
        table[name] = {k: _number(path, name, k, v) for k, v in value.items()}
    return table


def _csv_table(path: pathlib.Path, text: str) -> dict[str, dict[str, float]]:
    reader = csv.DictReader(io.StringIO(text))
    fields = reader.fieldnames or []
    key = "name" if "name" in fields else "optimizer" if "optimizer" in fields else None
    if key is None:
        raise ConvertError(f"--config-table {str(path)!r} needs a 'name' (or 'optimizer') column; "
                           f"its columns are {fields!r}")
    return {row[key]: {k: _number(path, row[key], k, v) for k, v in row.items() if k != key and v not in ("", None)}
            for row in reader}


def file_curves(data: TasksetFile, task: str, optimizer_family: str, replica: int,
                table: Mapping[str, Mapping[str, float]]) -> list[Curve]:
    """The curves of one replica of one TaskSet file, in the file's config order.

    Args:
      data: the file's arrays (`check_npz`).
      task: TaskSet's task name.
      optimizer_family: TaskSet's, from the file name (`optimizer_family_of`);
        the curves are recorded under `recorded_family` of it.
      replica: index into the replica axis of `ys`; also the recorded seeds
        (TaskSet does not publish its seeds).
      table: config name -> hyperparameters under TaskSet's names; missing names get `{}`.
    """
    import numpy as np

    task_config = {"family": task_family_of(task), "taskset_task": task}
    curves = []
    for index, name in enumerate(data.optimizers):
        values = data.ys[index, replica]
        finite = np.isfinite(values).all(axis=1)
        diverged_step = None if finite.all() else int(data.xs[int(np.argmin(finite))])
        splits = {split: values[:, k].astype(np.float32) for k, split in enumerate(SPLITS)}
        curves.append(Curve(
            task=task, task_config=task_config,
            optimizer=OptimizerConfig(name, recorded_family(optimizer_family),
                                      recorded_hparams(optimizer_family, table.get(name, {}))),
            replica_seed=replica, init_seed=replica, steps=data.xs,
            status=STATUS_OK if diverged_step is None else STATUS_DIVERGED,
            diverged_step=diverged_step, seconds_per_step=math.nan, **splits))
    return curves


def find_taskset_files(src: str | os.PathLike, tasks: Sequence[str] = (),
                       optimizer_families: Sequence[str] = ()) -> list[tuple[str, pathlib.Path]]:
    """The (task, path) of every TaskSet file `<src>/<task>/<file>.npz`, sorted, filtered by
    task patterns (fnmatch) and optimizer families.

    Raises:
      ConvertError: `src` is not a directory or holds no matching file.
    """
    src = pathlib.Path(src)
    if not src.is_dir():
        raise ConvertError(f"SRC_DIR {str(src)!r} is not a directory; pass the directory `taskset-bench curves "
                           "download taskset-original` filled (it prints it)")
    found = []
    for path in sorted(src.glob("*/*.npz")):
        if not FILE_RE.match(path.name):
            continue
        task = path.parent.name
        if tasks and not any(fnmatch.fnmatchcase(task, p) for p in tasks):
            continue
        family = optimizer_family_of(path.name)
        if optimizer_families and family not in optimizer_families \
                and recorded_family(family) not in optimizer_families:
            continue
        found.append((task, path))
    if not found:
        raise ConvertError(f"no TaskSet files <task>/<set>_<steps>_replica<R>.npz under {str(src)!r}"
                           + (f" matching tasks {list(tasks)!r}" if tasks else "")
                           + (f" and optimizer families {list(optimizer_families)!r}" if optimizer_families else "")
                           + "; download them with `taskset-bench curves download taskset-original`")
    return found


def shard_key(task: str, file_name: str, replica: int) -> str:
    """The key (and shard name) of one replica of one TaskSet file."""
    from curves.schema import SCHEMA_VERSION

    source = {"schema_version": SCHEMA_VERSION, "source": SOURCE, "task": task, "file": file_name, "replica": replica}
    return hashlib.sha256(json.dumps(source, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def convert_taskset(src: str | os.PathLike, out: str | os.PathLike,
                    config_tables: Sequence[str | os.PathLike] = (), tasks: Sequence[str] = (),
                    optimizer_families: Sequence[str] = (), progress: bool | None = None) -> ConvertReport:
    """Converts the TaskSet files under `src` into the curve directory `out`.

    Args:
      src: a directory of `<task>/<file>.npz`, as `curves download taskset-original` leaves it.
      out: the curve directory to write (created; shards already there are kept).
      config_tables: files mapping config names to hyperparameters (`load_config_table`);
        they take precedence over the published nadamw_grid configs.
      tasks: fnmatch patterns on task names; empty converts every task.
      optimizer_families: only these families (TaskSet's names or their `_tf1`
        variants); empty converts all.
      progress: show a tqdm bar over files; None shows it when stderr is a terminal.

    Returns:
      A `ConvertReport`.

    Raises:
      ConvertError: a source file or config table is malformed, or a shard in
        `out` came from other inputs.
      StoreError: `out` is locked by another writer or is not a directory.
    """
    from taskset import __version__

    from curves.schema import curves_to_table
    from curves.store import Store, shard_relpath, write_shard

    files = find_taskset_files(src, tasks, optimizer_families)
    table = load_config_table(config_tables)
    table_sha = hashlib.sha256(json.dumps(table, sort_keys=True).encode()).hexdigest() if table else None
    if any(optimizer_family_of(path.name) == "nadamw" for _, path in files):
        table = {**published_table(), **table}
    report = ConvertReport(out=str(out))
    if progress is None:
        progress = sys.stderr.isatty()
    if progress:
        from tqdm import tqdm

        files = tqdm(files, desc="convert", unit="file")
    with Store.open(out) as store:
        for task, path in files:
            family = optimizer_family_of(path.name)
            source = {"source": SOURCE, "source_file": f"{task}/{path.name}", "source_sha256": file_sha256(path),
                      "config_table_sha256": table_sha}
            data = None
            for replica in range(_replicas(path)):
                key = shard_key(task, path.name, replica)
                if store.has_shard(key):
                    _check_same_source(store.root / shard_relpath(key), source)
                    report.shards_present += 1
                    continue
                if data is None:
                    data = check_npz(path)
                curves = file_curves(data, task, family, replica, table)
                meta = {"key": key, "task": task, "family": task_family_of(task), "replica": replica,
                        "steps": int(data.xs[-1]) if len(data.xs) else 0,
                        "optimizer_families": [recorded_family(family)], "taskset_optimizer_family": family,
                        **source}
                entry, wrote = write_shard(store.root, key, curves_to_table(curves, replica, key, __version__, meta))
                store.record_shard(key, entry)
                if wrote:
                    report.shards_written += 1
                    report.curves += len(curves)
                    report.diverged += sum(c.status == "diverged" for c in curves)
                    report.without_hparams += sum(c.optimizer.name not in table for c in curves)
                else:
                    report.shards_present += 1
            report.files += 1
    return report


def _replicas(path: pathlib.Path) -> int:
    """Replicas of a file, from its name (checked against `ys` when the file is read)."""
    return int(FILE_RE.match(path.name).group("replicas"))


def _check_same_source(shard: pathlib.Path, source: dict[str, Any]) -> None:
    """Refuses to keep a shard converted from another source file or config table."""
    import pyarrow.parquet as pq

    from curves.schema import job_meta

    meta = job_meta(pq.read_schema(shard), str(shard))
    for field in ("source_sha256", "config_table_sha256"):
        if meta.get(field) != source[field]:
            what = "source file" if field == "source_sha256" else "config table"
            raise ConvertError(f"shard {str(shard)!r} ({source['source_file']}) was converted from another "
                               f"{what}; convert into a fresh --out directory, or delete the shard to redo it")
