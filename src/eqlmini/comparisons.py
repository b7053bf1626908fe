"""How two values compare, as Elasticsearch compares them: through a field's mapping, or in memory.

Elasticsearch runs a comparison in one of two places, with different rules:

* **A field against a constant** becomes a Lucene query on the field, which reads the constant
  *through the field's mapping*: a keyword field holding ``4688`` is the string ``"4688"``; a
  long field queried with ``"42"`` parses the string; a date field queried with
  ``"2017-08-30T20:47:33Z"`` parses the date. eqlmini has no mapping, so :func:`equals` and
  :func:`compare` coerce the same way at run time: a string meets a number by parsing the
  string as a number, then as an ISO-8601 date (epoch milliseconds).
* **Anything else** (functions, arithmetic, constants) is computed in memory by QL's
  ``Comparisons`` (x-pack/plugin/ql/.../predicate/operator/comparison/Comparisons.java):
  numbers by ``Double.compare`` when either is a double (``0.0 == -0.0`` is false, NaN equals
  NaN and sorts above every other double), else as longs; strings by ``String.compareTo``
  (UTF-16 code units); values of different types are not comparable (null). ``in`` first
  converts each list value to the left side's type (QL ``In.foldAndConvertListOfValues``,
  ``DataTypeConverter.convert``), so ``2 in (1.5)`` is true: 1.5 rounds to 2.

Every function here is three-valued: None when either side is null or they cannot be compared.
"""

from __future__ import annotations

import math
from typing import Iterable

from .values import DECIMAL, INTEGER, Value, parse_number, to_text

NUMBERS = frozenset({int, float})
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1


def double_compare(x: float, y: float) -> int:
    """Java's ``Double.compare``: -0.0 below 0.0, NaN equal to itself and above everything."""
    if x < y:
        return -1
    if x > y:
        return 1
    if x == y:
        if x != 0:
            return 0
        x, y = math.copysign(1.0, x), math.copysign(1.0, y)  # the zeros, by their sign
        return (x > y) - (x < y)
    x_nan, y_nan = x != x, y != y
    return (x_nan > y_nan) - (x_nan < y_nan)


# ------------------------------------------------------------------ a field against a constant
def _coerce_pair(a: Value, b: Value) -> tuple[Value, Value] | None:
    """Bring two non-null scalars to a comparable pair, or None if they cannot be compared."""
    ka, kb = a.__class__, b.__class__
    if ka is kb or (ka in NUMBERS and kb in NUMBERS):
        return a, b
    if ka is str and kb in NUMBERS:
        number = parse_number(a)
        return (number, b) if number is not None else None
    if kb is str and ka in NUMBERS:
        number = parse_number(b)
        return (a, number) if number is not None else None
    if ka is bool and kb is str:
        return (to_text(a), b)
    if kb is bool and ka is str:
        return (a, to_text(b))
    return None


def equals(a: Value, b: Value) -> bool | None:
    """``a == b`` for a field value and a constant: None if either is null, else True or False."""
    if a is None or b is None:
        return None
    if a.__class__ is b.__class__:
        return a == b if a.__class__ is not float else double_compare(a, b) == 0
    pair = _coerce_pair(a, b)
    return pair is not None and pair[0] == pair[1]


def compare(a: Value, b: Value) -> int | None:
    """-1, 0 or 1 for a field value and a constant; None when either is null or they cannot
    be ordered (a field's NaN is null before it gets here, so NaN is unordered)."""
    if a is None or b is None:
        return None
    pair = _coerce_pair(a, b)
    if pair is None:
        return None
    x, y = pair
    if x != x or y != y:
        return None
    if x.__class__ is float and y.__class__ is float:
        return double_compare(x, y)
    if x.__class__ is bool or y.__class__ is bool:
        x, y = int(x), int(y)
    try:
        return (x > y) - (x < y)
    except TypeError:
        return None


# ------------------------------------------------------------------ in memory (QL Comparisons)
def java_compare(a: Value, b: Value) -> int | None:
    """QL ``Comparisons.compare``: numbers as doubles if either is one, else as longs; two
    strings or two booleans by ``compareTo``; anything else (or null) is None."""
    if a is None or b is None:
        return None
    ka, kb = a.__class__, b.__class__
    if ka in NUMBERS and kb in NUMBERS:
        if ka is float or kb is float:
            return double_compare(_double(a), _double(b))
        return (a > b) - (a < b)
    if ka is not kb:
        return None  # the ClassCastException that Comparisons turns into null
    if ka is str and not (a.isascii() and b.isascii()):
        # Java orders UTF-16 code units: U+FFFF sorts after U+10000, whose first unit is D800.
        a, b = a.encode("utf-16-be", "surrogatepass"), b.encode("utf-16-be", "surrogatepass")
    return (a > b) - (a < b)


def java_equals(a: Value, b: Value) -> bool | None:
    """QL ``Comparisons.eq``."""
    order = java_compare(a, b)
    return None if order is None else order == 0


def _double(number: int | float) -> float:
    try:
        return float(number)
    except OverflowError:  # Java's BigInteger.doubleValue: infinite
        return math.copysign(math.inf, number)


def convert_like(item: Value, like: Value) -> Value:
    """``item`` converted to the type of ``like``, as QL ``DataTypeConverter.convert`` does
    (a double to a long rounds; a number to a string is its Java text); None when it
    cannot be converted (Elasticsearch reports an error there)."""
    if item is None or item.__class__ is like.__class__:
        return item
    to, kind = like.__class__, item.__class__
    if to is str:
        return to_text(item)
    if to is int:
        if kind is float:
            return _java_round(item)
        if kind is bool:
            return int(item)
        number = parse_number(item) if kind is str and INTEGER.match(item) else None  # Long.valueOf
        return number if number.__class__ is int else None
    if to is float:
        if kind is int or kind is bool:
            return _double(int(item))
        number = parse_number(item) if kind is str and DECIMAL.match(item) else None  # Double.valueOf
        return float(number) if number is not None else None
    if to is bool:
        if kind is int or kind is float:
            return _java_round(item, truncate=True) != 0  # NUMERIC_TO_BOOLEAN reads longValue()
        lowered = item.lower() if kind is str else None
        return {"true": True, "false": False}.get(lowered) if lowered is not None else None
    return None


def _java_round(number: float | int, *, truncate: bool = False) -> int | None:
    """``DataTypeConverter.safeToLong``: ``Math.round`` (ties up; NaN is 0), None outside long
    range; with ``truncate``, Java's ``(long)`` cast instead."""
    if number != number:
        return 0
    if number > 2.0 ** 63 or number < -(2.0 ** 63):
        return None
    if truncate:
        return int(number)
    floor = math.floor(number)
    rounded = floor + 1 if number - floor >= 0.5 else floor  # exact, unlike floor(x + 0.5)
    return max(_LONG_MIN, min(_LONG_MAX, rounded))


def java_in(value: Value, items: Iterable[Value]) -> bool | None:
    """QL ``InProcessor.apply`` after ``In``'s conversion: true if the value equals some item
    converted to its type, else null if some comparison was null, else false."""
    if value is None:
        return None
    result: bool | None = False
    for item in items:
        equal = java_equals(value, convert_like(item, value))
        if equal:
            return True
        if equal is None:
            result = None
    return result
