"""The events as documents in an index: when each happened, where windows place it, when it arrived.

Three times matter for each event:

* its **time**: the rule's EQL timestamp field (``@timestamp``), which orders events in a
  search and against which ``maxspan`` and alert delays are measured;
* its **window time**: the field a run's time range filters on. Kibana filters on
  ``timestamp_override`` when the rule sets it and, unless
  ``timestamp_override_fallback_disabled``, on ``@timestamp`` for documents without that
  field (``buildTimeRangeFilter``, ``rule_types/utils/build_events_query.ts``);
* its **arrival**: when it became searchable, ``event.ingested``. A run sees only what
  has arrived by the time it starts. Events without ``event.ingested`` arrive at their
  ``@timestamp``, or after a simulated delay when one is given, which then also stands in
  for their ``event.ingested``.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from ..errors import EqlEventError
from ..fields import getter
from ..ordering import timestamp_millis
from .timing import duration_millis

__all__ = ["INGESTED", "Delay", "Document", "Index", "delay_function", "last_time"]

INGESTED = "event.ingested"
KIBANA_TIMESTAMP = "@timestamp"  # Kibana's fallback window field, whatever the rule's EQL timestamp field
Event = Mapping[str, Any]
Delay = Union[str, int, float, tuple, Callable[[Event], float], None]


@dataclass(frozen=True, slots=True)
class Document:
    """One event with its place in the input (``id``) and its three times in epoch ms
    (None when the event has no usable value)."""

    id: int
    event: Event
    time: int | float | None
    window_time: int | float | None
    arrival: int | float | None


def delay_function(delay: Delay, seed: int = 0) -> Callable[[Event], float] | None:
    """A simulated ingest delay as a function of the event: a duration (``"2m"``, or ms), a
    range ``"1m..10m"`` or ``(low, high)`` drawn uniformly per event (seeded), or a function."""
    if delay is None or callable(delay):
        return delay  # type: ignore[return-value]
    if isinstance(delay, str) and ".." in delay:
        delay = tuple(delay.split("..", 1))
    if isinstance(delay, tuple):
        if len(delay) != 2:
            raise ValueError(f"a delay range is (low, high), not {delay!r}")
        low, high = (duration_millis(part.strip() if isinstance(part, str) else part, "delay") for part in delay)
        if low > high:
            raise ValueError(f"a delay range goes from low to high, not {delay!r}")
        draw = random.Random(seed)
        return lambda event: draw.uniform(low, high)
    fixed = duration_millis(delay, "delay")
    return lambda event: fixed


class Index:
    """The events of a replay, placed for one way of reading time (one rule's fields)."""

    def __init__(self, events: Sequence[Event], *, timestamp_field: str, override: str | None, fallback: bool,
                 delay: Callable[[Event], float] | None) -> None:
        read_time, read_stamp, read_ingested = getter(timestamp_field), getter(KIBANA_TIMESTAMP), getter(INGESTED)
        read_override = getter(override) if override and override != INGESTED else None
        self.documents: list[Document] = []
        for position, event in enumerate(events):
            if event.__class__ is not dict and not isinstance(event, Mapping):
                continue  # not an event: no search returns it (counted as unplaced)
            time, stamp = _millis(read_time(event)), _millis(read_stamp(event))
            ingested = _millis(read_ingested(event))
            if ingested is None and delay is not None and stamp is not None:
                ingested = stamp + delay(event)
            window = None
            if override:
                window = ingested if read_override is None else _millis(read_override(event))
            if window is None and (not override or fallback):
                window = stamp
            self.documents.append(Document(position, event, time, window,
                                           ingested if ingested is not None else stamp))
        self._place(self.documents)

    def _place(self, documents: list[Document]) -> None:
        placed = sorted((doc.window_time, doc.id, doc) for doc in documents if doc.window_time is not None)
        self._placed = [doc for _, _, doc in placed]
        self._keys: list[int | float] = [time for time, _, _ in placed]

    @property
    def placed(self) -> int:
        """How many documents a window can place."""
        return len(self._placed)

    def narrowed(self, keep: Callable[[Document], bool]) -> "Index":
        """The same index with only the documents ``keep`` accepts (those an event rule matches)."""
        narrow = object.__new__(Index)
        narrow.documents = [doc for doc in self.documents if keep(doc)]
        narrow._place(narrow.documents)
        return narrow

    def span(self) -> tuple[int | float, int | float] | None:
        """The earliest window time, and the latest window time or arrival (None: no event placed)."""
        if not self._placed:
            return None
        arrivals = [doc.arrival for doc in self._placed if doc.arrival is not None]
        return self._keys[0], max([self._keys[-1], *arrivals])

    def count(self, start: int | float, end: int | float, now: int | float) -> int:
        """How many documents :meth:`visible` would return."""
        return len(self._arrived(start, end, now))

    def visible(self, start: int | float, end: int | float, now: int | float) -> list[Document]:
        """The documents a search at ``now`` over ``[start, end]`` sees (window time in the
        range, arrived by ``now``), in input order."""
        found = self._arrived(start, end, now)
        found.sort(key=lambda doc: doc.id)
        return found

    def _arrived(self, start: int | float, end: int | float, now: int | float) -> list[Document]:
        return [doc for doc in self._placed[bisect_left(self._keys, start):bisect_right(self._keys, end)]
                if doc.arrival is not None and doc.arrival <= now]


def last_time(documents: Iterable[Document]) -> int | float | None:
    """The latest ``time`` of ``documents`` (None when none has one): a match's time."""
    times = [doc.time for doc in documents if doc.time is not None]
    return max(times) if times else None


def _millis(value: Any) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, list):  # a field with one value, as Elasticsearch reads a date
        if len(value) != 1:
            return None
        value = value[0]
    try:
        return timestamp_millis(value)
    except EqlEventError:
        return None
