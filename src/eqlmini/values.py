"""What a field holds, as Elasticsearch would index it: plain values from any Python data.

Values are what a field or expression yields for one event: ``None`` (null or missing),
``str``, ``int``, ``float`` or ``bool``. Events come from JSON, but also from the Python data
world, and read as JSON would write them: a str or int subclass (``StrEnum``) is its base
type, a numpy scalar is the Python number or boolean it holds, a tuple or numpy array is a
list, a date is its ISO-8601 text, and float NaN, ``pandas.NA`` and ``NaT`` are null. numpy
and pandas are recognised by duck typing, never imported. An event is a mapping (or a pandas
Series, read as one).

How values compare lives in :mod:`comparisons`; this module says what they are, their text
(Java's ``toString``) and how text reads as a number or a date.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Iterable, Sequence

from . import limits
from .errors import EqlEventError

Value = Any  # None | str | int | float | bool

SCALARS = frozenset({str, int, float, bool})
ALWAYS_VALUES = frozenset({str, int, bool})
"""Exact types stored values have as they are (a float may be NaN, which is null)."""
LONG_MIN, ULONG_MAX = -(1 << 63), (1 << 64) - 1
"""The integers Elasticsearch can hold (long and unsigned_long): a bigger one is not a number."""


def as_values(raw: Any) -> Sequence[Any]:
    """The values held by what a field read returned: () for None, a 1-tuple for a scalar,
    the list itself when it is flat and plain, else its values flattened and made plain
    (nulls, NaN and objects dropped; see the module docstring)."""
    kind = raw.__class__
    if kind is str or kind is bool:
        return (raw,)
    if kind is list:
        for item in raw:
            if item.__class__ is not str:
                return plain_values(raw)
        return raw
    if raw is None:
        return ()
    if kind is int:
        return (raw,) if LONG_MIN <= raw <= ULONG_MAX else ()
    if kind is float:
        return (raw,) if raw == raw else ()  # NaN stored in a field is null
    return plain_values((raw,))


def texts(raw: Any) -> list[str]:
    """The text (Java's ``toString``) of each value a stored value holds (see as_values)."""
    return [text for text in map(to_text, as_values(raw)) if text is not None]


def plain_values(items: Iterable[Any]) -> list[Any]:
    """The plain scalar values among ``items``, nested lists flattened (objects dropped)."""
    out = []
    for item in expand(items):
        value = plain(item)
        if value is not None:
            out.append(value)
    return out


def expand(items: Iterable[Any]) -> list[Any]:
    """``items`` with every list-like item (list, tuple, numpy array) replaced by its items,
    at any depth, in order. Iterative, so that deep nesting cannot exhaust the stack; a list
    that contains itself is an EqlEventError."""
    out: list[Any] = []
    stack = [(iter(items), id(items))]
    open_lists = {id(items)}  # the lists being expanded
    while stack:
        for item in stack[-1][0]:
            inner = list_items(item)
            if inner is None:
                out.append(item)
                continue
            if id(item) in open_lists:
                raise EqlEventError("an event holds a list that contains itself")
            stack.append((iter(inner), id(item)))
            open_lists.add(id(item))
            break
        else:
            open_lists.discard(stack.pop()[1])
    return out


def list_items(value: Any) -> Any:
    """The items of a list-like value (list, tuple, numpy or pandas array), else None."""
    kind = value.__class__
    if kind is list or kind is tuple:
        return value
    if kind in ALWAYS_VALUES or value is None or kind is float or kind is dict:
        return None
    if isinstance(value, (list, tuple)):
        return value
    if _from_numpy_or_pandas(value) and hasattr(value, "tolist") and getattr(value, "ndim", 1) > 0:
        return value.tolist()
    return None


def plain(value: Any) -> Value:
    """One stored value (not a list) as a plain scalar, or None when it is null or holds no
    value (an object, bytes, an integer beyond 64 bits): ``StrEnum`` -> str, ``numpy.int64``
    -> int, a ``datetime`` -> its ISO-8601 text, NaN and NaT -> None."""
    kind = value.__class__
    if kind is str or kind is bool:
        return value
    if kind is int:
        return value if LONG_MIN <= value <= ULONG_MAX else None
    if kind is float:
        return value if value == value else None
    if isinstance(value, str):
        return str.__str__(value)  # an exact str with the same characters
    if isinstance(value, int):  # bool cannot be subclassed, so this is an int subclass
        return plain(int.__int__(value))
    if isinstance(value, float):  # numpy.float64 is a float subclass
        number = float.__float__(value)
        return number if number == number else None
    if isinstance(value, date):  # datetime, pandas.Timestamp: the ISO-8601 text JSON encoders write
        return value.isoformat() if value == value else None  # NaT is a datetime unequal to itself
    if _from_numpy_or_pandas(value):
        kind = getattr(getattr(value, "dtype", None), "kind", None)
        if kind in _NUMPY_NUMBERS:
            return plain(value.item())  # numpy.int64, bool_, float32 ... as the Python scalar they hold
        if kind == "M":  # numpy.datetime64
            return str(value) if value == value else None
    return None  # None, objects, pandas.NA, bytes: no value


_NUMPY_NUMBERS = frozenset("biuf")  # numpy dtype kinds: bool, signed and unsigned int, float


def _from_numpy_or_pandas(value: Any) -> bool:
    return (type(value).__module__ or "").partition(".")[0] in ("numpy", "pandas")


def as_event(event: Any) -> Mapping[str, Any]:
    """An event as a mapping: a Mapping as it is, a pandas Series as a dict of its items;
    anything else is an EqlEventError."""
    if isinstance(event, Mapping):
        return event
    if _from_numpy_or_pandas(event) and type(event).__name__ == "Series":
        return dict(event.items())
    raise EqlEventError(f"an event must be a mapping (a dict), not {type(event).__name__}")


def to_text(value: Value) -> str | None:
    """A scalar as Elasticsearch would index it in a keyword field, i.e. Java's ``toString``:
    ``true``, ``42``, ``42.0``, ``1.0E7``, ``1.0E-4``. None for anything that is not a scalar,
    and for an integer too long to write out (over Python's 4,300 digits)."""
    kind = value.__class__
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        try:
            return str(value)
        except ValueError:  # beyond sys.get_int_max_str_digits(): not a number ES could hold
            return None
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


def parse_number(text: str) -> int | float | None:
    """A string read as a number the way a numeric or date mapping reads it: an ASCII
    integer or decimal, or an ISO-8601 date as epoch milliseconds; None for anything else.

    Short texts (the usual codes, ports and timestamps) are remembered; a long one is read
    afresh, so that event text never piles up in the cache."""
    if len(text) <= limits.NUMBER_CACHE_TEXT_CHARS:
        return _parse_number_cached(text)
    return _parse_number(text)


def _parse_number(text: str) -> int | float | None:
    if INTEGER.match(text):
        try:
            return int(text)
        except ValueError:  # over Python's 4,300 digits: read as a double, which is infinite
            return None
    if DECIMAL.match(text):
        number = float(text)
        return number if math.isfinite(number) else None
    return parse_date(text)


_parse_number_cached = lru_cache(maxsize=65536)(_parse_number)


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
