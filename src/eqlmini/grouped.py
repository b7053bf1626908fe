"""Sequences and samples matched group by group, with the answers of one pass over all events.

A distributed engine cannot feed every event to one matcher, but it can split the events
into groups and run eqlmini's matcher on each. Two splits keep every answer:

* **by join key.** Matcher state is per key tuple, so a group that holds every event of a
  key tuple finds exactly that key's results. An event goes to the group of each key tuple
  it takes part under (a multi-valued key gives several); a group keeps only the results
  whose key tuple is its own (``bucket`` of the key), and drops what its partial view of
  other keys produced.
* **by time, for a sequence without keys but with maxspan.** A result completing at time
  ``t`` lies within ``[t - maxspan, t]``. Window ``w`` covers ``[start, end)``, reads the
  events from ``start - maxspan`` (and to ``end + maxspan`` when a trailing ``![...]``
  must be ruled out) and keeps the results completing inside it. The events before its
  reach cannot change those results: a partial sequence only ever displaces older ones
  (the slot it moves into holds an older partial, one per stage per key, ES's
  ``trimBefore``), and a partial older than maxspan never completes. The property test
  in tests/test_grouped.py compares window by window with one pass.

Every function here runs in a worker on plain Python events; nothing imports Spark.
"""

from __future__ import annotations

import functools
import math
import struct
import zlib
from dataclasses import dataclass, replace
from typing import Any, Iterable, Iterator, Mapping

from . import ast
from .options import SearchOptions
from .ordering import join_key_order
from .query import Query
from .sequences import MissingEvent, Result

__all__ = ["Grouping", "bucket", "steps", "option_items", "sortable", "time_window", "worker_query"]


Options = tuple  # SearchOptions as sorted (name, value) pairs: hashable, cheap to ship


def option_items(options: SearchOptions) -> Options:
    """``options`` as hashable pairs (``field_types`` as sorted pairs too)."""
    items = []
    for name in SearchOptions.__dataclass_fields__:
        value = getattr(options, name)
        items.append((name, tuple(sorted(value.items())) if isinstance(value, Mapping) else value))
    return tuple(items)


@functools.lru_cache(maxsize=256)
def worker_query(text: str, options: Options, whole: bool = False) -> Query:
    """The query, compiled once per process (workers receive text, not compiled code).

    ``whole``: without pipes or ``size``, so that groups find every result; the limits
    apply to all results together.
    """
    from . import compile as compile_query  # the package's own entry point

    settings = {name: dict(value) if name == "field_types" else value for name, value in options}
    if whole:
        settings["size"] = None
    query = compile_query(text, **settings)
    if whole and query.tree.pipes:
        query = Query.build(query.text, replace(query.tree, pipes=()), query.options)
    return query


def _canonical(value: Any) -> str:
    """Text equal for key values Python takes as equal (``1``, ``1.0``, ``True``)."""
    if value is None:
        return "n"
    if isinstance(value, (bool, int)) or (isinstance(value, float) and value.is_integer()):
        return f"i{int(value)}"
    if isinstance(value, float):
        return f"f{value!r}"
    if isinstance(value, str):
        return "s" + value
    return "o" + repr(value)


def bucket(key: tuple, buckets: int) -> int:
    """The group of a join-key tuple: the same in every process (no salted ``hash``)."""
    text = "\x00".join(map(_canonical, key))
    return zlib.crc32(text.encode("utf-8", "surrogatepass")) % buckets


