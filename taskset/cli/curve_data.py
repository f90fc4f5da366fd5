"""`curves list|download|convert-taskset`: published curve datasets. None imports TensorFlow.

`--json` output (stable keys):
  list:             [{"name", "version", "description", "licence", "urls", "layout", "index",
                      "checksums", "citation", "homepage"}]
  download:         {"dataset", "root", "files", "fetched", "present", "bytes_fetched"}
  convert-taskset:  {"out", "files", "shards_written", "shards_present", "curves", "diverged",
                      "without_hparams"}
The mirror override: `--mirror URL` or $TASKSET_CURVES_MIRROR replaces a
dataset's registered URLs (see `curves.download`); it must serve the registered
version. Exit status of download: 0 success; 1 a network, server or checksum
failure (the message names the URL; nothing half-done is left); 2 bad input,
including a file the server says does not exist (a mistyped name or mirror).
"""

from __future__ import annotations

import sys

from taskset.cli.output import print_json, print_table


def add_commands(csub) -> None:
    """Adds the three commands to the `curves` group's sub-parsers `csub`."""
    p = csub.add_parser("list", help="list the downloadable curve datasets")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.set_defaults(func=cmd_list)

    p = csub.add_parser("download", help="download (part of) a published curve dataset, resumably")
    p.add_argument("name", help="dataset name, e.g. taskset-original (see `curves list`)")
    p.add_argument("--tasks", action="append", default=[], metavar="PATTERN",
                   help="only tasks matching this shell pattern, e.g. 'mlp_family_seed1*' (repeatable)")
    p.add_argument("--optimizer-family", action="append", default=[], metavar="F",
                   help="only this optimizer family, e.g. adam8p (repeatable)")
    p.add_argument("--out", help="directory to fill (default: the cache, see --cache-dir)")
    p.add_argument("--cache-dir", help="cache directory (default: $TASKSET_CACHE_DIR, else $XDG_CACHE_HOME/taskset)")
    p.add_argument("--workers", type=int, default=4, help="files downloaded at the same time, 1 to 64 (default 4)")
    p.add_argument("--mirror", metavar="URL",
                   help="base URL used instead of the registered ones (default: $TASKSET_CURVES_MIRROR)")
    p.add_argument("--retries", type=int, default=5,
                   help="failed attempts without progress before giving up on a URL, 1 to 100 (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON only, no progress bar")
    p.set_defaults(func=cmd_download)

    p = csub.add_parser("convert-taskset", help="convert downloaded TaskSet npz files into a curve directory")
    p.add_argument("src", metavar="SRC_DIR", help="directory of <task>/<file>.npz (what `curves download "
                                                  "taskset-original` filled)")
    p.add_argument("--out", required=True, help="curve directory to write (reruns skip what is there)")
    p.add_argument("--config-table", action="append", default=[], metavar="FILE",
                   help="JSON or CSV mapping TaskSet config names to hyperparameters, e.g. TaskSet's "
                        "optimizers/configs/adam8p_wide_grid.json (repeatable)")
    p.add_argument("--tasks", action="append", default=[], metavar="PATTERN",
                   help="only tasks matching this shell pattern (repeatable)")
    p.add_argument("--optimizer-family", action="append", default=[], metavar="F",
                   help="only this optimizer family (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON only, no progress bar")
    p.set_defaults(func=cmd_convert_taskset)


def cmd_list(args) -> int:
    from curves.registry import list_datasets

    datasets = [d.to_json() for d in list_datasets()]
    if args.json:
        print_json(datasets)
    else:
        print_table([(d["name"], d["version"], d["layout"], d["description"]) for d in datasets],
                    ("name", "version", "layout", "description"))
    return 0


def cmd_download(args) -> int:
    """Exit 1 (not 2) when the network, a server or the served bytes fail: the input was fine."""
    from curves.download import RetryPolicy, download_dataset
    from curves.errors import DownloadError, NotFoundError

    try:
        report = download_dataset(args.name, tasks=args.tasks, optimizer_families=args.optimizer_family,
                                  out=args.out, cache_dir=args.cache_dir, workers=args.workers, mirror=args.mirror,
                                  retry=RetryPolicy(attempts=args.retries), progress=False if args.json else None)
    except DownloadError as err:
        if isinstance(err, NotFoundError):
            raise  # a mistyped name or mirror URL: bad input, exit 2
        sys.stderr.write(f"taskset-bench: error: {err}\n")
        return 1
    if args.json:
        print_json(report.to_json())
        return 0
    sys.stdout.write(f"{report.fetched} files downloaded ({report.bytes_fetched} bytes), {report.present} already "
                     f"there -> {report.root}\n")
    if args.name == "taskset-original":
        sys.stdout.write(f"convert them with `taskset-bench curves convert-taskset {report.root} --out DIR`\n")
    return 0


def cmd_convert_taskset(args) -> int:
    import pathlib
    import shutil

    from curves.taskset_convert import convert_taskset
    from taskset.paths import check_output_dir

    out = check_output_dir(args.out, "--out")
    created = not out.exists()
    try:
        report = convert_taskset(args.src, args.out, config_tables=args.config_table, tasks=args.tasks,
                                 optimizer_families=args.optimizer_family, progress=False if args.json else None)
    except BaseException:
        # A conversion that failed before writing any shard leaves no empty curve directory behind.
        if created and out.is_dir() and not any(pathlib.Path(out, "shards").glob("*.parquet")):
            shutil.rmtree(out, ignore_errors=True)
        raise
    if args.json:
        print_json(report.to_json())
        return 0
    sys.stdout.write(f"{report.files} files: {report.shards_written} shards written ({report.curves} curves, "
                     f"{report.diverged} diverged), {report.shards_present} already there -> {report.out}\n")
    if report.without_hparams and args.config_table:
        sys.stdout.write(f"{report.without_hparams} curves have no hyperparameters: their configs are not in "
                         "the --config-table files\n")
    elif report.without_hparams:
        sys.stdout.write("no --config-table given: hyperparameters are not recorded (TaskSet publishes them in "
                         "task_set/optimizers/configs/*.json)\n")
    return 0
