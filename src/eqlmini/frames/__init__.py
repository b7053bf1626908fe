"""EQL over DataFrames: pandas and Polars DataFrames and pyarrow Tables in, frames out.

``Query.filter``, ``Query.search`` and ``RuleSet.scan`` hand a frame to this package, so a
notebook needs no new name::

    query.filter(df)     # the matching rows: same kind of frame, same columns, same index
    query.search(df)     # results, one row per event (see eqlmini.frames.output)
    ruleset.scan(df)     # alerts, one row per event
    eqlmini.frames.to_frame(results_or_alerts, kind="pandas")   # from any events

Answers are the Python engine's: an event query is evaluated column by column with the
engine's own compiled leaves (:mod:`eqlmini.frames.columns`); sequences, samples and pipes
run the engine's matchers over small events that hold only the columns the query reads.
pandas, Polars and pyarrow are imported only when a frame of theirs arrives.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from ..errors import EqlError, EqlEventError
from ..sequences import ordered
from .columns import Columns, plans_of, rows_where
from .output import Item, from_events, from_rows, items_of
from .tables import Table, kind_of

__all__ = ["filter", "kind_of", "scan", "search", "to_frame"]


def filter(query: Any, frame: Any) -> Any:  # noqa: A001 - Query.filter's counterpart
    """The rows of ``frame`` that the event query matches, as the same kind of frame (same
    columns and types; pandas keeps the index). Pipes do not apply, as in ``Query.filter``."""
    if query.kind != "event":
        raise EqlError(f"a {query.kind} query matches a stream of events, not one: use search()")
    table = Table.of(frame)
    return table.take(rows_where(plans_of(query)[0], range(len(table)), Columns(table)))


def search(query: Any, frame: Any, *, assume_sorted: bool | None = None,
           on_error: Callable[[int, Any, EqlEventError], None] | None = None) -> Any:
    """``Query.search`` over the rows of ``frame``; the results as a frame of the same kind.

    The rows are taken in (timestamp, tiebreaker) order as ``Query.search`` takes a list,
    and each is checked for a place in time as it checks an event: ``on_error`` hears of a
    row without one (its position, an event holding its timestamp and tiebreaker columns,
    the error). See :mod:`eqlmini.frames.output` for the columns of the result.

    Only the rows that some filter of the query matches (a stage's, ``until``'s, or the
    query's own, found column by column) become events for the engine: a row that no
    filter matches changes no result.
    """
    table = Table.of(frame)
    columns = Columns(table)
    rows: list[int] | range = range(len(table))
    if query.kind != "sample":  # samples ignore time
        rows = _placed_in_time(query, columns, assume_sorted, on_error)
    found: set[int] = set()
    for plan in plans_of(query):
        found.update(rows_where(plan, rows, columns))
    candidates = sorted(found)
    events = columns.events(_fields_read([query]), candidates)
    place = {id(event): row for row, event in zip(candidates, events)}
    items = [Item(tuple(place.get(id(event)) for event in result.events), result.join_keys)
             for result in query.search(events)]
    return from_rows(table, items, alerts=False)


def _placed_in_time(query: Any, columns: Columns, assume_sorted: bool | None,
                    on_error: Callable[[int, Any, EqlEventError], None] | None) -> list[int]:
    """The rows that have a place in time, checked as ``Query.search`` checks a list of
    events (the same errors, or ``on_error`` calls, for the same positions)."""
    options = query.options
    fields = [options.timestamp_field] + ([options.tiebreaker_field] if options.tiebreaker_field else [])
    events = columns.events(fields)
    place = {id(event): row for row, event in enumerate(events)}
    return sorted(place[id(event)] for event in ordered(events, query.order(), assume_sorted=assume_sorted,
                                                         on_error=on_error))


def scan(ruleset: Any, frame: Any, *, assume_sorted: bool | None = None, indexed: bool | None = None,
         on_event_error: Callable[[int, EqlEventError], None] | None = None) -> Any:
    """``RuleSet.scan`` over the rows of ``frame``; the alerts as a frame of the same kind.

    Event rules (without pipes) run column by column; their alerts come first, in row order
    (rules in their order within a row). The other rules run as one RuleSet over small
    events holding the columns they read, and their alerts follow in the order it gives
    them; ``assume_sorted``, ``indexed`` and ``on_event_error`` are passed to it.
    """
    from ..ruleset import RuleSet  # here, not above: ruleset imports this package

    table = Table.of(frame)
    columns = Columns(table)
    found: list[tuple[int, int, Item]] = []
    others = []
    for number, rule in enumerate(ruleset.rules):
        query = rule.query
        if query.kind == "event" and not query.tree.pipes:
            for row in rows_where(plans_of(query)[0], range(len(table)), columns):
                found.append((row, number, Item((row,), (), rule)))
        else:
            others.append(rule)
    found.sort(key=lambda entry: entry[:2])
    items = [item for _, _, item in found]
    if others:
        events = columns.events(_fields_read([rule.query for rule in others]))
        row_of = _row_finder(events)
        alerts = RuleSet(others).scan(events, assume_sorted=assume_sorted, indexed=indexed,
                                      on_event_error=on_event_error)
        items.extend(Item(row_of(alert.events), alert.join_keys, alert.rule) for alert in alerts)
    return from_rows(table, items, alerts=True)


def to_frame(results_or_alerts: Iterable[Any], kind: str = "pandas") -> Any:
    """``Result`` or ``Alert`` objects (from any events) as a frame of ``kind``: ``"pandas"``,
    ``"polars"`` or ``"arrow"``. One row per event; nested event fields become dotted
    column names; see :mod:`eqlmini.frames.output` for the other columns."""
    items, alerts = items_of(results_or_alerts)
    return from_events(kind, items, alerts)


def _fields_read(queries: list[Any]) -> list[str]:
    """Every field the queries read, their timestamp and tiebreaker fields included."""
    names: list[str] = []
    for query in queries:
        names.extend(query.fields)
        names.append(query.options.timestamp_field)
        if query.options.tiebreaker_field:
            names.append(query.options.tiebreaker_field)
    return list(dict.fromkeys(names))


def _row_finder(events: list[Any]) -> Callable[[Iterable[Any]], tuple[int | None, ...]]:
    """Row positions of events from ``events`` (None for a missing-event placeholder)."""
    rows = {id(event): row for row, event in enumerate(events)}
    return lambda found: tuple(rows.get(id(event)) for event in found)
