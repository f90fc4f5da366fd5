"""`optimizers list|show`: families, their spaces and named configs; no TensorFlow import.

JSON output (`--json`, stable, sorted keys):
  list: {"families": [{"name", "description", "space": [dim, ...]}, ...],
         "named_configs": [{"name", "family", "hparams"}, ...]} (by family, then hparams)
        where dim = {"name", "kind", "description", "low", "high" (numeric kinds),
        "choices" (choice), "zero_prob" (when a value may be exactly 0)}.
  show: a config: {"type": "config", "name", "family", "hparams"};
        a family: {"type": "family", "name", "description", "space"}.
"""

from __future__ import annotations

import sys

from taskset.cli.output import print_json, print_table


def add_commands(sub) -> None:
    opt = sub.add_parser("optimizers", help="list and show optimizer families and configs")
    osub = opt.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = osub.add_parser("list", help="list optimizer families with their spaces, and named configs")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.set_defaults(func=cmd_optimizers_list)

    p = osub.add_parser("show", help="show a config's hparams, or a family's space")
    p.add_argument("name", help="config (e.g. adam8p_seed12, adam_default) or family (e.g. nadamw)")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.set_defaults(func=cmd_optimizers_show)


def _format_hparams(hparams: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in sorted(hparams.items()))


def cmd_optimizers_list(args) -> int:
    from taskset.optimizers import NAMED_CONFIGS, OPTIMIZER_FAMILIES

    families = [OPTIMIZER_FAMILIES.get(name) for name in OPTIMIZER_FAMILIES.list()]
    # By family, then hparams: the adam_lr_* grid reads in order of the learning rate.
    named = sorted((NAMED_CONFIGS.get(name) for name in NAMED_CONFIGS.list()),
                   key=lambda c: (c.family, sorted(c.hparams.items()), c.name))
    if args.json:
        print_json({"families": [f.to_json() for f in families], "named_configs": [c.to_json() for c in named]})
        return 0
    print_table([(f.name, d.name, d.describe()) for f in families for d in f.space],
                ("family", "hparam", "range"))
    sys.stdout.write("\n")
    print_table([(c.name, c.family, _format_hparams(c.hparams)) for c in named], ("named config", "family", "hparams"))
    return 0


def cmd_optimizers_show(args) -> int:
    from taskset.optimizers import OPTIMIZER_FAMILIES, get_optimizer_config

    if args.name in OPTIMIZER_FAMILIES:
        family = OPTIMIZER_FAMILIES.get(args.name)
        if args.json:
            print_json({"type": "family", **family.to_json()})
        else:
            sys.stdout.write(f"family: {family.name}\ndescription: {family.description}\nspace:\n")
            for dim in family.space:
                sys.stdout.write(f"  {dim.name}: {dim.describe()}\n")
        return 0
    config = get_optimizer_config(args.name)
    if args.json:
        print_json({"type": "config", **config.to_json()})
    else:
        sys.stdout.write(f"name: {config.name}\nfamily: {config.family}\nhparams:\n")
        for key, value in sorted(config.hparams.items()):
            sys.stdout.write(f"  {key}: {value!r}\n")
    return 0
