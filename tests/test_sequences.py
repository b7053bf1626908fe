"""The sequence and sample engine (eqlmini.sequences, .samples, .ordering), fed hand-written stages.

Rules come from spec §10-§11 and Elasticsearch's SequenceMatcher / TumblingWindow /
SampleIterator. The Elasticsearch QA files in ../shared are read in place (and skipped when
absent) for the missing-event, multi-value and sample cases; a brute-force reference
written the way Elasticsearch works (lists of partials, missing events checked afterwards
against the whole input) checks the streaming matcher on random inputs.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import tomllib
import tracemalloc
import warnings
from collections import defaultdict, deque
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eqlmini.errors import EqlEventError
from eqlmini.fields import getter
from eqlmini.ordering import join_key_order
import eqlmini
from eqlmini import limits, samples
from eqlmini.limits import EqlLimitWarning
from eqlmini.samples import SampleMatcher
from eqlmini.sequences import (
    EventOrder,
    MissingEvent,
    Result,
    SequenceMatcher,
    StageSpec,
    ordered,
    timestamp_millis,
)
from eqlmini.values import as_values

EXAMPLES = int(os.environ.get("EQLMINI_EXAMPLES", "200"))
QA = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "elasticsearch"
ORDER = EventOrder(lambda e: e["t"], lambda e: e["id"])


# --------------------------------------------------------------------------- helpers
def keys_for(fields: tuple[str, ...]):
    """A StageSpec.keys for ``by`` fields (``?name`` optional): cartesian product of values."""
    def keys(event) -> list[tuple]:
        per_field = []
        for name in fields:
            found = list(dict.fromkeys(as_values(getter(name.lstrip("?"))(event))))
            if not found:
                if not name.startswith("?"):
                    return []
                found = [None]
            per_field.append(found)
        return list(itertools.product(*per_field))
    return keys


def stage(cat, cond=lambda e: True, by=(), missing=False, catfield="c"):
    return StageSpec(lambda e: e.get(catfield) == cat and cond(e), keys_for(tuple(by)), missing)


def ev(id, t, c, **fields):
    return {"id": id, "t": t, "c": c, **fields}


def ids(result: Result, field="id"):
    return [-1 if isinstance(e, MissingEvent) else e[field] for e in result.events]


def run(stages, events, *, until=None, maxspan=None, order=ORDER):
    matcher = SequenceMatcher(stages, until=until, maxspan_ms=maxspan, order=order)
    return [ids(r) for r in matcher.extend(events) + matcher.close()]


def run_results(stages, events, **kw):
    matcher = SequenceMatcher(stages, until=kw.get("until"), maxspan_ms=kw.get("maxspan"), order=ORDER)
    return matcher.extend(events) + matcher.close()


def chain(spec: str, start=1, step=1):
    """Events from a string of categories: ``"aab"`` -> ids 1.., times 1.."""
    return [ev(start + i, start + i * step, c) for i, c in enumerate(spec)]


A, B, C = stage("a"), stage("b"), stage("c")


# --------------------------------------------------------------------------- timestamps and order
@pytest.mark.parametrize("value, millis", [
    (5, 5), (5.0, 5), (2.5, 2.5), ("12", 12), ("-3", -3), ("1.5", 1.5),
    ("1970-01-01T00:00:00Z", 0), ("1970-01-01", 0), ("2020-01-01T00:00:00Z", 1577836800000),
    ("2022-05-04T12:00:00.001Z", 1651665600001), ("2022-05-04T12:00:00.000123Z", 1651665600000.123),
    ("1970-01-01T01:00:00+01:00", 0), ("1970-01-01T00:00:00-0130", 5_400_000), ("1970-01-01T00:01", 60_000),
    ("1970-01-01 00:00:01.5", 1500), (datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc), 1000),
])
def test_timestamp_millis(value, millis):
    assert timestamp_millis(value) == millis


@pytest.mark.parametrize("value", [None, True, "yesterday", "2020-13-01", "2020-02-30T00:00:00Z", [1], {"a": 1},
                                   float("nan"), "2020-01-01T25:00:00Z"])
def test_timestamp_millis_rejects(value):
    with pytest.raises(EqlEventError):
        timestamp_millis(value)


def test_event_order_puts_missing_tiebreaker_last_and_mixes_types():
    order = EventOrder(lambda e: e.get("t"), lambda e: e.get("id"))
    events = [{"t": 1}, {"t": 1, "id": "b"}, {"t": 1, "id": 2}, {"t": 0, "id": 9}]
    assert [e.get("id") for e in sorted(events, key=order.key)] == [9, 2, "b", None]
    with pytest.raises(EqlEventError, match="tiebreaker"):
        order.key({"t": 1, "id": [1, 2]})
    with pytest.raises(EqlEventError, match="no timestamp"):
        order.key({"id": 1})


def test_ordered_sorts_lists_stably_and_only_when_needed():
    events = [ev(1, 2, "a"), ev(2, 1, "b"), ev(3, 1, "c")]
    assert [e["id"] for e in ordered(events, ORDER)] == [2, 3, 1]
    already = [ev(1, 1, "a"), ev(2, 2, "a")]
    assert list(ordered(already, ORDER)) == already
    same = EventOrder(lambda e: e["t"], None)  # equal keys: input order kept
    assert [e["id"] for e in ordered(list(reversed(already)) + [ev(0, 1, "x")], same)] == [1, 0, 2]
    assert [e["id"] for e in ordered(iter(events), ORDER, assume_sorted=False)] == [2, 3, 1]


def test_ordered_raises_on_an_unsorted_stream_naming_the_position():
    stream = ordered((e for e in [ev(1, 1, "a"), ev(2, 5, "a"), ev(3, 4, "a")]), ORDER)
    assert next(stream)["id"] == 1 and next(stream)["id"] == 2
    with pytest.raises(EqlEventError, match=r"event 2 .*out of order.*pass a list"):
        next(stream)
    with pytest.raises(EqlEventError, match="out of order"):
        list(ordered([ev(1, 2, "a"), ev(2, 1, "a")], ORDER, assume_sorted=True))


def test_ordered_checks_a_sorted_list_in_place():
    # One pass over the list, nothing copied or held (memory stays flat however long it is).
    already = [ev(1, 1, "a"), ev(2, 2, "a")]
    assert ordered(already, ORDER) is already


def test_ordered_reports_every_event_without_a_place_in_time_once():
    heard = []
    events = [ev(1, 2, "a"), {"id": 9}, ev(2, 1, "a"), {"id": 10, "t": 3, "id2": 1}, None, [1]]
    events[3]["id"] = [1, 2]  # a tiebreaker that is not one value
    order = EventOrder(lambda e: e.get("t"), lambda e: e.get("id"))
    out = ordered(events, order, on_error=lambda position, event, error: heard.append((position, str(error))))
    assert [e["id"] for e in out] == [2, 1]  # sorted, the others left out
    assert [position for position, _ in heard] == [1, 3, 4, 5]
    assert "mapping" in heard[2][1] and "mapping" in heard[3][1]
    with pytest.raises(EqlEventError, match="mapping"):
        ordered([ev(1, 1, "a"), None], order)


def test_timestamp_texts_are_cached_only_when_short():
    # A cache of timestamp texts must not keep event data alive: 2,000 long timestamp
    # texts leave nothing behind (before: the last 1,024 of them, about 1 MB).
    tracemalloc.start()
    for i in range(2000):
        assert timestamp_millis(" " * (1000 + i) + "7") == 7
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert held < 100_000


def test_matcher_rejects_events_pushed_out_of_time_order():
    matcher = SequenceMatcher([A, B], until=None, maxspan_ms=10, order=ORDER)
    matcher.push(ev(1, 5, "a"))
    with pytest.raises(EqlEventError, match="time order"):
        matcher.push(ev(2, 4, "b"))


def test_missing_event_placeholder():
    placeholder = MissingEvent()
    assert placeholder == MissingEvent() and placeholder["missing"] is True
    assert placeholder != {"missing": True} and {"missing": True} != placeholder
    with pytest.raises(TypeError):
        placeholder["x"] = 1
    assert json.dumps(placeholder) == '{"missing": true}'
    import pickle
    assert pickle.loads(pickle.dumps(placeholder)) == placeholder


# --------------------------------------------------------------------------- sequences: core rules
def test_basic_sequence_and_stage_zero_replacement():
    # a1 a2 b: the newer start replaces the older one.
    assert run([A, B], chain("aab")) == [[2, 3]]
    assert run([A, B], chain("ab")) == [[1, 2]]
    assert run([A, B], chain("ba")) == []


def test_extension_takes_the_most_recent_partial_and_discards_older_ones():
    # a1 b2 a3 b4 c5: [a1,b2] is replaced at stage 1 by [a3,b4].
    assert run([A, B, C], chain("abab c".replace(" ", ""))) == [[3, 4, 5]]
    # a1 b2 a3 c4: [a1,b2] still waits at stage 1 while a3 waits at stage 0.
    assert run([A, B, C], chain("abac")) == [[1, 2, 4]]


def test_one_event_extends_one_partial_and_starts_another():
    any_stage = stage("x")
    events = chain("xxxxx")
    assert run([any_stage] * 3, events) == [[1, 2, 3], [2, 3, 4], [3, 4, 5]]   # sequenceConditionManyMany
    assert run([any_stage] * 2, events[:4]) == [[1, 2], [2, 3], [3, 4]]        # doubleSameSequence
    assert run([any_stage] * 3, events[:2]) == []                              # one event fills one stage


def test_keys_keep_separate_state():
    by = stage("a", by=["k"]), stage("b", by=["k"])
    events = [ev(1, 1, "a", k=1), ev(2, 2, "a", k=2), ev(3, 3, "b", k=1), ev(4, 4, "b", k=3), ev(5, 5, "b", k=2)]
    results = run_results(list(by), events)
    assert [ids(r) for r in results] == [[1, 3], [2, 5]]
    assert [r.join_keys for r in results] == [(1,), (2,)]
    assert run(list(by), [ev(1, 1, "a"), ev(2, 2, "b")]) == []  # no key value: no part


def test_results_come_in_completion_order():
    by = [stage("a", by=["k"]), stage("b", by=["k"]), stage("c", by=["k"])]
    # key 1 starts first but completes last: [59,61,65] before [16,60,66] in ES QA.
    events = [ev(16, 1, "a", k=1), ev(59, 2, "a", k=2), ev(60, 3, "b", k=1), ev(61, 4, "b", k=2),
              ev(65, 5, "c", k=2), ev(66, 6, "c", k=1)]
    assert run(by, events) == [[59, 61, 65], [16, 60, 66]]


def test_multi_valued_keys_complete_in_key_order_on_the_same_event():
    by = [stage("REQ", by=["tags"]), stage("file", by=["tags"])]
    events = [ev(1, 1, "REQ", tags=["tag2", "tag1"]), ev(4, 10, "REQ", tags=["tag4", "tag3"]),
              ev(23, 12, "file", tags=["tag4", "tag1", "tag3"])]
    results = run_results(by, events)
    assert [ids(r) for r in results] == [[1, 23], [4, 23], [4, 23]]
    assert [r.join_keys for r in results] == [("tag1",), ("tag3",), ("tag4",)]


def test_mixed_type_and_null_keys_do_not_break_ordering():
    by = [stage("a", by=["?k"]), stage("b", by=["?k"])]
    events = [ev(1, 1, "a", k=["x", 2]), ev(2, 1, "a"), ev(3, 2, "a", k=True),
              ev(4, 3, "b", k=["x", 2, True]), ev(5, 3, "b")]
    # Event 4 completes three keys (sorted None < bool < number < string); event 5 the None one.
    assert [r.join_keys for r in run_results(by, events)] == [(True,), (2,), ("x",), (None,)]


def test_maxspan_is_inclusive_from_the_first_event():
    events = [ev(1, 0, "a"), ev(2, 5, "b"), ev(3, 10, "c")]
    assert run([A, B, C], events, maxspan=10) == [[1, 2, 3]]
    assert run([A, B, C], events, maxspan=9) == []
    # The span runs from the first event, not the previous one.
    assert run([A, B, C], [ev(1, 0, "a"), ev(2, 8, "b"), ev(3, 16, "c")], maxspan=10) == []


def test_until_kills_partials_of_its_key():
    until = stage("u")
    assert run([A, B], chain("aub"), until=until) == []          # docs: A, C, B -> nothing
    assert run([A, B], chain("abu"), until=until) == [[1, 2]]    # A, B, C -> match
    assert run([A, B], chain("auab"), until=until) == [[3, 4]]   # a new start after until is fine
    keyed = [stage("a", by=["k"]), stage("b", by=["k"])]
    events = [ev(1, 1, "a", k=1), ev(2, 1, "a", k=2), ev(3, 2, "u", k=2), ev(4, 3, "b", k=1), ev(5, 3, "b", k=2)]
    assert run(keyed, events, until=stage("u", by=["k"])) == [[1, 4]]


def test_until_on_the_same_event_as_a_stage():
    both = stage("x")
    # The event that completes a sequence and is also until: the result stands.
    assert run([A, both], chain("ax"), until=both) == [[1, 2]]
    # An event that starts (or extends) a partial and is also until kills that partial
    # (ES compares until with the partial's last ordinal inclusively).
    assert run([both, B], chain("xb"), until=both) == []
    assert run([A, both, C], chain("axc"), until=both) == []


def test_runs_expand_to_identical_specs():
    assert run([A] * 3 + [B], chain("aaaab")) == [[2, 3, 4, 5]]


def test_single_positive_stage_completes_on_each_match():
    assert run([A], chain("aba")) == [[1], [3]]


# --------------------------------------------------------------------------- missing events
M = stage("m", missing=True)


def test_missing_in_the_middle():
    # Dropped if a matching event lies strictly between the neighbouring positive events.
    assert run([A, M, B], chain("amb"), maxspan=10) == []
    assert run([A, M, B], chain("ab"), maxspan=10) == [[1, -1, 2]]
    # The earlier candidate is consumed even though it is then dropped (ES checks afterwards).
    events = [ev(1, 1, "a"), ev(2, 2, "m"), ev(3, 3, "a"), ev(4, 4, "b"), ev(5, 5, "b")]
    assert run([A, M, B], events, maxspan=10) == [[3, -1, 4]]
    # Equal timestamps do not count.
    assert run([A, M, B], [ev(1, 1, "a"), ev(2, 1, "m"), ev(3, 2, "m"), ev(4, 2, "b")], maxspan=10) == [[1, -1, 4]]


def test_missing_in_the_middle_uses_that_stages_keys():
    stages = [stage("a", by=["k"]), stage("m", by=["j"], missing=True), stage("b", by=["k"])]
    events = [ev(1, 1, "a", k=1), ev(2, 2, "m", j=2, k=1), ev(3, 3, "b", k=1)]
    assert run(stages, events, maxspan=10) == [[1, -1, 3]]
    events[1]["j"] = 1
    assert run(stages, events, maxspan=10) == []


def test_leading_missing():
    # Dropped if the latest matching event before the first one is within maxspan of the last.
    assert run([M, A, B], [ev(1, 0, "m"), ev(2, 5, "a"), ev(3, 10, "b")], maxspan=10) == []
    assert run([M, A, B], [ev(1, 0, "m"), ev(2, 5, "a"), ev(3, 11, "b")], maxspan=20) == []
    assert run([M, A, B], [ev(1, 0, "m"), ev(2, 5, "a"), ev(3, 11, "b")], maxspan=10) == [[-1, 2, 3]]  # 11 - 0 > 10
    assert run([M, A], [ev(1, 0, "m"), ev(2, 11, "a")], maxspan=10) == [[-1, 2]]
    assert run([M, A], [ev(1, 0, "m"), ev(2, 10, "a")], maxspan=10) == []
    assert run([M, A], [ev(1, 5, "m"), ev(2, 5, "a")], maxspan=10) == [[-1, 2]]  # equal time


def test_trailing_missing_is_held_until_final():
    matcher = SequenceMatcher([A, B, M], until=None, maxspan_ms=10, order=ORDER)
    assert matcher.push(ev(1, 0, "a")) == []
    assert matcher.push(ev(2, 1, "b")) == []             # complete, but a trailing m may still come
    assert matcher.pending == 1
    assert matcher.push(ev(3, 10, "x")) == []            # still within maxspan of the first event
    [result] = matcher.push(ev(4, 11, "x"))              # beyond: final
    assert ids(result) == [1, 2, -1] and matcher.pending == 0
    # A trailing event within maxspan drops it; after maxspan it does not.
    assert run([A, B, M], [ev(1, 0, "a"), ev(2, 1, "b"), ev(3, 10, "m")], maxspan=10) == []
    assert run([A, B, M], [ev(1, 0, "a"), ev(2, 1, "b"), ev(3, 11, "m")], maxspan=10) == [[1, 2, -1]]
    assert run([A, B, M], [ev(1, 0, "a"), ev(2, 1, "b"), ev(3, 1, "m")], maxspan=10) == [[1, 2, -1]]
    assert run([A, B, M], chain("ab"), maxspan=10) == [[1, 2, -1]]  # released by close()


def test_held_results_keep_their_order():
    keyed = [stage("a", by=["k"]), stage("b", by=["k"]), stage("m", by=["k"], missing=True)]
    matcher = SequenceMatcher(keyed, until=None, maxspan_ms=10, order=ORDER)
    out = []
    for event in [ev(1, 0, "a", k=1), ev(2, 1, "b", k=1), ev(3, 8, "a", k=2), ev(4, 9, "b", k=2),
                  ev(5, 10, "x"), ev(6, 11, "x"), ev(7, 18, "m", k=2), ev(8, 30, "x")]:
        out.append([ids(r) for r in matcher.push(event)])
    # Key 1 is final at t=11 and is returned then; key 2 is dropped by m at 18 (18 - 8 <= 10).
    assert out == [[], [], [], [], [], [[1, 2, -1]], [], []]
    matcher = SequenceMatcher(keyed, until=None, maxspan_ms=10, order=ORDER)
    out = matcher.extend([ev(1, 0, "a", k=1), ev(2, 5, "b", k=1), ev(3, 6, "a", k=2), ev(4, 7, "b", k=2),
                          ev(5, 10, "m", k=1)])
    assert out == [] and [ids(r) for r in matcher.close()] == [[3, 4, -1]]


def test_leading_and_trailing():
    stages = [M, A, M]
    events = [ev(1, 0, "m"), ev(2, 10, "a"), ev(3, 20, "m")]
    assert run(stages, events, maxspan=19) == [[-1, 2, -1]]   # T - L = 20 > 19
    assert run(stages, events, maxspan=20) == []
    assert run(stages, events[1:], maxspan=20) == [[-1, 2, -1]]  # no L: kept, whatever T
    assert run(stages, events[:2], maxspan=20) == [[-1, 2, -1]]  # no T: kept


def test_runs_on_missing_give_several_placeholders():
    assert run([A, M, M, B], chain("ab"), maxspan=10) == [[1, -1, -1, 2]]


def test_missing_stages_without_maxspan():
    # ES requires maxspan with ![...]; without it nothing exceeds, so any L or T drops.
    assert run([A, B, M], chain("abm")) == []
    assert run([A, B, M], chain("ab")) == [[1, 2, -1]]


# --------------------------------------------------------------------------- Elasticsearch QA files
def qa_queries(name: str) -> dict:
    path = QA / name
    if not path.exists():
        pytest.skip(f"{path} not found")
    text = path.read_text()
    # test_extra.toml has bare nulls in join_keys, which tomllib rejects.
    text = re.sub(r"(?m)^(join_keys\s*=.*)$", lambda m: re.sub(r'(?<!")\bnull\b(?!")', '"null"', m.group(1)), text)
    return {q["name"]: q for q in tomllib.loads(text)["queries"]}


def qa_events(name: str, tiebreaker: str | None, timestamp="@timestamp") -> list:
    path = QA / "data" / name
    if not path.exists():
        pytest.skip(f"{path} not found")
    docs = json.loads(re.sub(r"(?m)^\s*//.*$", "", path.read_text()))
    if timestamp is None:
        return docs
    order = EventOrder(lambda e: e[timestamp], (lambda e: e[tiebreaker]) if tiebreaker else None)
    return list(ordered(docs, order))


QA_ORDER = EventOrder(lambda e: e["@timestamp"], lambda e: e["sequence"])


def S(cat, tag=None, by=(), runs=1, missing=False, cond=lambda e: True):
    spec = StageSpec(lambda e: e.get("event_type") == cat and (tag is None or e.get("tag") == tag) and cond(e),
                     keys_for(tuple(by)), missing)
    return [spec] * runs


def Q(maxspan, seq_by, *stages, until=None):
    """A sequence as (maxspan ms, stages with the sequence keys in front, until)."""
    def with_seq_keys(spec):
        inner = spec.keys
        seq_keys = keys_for(tuple(seq_by))
        return StageSpec(spec.matches, lambda e: [a + b for a in seq_keys(e) for b in inner(e)], spec.missing)
    flat = [with_seq_keys(s) for group in stages for s in group]
    return maxspan, flat, with_seq_keys(until[0]) if until else None


T5 = "test5"
MISSING_CASES = {
    "missingInBetween_noMatches": Q(1000, (), S("test1", "normal"), S("test1", "nonexisting", missing=True),
                                    S("test1", "normal")),
    "missingInBetween_match": Q(1000, (), S("test1", "normal"), S("test1", "missing", missing=True),
                                S("test1", "normal")),
    "positivePlusMissing": Q(1000, (), S("test1", "normal"), S("test1", "missing", missing=True)),
    "skipFirstMatchAndPickSecondCandidate": Q(1000, (), S("test2", "normal"), S("test2", "normal"),
                                              S("test2", "missing", missing=True), S("test2", "normal")),
    "leadingSimple": Q(180_000, (), S("test3", "missing", missing=True), S("test3", "normal")),
    "leadingAndTrailingExcluded1": Q(19 * 60_000, (), S("test3", "missing", missing=True), S("test3", "normal"),
                                     S("test3", "missing", missing=True)),
    "leadingAndTrailingExcluded2": Q(21 * 60_000, (), S("test3", "missing", missing=True), S("test3", "normal"),
                                     S("test3", "missing", missing=True)),
    "multipleMissing1": Q(1000, (), S("test4", "A"), S("test4", "B"), S("test4", "M1", missing=True),
                          S("test4", "C"), S("test4", "M2", missing=True), S("test4", "D")),
    "multipleMissing2": Q(1000, (), S("test4", "A"), S("test4", "B"), S("test4", "M1", missing=True),
                          S("test4", "C"), S("test4", "D")),
    "multipleMissing3": Q(1000, (), S("test4", "A"), S("test4", "B"), S("test4", "C"),
                          S("test4", "M2", missing=True), S("test4", "D")),
    "multipleMissing4": Q(1000, (), S("test4", "A"), S("test4", "B"), S("test4", "M1", missing=True),
                          S("test4", "C"), S("test4", "M2", missing=True), S("test4", "D"),
                          S("test4", "M4", missing=True)),
    "multipleMissing5": Q(1000, (), S("test4", "A"), S("test4", "B"), S("test4", "none", missing=True),
                          S("test4", "C"), S("test4", "none", missing=True), S("test4", "D")),
    "multipleMissing6": Q(1000, (), S("test4", "A"), S("test4", "B"), S("test4", "C"),
                          S("test4", "M2", missing=True), S("test4", "D"), S("test4", "none", missing=True)),
    "multipleMissing7": Q(1000, (), S("test4", "none", missing=True), S("test4", "A"), S("test4", "B"),
                          S("test4", "C"), S("test4", "M2", missing=True), S("test4", "D")),
    "withByKey1": Q(1000, ("k1",), S(T5, "normal"), S(T5, "normal"), S(T5, "missing", missing=True), S(T5, "normal")),
    "withByKey2": Q(1000, (), S(T5, "normal", ["k1"]), S(T5, "normal", ["k1"]),
                    S(T5, "missing", ["k1"], missing=True), S(T5, "normal", ["k1"])),
    "withByKey3": Q(1000, (), S(T5, "normal", ["k1"]), S(T5, "normal", ["k1"]),
                    S(T5, "missing", ["k2"], missing=True), S(T5, "normal", ["k1"])),
    "withByKey4": Q(1000, ("k2",), S(T5, "normal"), S(T5, "normal"), S(T5, "missing", missing=True), S(T5, "normal")),
    "withByKey5": Q(1000, ("k1",), S(T5, "normal", ["k2"]), S(T5, "normal", ["k2"]),
                    S(T5, "missing", ["k2"], missing=True), S(T5, "normal", ["k2"])),
    "withByKey6": Q(1000, ("k1",), S(T5, "normal", ["k2"]), S(T5, "normal", ["k2"]),
                    S(T5, "missing", ["k2"], missing=True, cond=lambda e: e["sequence"] > 10),
                    S(T5, "normal", ["k2"])),
    "withByKey_runs": Q(1000, ("k1",), S(T5, "normal", ["k2"], runs=2), S(T5, "missing", ["k2"], missing=True),
                        S(T5, "normal", ["k2"])),
    "withByKey_runsOnMissing": Q(1000, ("k1",), S(T5, "normal", ["k2"], runs=2),
                                 S(T5, "missing", ["k2"], runs=2, missing=True), S(T5, "normal", ["k2"])),
}


def check_qa(query: dict, results: list[Result], field: str) -> None:
    assert [i for r in results for i in ids(r, field)] == query["expected_event_ids"]
    if "join_keys" in query:
        shown = ["null" if v is None else str(v) for r in results for v in r.join_keys]
        assert shown == query["join_keys"]


def run_qa_sequence(file: str, data: str, name: str, case: tuple) -> None:
    """Run one hand-built QA sequence case over its index and check ids and join keys."""
    maxspan, stages, until = case
    matcher = SequenceMatcher(stages, until=until, maxspan_ms=maxspan, order=QA_ORDER)
    check_qa(qa_queries(file)[name], matcher.extend(qa_events(data, "sequence")) + matcher.close(), "sequence")


@pytest.mark.parametrize("name", sorted(MISSING_CASES))
def test_qa_missing_events(name):
    run_qa_sequence("test_missing_events.toml", "missing-events.data", name, MISSING_CASES[name])


EXTRA_CASES = {
    "basic": Q(None, ("transID",), S("REQUEST"), S("ERROR"), S("STAT")),
    "sequenceOptionalFieldAsQueryKeys": Q(None, ("?x", "transID"), S("ERROR", by=["?x"]), S("OPTIONAL", by=["?y"])),
    "sequenceAllKeysOptional": Q(None, ("?process.entity_id", "?process.pid"),
                                 S("process", cond=lambda e: e["transID"] == 2),
                                 S("file", cond=lambda e: e["transID"] == 0, runs=2)),
    "sequenceOneKeyOptional_2": Q(None, ("?process.entity_id", "process.pid"),
                                  S("process", cond=lambda e: e["transID"] == 2),
                                  S("file", cond=lambda e: e["transID"] == 0, runs=2)),
    "sequenceWithOptionalFieldsAndUntil_1": Q(None, ("?process.entity_id", "?process.pid"),
                                              S("process", cond=lambda e: e["transID"] == 2),
                                              S("file", cond=lambda e: e["transID"] == 0, runs=2),
                                              until=S("file", cond=lambda e: e["sequence"] == 20)),
    "sequenceWithOptionalFieldsAndUntil_2": Q(None, ("?process.entity_id", "?process.pid"),
                                              S("process", cond=lambda e: e["transID"] == 2),
                                              S("file", cond=lambda e: e["transID"] == 0, runs=2),
                                              until=S("file", cond=lambda e: e["sequence"] == 19)),
    "sequenceWithMultivalue_ManyToMany": Q(None, ("tags",), S("REQUEST"), S("file")),
    "sequenceWithMultivalue_CartesianProduct": Q(None, ("tags", "items"), S("REQUEST"), S("file")),
    "sequenceWithMultivalue_Duplicates": Q(None, ("tags_with_duplicates",), S("process"), S("file")),
    "sequenceWithMultivalue_RandomOrder": Q(None, ("tags_unordered",), S("file"), S("file")),
    "sequenceWithMultivalue_NullValues": Q(None, ("tags_with_null",), S("file"), S("file")),
    "sequenceWithMultivalue_DateValues": Q(None, ("date_tags",), S("file"), S("file")),
    "sequenceWithOptionalMultivalue_simple": Q(None, ("?optional_tags",), S("process"), S("process")),
    "sequenceWithOptionalMultivalue_twoOptionals": Q(None, ("?optional_tags", "?tags"), S("REQUEST"), S("ERROR")),
}


@pytest.mark.parametrize("name", sorted(EXTRA_CASES))
def test_qa_extra_sequences(name):
    run_qa_sequence("test_extra.toml", "extra.data", name, EXTRA_CASES[name])


def SS(cat, by=(), cond=lambda e: True):
    return StageSpec(lambda e: (cat is None or e.get("event_type") == cat) and cond(e), keys_for(tuple(by)))


def sample_by(seq_by, *stages):
    return Q(None, seq_by, *([s] for s in stages))[1]


SAMPLE_CASES = {
    "noOptionalKeys": sample_by(("host", "os"), SS("success"), SS("alert")),
    "oneKeyOptional_2": sample_by(("host", "?os"), SS("success"), SS("alert", cond=lambda e: e["id"] in (11, 21, 24))),
    "allKeysOptional": sample_by(("?host", "?os"), SS("success"), SS("alert")),
    "anyRulesWithOneDifferentNameKey": sample_by(
        ("host",), SS(None, ["os"], lambda e: e.get("uptime", 0) > 0), SS(None, ["op_sys"], lambda e: e.get("port", 0) > 100),
        SS(None, ["os"], lambda e: e.get("bool") is True)),
    "anyRulesWithORFilters": sample_by(
        ("bool", "host"), SS(None, cond=lambda e: e.get("uptime", 0) > 0 or e.get("bool") is False),
        SS(None, cond=lambda e: e.get("port", 0) > 10000 or e.get("bool") is False)),
    "nullValueAsJoinKey": sample_by(("missing_keyword",), SS("alert", cond=lambda e: e["id"] == 110),
                                    SS("alert", cond=lambda e: e.get("bool") is False)),
    "optionalFieldAsKeyAndFirstFilter": sample_by(("?x",), SS("failure", cond=lambda e: e["id"] == 17),
                                                  SS("failure", cond=lambda e: e["id"] == 27),
                                                  SS(None, cond=lambda e: e["id"] == 37)),
}


@pytest.mark.parametrize("name", sorted(SAMPLE_CASES))
def test_qa_samples(name):
    query = qa_queries("test_sample.toml")[name]
    events = [e for f in ("sample1.data", "sample2.data", "sample3.data") for e in qa_events(f, None, None)]
    matcher = SampleMatcher(SAMPLE_CASES[name])
    for event in events:
        matcher.push(event)
    results = matcher.close()
    got = [i for r in results for i in ids(r)]
    expected = query["expected_event_ids"]
    assert got in expected if expected and isinstance(expected[0], list) else got == expected
    assert ["null" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
            for r in results for v in r.join_keys] == query["join_keys"]


# --------------------------------------------------------------------------- samples
def test_sample_picks_distinct_events_in_filter_order():
    x = SS("x", ["k"])
    y = SS(None, ["k"])
    matcher = SampleMatcher([y, x])
    events = [{"id": 1, "event_type": "x", "k": 1}, {"id": 2, "event_type": "z", "k": 1},
              {"id": 3, "event_type": "x", "k": 2}]
    for event in events:
        matcher.push(event)
    # Key 1: y=1 would leave x nothing but event 1 again, so depth-first search moves on
    # to y=2, x=1. Key 2: event 3 is the only candidate for both filters: no sample.
    assert [(ids(r), r.join_keys) for r in matcher.close()] == [([2, 1], (1,))]


def test_sample_max_samples_per_key_and_key_order():
    a, b = SS("a", ["k"]), SS("b", ["k"])
    matcher = SampleMatcher([a, b], max_samples_per_key=2)
    events = [{"id": i, "event_type": c, "k": k} for i, (c, k) in enumerate(
        [("a", "doom"), ("a", "doom"), ("a", "doom"), ("b", "doom"), ("b", "GTA"), ("a", "GTA"), ("a", None),
         ("b", None), ("a", 3), ("b", 3)])]
    for event in events:
        matcher.push(event)
    got = [(ids(r), r.join_keys) for r in matcher.close()]
    # None key values do not take part (plain key); numbers sort before strings; "GTA" < "doom".
    assert got == [([8, 9], (3,)), ([5, 4], ("GTA",)), ([0, 3], ("doom",)), ([1, 3], ("doom",))]
    with pytest.raises(ValueError):
        SampleMatcher([a, b], max_samples_per_key=0)


def test_sample_needs_every_filter():
    matcher = SampleMatcher([SS("a", ["k"]), SS("b", ["k"])])
    matcher.push({"id": 1, "event_type": "a", "k": 1})
    matcher.push({"id": 2, "event_type": "b", "k": 2})
    assert matcher.close() == []


def es_picks(lists, limit):
    """ES SampleIterator.match, as written: plain backtracking."""
    picks, chosen = [], []

    def match(depth):
        for event in lists[depth]:
            if not any(event is other for other in chosen):
                chosen.append(event)
                if depth == len(lists) - 1:
                    picks.append(tuple(chosen))
                else:
                    match(depth + 1)
                if len(picks) == limit:
                    return
                chosen.pop()
    match(0)
    return picks


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.lists(st.integers(0, 6), max_size=6, unique=True), min_size=1, max_size=5),
       st.integers(1, 30), st.booleans())
def test_sample_picks_are_those_of_es_backtracking(members, limit, prune_always):
    pool = [{"id": i} for i in range(7)]
    lists = [[pool[i] for i in ids] for ids in members]
    with pytest.MonkeyPatch.context() as patch:
        if prune_always:  # small searches skip the pruning: make them use it too
            patch.setattr(samples, "_SMALL_SEARCH", 0)
        assert samples._distinct_picks(lists, limit) == es_picks(lists, limit)


class CountingList(list):
    """A list that counts how often it is walked."""

    walks = 0

    def __iter__(self):
        CountingList.walks += 1
        return super().__iter__()


@pytest.mark.parametrize("tail", [[[0], [0]], [[0], [0, 1]]])
def test_sample_picks_cut_branches_that_cannot_complete(tail):
    # 111 events match three filters, the last two share event 0 only: no event for the
    # fifth filter ever remains (or, with [0, 1], only a few picks exist). ES-style
    # backtracking walks ~111 x 110 x 109 branches to learn that (before: 17 s for 200
    # samples per key); the search is now cut where no pick can follow.
    pool = [{"id": i} for i in range(111)]
    lists = [CountingList(pool) for _ in range(3)] + [CountingList(pool[i] for i in ids) for ids in tail]
    CountingList.walks = 0
    picks = samples._distinct_picks(lists, 200)
    assert len(picks) == (0 if tail == [[0], [0]] else 200)
    assert all(len({id(e) for e in pick}) == 5 for pick in picks)
    assert CountingList.walks < 200 * 5 * 2 + 100  # a few walks per pick, not per branch
    CountingList.walks = 0


def test_sample_with_many_samples_per_key_through_the_query():
    events = [{"event": {"category": "a"}, "k": 1, "id": i} for i in range(111)]
    events += [{"event": {"category": "b"}, "k": 1, "id": 200}]
    text = "sample by k [a where true] [any where true] [a where true] [b where true] [b where true]"
    assert list(eqlmini.compile(text, max_samples_per_key=200).search(events)) == []


# --------------------------------------------------------------------------- reference implementation
def reference(stages, events, *, until=None, maxspan=None):
    """Brute force in Elasticsearch's shape: every partial kept in a list per (key, stage),
    `trimBefore` on extension, until markers checked on extension, missing events checked
    at the end against the whole input (as ES's follow-up queries do)."""
    ts = [e["t"] for e in events]
    positive = [i for i, s in enumerate(stages) if not s.missing]
    m = len(positive)
    groups = defaultdict(list)
    untils = defaultdict(list)
    done = []
    for n, event in enumerate(events):
        for j in reversed(range(m)):
            spec = stages[positive[j]]
            if not spec.matches(event):
                continue
            for key in spec.keys(event):
                if j == 0:
                    if m == 1:
                        done.append((n, key, [n]))
                    else:
                        groups[key, 0].append([n])
                    continue
                earlier = [p for p in groups[key, j - 1] if p[-1] < n]
                if not earlier:
                    continue
                partial = earlier[-1]
                groups[key, j - 1] = [p for p in groups[key, j - 1] if p[-1] >= n]
                if maxspan is not None and ts[n] - ts[partial[0]] > maxspan:
                    continue
                if any(partial[-1] <= u < n for u in untils[key]):
                    continue
                if j == m - 1:
                    done.append((n, key, partial + [n]))
                else:
                    groups[key, j].append(partial + [n])
        if until is not None and until.matches(event):
            for key in until.keys(event):
                untils[key].append(n)
    done.sort(key=lambda d: (d[0], join_key_order(d[1])))

    def bigger(start, end):
        return start is None or end is None or (maxspan is not None and end - start > maxspan)

    out = []
    for _, key, picked in done:
        times = dict(zip(positive, (ts[i] for i in picked)))
        lead, trail, dropped = None, None, False
        for i, spec in enumerate(stages):
            if not spec.missing:
                continue
            hits = [ts[n] for n, e in enumerate(events) if spec.matches(e) and key in spec.keys(e)]
            if i < positive[0]:
                before = [t for t in hits if t < ts[picked[0]]]
                if before:
                    lead = max([lead, *before] if lead is not None else before)
            elif i > positive[-1]:
                after = [t for t in hits if t > ts[picked[-1]]]
                if after:
                    trail = min([trail, *after] if trail is not None else after)
            else:
                low = times[max(p for p in positive if p < i)]
                high = times[min(p for p in positive if p > i)]
                dropped = dropped or any(low < t < high for t in hits)
        first, last = stages[0].missing, stages[-1].missing
        keep = not dropped and (
            (trail is None and lead is None) or (lead is None and first) or (trail is None and last)
            or (first and last and bigger(lead, trail))
            or (first and not last and bigger(lead, ts[picked[-1]]))
            or (not first and last and bigger(ts[picked[0]], trail)))
        if keep:
            it = iter(picked)
            out.append([-1 if s.missing else events[next(it)]["id"] for s in stages])
    return out


KEY_VALUES = st.sampled_from([0, 1, None, [1, 0], [1, 2]])


@st.composite
def scenarios(draw):
    n = draw(st.integers(0, 24))
    t = 0
    events = []
    for i in range(n):
        t += draw(st.integers(0, 3))
        events.append(ev(i, t, draw(st.sampled_from("abcmu")), k=draw(KEY_VALUES), k2=draw(KEY_VALUES)))
    optional = draw(st.booleans())
    mode = draw(st.sampled_from(["none", "k", "mixed"]))

    def by():
        if mode == "none":
            return ()
        name = "k" if mode == "k" else draw(st.sampled_from(["k", "k2"]))
        return ("?" + name,) if optional else (name,)

    count = draw(st.integers(1, 4))
    stages = [stage(draw(st.sampled_from("abcm")), by=by(), missing=draw(st.booleans())) for _ in range(count)]
    if all(s.missing for s in stages):
        stages[draw(st.integers(0, count - 1))] = stage(draw(st.sampled_from("abc")), by=by())
    until = stage("u", by=by()) if draw(st.booleans()) else None
    maxspan = draw(st.one_of(st.none(), st.integers(0, 8)))
    return stages, events, until, maxspan


@settings(max_examples=EXAMPLES, deadline=None)
@given(scenarios())
def test_streaming_matcher_agrees_with_the_reference(scenario):
    stages, events, until, maxspan = scenario
    matcher = SequenceMatcher(stages, until=until, maxspan_ms=maxspan, order=ORDER)
    got = []
    for event in events:  # whatever push returns must already be final and in order
        got.extend(ids(r) for r in matcher.push(event))
    got.extend(ids(r) for r in matcher.close())
    assert got == reference(stages, events, until=until, maxspan=maxspan)


@settings(max_examples=EXAMPLES, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False), st.lists(st.integers(1, 5), max_size=30))
def test_results_do_not_depend_on_chunking_or_input_order(scenario, rnd, cuts):
    stages, events, until, maxspan = scenario

    def fresh():
        return SequenceMatcher(stages, until=until, maxspan_ms=maxspan, order=ORDER)

    whole = fresh()
    expected = [ids(r) for r in whole.extend(events) + whole.close()]
    chunked, rest, got = fresh(), list(events), []
    for size in cuts:
        got += [ids(r) for r in chunked.extend(rest[:size])]
        rest = rest[size:]
    got += [ids(r) for r in chunked.extend(rest) + chunked.close()]
    assert got == expected
    shuffled = list(events)
    rnd.shuffle(shuffled)
    again = fresh()
    assert [ids(r) for r in again.extend(ordered(shuffled, ORDER)) + again.close()] == expected


