"""Values from the Python data world, and values an attacker shapes (issues 7 and 8).

Events read as JSON would write them: a ``StrEnum`` is its text, a tuple or numpy array is a
list, a numpy number is the Python number it holds, NaN, ``pandas.NA`` and ``NaT`` are null,
a pandas Series is an event. Anything that is not an event is an EqlEventError. Hostile
values (cyclic or deeply nested lists, numbers too long to convert, dotted names of many
parts, products of multi-valued fields) cost bounded work and never crash.
"""

from __future__ import annotations

import enum
import warnings
from datetime import date, datetime
from typing import Any

import pytest

import eqlmini
from eqlmini import fields, limits, values
from eqlmini.limits import EqlLimitWarning


def matches(condition: str, event: Any, **options: Any) -> bool:
    return eqlmini.compile(f"any where {condition}", **options)(event)


class Color(enum.StrEnum):
    RED = "red"


class Code(enum.IntEnum):
    FIVE = 5


class Tag(str):
    """A str subclass that spells itself differently, as some libraries' string types do."""

    def __repr__(self) -> str:
        return f"Tag({str.__repr__(self)})"


NAN = float("nan")

# (condition, event, expected): the odd value must answer as its JSON twin would.
PYTHON_VALUES = [
    ('a : "RED"', {"a": Color.RED}, True),
    ('a in ("red", "blue")', {"a": Color.RED}, True),
    ('a like "r*"', {"a": [Color.RED]}, True),
    ('length(a) == 3', {"a": Color.RED}, True),
    ('a : "x*"', {"a": Tag("xy")}, True),
    ('a == 5', {"a": Code.FIVE}, True),
    ('a : "5"', {"a": Code.FIVE}, True),
    ('a + 1 == 6', {"a": Code.FIVE}, True),
    ('a == "x"', {"a": ("y", "x")}, True),
    ('a : "x"', {"a": ("y", "x")}, True),
    ('a == "x"', {"a": ["y", ("x",)]}, True),
    ('a : "x*"', {"a": ["y", ("x",)]}, True),
    ('a in ("x")', {"a": [("x",)]}, True),
    ('b.c == "x"', {"b": ({"c": "y"}, {"c": "x"})}, True),
    ('a == null', {"a": NAN}, True),
    ('a != null', {"a": NAN}, False),
    ('a : "*"', {"a": NAN}, False),
    ('a : "*"', {"a": [NAN]}, False),
    ('a == null', {"a": [NAN, None]}, True),
    ('not a : "NaN"', {"a": [NAN]}, True),
    ('a : "2020-01-02T03:04*"', {"a": datetime(2020, 1, 2, 3, 4)}, True),  # a date reads as its ISO-8601 text
    ('@timestamp < "2020-01-02T04:00:00+01:00"', {"@timestamp": datetime(2020, 1, 2, 2, 59)}, True),
    ('@timestamp >= "2020-01-02"', {"@timestamp": date(2020, 1, 2)}, True),
]


@pytest.mark.parametrize(("condition", "event", "expected"), PYTHON_VALUES,
                         ids=[f"{c} | {e!r}" for c, e, _ in PYTHON_VALUES])
def test_python_values_read_as_their_json_twins(condition: str, event: dict[str, Any], expected: bool) -> None:
    assert matches(condition, event) is expected


def test_numpy_values_are_the_python_values_they_hold() -> None:
    np = pytest.importorskip("numpy")
    rows = [
        ("a == 5", {"a": np.int64(5)}, True),
        ("a == 5", {"a": np.uint8(5)}, True),
        ('a : "5"', {"a": [np.int32(5)]}, True),
        ("a == 1.5", {"a": np.float32(1.5)}, True),
        ("a == true", {"a": np.bool_(True)}, True),
        ("a", {"a": np.bool_(True)}, True),
        ("a", {"a": np.bool_(False)}, False),
        ('a == "x"', {"a": np.str_("x")}, True),
        ('a == "x"', {"a": np.array(["y", "x"])}, True),
        ('a == "x"', {"a": np.array(["x"])}, True),
        ('a : "x"', {"a": np.array([["y"], ["x"]])}, True),
        ("a == 3", {"a": np.array([1, 2, 3])}, True),
        ("a == null", {"a": np.float64("nan")}, True),
        ("a == null", {"a": np.array([np.nan])}, True),
        ("a == null", {"a": np.datetime64("NaT")}, True),
        ("b.c == 3", {"b": [{"c": np.int64(3)}]}, True),
    ]
    for condition, event, expected in rows:
        assert matches(condition, event) is expected, (condition, event)


def test_pandas_missing_values_are_null_and_a_series_is_an_event() -> None:
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    assert matches("a == null", {"a": pd.NA})
    assert matches("a == null", {"a": pd.NaT})
    assert not matches('a : "*"', {"a": [pd.NA, None]})
    row = pd.Series({"process.name": "CMD.EXE", "process.pid": np.int64(4), "user.name": np.nan})
    assert matches('process.name : "cmd.exe" and process.pid == 4 and user.name == null', row)
    assert not matches("true", pd.Series(dtype=object)) is False
    frame = pd.DataFrame([{"a": "x", "n": 1}, {"a": "y", "n": np.nan}, {"a": "x", "n": 2}])
    assert frame.apply(eqlmini.compile('any where a == "x" and n < 2'), axis=1).tolist() == [True, False, False]


@pytest.mark.parametrize("event", [None, ["a"], "process", 3, object()], ids=repr)
@pytest.mark.parametrize("condition", ["true", "false", "true or a == 1"])
def test_a_non_mapping_event_is_always_an_event_error(condition: str, event: Any) -> None:
    with pytest.raises(eqlmini.EqlEventError, match="must be a mapping"):
        matches(condition, event)


