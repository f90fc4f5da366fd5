import pytest

from taskset.errors import DuplicateNameError, TasksetError, UnknownNameError
from taskset.registry import Registry


def test_register_get_list():
    reg = Registry("widget")
    reg.register("b", 2)
    reg.register("a", 1)
    assert reg.get("a") == 1 and reg.list() == ["a", "b"] and "a" in reg and len(reg) == 2


def test_duplicate_is_an_error():
    reg = Registry("widget")
    reg.register("a", 1)
    with pytest.raises(DuplicateNameError, match="'a' is already registered"):
        reg.register("a", 2)


def test_unknown_name_suggests_close_matches():
    reg = Registry("widget")
    for name in ("conv_pooling", "conv_fc", "mlp"):
        reg.register(name, name)
    with pytest.raises(UnknownNameError) as err:
        reg.get("conv_polling")
    assert "unknown widget 'conv_polling'" in str(err.value) and "'conv_pooling'" in str(err.value)
    assert isinstance(err.value, TasksetError)


def test_temporary_entries_do_not_leak():
    reg = Registry("widget")
    with reg.temporary("tmp", 3):
        assert reg.get("tmp") == 3
    assert "tmp" not in reg


def test_bad_name_rejected():
    with pytest.raises(ValueError, match="non-empty string"):
        Registry("widget").register("", 1)
