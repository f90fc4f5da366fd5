"""`tasks list|show|sample` and `data list|prepare`; none of these import TensorFlow
(except `data prepare`, which downloads through TFDS)."""

from __future__ import annotations

import sys

from taskset.cli.output import print_json, print_table


def add_commands(sub) -> None:
    tasks = sub.add_parser("tasks", help="list, show and sample tasks")
    tsub = tasks.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = tsub.add_parser("list", help="list catalogue tasks")
    p.add_argument("--family", help="only this family ('fixed' for the hand-designed tasks)")
    p.add_argument("--runnable", action="store_true", help="only tasks whose data is available offline now")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.set_defaults(func=cmd_tasks_list)

    p = tsub.add_parser("show", help="show one task's config")
    p.add_argument("name", help="task name, e.g. mlp_seed12")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.add_argument("--gin", action="store_true", help="print the config as gin bindings")
    p.set_defaults(func=cmd_tasks_show)

    p = tsub.add_parser("sample", help="sample a task config from a family and seed")
    p.add_argument("family", help="family name, e.g. mlp")
    p.add_argument("--seed", type=int, required=True, help="non-negative integer seed")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.set_defaults(func=cmd_tasks_sample)

    data = sub.add_parser("data", help="list and prepare datasets")
    dsub = data.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = dsub.add_parser("list", help="list datasets and whether they are available")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.set_defaults(func=cmd_data_list)
    p = dsub.add_parser("prepare", help="download and prepare a TFDS dataset (needs network)")
    p.add_argument("name", help="dataset name, e.g. cifar10")
    p.set_defaults(func=cmd_data_prepare)


def cmd_tasks_list(args) -> int:
    from taskset.tasks import list_tasks

    entries = list_tasks(family=args.family, runnable_only=args.runnable)
    if args.json:
        print_json([e.to_json() for e in entries])
    else:
        print_table([(e.name, e.family, "yes" if e.runnable else "no", e.num_params, ",".join(e.datasets))
                     for e in entries], ("name", "family", "runnable", "params", "datasets"))
    return 0


def _describe(task) -> dict:
    return {"name": task.name, "family": task.family, "config": task.config_dict,
            "num_params": task.num_params, "datasets": list(task.required_datasets()),
            "runnable": task.is_runnable(),
            "param_shapes": {k: list(v) for k, v in task.param_shapes().items()}}


def _show(task, args) -> int:
    from taskset.tasks import task_to_gin

    if args.json:
        print_json(_describe(task))
    elif getattr(args, "gin", False):
        sys.stdout.write(task_to_gin(task))
    else:
        info = _describe(task)
        for key in ("name", "family", "num_params", "datasets", "runnable"):
            sys.stdout.write(f"{key}: {info[key]}\n")
        sys.stdout.write("config:\n")
        for key, value in info["config"].items():
            sys.stdout.write(f"  {key}: {value}\n")
    return 0


def cmd_tasks_show(args) -> int:
    from taskset.tasks import get_task

    return _show(get_task(args.name), args)


def cmd_tasks_sample(args) -> int:
    from taskset.tasks import sample_task

    return _show(sample_task(args.family, args.seed), args)


def cmd_data_list(args) -> int:
    from taskset.datasets import DATASETS

    rows = []
    for name in DATASETS.list():
        ds = DATASETS.get(name)
        rows.append({"name": name, "source": ds.info.source, "kind": ds.info.kind,
                     "available": ds.is_available(), "description": ds.info.description,
                     "licence": ds.info.licence})
    if args.json:
        print_json(rows)
    else:
        print_table([(r["name"], r["source"], r["kind"], "yes" if r["available"] else "no", r["description"])
                     for r in rows], ("name", "source", "kind", "available", "description"))
    return 0


def cmd_data_prepare(args) -> int:
    from taskset.datasets import DATASETS
    from taskset.errors import TasksetError

    ds = DATASETS.get(args.name)
    prepare = getattr(ds, "prepare", None)
    if prepare is None:
        if ds.is_available():
            sys.stdout.write(f"{args.name} is embedded and already available\n")
            return 0
        raise TasksetError(f"dataset {args.name!r} cannot be downloaded; {ds.how_to_get()}")
    prepare()
    sys.stdout.write(f"{args.name} prepared\n")
    return 0
