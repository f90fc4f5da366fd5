"""Named, versioned curve datasets that `taskset-bench curves download` can fetch.

A `CurveDataset` says where a dataset lives (a base URL and its mirrors, tried
in order), what it is (description, licence, citation) and how its file list
is found: every dataset has one small *index* file at its base, read first,
from which the files to fetch are derived according to the dataset's layout:

  "taskset-npz"     Google's TaskSet release. The index `task_names.txt` lists
                    one task per line; each task has one `.npz` per optimizer
                    set under `<task>/` (see `TASKSET_FILES`). No checksums are
                    published, so each file is checked for its size (the
                    server's Content-Length) and its structure (the arrays and
                    shapes of `curves.taskset_convert.check_npz`) instead.
  "taskset-curves"  A curve directory of this project (`curves generate`
                    output): the index is its `manifest.json`, which gives the
                    sha256 and size of every shard, so every file is checked.

A dataset's version is what its bytes are: for the "taskset-curves" layout it
is the first 16 hex digits of its manifest's sha256 (`index_version`), and
`check_index` refuses an index (from any URL or mirror) that does not hash to
it, so nothing else can be cached or read under a registered name. TaskSet's
npz release publishes no checksum; its index must at least be a list of task
names (not, say, an HTML error page served with status 200).

`dataset_files` turns the index into the dataset's manifest (every file with its
sha256 and size where known) and `select_files` narrows it to some tasks and
optimizer families. Registering another dataset is one
`PUBLISHED_CURVES.register(name, CurveDataset(...))`.
Nothing here touches the network or imports NumPy; `curves.download` does the fetching.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
import pathlib
import re
from typing import Any, Sequence

from taskset.errors import ConfigError

from taskset.registry import Registry

LAYOUTS = ("taskset-npz", "taskset-curves")
INDEX_FILES = {"taskset-npz": "task_names.txt", "taskset-curves": "manifest.json"}

# TaskSet's released optimizer sets: our optimizer family -> file name under <task>/.
TASKSET_FILES = {
    "adam1p": "adam1p_wide_grid_1k_10000_replica5.npz",
    "adam4p": "adam4p_wide_grid_1k_10000_replica5.npz",
    "adam6p": "adam6p_wide_grid_1k_10000_replica5.npz",
    "adam8p": "adam8p_wide_grid_1k_10000_replica5.npz",
    "nadamw": "nadamw_grid_1k_10000_replica5.npz",
}

MINI_DIR = pathlib.Path(__file__).resolve().parent / "data" / "taskset-mini"
DEFAULT_DATASET = "taskset-small"
"""The curves a command uses when none is named (`lists fit`, `lists evaluate`): the shipped dataset."""


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """One file to fetch, relative to the dataset's base URL.

    Attributes:
      path: POSIX path below the base URL; also its path below the local root.
      sha256: the expected hex digest, or None where the publisher gives none.
      size: the expected size in bytes, or None where unknown.
      task: the task whose curves it holds (None for an index).
      optimizer_families: the optimizer families of its curves.
      extract: True for a tar or zip archive to unpack into the local root
        (safely, see `curves.download.safe_extract`) once verified.
    """

    path: str
    sha256: str | None = None
    size: int | None = None
    task: str | None = None
    optimizer_families: tuple[str, ...] = ()
    extract: bool = False


@dataclasses.dataclass(frozen=True)
class CurveDataset:
    """A downloadable curve dataset.

    Attributes:
      name: registry name, e.g. "taskset-original".
      version: the version of the data; it names the cache directory, so two
        versions never mix. For the "taskset-curves" layout it is
        `index_version(manifest bytes)`, and downloads enforce it.
      description: one line for `curves list`.
      licence: the data's licence, as its publisher states it.
      urls: base URLs, the first the primary and the rest mirrors serving the
        same bytes; `https://`, `gs://bucket/path` or `file://`.
      layout: one of `LAYOUTS` (see the module docstring).
      checksums: how files are verified, in words (shown by `curves list`).
      citation: what to cite when using the data.
      homepage: where the publisher describes it.
    """

    name: str
    version: str
    description: str
    licence: str
    urls: tuple[str, ...]
    layout: str
    checksums: str
    citation: str = ""
    homepage: str = ""

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"curve dataset {self.name!r}: layout {self.layout!r} is not one of {LAYOUTS!r}")
        if self.layout == "taskset-curves" and not _VERSION.fullmatch(self.version):
            raise ValueError(f"curve dataset {self.name!r}: the version of a taskset-curves dataset is the first 16 "
                             f"hex digits of its manifest's sha256 (`index_version`), got {self.version!r}")
        if not self.urls:
            raise ValueError(f"curve dataset {self.name!r} needs at least one base URL")

    @property
    def index_file(self) -> str:
        """The file read first, from which the file list is derived."""
        return INDEX_FILES[self.layout]

    def to_json(self) -> dict[str, Any]:
        """The dataset's description as JSON data (what `curves list --json` prints)."""
        return {"name": self.name, "version": self.version, "description": self.description,
                "licence": self.licence, "urls": list(self.urls), "layout": self.layout,
                "index": self.index_file, "checksums": self.checksums, "citation": self.citation,
                "homepage": self.homepage}


