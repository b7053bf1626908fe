"""Scalar semantics shared by the compiler and the engines: equality, ordering, text form.

Values are what a field or expression yields for one event: ``None`` (null or missing),
``str``, ``int``, ``float`` or ``bool``. Comparisons follow Elasticsearch's three-valued
logic inside expressions: anything compared with null is null (``None``).

Elasticsearch compares a field with a literal *through the field's mapping*: a keyword
field holding ``4688`` is the string ``"4688"``; a long field queried with ``"42"`` parses
the string; a date field queried with ``"2017-08-30T20:47:33Z"`` parses the date. eqlmini
has no mapping, so it coerces the same way at run time: a string meets a number by
parsing the string as a number, then as an ISO-8601 date (epoch milliseconds).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Sequence

Value = Any  # None | str | int | float | bool


SCALARS = frozenset({str, int, float, bool})


def as_values(raw: Any) -> Sequence[Any]:
    """The values held by what a field read returned: () for None, a 1-tuple for a scalar,
    the list itself when it is flat, else its scalars flattened (None and objects dropped)."""
    if raw is None:
        return ()
    if raw.__class__ is not list:
        return (raw,) if raw.__class__ in SCALARS else ()
    for item in raw:
        if item.__class__ not in SCALARS:
            return _flatten(raw, [])
    return raw


def _flatten(items: list[Any], out: list[Any]) -> list[Any]:
    for item in items:
        if item.__class__ is list:
            _flatten(item, out)
        elif item.__class__ in SCALARS:
            out.append(item)
    return out


def to_text(value: Value) -> str | None:
    """A scalar as Elasticsearch would index it in a keyword field, i.e. Java's ``toString``:
    ``true``, ``42``, ``42.0``, ``1.0E7``, ``1.0E-4``. None for anything that is not a scalar."""
    kind = value.__class__
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is not float:
        return None
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)  # plain notation with at least one decimal, as Java in this range
    number = Decimal(repr(value))
    digits = "".join(map(str, number.as_tuple().digits)).rstrip("0") or "0"
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{number.adjusted()}"


INTEGER = re.compile(r"[+-]?[0-9]+\Z")
DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


@lru_cache(maxsize=65536)
def parse_number(text: str) -> int | float | None:
    """A string read as a number the way a numeric or date mapping reads it: an ASCII
    integer or decimal, or an ISO-8601 date as epoch milliseconds; None for anything else."""
    if INTEGER.match(text):
        return int(text)
    if DECIMAL.match(text):
        number = float(text)
        return number if math.isfinite(number) else None
    return parse_date(text)


# ES's default date format is strict_date_optional_time||epoch_millis: a full date, an
# optional time (seconds and a fraction optional) and an optional zone.
_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?)?"
    r"(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?\Z"
)
EPOCH_DAY = date(1970, 1, 1).toordinal()


def parse_date(text: str) -> int | float | None:
    """An ISO-8601 date or date-time as epoch milliseconds (UTC when no zone), or None.

    Below a millisecond the fraction is kept (as a float), as a ``date_nanos`` field would.
    """
    match = _ISO.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:  # let datetime validate the calendar (month 13, February 30, hour 25 ...)
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None
    seconds = (moment.toordinal() - EPOCH_DAY) * 86_400 + moment.hour * 3600 + moment.minute * 60 + moment.second
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60)
    millis: int | float = seconds * 1000
    if fraction:
        millis += int(fraction[:3].ljust(3, "0"))
        rest = fraction[3:].rstrip("0")
        if rest:
            millis += int(rest) / 10 ** len(rest)
    return millis


def _is_number(value: Value) -> bool:
    return value.__class__ in (int, float)


def _coerce_pair(a: Value, b: Value) -> tuple[Value, Value] | None:
    """Bring two non-null scalars to a comparable pair, or None if they cannot be compared."""
    ka, kb = a.__class__, b.__class__
    if ka is kb:
        return a, b
    if _is_number(a) and _is_number(b):
        return a, b
    if ka is str and _is_number(b):
        number = parse_number(a)
        return (number, b) if number is not None else None
    if kb is str and _is_number(a):
        number = parse_number(b)
        return (a, number) if number is not None else None
    if ka is bool and kb is str:
        return (to_text(a), b)
    if kb is bool and ka is str:
        return (a, to_text(b))
    return None


def equals(a: Value, b: Value) -> bool | None:
    """``a == b`` in Elasticsearch's terms: None if either is null, else True or False."""
    if a is None or b is None:
        return None
    if a.__class__ is b.__class__:
        return a == b
    pair = _coerce_pair(a, b)
    return pair is not None and pair[0] == pair[1]


def compare(a: Value, b: Value) -> int | None:
    """-1, 0 or 1 for ordered scalars; None when either is null or they cannot be ordered."""
    if a is None or b is None:
        return None
    pair = _coerce_pair(a, b)
    if pair is None:
        return None
    x, y = pair
    if x != x or y != y:  # NaN is unordered
        return None
    if x.__class__ is bool or y.__class__ is bool:
        x, y = int(x), int(y)
    try:
        return (x > y) - (x < y)
    except TypeError:
        return None


def date_key(value: Value) -> int | float | None:
    """A value of a date field as epoch milliseconds (numbers as they are), or None."""
    if value.__class__ is str:
        return parse_number(value)
    return value if value.__class__ in (int, float) else None


_SEMVER = re.compile(r"([0-9]+)\.([0-9]+)\.([0-9]+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?\Z")


def version_key(value: Value) -> tuple | None:
    """A value of a version field as a sort key: semantic-versioning order, a pre-release
    before its release, and text that is not a version after every version, as the
    Elasticsearch ``version`` field type orders them."""
    text = to_text(value)
    if text is None:
        return None
    match = _SEMVER.match(text)
    if match is None:
        return (1, text)
    major, minor, patch, pre = match.groups()
    release = (1,) if pre is None else (0, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")))
    return (0, int(major), int(minor), int(patch), release)


FIELD_TYPES = {"date": date_key, "version": version_key}
