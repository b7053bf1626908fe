"""Event order: timestamps in epoch milliseconds, (timestamp, tiebreaker) sort keys, sorted input.

Elasticsearch returns events sorted by timestamp, then by the tiebreaker field; an event
without a tiebreaker sorts after every event that has one at the same timestamp (spec §9).
Sequences depend on that order, so :func:`ordered` either proves the input is sorted, sorts
it, or raises: it never lets an out-of-order stream reach the matcher silently.

Join keys are ordered here too (:func:`join_key_order`), because sample results and
sequences that complete on the same event are listed in ascending join-key order.
"""

from __future__ import annotations

import itertools
import math
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator, Mapping

from .errors import EqlEventError
from .values import EPOCH_DAY as _EPOCH_DAY
from .values import parse_number

Event = Mapping[str, Any]



def timestamp_millis(value: Any) -> int | float:
    """Epoch milliseconds for a timestamp value.

    Accepts a number of epoch ms, a numeric string (``"1"``, ``"1.5"``), an ISO-8601
    string (``"2020-01-01"``, ``"2020-01-01T00:00:00.123456Z"``, ``"...+02:00"``; no zone
    means UTC) or a ``datetime``/``date``. Returns an int when the value is a whole number
    of milliseconds. Anything else raises :class:`EqlEventError`.
    """
    cls = value.__class__
    if cls is int:  # the common case first: no other checks needed
        return value
    if cls is float:
        if math.isfinite(value):
            return int(value) if value.is_integer() else value
        raise EqlEventError(f"timestamp {value!r} is not a finite number")
    if cls is str:
        return _parse_string(value)
    if isinstance(value, bool) or value is None:
        raise EqlEventError(f"timestamp {value!r} is not a number or a date")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return timestamp_millis(float(value))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        delta = value - datetime(1970, 1, 1, tzinfo=timezone.utc)
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return micros // 1000 if micros % 1000 == 0 else micros / 1000
    if isinstance(value, date):
        return (value.toordinal() - _EPOCH_DAY) * 86_400_000  # a date: midnight UTC
    raise EqlEventError(f"timestamp {value!r} ({cls.__name__}) is not a number or a date")


@lru_cache(maxsize=1024)  # a stream repeats timestamps; every stage of every rule reads them
def _parse_string(text: str) -> int | float:
    millis = parse_number(text.strip())  # epoch milliseconds, or an ISO-8601 date
    if millis is None:
        raise EqlEventError(f"timestamp {text!r} is neither epoch milliseconds nor a valid ISO-8601 date")
    return timestamp_millis(millis)


class EventOrder:
    """Orders events by (timestamp, tiebreaker), as Elasticsearch sorts them.

    ``timestamp`` and ``tiebreaker`` read raw field values from an event (for example
    ``fields.getter("@timestamp")``). Tiebreaker numbers sort before strings, so mixed
    types never make a comparison fail; a list or mapping as tiebreaker is an error.
    """

    __slots__ = ("_timestamp", "_tiebreaker")

    def __init__(self, timestamp: Callable[[Event], Any], tiebreaker: Callable[[Event], Any] | None) -> None:
        self._timestamp = timestamp
        self._tiebreaker = tiebreaker

    def millis(self, event: Event) -> int | float:
        """The event's timestamp in epoch milliseconds."""
        value = self._timestamp(event)
        if value.__class__ is int:
            return value
        if value is None:
            raise EqlEventError("event has no timestamp")
        return timestamp_millis(value)

    def key(self, event: Event) -> tuple:
        """Sort key: events without a tiebreaker sort after those with one (spec §9)."""
        millis = self.millis(event)
        if self._tiebreaker is None:
            return (millis,)
        tie = self._tiebreaker(event)
        if tie is None:
            return (millis, 1, 0, 0)
        if isinstance(tie, (int, float)):
            return (millis, 0, 0, tie)
        if isinstance(tie, str):
            return (millis, 0, 1, tie)
        raise EqlEventError(f"tiebreaker {tie!r} is not a single number or string")


OnError = Callable[[int, Event, EqlEventError], None]


def ordered(events: Iterable[Event], order: EventOrder, *, assume_sorted: bool | None = None,
            on_error: OnError | None = None) -> Iterator[Event]:
    """The events in (timestamp, tiebreaker) order, never silently out of order.

    * ``assume_sorted=None``: a list or tuple is checked in O(n) and sorted (stably) only
      if needed; any other iterable is streamed and checked as it goes.
    * ``assume_sorted=True``: nothing is buffered, not even a list; the order is still
      checked (O(1) per event) and a violation raises.
    * ``assume_sorted=False``: everything is read and sorted in memory.

    A streamed event that sorts before its predecessor raises :class:`EqlEventError`
    naming its position. An event with no place in time (no timestamp, a bad one, a
    tiebreaker that is not one value) raises too, unless ``on_error`` is given: then
    ``on_error(position, event, error)`` hears of it and the event is left out.
    """
    placed = _placed(events, order.key, on_error)
    if assume_sorted is False or (assume_sorted is None and isinstance(events, (list, tuple))):
        keyed = list(placed)
        if assume_sorted is None and all(a[0] <= b[0] for a, b in itertools.pairwise(keyed)):
            return (event for _, _, event in keyed)
        keyed.sort(key=lambda item: item[0])  # stable: equal keys keep their input order
        return (event for _, _, event in keyed)
    return _checked(placed, sortable=assume_sorted is None)


def _placed(events: Iterable[Event], key: Callable[[Event], tuple],
            on_error: OnError | None) -> Iterator[tuple[tuple, int, Event]]:
    """``(sort key, position, event)`` for every event that has a place in time."""
    for position, event in enumerate(events):
        try:
            yield key(event), position, event
        except EqlEventError as error:
            if on_error is None:
                raise
            on_error(position, event, error)


def _checked(placed: Iterable[tuple[tuple, int, Event]], *, sortable: bool) -> Iterator[Event]:
    previous = None
    for current, position, event in placed:
        if previous is not None and current < previous:
            advice = (
                "pass a list (it is sorted in memory) or sort the input by timestamp and tiebreaker"
                if sortable
                else "pass assume_sorted=None with a list, or assume_sorted=False, to have it sorted"
            )
            raise EqlEventError(
                f"event {position} (counting from 0) is out of order: its (timestamp, tiebreaker) "
                f"{current[0]!r}{_tie_text(current)} sorts before the previous event's "
                f"{previous[0]!r}{_tie_text(previous)}; {advice}"
            )
        previous = current
        yield event


def _tie_text(key: tuple) -> str:
    if len(key) == 1:
        return ""
    return ", no tiebreaker" if key[1] else f", {key[3]!r}"


def join_key_order(key: tuple) -> tuple:
    """A sort key for a join-key tuple: ascending per position, None first.

    Values of different types never meet in a comparison: None < booleans < numbers <
    strings < anything else (by type name and repr).
    """
    out = []
    for value in key:
        if value is None:
            out.append((0, 0))
        elif isinstance(value, bool):
            out.append((1, int(value)))
        elif isinstance(value, (int, float)):
            out.append((2, value))
        elif isinstance(value, str):
            out.append((3, value))
        else:
            out.append((4, type(value).__name__, repr(value)))
    return tuple(out)