@settings(max_examples=max(3, EXAMPLES // 40), deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 3), st.booleans())
def test_partials_stay_bounded_with_maxspan(seed, missing_at, with_until):
    rnd = random.Random(seed)
    maxspan = 30
    stages = [stage("a", by=["k"]), stage("b", by=["k"]), stage("c", by=["k"])]
    stages.insert(missing_at, stage("m", by=["k"], missing=True))
    until = stage("u", by=["k"]) if with_until else None
    matcher = SequenceMatcher(stages, until=until, maxspan_ms=maxspan, order=ORDER)
    window: deque[int] = deque()
    t, peak = 0, 0
    for i in range(20_000):
        t += rnd.randint(0, 2)
        key = i // 100 + rnd.randint(0, 4)  # the key space keeps moving on, so nothing may pile up
        matcher.push(ev(i, t, rnd.choice("abcmux"), k=key))
        window.append(t)
        while window[0] < t - maxspan:
            window.popleft()
        # Every live partial was started by a distinct event within the last maxspan.
        assert matcher.partials <= len(window)
        assert matcher.pending <= len(window)
        peak = max(peak, matcher.partials)
    assert peak < 200
    # Held keys, and partials queued for expiry, all started within the last maxspan.
    assert len(set().union(*matcher._slots)) <= len(window) and len(matcher._started) <= len(window)


def test_partials_bounded_by_keys_times_stages_without_maxspan():
    rnd = random.Random(7)
    keyed = [stage(c, by=["k"]) for c in "abcd"]
    matcher = SequenceMatcher(keyed, until=None, maxspan_ms=None, order=ORDER)
    for i in range(5000):
        matcher.push(ev(i, i, rnd.choice("abcd"), k=rnd.randint(0, 9)))
        assert matcher.partials <= 10 * 3


def test_matcher_misuse():
    with pytest.raises(ValueError, match="at least one"):
        SequenceMatcher([M, M], maxspan_ms=10, order=ORDER)
    matcher = SequenceMatcher([A, B], order=ORDER)
    assert matcher.close() == []
    with pytest.raises(ValueError, match="closed"):
        matcher.push(ev(1, 1, "a"))


# --------------------------------------------------------------------------- memory and its bound
def held_per_event(matcher, events):
    tracemalloc.start()
    for event in events:
        matcher.push(event)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return held / len(events)


def test_an_open_partial_costs_little_besides_its_events():
    # Unique keys and no maxspan: every event opens a partial that never completes.
    # Before: 324 bytes per partial; with a trailing ![...], 1,157 per waiting result.
    keyed = [stage("a", by=["k"]), stage("b", by=["k"])]
    events = [ev(i, i, "a", k=f"u{i}") for i in range(20_000)]
    assert held_per_event(SequenceMatcher(keyed, order=ORDER), events) < 250
    trailing = [*keyed, stage("m", by=["k"], missing=True)]
    pairs = [e for i in range(10_000) for e in (ev(2 * i, 2 * i, "a", k=f"u{i}"), ev(2 * i + 1, 2 * i + 1, "b", k=f"u{i}"))]
    assert held_per_event(SequenceMatcher(trailing, maxspan_ms=10**9, order=ORDER), pairs) * 2 < 600


def test_open_partials_are_bounded_the_oldest_dropped_counted_and_reported():
    keyed = [stage("a", by=["k"]), stage("b", by=["k"])]
    matcher = SequenceMatcher(keyed, order=ORDER, max_partials=100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(1000):
            matcher.push(ev(i, i, "a", k=i))
        assert matcher.partials == 100 and matcher.dropped == 900
        assert [ids(r) for r in matcher.push(ev(1000, 1000, "b", k=999))] == [[999, 1000]]  # the newest stay
        assert matcher.push(ev(1001, 1001, "b", k=0)) == []                                   # the oldest went
        matcher.close()
    reports = [str(w.message) for w in caught if issubclass(w.category, EqlLimitWarning)]
    assert len(reports) == 2 and "900 partial sequences dropped" in reports[1]


def test_the_default_bound_applies_to_queries(monkeypatch):
    monkeypatch.setattr(limits, "MAX_OPEN_PARTIALS", 10)
    events = [{"@timestamp": i, "event": {"category": "process"}, "user": f"u{i}"} for i in range(50)]
    events.append({"@timestamp": 50, "event": {"category": "file"}, "user": "u49"})
    with pytest.warns(EqlLimitWarning, match="MAX_OPEN_PARTIALS"):
        results = list(eqlmini.compile("sequence by user [process where true] [file where true]").search(events))
    assert [r.join_keys for r in results] == [("u49",)]


def test_results_waiting_for_a_trailing_missing_event_are_bounded():
    stages = [stage("a", by=["k"]), stage("b", by=["k"]), stage("m", by=["k"], missing=True)]
    matcher = SequenceMatcher(stages, maxspan_ms=10**9, order=ORDER, max_partials=10)
    out = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(100):
            out += matcher.push(ev(2 * i, 2 * i, "a", k=i)) + matcher.push(ev(2 * i + 1, 2 * i + 1, "b", k=i))
        assert matcher.pending == 10 and matcher.released == 90
        assert [r.join_keys for r in out] == [(i,) for i in range(90)]  # released oldest first, in order
        out += matcher.close()
    assert [r.join_keys for r in out] == [(i,) for i in range(100)]
    assert any(issubclass(w.category, EqlLimitWarning) and "released" in str(w.message) for w in caught)