PUBLISHED_CURVES: Registry[CurveDataset] = Registry("curve dataset")

PUBLISHED_CURVES.register("taskset-original", CurveDataset(
    name="taskset-original",
    version="2020",
    description="Google's released TaskSet curves: over a thousand tasks x 5 optimizer sets x 1,000 configs "
                "x 5 replicas, 51 evaluations over 10k steps",
    licence="not stated with the files; published by the google-research repository (Apache-2.0)",
    # The primary bucket is the one TaskSet's own loaders read; the second is
    # the location the task_set README gives. Both are tried only in this order.
    urls=("gs://gresearch/task_set_data", "gs://task_set_data/task_set_data"),
    layout="taskset-npz",
    checksums="none published: sizes (Content-Length) and npz structure are verified instead",
    citation="Metz et al. 2020, Using a thousand optimization tasks to learn hyperparameter search "
             "strategies, arXiv:2002.11887",
    homepage="https://github.com/google-research/google-research/tree/master/task_set",
))


_VERSION = re.compile(r"[0-9a-f]{16}")
_TASK_NAME = re.compile(r"[A-Za-z0-9_.+\-]+")


def index_version(index: bytes) -> str:
    """The version an index's bytes make: the first 16 hex digits of their sha256."""
    return hashlib.sha256(index).hexdigest()[:16]


def shipped_version(directory: pathlib.Path) -> str:
    """The version of a dataset shipped in the repository: its manifest's sha256 (16 hex digits).

    The version names the cache directory, so a regenerated dataset gets a fresh
    copy instead of being read from a stale one.
    """
    return index_version((directory / "manifest.json").read_bytes())


