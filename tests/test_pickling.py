"""Query and Result across processes (pickle, a spawn pool) and on screen (repr, Jupyter HTML)."""

from __future__ import annotations

import multiprocessing
import os
import pickle
from typing import Any

import pytest

import eqlmini
from eqlmini import compile_cache
from eqlmini.sequences import Result


def ev(i: int, category: str, key: str = "h1", **fields: Any) -> dict[str, Any]:
    return {"@timestamp": i * 1000, "id": i, "event": {"category": category}, "host": {"id": key}, **fields}


EVENTS = [ev(1, "process", version="1.5.0"), ev(2, "file", "h2"), ev(3, "file"), ev(4, "process", "h2"),
          ev(5, "network"), ev(6, "file", "h2", version="1.11.3"), ev(7, "process"), ev(8, "file")]
QUERIES = [
    ('process where host.id : "H1"', {}),
    ("any where version > \"1.6.0\"", {"field_types": {"version": "version"}}),
    ("sequence by host.id with maxspan=1h [process where true] [file where true] | tail 2", {"tiebreaker_field": "id"}),
    ("sequence by host.id with maxspan=1h [process where true] ![network where true] [file where true]", {}),
    ("sample by host.id [process where true] [file where true]", {"max_samples_per_key": 2}),
    ("process where true", {"size": 1}),
]


def found(query: eqlmini.Query) -> list[tuple[list[int], tuple]]:
    return [([e.get("id", -1) for e in r.events], r.join_keys) for r in query.search(EVENTS)]


@pytest.mark.parametrize(("text", "options"), QUERIES)
def test_a_query_pickles_into_one_that_behaves_the_same(text: str, options: dict[str, Any]) -> None:
    query = eqlmini.compile(text, **options)
    copy = pickle.loads(pickle.dumps(query))
    assert (copy.text, copy.options, copy.tree, copy.kind) == (query.text, query.options, query.tree, query.kind)
    assert found(copy) == found(query) and found(query)
    if query.kind == "event":
        assert [copy(e) for e in EVENTS] == [query(e) for e in EVENTS]


def test_a_query_checked_against_a_schema_pickles_with_the_types_it_took() -> None:
    # The schema gave `event.created` its date type, which the options keep: the copy,
    # compiled from text and options, compares it as a date too.
    query = eqlmini.compile('process where event.created > "2020-01-01"', schema="ecs")
    copy = pickle.loads(pickle.dumps(query))
    event = {"event": {"category": "process", "created": "2021-06-01T00:00:00Z"}}
    assert copy.options == query.options and copy.options.field_types == {"event.created": "date"}
    assert copy(event) and query(event)


def test_unpickling_compiles_once_per_process() -> None:
    compile_cache.clear()
    data = pickle.dumps(eqlmini.compile(QUERIES[1][0], **QUERIES[1][1]))
    first = pickle.loads(data)
    assert pickle.loads(data) is first  # the same compiled query, not a second compilation
    assert compile_cache.compiled(QUERIES[1][0], first.options) is first
    assert compile_cache.compiled(QUERIES[1][0]) is not first  # other options, another query
    compile_cache.clear()
    assert pickle.loads(data) is not first


def test_results_pickle_with_their_events_and_placeholders() -> None:
    results = list(eqlmini.compile(QUERIES[3][0]).search(EVENTS))
    assert any(isinstance(e, eqlmini.MissingEvent) for r in results for e in r.events)
    assert pickle.loads(pickle.dumps(results)) == results


def search_chunk(task: tuple[eqlmini.Query, list[dict[str, Any]]]) -> tuple[int, int, list[list[int]]]:
    """Run in a worker: which process, which compiled query object, which results."""
    query, events = task
    return os.getpid(), id(query), [[e["id"] for e in r.events] for r in query.search(events)]


def test_a_spawn_pool_maps_a_pickled_query_over_chunks() -> None:
    query = eqlmini.compile("sequence by host.id [process where true] [file where true]")
    chunks = [[ev(10 * n + 1, "process", f"h{n}"), ev(10 * n + 2, "file", f"h{n}")] for n in range(8)]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        answers = pool.map(search_chunk, [(query, chunk) for chunk in chunks], chunksize=1)
    assert [found for _, _, found in answers] == [[[10 * n + 1, 10 * n + 2]] for n in range(8)]
    compiled: dict[int, set[int]] = {}
    for pid, query_id, _ in answers:
        compiled.setdefault(pid, set()).add(query_id)
    assert pid != os.getpid() and all(len(ids) == 1 for ids in compiled.values())  # once per worker


# --------------------------------------------------------------------------- display
def test_reprs_are_short() -> None:
    text = "sequence by host.id with maxspan=1h\n  " + "\n  ".join(["[process where true]"] * 20)
    query = eqlmini.compile(text)
    assert repr(query).startswith("<Query sequence: sequence by host.id with maxspan=1h [process where true]")
    assert len(repr(query)) < 100 and "\n" not in repr(query) and repr(query).endswith("\u2026>")
    assert repr(eqlmini.compile("any where true")) == "<Query event: any where true>"
    result = Result(tuple(EVENTS), ("h1", 2))
    assert repr(result) == "<Result join_keys=('h1', 2), 8 events>"


def test_notebook_views_escape_all_text() -> None:
    query = eqlmini.compile('process where process.name == "<script>alert(1)</script>" and a : "&amp;"')
    view = query._repr_html_()
    assert "<script>" not in view and "&lt;script&gt;" in view and "&amp;amp;" in view
    result = Result(({"name": "<b>x</b>"}, eqlmini.MissingEvent()), ("<i>",))
    view = result._repr_html_()
    assert "<b>x" not in view and "&lt;b&gt;x" in view and "&lt;i&gt;" in view and view.count("<tr>") == 3
