"""Elasticsearch's own EQL QA suite, run against eqlmini from ../shared/conformance/.

Each index is loaded the way Elasticsearch's Java harness loads it (DataLoader and the
EqlSpecTestCase classes): the same timestamp conversion, category alias, tiebreaker and
id field. A query is run with ``Query.search`` (pipes and all) and the ids of the events
of every result, flattened, must equal ``expected_event_ids``; where the file gives
``join_keys`` they must match too, as strings.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from conftest import CONFORMANCE, load_es_data, load_es_toml

import eqlmini

# Queries that cannot pass, with the reason. Keep this list short and honest.
_NO_MAPPING = ("needs the index mapping, which eqlmini does not have: @timestamp_pretty is a date field with a "
               "custom format per index (dd-MM-yyyy, ...), which ES parses and returns as epoch-ms join keys")
KNOWN_FAILURES: dict[str, str] = {
    "customDateFormatAsKey_SameIndexResults": _NO_MAPPING,
    "customDateFormatsAsKey_DifferentIndicesResults": _NO_MAPPING,
    "customDateFormatsAsKey_DifferentKeyNames": _NO_MAPPING,
}


@dataclass(frozen=True)
class Index:
    """How one QA index is loaded and queried."""

    data: tuple[str, ...]
    id_field: str
    tiebreaker: str | None
    prepare: Callable[[dict[str, Any]], None]
    field_types: tuple[tuple[str, str], ...] = ()  # what the index mapping says, for compile()


def _endgame(event: dict[str, Any]) -> None:
    # DataLoader: Windows FILETIME -> epoch ms; event.category/event.sequence are aliases.
    event["@timestamp"] = event["timestamp"] // 10000 - 11644473600000
    event["event.category"] = event["event_type"]
    event["event.sequence"] = event["serial_event_id"]


def _alias_category(event: dict[str, Any]) -> None:
    event["event.category"] = event["event_type"]
    if "sequence" in event:
        event["event.sequence"] = event["sequence"]


def _extra(event: dict[str, Any]) -> None:
    _alias_category(event)
    # extra.mapping gives this keyword field `null_value: "NULL"`, which ES indexes for null.
    if "optional_field_default_null" in event and event["optional_field_default_null"] is None:
        event["optional_field_default_null"] = "NULL"


INDICES = {
    "endgame": Index(("endgame-140",), "serial_event_id", "serial_event_id", _endgame),
    # `version` is a version-typed field in ES's extra index: its queries expect semantic
    # version order (1.11.3 > 1.5.0). The saved extra.mapping predates that field.
    "extra": Index(("extra",), "sequence", "sequence", _extra, (("version", "version"),)),
    "missing": Index(("missing-events",), "sequence", "sequence", _alias_category),
    "sample": Index(("sample1", "sample2", "sample3"), "id", None, _alias_category),
}
FILES = {
    "test_queries.toml": "endgame",
    "additional_test_queries.toml": "endgame",
    "test_queries_date.toml": "endgame",
    "test_extra.toml": "extra",
    "test_missing_events.toml": "missing",
    "test_sample.toml": "sample",
}


@functools.cache
def _events(index_name: str) -> tuple[dict[str, Any], ...]:
    index = INDICES[index_name]
    events = []
    for name in index.data:
        for event in load_es_data(name):
            index.prepare(event)
            events.append(event)
    return tuple(events)


def _cases() -> list[Any]:
    if not CONFORMANCE.exists():
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=f"{CONFORMANCE} not found"))]
    cases = []
    for file, index in FILES.items():
        for query in load_es_toml(CONFORMANCE / file):
            marks = []
            if query["name"] in KNOWN_FAILURES:
                marks.append(pytest.mark.xfail(reason=KNOWN_FAILURES[query["name"]], strict=True))
            cases.append(pytest.param(query, index, id=f"{file}::{query['name']}", marks=marks))
    return cases


def _key_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


@pytest.mark.parametrize(("case", "index_name"), _cases())
def test_elasticsearch_qa(case: dict[str, Any], index_name: str) -> None:
    index = INDICES[index_name]
    options: dict[str, Any] = {"tiebreaker_field": index.tiebreaker, "field_types": dict(index.field_types)}
    if "size" in case:
        options["size"] = case["size"]
    if "max_samples_per_key" in case:
        options["max_samples_per_key"] = case["max_samples_per_key"]
    query = eqlmini.compile(case["query"], **options)
    events = [copy.deepcopy(event) for event in _events(index_name)]
    results = list(query.search(events))

    ids = [-1 if isinstance(event, eqlmini.MissingEvent) else event[index.id_field]
           for result in results for event in result.events]
    expected = case["expected_event_ids"]
    if expected and isinstance(expected[0], list):  # several acceptable answers (samples)
        assert ids in expected, f"{case['name']}: got {ids}"
    else:
        assert ids == expected, f"{case['name']}: got {ids}"
    if "join_keys" in case:
        keys = [_key_text(value) for result in results for value in result.join_keys]
        assert keys == [_key_text(value) for value in case["join_keys"]]