@dataclass(frozen=True)
class Grouping:
    """How the events of one query are split into groups (see the module docstring).

    ``window`` is ``(origin, width)`` in epoch milliseconds for a sequence without keys but
    with maxspan; ``buckets`` the number of key groups otherwise (1: one group for all).
    """

    text: str
    options: Options
    buckets: int = 1
    window: tuple[float, float] | None = None

    @property
    def query(self) -> Query:
        """The query, compiled in this process."""
        return worker_query(self.text, self.options)

    def _reach(self) -> tuple[float, float]:
        """How far before and after its own span a window reads events."""
        body = self.query.tree.body
        maxspan = body.maxspan.millis if isinstance(body, ast.Sequence) and body.maxspan else 0
        trailing = isinstance(body, ast.Sequence) and body.stages[-1].missing
        return maxspan, maxspan if trailing else 0

    def targets(self, event: Mapping[str, Any]) -> set[int]:
        """The groups an event goes to (none if no stage can use it)."""
        query = self.query
        if query.kind == "event":
            return {0} if query.match(event) else set()
        stages = (*query._stages, *((query._until,) if query._until else ()))  # noqa: SLF001 - compiled stages
        groups: set[int] = set()
        for stage in stages:
            if stage.matches(event):
                keys = stage.keys(event)
                if self.window is not None:
                    if keys:
                        groups.update(self._windows(query.order().millis(event)))
                else:
                    groups.update(bucket(key, self.buckets) for key in keys)
        return groups

    def _windows(self, millis: float) -> range:
        origin, width = self.window  # type: ignore[misc]
        before, after = self._reach()
        first = math.floor((millis - after - origin) / width)  # windows whose end + after > millis
        last = math.floor((millis + before - origin) / width)  # windows whose start - before <= millis
        return range(max(first, 0), last + 1)

    def owns(self, group: int, result: Result) -> bool:
        """Whether ``group`` reports ``result`` (every other group that finds it drops it)."""
        if self.window is None:
            return bucket(result.join_keys, self.buckets) == group
        origin, width = self.window
        return math.floor((self.query.order().millis(_completing(result)) - origin) / width) == group

    def match(self, group: int, events: list[Mapping[str, Any]]) -> Iterator[Result]:
        """The results this group owns, over its events in input order."""
        for result in worker_query(self.text, self.options, whole=True).search(events):
            if self.owns(group, result):
                yield result

    def sort_key(self, result: Result, position: Mapping[int, int], rank: int) -> bytes:
        """Where ``result`` comes among all results, as bytes that sort in that order.

        ``position`` maps id(event) to the event's input position; ``rank`` orders the
        results one group found for the same key (samples) or event.
        """
        query = self.query
        if query.kind == "sample":
            return sortable((join_key_order(result.join_keys), rank))
        last = _completing(result)
        return sortable((query.order().key(last), position[id(last)], join_key_order(result.join_keys), rank))


def _completing(result: Result) -> Mapping[str, Any]:
    """The event that completed a result: its last event that is not a ``![...]`` placeholder."""
    return next(event for event in reversed(result.events) if not isinstance(event, MissingEvent))


def steps(query: Query) -> list[tuple[str, int]]:
    """The query's limits in the order they apply: ``size`` (as ``Query.matcher`` plans it,
    a limit of the first pipe's kind), then each ``head N`` / ``tail N``."""
    found = [(pipe.name, pipe.args[0].value) for pipe in query.tree.pipes]
    if query.options.size is not None:
        found.insert(0, (found[0][0] if found else "head", query.options.size))
    return found  # type: ignore[return-value]


def time_window(millis: Iterable[float], maxspan: float, groups: int) -> tuple[float, float]:
    """``(origin, width)`` splitting the span of ``millis`` into about ``groups`` windows,
    none narrower than maxspan (so that an event reaches at most two or three)."""
    low = high = None
    for value in millis:
        low = value if low is None or value < low else low
        high = value if high is None or value > high else high
    if low is None:
        return 0.0, max(maxspan, 1.0)
    return float(low), float(max(maxspan, 1.0, math.ceil((high - low + 1) / max(groups, 1))))  # type: ignore


def sortable(value: Any) -> bytes:
    """Bytes that sort as ``value`` does: nested tuples of None, bools, numbers and strings
    (numbers compared as doubles), the shapes of sort keys and join-key orders."""
    if isinstance(value, tuple):
        return b"".join(map(sortable, value))
    if value is None:
        return b"\x00"
    if isinstance(value, (bool, int, float)):
        bits = struct.unpack(">Q", struct.pack(">d", float(value)))[0]
        bits = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | 1 << 63  # negatives reversed
        return b"\x01" + bits.to_bytes(8, "big")
    text = str(value).encode("utf-8", "surrogatepass").replace(b"\x00", b"\x00\xff")
    return b"\x02" + text + b"\x00\x00"  # a prefix sorts first
