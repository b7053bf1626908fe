"""Matching group by group (eqlmini.grouped) gives the results of one pass, in its order.

The groups are the ones Spark runs (by join-key bucket, or by overlapping time window for a
sequence with maxspan and no keys), here run in plain Python: each group sees the events
``targets`` sends it, in input order, and reports the results it ``owns``; sorted by
``sort_key``, they must equal ``Query.search`` over all events.
"""

from __future__ import annotations

import pytest
from engine_data import STREAM_QUERIES, keyed_stream

import eqlmini
from eqlmini.grouped import Grouping, option_items, sortable, steps, time_window


def grouped_search(query: eqlmini.Query, events: list[dict], buckets: int, windows: int) -> list:
    items = option_items(query.options)
    body = query.tree.body
    if query.kind == "sequence" and not body.by and not any(s.by for s in query.tree.stages()) and body.maxspan:
        order = query.order()
        grouping = Grouping(query.text, items, window=time_window(map(order.millis, events), body.maxspan.millis,
                                                                  windows))
    else:
        grouping = Grouping(query.text, items, buckets=buckets)
    groups: dict[int, list[dict]] = {}
    for event in events:
        for group in grouping.targets(event):
            groups.setdefault(group, []).append(event)
    position = {id(event): i for i, event in enumerate(events)}
    found = []
    for group, members in groups.items():
        for rank, result in enumerate(grouping.match(group, members)):
            found.append((grouping.sort_key(result, position, rank), result))
    results = [result for _, result in sorted(found, key=lambda item: item[0])]
    chosen = range(len(results))
    for name, count in steps(query):
        chosen = chosen[:count] if name == "head" else chosen[max(len(chosen) - count, 0):]
    return [results[i] for i in chosen]


def _shape(results: list) -> list:
    return [([None if isinstance(e, eqlmini.MissingEvent) else e["id"] for e in r.events], r.join_keys)
            for r in results]


@pytest.mark.parametrize("text", STREAM_QUERIES)
@pytest.mark.parametrize("seed", range(12))
def test_groups_find_what_one_pass_finds(text: str, seed: int) -> None:
    tiebreaker = seed % 2 == 1
    query = eqlmini.compile(text, tiebreaker_field="seq" if tiebreaker else None)
    events = keyed_stream(seed, tiebreaker=tiebreaker)
    expected = _shape(list(query.search(events)))
    assert _shape(grouped_search(query, events, buckets=1 + seed % 5, windows=1 + seed % 7)) == expected


def test_windows_are_exercised() -> None:
    """The stream spans many maxspan widths, so several windows each hold results."""
    query = eqlmini.compile(STREAM_QUERIES[2])
    events = keyed_stream(0)
    order = query.order()
    origin, width = time_window(map(order.millis, events), query.tree.body.maxspan.millis, 7)
    owners = {int((order.millis(r.events[-1]) - origin) // width) for r in query.search(events)}
    assert len(owners) >= 4


def test_sortable_bytes_sort_as_the_values() -> None:
    values = [(None,), (-1e300,), (-2,), (-0.5,), (0,), (1,), (2.5,), (10**15,), ("",), ("a",),
              ("a\x00",), ("ab",), ("b",)]
    keys = [sortable(v) for v in values]
    assert keys == sorted(keys)
    assert sortable(((1, "z"), 5)) < sortable(((2, ""), 0)) < sortable(((2, "a"), 0))