def test_a_getter_refuses_a_non_mapping_event() -> None:
    for name in ("a", "a.b", "a.b.c"):
        with pytest.raises(eqlmini.EqlEventError, match="must be a mapping"):
            fields.getter(name)(None)


@pytest.mark.parametrize("condition", ['a == "y"', 'a : "y*"', "length(a) == 5", "a != null",
                                       'a in ("q", "r")', "a == 3", 'b.c == "y"'])
def test_a_list_that_contains_itself_is_an_event_error(condition: str) -> None:
    cyclic: list[Any] = ["x"]
    cyclic.append(cyclic)
    with pytest.raises(eqlmini.EqlEventError, match="contains itself"):
        matches(condition, {"a": cyclic, "b": {"c": cyclic}})


@pytest.mark.parametrize("condition", ['a == "x"', 'a : "x*"', "length(a) == 1", "a != null", 'b.c == "x"',
                                       'a in ("x", "y")'])
def test_lists_nested_ten_thousand_deep_are_read_without_recursion(condition: str) -> None:
    deep: Any = "x"
    for _ in range(10_000):
        deep = [deep]
    assert matches(condition, {"a": deep, "b": {"c": deep}})


HUGE_TEXT, HUGE_INT = "9" * 5000, 10 ** 5000  # beyond Python's 4,300-digit int() and str()
HUGE = [
    ("a == 1", HUGE_TEXT), ("a == 1", "-" + HUGE_TEXT), ("a > 1", HUGE_TEXT), ("a < 1", "-" + HUGE_TEXT),
    ("a > 1", HUGE_INT), ("a > 1", [10 ** 400]), ("a < 1", -(10 ** 30)),  # not numbers Elasticsearch could hold
    ("number(a) == 1", HUGE_INT), ("a + 0.5 > 1", HUGE_INT), ("a + 0.5 > 1", [10 ** 400]),
    ('string(a) == "1"', HUGE_INT), ('concat(a, "") == "x"', HUGE_INT),
]


@pytest.mark.parametrize(("condition", "stored"), HUGE, ids=[f"{c} | {type(s).__name__} {i}" for i, (c, s) in enumerate(HUGE)])
def test_numbers_too_long_to_convert_are_simply_not_numbers(condition: str, stored: Any) -> None:
    assert matches(condition, {"a": stored}) is False


def test_text_and_number_reading_of_huge_values() -> None:
    assert values.parse_number("9" * 5000) is None
    assert values.parse_number("1" + "0" * 4299) == 10 ** 4299
    assert values.to_text(10 ** 5000) is None
    assert values.as_values(2 ** 64) == ()
    assert values.as_values(2 ** 64 - 1) == (2 ** 64 - 1,)
    assert values.as_values([-(2 ** 63), -(2 ** 63) - 1]) == [-(2 ** 63)]


def test_the_number_cache_keeps_only_short_texts() -> None:
    values._parse_number_cached.cache_clear()
    values.parse_number("1" * limits.NUMBER_CACHE_TEXT_CHARS)
    values.parse_number("2" * (limits.NUMBER_CACHE_TEXT_CHARS + 1))
    values.parse_number("x" * 10_000)
    assert values._parse_number_cached.cache_info().currsize == 1


def test_the_getter_cache_keeps_only_short_names() -> None:
    fields._cached_getter.cache_clear()
    short, long = "a.b", "x" * (limits.GETTER_CACHE_NAME_CHARS + 1)
    assert fields.getter(short)({"a": {"b": 1}}) == 1
    assert fields.getter(long)({long: 2}) == 2
    assert fields._cached_getter.cache_info().currsize == 1


@pytest.mark.parametrize("parts", [26, 40, 3000])
def test_a_dotted_name_of_many_parts_costs_linear_work(parts: int) -> None:
    names = [f"p{i}" for i in range(parts)]
    name = ".".join(names)
    query = eqlmini.compile(f"any where {name} == 1", timestamp_field=name)  # a header key too
    nested: dict[str, Any] = {}
    node = nested
    for part in names[:-1]:
        node = node.setdefault(part, {})
    node[names[-1]] = 1
    half = parts // 2
    assert query(nested)
    assert query({name: 1})
    assert query({".".join(names[:half]): {".".join(names[half:]): [2, 1]}})
    assert not query({".".join(names[:half]): {".".join(names[half:]): 2}})
    assert not query({".".join(names[:-1]): 1})


def test_a_walk_merges_every_spelling_of_a_long_name() -> None:
    names = [f"p{i}" for i in range(limits.INLINE_FIELD_PARTS + 4)]
    name = ".".join(names)
    event = {name: "a", names[0]: {".".join(names[1:]): ["b", None]}, ".".join(names[:3]): [{".".join(names[3:]): "c"}]}
    assert fields.getter(name)(event) == ["b", "c", "a"]  # at each object, shorter keys first


def test_leaf_combinations_are_capped_and_the_cut_is_reported() -> None:
    names = [f"f{i}" for i in range(20)]
    query = eqlmini.compile(f"any where concat({', '.join(names)}) == \"x\"")
    event = {name: ["a", "b"] for name in names}
    with pytest.warns(EqlLimitWarning, match="LEAF_COMBINATIONS"):
        assert query(event) is False
    found = eqlmini.compile(f"any where concat({', '.join(names)}) == \"{'a' * 20}\"")
    with warnings.catch_warnings():
        warnings.simplefilter("error", EqlLimitWarning)  # found within the cap: nothing was cut
        assert found(event) is True
