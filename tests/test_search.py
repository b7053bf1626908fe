"""Query.search and Query.matcher: ordering, pipes, size, streaming and push-style use."""

from __future__ import annotations

import random
from typing import Any

import pytest

import eqlmini


def ev(i: int, category: str, key: str = "k", **fields: Any) -> dict[str, Any]:
    return {"@timestamp": i * 1000, "id": i, "event": {"category": category}, "host": {"id": key}, **fields}


STREAM = [ev(1, "process"), ev(2, "file"), ev(3, "process"), ev(4, "file"), ev(5, "process"), ev(6, "file")]
SEQUENCE = "sequence by host.id [process where true] [file where true]"


def ids(results: Any) -> list[list[int]]:
    return [[event["id"] for event in result.events] for result in results]


def test_event_query_results_come_in_time_order() -> None:
    shuffled = STREAM[::-1]
    query = eqlmini.compile("process where true")
    assert ids(query.search(shuffled)) == [[1], [3], [5]]
    assert [r.join_keys for r in query.search(STREAM)] == [(), (), ()]


@pytest.mark.parametrize(("pipes", "expected"), [
    ("| head 2", [[1, 2], [3, 4]]),
    ("| tail 2", [[3, 4], [5, 6]]),
    ("| head 3 | tail 1", [[5, 6]]),
    ("| tail 2 | head 1", [[3, 4]]),
    ("| head 0", []),
    ("| tail 0", []),
])
def test_pipes_count_results(pipes: str, expected: list[list[int]]) -> None:
    assert ids(eqlmini.compile(f"{SEQUENCE} {pipes}").search(STREAM)) == expected


def test_size_is_a_limit_of_the_first_pipes_kind_before_it() -> None:
    # Elasticsearch's LogicalPlanBuilder inserts the default size below the first head/tail.
    assert ids(eqlmini.compile(SEQUENCE, size=1).search(STREAM)) == [[1, 2]]
    assert ids(eqlmini.compile(f"{SEQUENCE} | tail 2", size=1).search(STREAM)) == [[5, 6]]
    events = [ev(i, "process") for i in range(10)]
    query = eqlmini.compile("process where true | tail 5", size=3)
    assert ids(query.search(events)) == [[7], [8], [9]]
    query = eqlmini.compile("process where true | head 4 | tail 2", size=3)
    assert ids(query.search(events)) == [[1], [2]]


def test_a_list_out_of_order_is_sorted_and_a_sorted_one_is_not_copied() -> None:
    query = eqlmini.compile(SEQUENCE)
    shuffled = STREAM[:]
    random.Random(3).shuffle(shuffled)
    assert ids(query.search(shuffled)) == ids(query.search(STREAM)) == [[1, 2], [3, 4], [5, 6]]


def test_a_stream_out_of_order_raises_unless_sorting_is_asked_for() -> None:
    query = eqlmini.compile(SEQUENCE)
    with pytest.raises(eqlmini.EqlEventError, match="out of order"):
        list(query.search(iter(STREAM[::-1])))
    assert ids(query.search(iter(STREAM[::-1]), assume_sorted=False)) == [[1, 2], [3, 4], [5, 6]]


def test_a_generator_is_consumed_lazily() -> None:
    seen = []

    def events() -> Any:
        for event in STREAM:
            seen.append(event["id"])
            yield event
    first = next(eqlmini.compile(f"{SEQUENCE} | head 1").search(events()))
    assert [e["id"] for e in first.events] == [1, 2]
    assert seen == [1, 2]


def test_push_style_matcher_gives_results_as_they_complete() -> None:
    matcher = eqlmini.compile(SEQUENCE).matcher()
    completed = [ids(matcher.push(event)) for event in STREAM]
    assert completed == [[], [[1, 2]], [], [[3, 4]], [], [[5, 6]]]
    assert matcher.close() == []
    with pytest.raises(eqlmini.EqlError):
        matcher.push(STREAM[0])


def test_push_style_tail_waits_for_close() -> None:
    matcher = eqlmini.compile(f"{SEQUENCE} | tail 1").matcher()
    assert all(matcher.push(event) == [] for event in STREAM)
    assert ids(matcher.close()) == [[5, 6]]


def test_missing_timestamp_is_a_clear_error() -> None:
    with pytest.raises(eqlmini.EqlEventError):
        list(eqlmini.compile(SEQUENCE).search([{"event": {"category": "process"}}]))


def test_samples_need_no_timestamp() -> None:
    events = [{"event": {"category": "a"}, "k": 1, "id": 1}, {"event": {"category": "b"}, "k": 1, "id": 2}]
    assert ids(eqlmini.compile("sample by k [a where true] [b where true]").search(events)) == [[1, 2]]


def test_missing_event_placeholder_is_marked() -> None:
    query = eqlmini.compile("sequence with maxspan=1h [process where true] ![network where true] [file where true]")
    (result, *_) = query.search(STREAM)
    placeholder = result.events[1]
    assert isinstance(placeholder, eqlmini.MissingEvent) and placeholder["missing"] is True


def test_on_error_reports_events_without_a_place_in_time_and_goes_on() -> None:
    broken = {"event": {"category": "process"}, "id": 99}  # no @timestamp
    heard: list[tuple[int, int, str]] = []
    query = eqlmini.compile(SEQUENCE)
    results = query.search([STREAM[0], broken, *STREAM[1:]],
                           on_error=lambda position, event, error: heard.append((position, event["id"], str(error))))
    assert ids(results) == [[1, 2], [3, 4], [5, 6]]
    assert [(position, event_id) for position, event_id, _ in heard] == [(1, 99)]
    assert "timestamp" in heard[0][2]


@pytest.mark.parametrize("text", [
    SEQUENCE,
    "sequence by host.id with maxspan=1h [process where true] [file where true]",
    "sample by host.id [process where true] [file where true]",
    "process where true | head 5",
    "any where true",
])
@pytest.mark.parametrize("as_stream", [False, True])
def test_an_event_that_is_not_a_mapping_is_an_event_error(text: str, as_stream: bool) -> None:
    query = eqlmini.compile(text)
    events = [STREAM[0], None, "text", [STREAM[1]], STREAM[1]]

    def source(items: list[Any]) -> Any:
        return iter(items) if as_stream else items
    with pytest.raises(eqlmini.EqlEventError, match="mapping"):
        list(query.search(source(events)))
    heard: list[int] = []
    results = query.search(source(events), on_error=lambda position, event, error: heard.append(position))
    assert ids(results) == ids(query.search([STREAM[0], STREAM[1]]))
    assert heard == [1, 2, 3]
    matcher = query.matcher()
    with pytest.raises(eqlmini.EqlEventError, match="mapping"):
        matcher.push(None)  # type: ignore[arg-type]
    pushed = [result for event in (STREAM[0], STREAM[1]) for result in matcher.push(event)] + matcher.close()
    assert ids(pushed) == ids(query.search([STREAM[0], STREAM[1]]))  # and it goes on as if never pushed
