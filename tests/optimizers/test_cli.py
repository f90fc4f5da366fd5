"""`taskset-bench optimizers list|show`."""

from __future__ import annotations

import json
import subprocess
import sys

from taskset.cli import main
from tests.optimizers.test_families import RECORDED


def test_list_json_has_families_spaces_and_named_configs(capsys):
    assert main(["optimizers", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    families = {f["name"]: f for f in data["families"]}
    assert sorted(families) == ["adam1p", "adam1p_tf1", "adam4p", "adam4p_tf1", "adam6p", "adam6p_tf1", "adam8p",
                                "adam8p_tf1", "nadamw", "nadamw_tf1", "sgdm"]
    lr = families["adam1p"]["space"][0]
    assert lr == {"name": "lr", "kind": "log", "low": 1e-8, "high": 10.0, "description": "log-uniform [1e-08, 10]"}
    nadamw = {d["name"]: d for d in families["nadamw"]["space"]}
    assert nadamw["warmup_fraction"]["zero_prob"] == 0.5 and nadamw["nesterov"]["kind"] == "bool"
    named = data["named_configs"]
    assert len(named) == 18 and {"name": "adam_default", "family": "adam1p", "hparams": {"lr": 0.001}} in named
    lrs = [c["hparams"]["lr"] for c in named]
    assert lrs == sorted(lrs)  # the grid reads in order of the learning rate


def test_list_text(capsys):
    assert main(["optimizers", "list"]) == 0
    out = capsys.readouterr().out
    assert "nadamw adamw_weight_decay 0 w.p. 0.333333, else log-uniform [1e-05, 0.1]" in " ".join(out.split())
    assert "adam_lr_3.16e-07  adam1p  lr=3.162e-07" in out


def test_show_config_and_family(capsys):
    assert main(["optimizers", "show", "adam8p_seed12", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == {"type": "config", "name": "adam8p_seed12", "family": "adam8p", "hparams": RECORDED["adam8p_seed12"]}
    assert main(["optimizers", "show", "sgdm"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("family: sgdm\n") and "  momentum: 1 - log-uniform [0.001, 1]\n" in out
    assert main(["optimizers", "show", "nadamw", "--json"]) == 0
    family = json.loads(capsys.readouterr().out)
    assert family["type"] == "family" and len(family["space"]) == 10
    assert main(["optimizers", "show", "adam_default"]) == 0
    assert capsys.readouterr().out == "name: adam_default\nfamily: adam1p\nhparams:\n  lr: 0.001\n"


def test_unknown_name_exits_2_with_one_line_in_a_fresh_process_without_tensorflow():
    proc = subprocess.run([sys.executable, "-m", "taskset", "optimizers", "show", "adam9p_seed4"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "did you mean 'adam8p_seed4'" in proc.stderr
    code = ("import sys; from taskset.cli import main; "
            "[main(a) for a in (['optimizers','list','--json'], ['optimizers','show','nadamw_seed3','--json'], "
            "['optimizers','show','adam8p'])]; sys.stderr.write('TF=' + str('tensorflow' in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.endswith("TF=False")
