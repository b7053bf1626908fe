"""Event order: timestamps in epoch milliseconds, (timestamp, tiebreaker) sort keys, sorted input.

Elasticsearch returns events sorted by timestamp, then by the tiebreaker field; an event
without a tiebreaker sorts after every event that has one at the same timestamp (spec §9).
Sequences depend on that order, so :func:`ordered` either proves the input is sorted, sorts
it, or raises: it never lets an out-of-order stream reach the matcher silently.

Join keys are ordered here too (:func:`join_key_order`), because sample results and
sequences that complete on the same event are listed in ascending join-key order.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

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


# Timestamp texts that repeat (every stage of every rule reads them) are parsed once; only
# short ones are kept, so that the cache never holds much of an event (a timestamp text is
# at most ~35 characters; a longer one is parsed each time it is read).
_CACHED_TEXT = 64


def _parse_string(text: str) -> int | float:
    if len(text) <= _CACHED_TEXT:
        return _parse_short(text)
    return _parse_text(text)


def _parse_text(text: str) -> int | float:
    millis = parse_number(text.strip())  # epoch milliseconds, or an ISO-8601 date
    if millis is None:
        raise EqlEventError(f"timestamp {_clip(text)} is neither epoch milliseconds nor a valid ISO-8601 date")
    return timestamp_millis(millis)


_parse_short = lru_cache(maxsize=1024)(_parse_text)


def _clip(text: str) -> str:
    """``repr(text)``, cut short when long: messages never echo a whole hostile value."""
    return repr(text) if len(text) <= 80 else repr(text[:60]) + f"... ({len(text):,} characters)"


class EventOrder:
    """Orders events by (timestamp, tiebreaker), as Elasticsearch sorts them.

    ``timestamp`` and ``tiebreaker`` read raw field values from an event (for example
    ``fields.getter("@timestamp")``). Tiebreaker numbers sort before strings, so mixed
    types never make a comparison fail; a list or mapping as tiebreaker is an error. An
    event that is not a mapping has no place in time: EqlEventError.
    """

    __slots__ = ("_timestamp", "_tiebreaker", "top_level")

    def __init__(self, timestamp: Callable[[Event], Any], tiebreaker: Callable[[Event], Any] | None,
                 top_level: str | None = None) -> None:
        self._timestamp = timestamp
        self._tiebreaker = tiebreaker
        self.top_level = top_level
        """The timestamp field's name when it is one top-level key (``@timestamp``), else None:
        a hot loop reads ``event.get(top_level)`` and falls back on :meth:`millis` unless it
        is an int."""

    @property
    def read_timestamp(self) -> Callable[[Event], Any]:
        """The raw timestamp reader: a hot loop calls it and falls back on :meth:`millis`
        unless it returns an int."""
        return self._timestamp

    @property
    def has_tiebreaker(self) -> bool:
        """Whether events are ordered by a tiebreaker after the timestamp."""
        return self._tiebreaker is not None

    def millis(self, event: Event) -> int | float:
        """The event's timestamp in epoch milliseconds."""
        try:
            value = self._timestamp(event)
        except AttributeError:
            raise _not_an_event(event) from None
        if value.__class__ is int:
            return value
        if value is None:
            raise _not_an_event(event) if not isinstance(event, Mapping) else EqlEventError("event has no timestamp")
        return timestamp_millis(value)

    def key(self, event: Event) -> tuple:
        """Sort key: events without a tiebreaker sort after those with one (spec §9)."""
        millis = self.millis(event)
        if self._tiebreaker is None:
            return (millis,)
        return (millis, *self._tie(event))

    def _tie(self, event: Event) -> tuple:
        tie = self._tiebreaker(event)  # type: ignore[misc]
        if tie is None:
            return (1, 0, 0)
        if isinstance(tie, (int, float)):
            return (0, 0, tie)
        if isinstance(tie, str):
            return (0, 1, tie)
        raise EqlEventError(f"tiebreaker {tie!r} is not a single number or string")


def _not_an_event(event: Any) -> EqlEventError:
    return EqlEventError(f"an event must be a mapping (a dict), not {type(event).__name__}")


OnError = Callable[[int, Event, EqlEventError], None]


def ordered(events: Iterable[Event], order: EventOrder, *, assume_sorted: bool | None = None,
            on_error: OnError | None = None) -> Iterable[Event]:
    """The events in (timestamp, tiebreaker) order, never silently out of order.

    * ``assume_sorted=None``: a list or tuple is checked in one pass, which keeps nothing,
      and sorted (stably, in a copy) only if needed; any other iterable is streamed and
      checked as it goes.
    * ``assume_sorted=True``: nothing is buffered, not even a list; the order is still
      checked (O(1) per event) and a violation raises.
    * ``assume_sorted=False``: everything is read and sorted in memory.

    A streamed event that sorts before its predecessor raises :class:`EqlEventError`
    naming its position. An event with no place in time (not a mapping, no timestamp, a
    bad one, a tiebreaker that is not one value) raises too, unless ``on_error`` is
    given: then ``on_error(position, event, error)`` hears of it and the event is left out.
    """
    if assume_sorted is None and isinstance(events, (list, tuple)):
        unplaced: list[int] = []
        if _in_order(events, order, on_error, unplaced):
            if not unplaced:
                return events  # already in order: no copy, nothing held
            left_out = set(unplaced)
            return [event for position, event in enumerate(events) if position not in left_out]
        on_error = _skip  # every event with no place in time was reported in the first pass
    if assume_sorted is False or assume_sorted is None and isinstance(events, (list, tuple)):
        keyed = [(key, event) for key, _, event in _placed(events, order.key, on_error)]
        keyed.sort(key=lambda item: item[0])  # stable: equal keys keep their input order
        return [event for _, event in keyed]
    return _checked(events, order, on_error, sortable=assume_sorted is None)


def _skip(position: int, event: Event, error: EqlEventError) -> None:
    """Leaves an event out without a word (for events already reported)."""


def _in_order(events: Sequence[Event], order: EventOrder, on_error: OnError | None, unplaced: list[int]) -> bool:
    """Whether ``events`` are in (timestamp, tiebreaker) order, in one pass over all of them
    that keeps nothing but the positions of the events with no place in time (``unplaced``,
    each reported to ``on_error`` or raised)."""
    read, millis, top_level = order.read_timestamp, order.millis, order.top_level
    key = order.key if order.has_tiebreaker else None
    previous: Any = None
    current: Any
    in_order = True
    for position, event in enumerate(events):
        try:
            if key is not None:
                current = key(event)
            else:
                current = event.get(top_level) if top_level is not None else read(event)
                if current.__class__ is not int:
                    current = millis(event)
        except (EqlEventError, AttributeError) as error:
            if on_error is None:
                raise _event_error(error, event) from None
            on_error(position, event, _event_error(error, event))
            unplaced.append(position)
            continue
        if previous is not None and current < previous:
            in_order = False
        previous = current
    return in_order


def _event_error(error: Exception, event: Event) -> EqlEventError:
    return error if isinstance(error, EqlEventError) else _not_an_event(event)


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


def _checked(events: Iterable[Event], order: EventOrder, on_error: OnError | None, *,
             sortable: bool) -> Iterator[Event]:
    """The events of a stream as they come, each checked against the one before."""
    key = order.key
    previous = None
    for position, event in enumerate(events):
        try:
            current = key(event)
        except EqlEventError as error:
            if on_error is None:
                raise
            on_error(position, event, error)
            continue
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
    out: list[tuple] = []
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
