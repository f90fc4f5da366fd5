"""Resolving --optimizer SPECs: config names, list entries, rule and Keras factories, and bad SPECs."""

from __future__ import annotations

import sys
import textwrap
import uuid

import pytest

from eval.benchmark.contenders import (KIND_CONFIG, KIND_KERAS, KIND_LIST, KIND_RULE, SpecError, parse_user_family,
                                       resolve)

FACTORIES = """
    from taskset.optimizers import get_rule

    def rule_with_hparams():
        return get_rule("adam1p"), {"lr": 0.01}

    def bare_rule():
        return get_rule("sgdm")

    class Custom:
        def init(self, params):
            return ()

        def update(self, grads, state, params, hparams, step, total_steps):
            return {k: p - hparams["lr"] * grads[k] for k, p in params.items()}, state

    def custom_object():
        return Custom(), {"lr": 0.1}

    def keras_adam():
        import keras
        return keras.optimizers.Adam(learning_rate=0.003)

    def a_string():
        return "adam"

    def bad_hparams():
        return get_rule("adam1p"), {"lr": "fast"}

    def raises():
        raise RuntimeError("no GPU\\nhere")

    not_callable = 3
"""


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A fresh importable module of factories; returns its name."""
    name = f"bench_user_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(FACTORIES))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_config_names():
    contender = resolve("adam8p_seed3")
    assert (contender.kind, contender.config.name, contender.config.family) == (KIND_CONFIG, "adam8p_seed3", "adam8p")
    assert resolve("adam_default").config.hparams == {"lr": 1e-3}
    assert contender.source_sha256 is None


def test_list_entries(list_file):
    contender = resolve(f"list:{list_file}:2")
    assert contender.kind == KIND_LIST
    assert contender.config.name == f"list:{list_file}:2"
    assert contender.config.family == "nadamw"
    assert contender.config.hparams == resolve("nadamw_seed2").config.hparams


def test_rule_factories(user_module):
    contender = resolve(f"{user_module}:rule_with_hparams")
    assert contender.kind == KIND_RULE
    assert contender.config.family == f"rule:{user_module}:rule_with_hparams"
    assert contender.config.hparams == {"lr": 0.01}
    assert len(contender.source_sha256) == 64
    assert parse_user_family(contender.config.family) == ("rule", f"{user_module}:rule_with_hparams")
    assert resolve(f"{user_module}:bare_rule").config.hparams == {}
    assert resolve(f"{user_module}:custom_object").kind == KIND_RULE


def test_keras_factory(user_module):
    contender = resolve(f"{user_module}:keras_adam")
    assert contender.kind == KIND_KERAS
    assert contender.config.family == f"keras:{user_module}:keras_adam"
    assert contender.config.hparams["learning_rate"] == pytest.approx(0.003)
    assert contender.config.hparams["beta_1"] == pytest.approx(0.9)


def test_registered_families_are_not_factories():
    assert parse_user_family("adam8p") is None
    assert parse_user_family("keras:") is None


@pytest.mark.parametrize("spec, fragment", [
    ("adam_defualt", "did you mean 'adam_default'"),
    ("adam8p", "is a family"),
    ("list:no_such_list:0", "no_such_list"),
    ("list:missing/list.json:0", "does not exist"),
    ("list:nadamw-mini", "list:NAME|PATH:INDEX"),
    ("no_such_module_xyz:make", "cannot import module 'no_such_module_xyz'"),
    ("{module}:missing", "has no callable 'missing'"),
    ("{module}:not_callable", "has no callable 'not_callable'"),
    ("{module}:a_string", "returned str"),
    ("{module}:bad_hparams", "hparam 'lr'='fast'"),
    ("{module}:raises", "raised RuntimeError: no GPU here"),
    (":make", "MODULE:FUNCTION"),
    ("", "is empty"),
])
def test_bad_specs_name_the_spec_on_one_line(user_module, spec, fragment):
    spec = spec.format(module=user_module)
    with pytest.raises(SpecError) as info:
        resolve(spec)
    message = str(info.value)
    assert fragment in message
    assert repr(spec) in message or spec == ""
    assert "\n" not in message


def test_list_index_out_of_range(list_file):
    with pytest.raises(SpecError, match=r"has 4 entries, so INDEX must be in \[0, 3\]"):
        resolve(f"list:{list_file}:4")