def check_index(dataset: "CurveDataset", index: bytes, source: str) -> None:
    """Refuses an index that is not this dataset's: a wrong version, or not an index at all.

    Args:
      dataset: the registered dataset.
      index: the raw bytes fetched.
      source: where they came from (a URL or path), for the message.

    Raises:
      ChecksumError: the index does not hash to `dataset.version` (taskset-curves),
        or is not a UTF-8 list of task names (taskset-npz).
    """
    from curves.errors import ChecksumError

    if dataset.layout == "taskset-curves":
        actual = index_version(index)
        if actual != dataset.version:
            raise ChecksumError(f"{source}: this manifest has version {actual} (sha256 prefix), but "
                                f"{dataset.name!r} is registered as version {dataset.version}; the URL or mirror "
                                "serves another dataset or another version of it, so nothing was cached")
        return
    try:
        lines = [line.strip() for line in index.decode("utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        lines = None
    bad = None if lines is None else next((line for line in lines if not _TASK_NAME.fullmatch(line)), None)
    if lines is None or not lines or bad is not None:
        what = "is not UTF-8 text" if lines is None else "is empty" if not lines else f"has the line {bad[:60]!r}"
        raise ChecksumError(f"{source}: not a task list ({what}; an error page served as the file?); nothing was "
                            "cached, check the URL or --mirror")


SHIPPED_DIR = pathlib.Path(__file__).resolve().parent / "data"
SHIPPED = {
    "taskset-mini": "this project's first shipped curve dataset, 150 tasks, mostly quadratics and test functions "
                    "(curves/data/taskset-mini)",
    "taskset-small": "the family-balanced curve dataset: taskset-mini plus 6 tasks per neural family where the "
                     "budget allows, with replicas (curves/data/taskset-small)",
    "quick-reference": "reference curves of the benchmark's quick suite (curves/specs/quick_reference.gin)",
    "standard-reference": "reference curves of the benchmark's standard suite: taskset-small's jobs of its 28 "
                          "tasks, with replicas (scripts/make_small.py standard)",
}
"""The curve datasets shipped in the repository under `SHIPPED_DIR`/<name>: "downloading" one copies
(and verifies) its shards into the cache like any other dataset. A name registers once its directory
exists (taskset-small while it is generated in staging/ does not)."""


def _register_shipped() -> None:
    for name, description in SHIPPED.items():
        directory = SHIPPED_DIR / name
        if directory.is_dir():
            PUBLISHED_CURVES.register(name, CurveDataset(
                name=name, version=shipped_version(directory), description=description,
                licence="Apache-2.0 (this repository)", urls=(directory.as_uri(),), layout="taskset-curves",
                checksums="sha256 and size of every shard, from its manifest.json"))


_register_shipped()


def get_dataset(name: str) -> CurveDataset:
    """The dataset registered as `name` (raises UnknownNameError with close matches)."""
    return PUBLISHED_CURVES.get(name)


def list_datasets() -> list[CurveDataset]:
    """All registered datasets, sorted by name."""
    return [PUBLISHED_CURVES.get(name) for name in PUBLISHED_CURVES.list()]


def dataset_files(dataset: CurveDataset, index: bytes) -> list[RemoteFile]:
    """The dataset's manifest: every file its index names, with sha256 and size where known.

    Args:
      dataset: the dataset whose index this is.
      index: the raw bytes of its index file (`dataset.index_file`).

    Raises:
      ConfigError: the index is not what the layout expects.
    """
    where = f"{dataset.name} index {dataset.index_file!r}"
    if dataset.layout == "taskset-npz":
        try:
            lines = index.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            raise ConfigError(f"{where} is not UTF-8 text; the download is corrupt, delete it and retry") from None
        tasks = [line.strip() for line in lines if line.strip()]
        return [RemoteFile(path=f"{task}/{file}", task=task, optimizer_families=(family,))
                for task in tasks for family, file in TASKSET_FILES.items()]
    try:
        manifest = json.loads(index)
        shards = manifest["shards"]
        return [RemoteFile(path=entry["file"], sha256=entry["sha256"], size=int(entry["bytes"]), task=entry["task"],
                           optimizer_families=tuple(entry.get("optimizer_families", ())))
                for _, entry in sorted(shards.items())]
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"{where} is not a curve manifest ({type(err).__name__}: {err}); the download is "
                          "corrupt or the dataset's URL is wrong") from None


def select_files(files: Sequence[RemoteFile], tasks: Sequence[str] = (),
                 optimizer_families: Sequence[str] = ()) -> list[RemoteFile]:
    """The files whose task matches any of `tasks` (fnmatch patterns) and whose
    optimizer families meet `optimizer_families`; an empty selector keeps all.

    Raises:
      ConfigError: a pattern or family matches no file, so a typo does not
        silently download nothing (the message lists what is available).
    """
    names = sorted({f.task for f in files if f.task is not None})
    for pattern in tasks:
        if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
            shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
            raise ConfigError(f"--tasks {pattern!r} matches none of the {len(names)} tasks ({shown}); "
                              "patterns use shell wildcards, e.g. 'mlp_family_seed1*'")
    families = sorted({fam for f in files for fam in f.optimizer_families})
    for family in optimizer_families:
        if family not in families:
            raise ConfigError(f"--optimizer-family {family!r} is not in this dataset; available: {families!r}")
    return [f for f in files
            if (not tasks or (f.task is not None and any(fnmatch.fnmatchcase(f.task, p) for p in tasks)))
            and (not optimizer_families or set(f.optimizer_families) & set(optimizer_families))]
