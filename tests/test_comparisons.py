"""Values compared as Java compares them, where Elasticsearch compares in memory (issue 8, part 1, item 4).

Sources (elastic/elasticsearch, x-pack/plugin/ql): ``expression/predicate/operator/comparison/
Comparisons.java`` (numbers by ``Double.compare`` when either is a double, else as longs;
``compareTo`` for the rest; a ClassCastException is null), ``.../comparison/In.java``
(``foldAndConvertListOfValues``: each list value converted to the left side's type) and
``type/DataTypeConverter.java`` (``safeToLong``: ``Math.round``, range-checked;
``OTHER_TO_STRING``: ``String.valueOf``).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import pytest

import eqlmini
from eqlmini import comparisons, runtime


def matches(condition: str, event: dict[str, Any] | None = None) -> bool:
    return eqlmini.compile(f"any where {condition}")(event or {})


IN_MEMORY = [
    # In converts its list to the left side's type: a double to a long rounds half up.
    ("2 in (1.5)", {}, True),
    ("1 in (1.5)", {}, False),
    ("3 in (2.5)", {}, True),
    ("(-2) in (-2.5)", {}, True),  # Math.round(-2.5) is -2
    ("2 not in (1.5)", {}, False),
    ("length(a) in (1.5)", {"a": "ab"}, True),
    ("length(a) in (1.5)", {"a": "a"}, False),
    # Double.compare: the zeros differ, NaN equals itself and sorts above everything.
    ("0.0 == -0.0", {}, False),
    ("-0.0 < 0.0", {}, True),
    ("0.0 / 0.0 == 0.0 / 0.0", {}, True),
    ("0.0 / 0.0 > 1.0 / 0.0", {}, True),
    ("a + 0.0 == -0.0", {"a": -0.0}, False),  # -0.0 + 0.0 is 0.0
    ("a * 1.0 == 0.0", {"a": -0.0}, False),
    # String.compareTo orders UTF-16 code units: U+FFFF after U+10000 (high surrogate D800).
    ('"\\u{FFFF}" > "\\u{10000}"', {}, True),
    ('concat(a) > "\\u{10000}"', {"a": "\uffff"}, True),
]


@pytest.mark.parametrize(("condition", "event", "expected"), IN_MEMORY, ids=[c for c, _, _ in IN_MEMORY])
def test_in_memory_values_compare_as_java_compares_them(condition: str, event: dict[str, Any], expected: bool) -> None:
    assert matches(condition, event) is expected


@pytest.mark.parametrize(("condition", "value", "expected"), [
    ("a == 0.0", -0.0, False),  # a double point query tells the zeros apart, too
    ("a == -0.0", 0.0, False),
    ("a == -0.0", -0.0, True),
    ("a in (0.0, 1.0)", -0.0, False),
    ("a < 0.0", -0.0, True),
])
def test_a_double_field_tells_the_zeros_apart(condition: str, value: float, expected: bool) -> None:
    assert matches(condition, {"a": value}) is expected


def test_values_of_different_types_do_not_compare_in_memory() -> None:
    equal, less = runtime.IN_MEMORY_COMPARISONS["=="], runtime.IN_MEMORY_COMPARISONS["<"]
    assert equal("10", 10) is None
    assert equal(True, 1) is None
    assert less(2, "3") is None
    assert equal(1, 1.0) is True  # numbers meet as doubles
    assert equal(2 ** 53 + 1, float(2 ** 53)) is True  # as Java's long.doubleValue() rounds
    assert comparisons.equals("10", 10) is True  # a field against a constant: through its mapping


def test_double_compare_orders_as_java() -> None:
    ordered = sorted([math.nan, 1.0, -0.0, math.inf, 0.0, -math.inf], key=functools.cmp_to_key(comparisons.double_compare))
    assert [repr(x) for x in ordered] == ["-inf", "-0.0", "0.0", "1.0", "inf", "nan"]


@pytest.mark.parametrize(("item", "like", "converted"), [
    (1.5, 7, 2), (-1.5, 7, -1), (0.49999999999999994, 7, 0), (math.nan, 7, 0), (1e300, 7, None),
    (2, 7.0, 2.0), (True, 7, 1), (4, "x", "4"), (4.0, "x", "4.0"), (1e7, "x", "1.0E7"), (False, "x", "false"),
    ("12", 7, 12), ("1.5", 7, None), ("1.5", 7.0, 1.5), ("TRUE", False, True), ("yes", False, None),
    (0.5, False, False), (2, False, True), (None, 7, None), ("x", "y", "x"),
])
def test_in_converts_each_list_value_to_the_left_sides_type(item: Any, like: Any, converted: Any) -> None:
    result = comparisons.convert_like(item, like)
    assert result == converted and result.__class__ is converted.__class__
