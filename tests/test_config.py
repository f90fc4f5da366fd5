import dataclasses
import json

import pytest
from hypothesis import given, strategies as st

from taskset import config as config_lib
from taskset.errors import ConfigError


@dataclasses.dataclass(frozen=True, kw_only=True)
class Example:
    name: str
    sizes: tuple[int, ...]
    rate: float
    flag: bool
    maybe: int | None = None


names = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters="\\'\""),
                max_size=12)
examples = st.builds(Example, name=names, sizes=st.lists(st.integers(-10**6, 10**6), max_size=6).map(tuple),
                     rate=st.floats(allow_nan=False, allow_infinity=False, width=64), flag=st.booleans(),
                     maybe=st.none() | st.integers(0, 100))


@given(examples)
def test_json_round_trip(example):
    data = json.loads(config_lib.to_json(config_lib.to_dict(example)))
    assert config_lib.from_dict(Example, data) == example


@given(examples)
def test_gin_round_trip(example):
    text = config_lib.to_gin("example", config_lib.to_dict(example), header={"family": "x"})
    parsed = config_lib.parse_gin(text)
    assert parsed["task"] == {"family": "x"}
    assert config_lib.from_dict(Example, parsed["example"]) == example


def test_to_dict_sorts_keys_and_lists_tuples():
    d = config_lib.to_dict(Example(name="a", sizes=(1, 2), rate=0.5, flag=True))
    assert list(d) == sorted(d) and d["sizes"] == [1, 2]


@pytest.mark.parametrize("data, message", [
    ({"name": "a", "sizes": [1], "rate": 1.0, "flag": True, "bogus": 1}, "unknown field"),
    ({"name": "a", "sizes": [1], "rate": 1.0}, "missing field 'flag'"),
    ({"name": "a", "sizes": [1.5], "rate": 1.0, "flag": True}, r"sizes\[0\]: expected an integer, got 1.5"),
    ({"name": "a", "sizes": [1], "rate": "fast", "flag": True}, "rate: expected a number, got 'fast'"),
    ({"name": "a", "sizes": [1], "rate": 1.0, "flag": 1}, "flag: expected true/false, got 1"),
    ({"name": "a", "sizes": 3, "rate": 1.0, "flag": True}, "expected a list, got 3"),
    ("not a dict", "expected a mapping"),
])
def test_from_dict_errors_name_the_bad_value(data, message):
    with pytest.raises(ConfigError, match=message):
        config_lib.from_dict(Example, data)


@pytest.mark.parametrize("text, message", [
    ("a.b = @foo", "references"),
    ("a.b = %M", "macros"),
    ("a.b = 1\na.b = 2", "bound twice"),
    ("a.b = [1,", "syntax error"),
    ("import os", "only plain"),
])
def test_parse_gin_rejects_non_literals(text, message):
    with pytest.raises(ConfigError, match=message):
        config_lib.parse_gin(text)
