"""The frame paths against the Python engine: the same rows, results and join keys.

Two claims, for pandas, Polars and Arrow alike:

* over the rows of any frame, ``query.filter(frame)`` and ``query.search(frame)`` answer
  exactly as the Python engine answers over the frame's own rows as dicts:
  the ES conformance queries, and random conditions over random values (NaN, None, numpy
  scalars and arrays, ``1``/``1.0``/``True``, ``-0.0``, nested and dotted columns);
* a frame built from events (``pandas.json_normalize``, or Polars and Arrow from the dicts)
  answers as the events themselves: the ES conformance expectations, and a property test.
"""

from __future__ import annotations

import copy
import importlib.util
import math
import os
from typing import Any, Callable

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from conftest import CONFORMANCE, CORPUS, PROJECT, boolean_trees, load_es_toml, require
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_conformance import FILES, INDICES, KNOWN_FAILURES, _events

import eqlmini
from eqlmini import ast
from eqlmini.frames.columns import Columns, plans_of, rows_where
from eqlmini.frames.tables import Table

EXAMPLES = int(os.environ.get("EQLMINI_EXAMPLES", "300"))


# ------------------------------------------------------------------ frames and their rows
def uniform(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events with a field that is a list in some events a list in all (a scalar ``x``
    becomes ``[x]``, the same field to Elasticsearch): Polars and Arrow need one type."""
    listed = {key for event in events for key, value in event.items() if isinstance(value, list)}
    return [{key: [value] if key in listed and value is not None and not isinstance(value, list) else value
             for key, value in event.items()} for event in events]


BUILDERS: dict[str, Callable[[list[dict[str, Any]]], Any]] = {
    "pandas": lambda events: pd.json_normalize(events),
    "pandas-object": lambda events: pd.DataFrame(events, dtype=object),
    "polars": lambda events: pl.DataFrame(uniform(events), infer_schema_length=None),
    # (pa.Table.from_pylist would take its columns from the first event alone)
    "arrow": lambda events: pl.DataFrame(uniform(events), infer_schema_length=None).to_arrow(),
}


def rows_of(frame: Any) -> list[dict[str, Any]]:
    """The frame's rows as the dicts a user would hand the Python engine."""
    if isinstance(frame, pd.DataFrame):
        return frame.to_dict("records")
    if isinstance(frame, pl.DataFrame):
        return frame.to_dicts()
    return frame.to_pylist()


def column(frame: Any, name: str) -> list[Any]:
    if isinstance(frame, pd.DataFrame):
        return frame[name].tolist()
    if isinstance(frame, pl.DataFrame):
        return frame[name].to_list()
    return frame.column(name).to_pylist()


def filtered_rows(query: eqlmini.Query, frame: Any) -> list[int]:
    """Row positions that ``query.filter(frame)`` kept, read back through a position column."""
    if isinstance(frame, pd.DataFrame):
        return [frame.index.get_loc(label) for label in query.filter(frame).index]
    marked = frame.with_row_index("_position") if isinstance(frame, pl.DataFrame) else \
        frame.append_column("_position", pa.array(range(frame.num_rows), pa.int64()))
    return column(query.filter(marked), "_position")


def engine_rows(query: eqlmini.Query, rows: list[dict[str, Any]]) -> list[int]:
    return [position for position, row in enumerate(rows) if query.match(row)]


def searched(query: eqlmini.Query, frame: Any) -> list[tuple[tuple[int | None, ...], tuple[Any, ...]]]:
    """``(rows of each result, join keys)`` from ``query.search(frame)``."""
    found = query.search(frame)
    width = sum(1 for name in (found.columns if not isinstance(found, pa.Table) else found.column_names)
                if name.startswith("join_key_"))
    numbers, rows = column(found, "result"), column(found, "row")
    keys = list(zip(*(column(found, f"join_key_{i}") for i in range(width)))) or [()] * len(numbers)
    results: dict[int, tuple[list[int | None], tuple[Any, ...]]] = {}
    for number, row, key in zip(numbers, rows, keys):
        results.setdefault(number, ([], tuple(key)))[0].append(None if row is None or row != row else int(row))
    return [(tuple(rows), key) for rows, key in results.values()]


def engine_searched(query: eqlmini.Query, rows: list[dict[str, Any]]) -> list[tuple[tuple[int | None, ...], tuple]]:
    where = {id(row): position for position, row in enumerate(rows)}
    return [(tuple(where.get(id(event)) for event in result.events), result.join_keys)
            for result in query.search(rows)]


def same_keys(a: list[tuple[Any, tuple]], b: list[tuple[Any, tuple]]) -> bool:
    """Results equal, join keys compared as values (a frame may hold 4 as 4.0, NaN as null)."""
    def norm(value: Any) -> Any:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return value
    return [(rows, tuple(map(norm, keys))) for rows, keys in a] == [(rows, tuple(map(norm, keys))) for rows, keys in b]


# ------------------------------------------------------------------ ES conformance queries
def _conformance_cases() -> list[Any]:
    if not CONFORMANCE.exists():
        return [pytest.param(None, None, None, marks=pytest.mark.skip(reason=f"{CONFORMANCE} not found"))]
    cases = []
    for file, index in FILES.items():
        for query in load_es_toml(CONFORMANCE / file):
            for kind in BUILDERS:
                marks = []
                if query["name"] in KNOWN_FAILURES:
                    marks.append(pytest.mark.xfail(reason=KNOWN_FAILURES[query["name"]], strict=True))
                cases.append(pytest.param(query, index, kind, id=f"{kind}::{file}::{query['name']}", marks=marks))
    return cases


@pytest.mark.parametrize(("case", "index_name", "kind"), _conformance_cases())
def test_conformance_over_frames(case: dict[str, Any], index_name: str, kind: str) -> None:
    index = INDICES[index_name]
    options: dict[str, Any] = {"tiebreaker_field": index.tiebreaker, "field_types": dict(index.field_types)}
    options.update({key: case[key] for key in ("size", "max_samples_per_key") if key in case})
    query = eqlmini.compile(case["query"], **options)
    frame = BUILDERS[kind]([copy.deepcopy(event) for event in _events(index_name)])
    rows = rows_of(frame)

    # The frame path answers as the engine over the frame's own rows ...
    if query.kind == "event":
        assert filtered_rows(query, frame) == engine_rows(query, rows)
    results = searched(query, frame)
    assert same_keys(results, engine_searched(query, rows))
    # ... and as Elasticsearch over the events the frame was built from.
    ids = column(frame, index.id_field)
    got = [-1 if row is None else ids[row] for rows_, _ in results for row in rows_]
    expected = case["expected_event_ids"]
    assert got in expected if expected and isinstance(expected[0], list) else got == expected


# ------------------------------------------------------------------ random values, any frame
WORDS = ["x", "X", "1", "1.0", "true", "-0.0", "NaN", ""]
SCALARS = [1, 1.0, True, False, 0, 0.0, -0.0, math.nan, None, "x", "1", "true", np.int64(1), np.float64(1.0),
           np.bool_(True), np.float64(math.nan), np.str_("x")]
cell_values = st.one_of(
    st.sampled_from(SCALARS),
    st.lists(st.sampled_from(SCALARS), max_size=3),
    st.lists(st.sampled_from(["x", "X", "1"]), max_size=3).map(lambda items: np.array(items, dtype=object)),
    st.lists(st.integers(0, 2), max_size=3).map(np.array),
    st.lists(st.sampled_from(SCALARS), max_size=2).map(tuple),
)
# Columns: flat (`a`), dotted (`b.c`), an object column (`d`, holding `d.e` and maybe `d.f`)
# beside a dotted one (`d.f`), so that a field may be read from two columns at once.
nested_cells = st.one_of(st.none(), st.fixed_dictionaries({}, optional={"e": cell_values, "f": cell_values}),
                         st.lists(st.fixed_dictionaries({}, optional={"e": cell_values}), max_size=2))
rows_strategy = st.lists(st.fixed_dictionaries({"a": cell_values, "b.c": cell_values, "d": nested_cells,
                                                "d.f": cell_values}), min_size=1, max_size=8)
FIELDS = ["a", "b.c", "d.e", "d.f"]
fields = st.sampled_from(FIELDS).map(ast.Field)
texts = st.sampled_from(WORDS).map(ast.Literal)
numbers = st.sampled_from([0, 1, 2, 1.0, -0.0, 1.5]).map(ast.Literal)
literals = st.one_of(texts, numbers, st.booleans().map(ast.Literal))
in_lists = st.one_of(st.lists(texts, min_size=1, max_size=3), st.lists(numbers, min_size=1, max_size=3))
patterns = st.lists(st.sampled_from(["x*", "1*", "*.0", "tru?", "-0*", "NaN", "*"]), min_size=1, max_size=2)
leaves = st.one_of(
    st.builds(ast.Comparison, st.sampled_from(["==", "!=", "<", ">="]), fields,
              st.one_of(literals, st.just(ast.Literal(None)))),
    st.builds(lambda op, f, ps: ast.Match(op, f, tuple(ast.Literal(p) for p in ps), listed=True),
              st.sampled_from([":", "like~"]), fields, patterns),
    st.builds(lambda f, items, neg: ast.In(f, tuple(items), False, neg), fields, in_lists, st.booleans()),
    # a leaf over two fields (two columns, or one column read for two fields)
    st.builds(lambda a, b, ps: ast.Match(":", ast.Call("concat", (a, b)), tuple(ast.Literal(p) for p in ps)),
              fields, fields, patterns),
)
conditions = boolean_trees(leaves, max_leaves=4)


def compiled(condition: ast.Expr) -> eqlmini.Query:
    """The condition as a query, when Elasticsearch accepts it (a type clash it rejects)."""
    try:
        return eqlmini.compile(f"any where {condition}")
    except eqlmini.EqlSemanticError:
        assume(False)
        raise


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions, rows_strategy)
def test_pandas_frame_answers_as_its_rows(condition: ast.Expr, rows: list[dict[str, Any]]) -> None:
    query = compiled(condition)
    frame = pd.DataFrame(rows, dtype=object, index=[f"r{i}" for i in range(len(rows))])
    # The very objects the frame holds (to_dict would turn numpy scalars into Python ones).
    assert filtered_rows(query, frame) == engine_rows(query, rows), str(condition)


# Polars and Arrow: one type per column, structs for objects.
typed_rows = st.lists(st.fixed_dictionaries({
    "a": st.one_of(st.none(), st.sampled_from(["x", "X", "1", "true", ""])),
    "b.c": st.one_of(st.none(), st.integers(-1, 2)),
    "d": st.one_of(st.none(), st.fixed_dictionaries({
        "e": st.one_of(st.none(), st.lists(st.sampled_from(["x", "1", "X"]), max_size=3)),
        "f": st.one_of(st.none(), st.sampled_from([0.0, -0.0, 1.0, 1.5, math.nan]))})),
}), min_size=1, max_size=8)


@settings(max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions, typed_rows, st.sampled_from(["polars", "arrow"]))
def test_struct_frames_answer_as_their_rows(condition: ast.Expr, rows: list[dict[str, Any]], kind: str) -> None:
    query = compiled(condition)
    frame = pl.DataFrame(rows) if kind == "polars" else pa.Table.from_pylist(rows)
    assert filtered_rows(query, frame) == engine_rows(query, rows_of(frame)), str(condition)


# ------------------------------------------------------------------ json_normalize property
# Events as they come from JSON. Integers only in a field every event has: pandas stores a
# column of integers with gaps as floats (1 becomes 1.0), which is pandas' change, not eqlmini's.
json_values = st.one_of(st.none(), st.sampled_from(["x", "X", "1", "true", "1.5"]), st.booleans(),
                        st.sampled_from([1.5, -2.5]), st.lists(st.sampled_from(["x", "1", "X"]), max_size=3))


@st.composite
def json_events(draw: Any) -> list[dict[str, Any]]:
    events = []
    for _ in range(draw(st.integers(1, 8))):
        event: dict[str, Any] = {"n": draw(st.integers(0, 2)), "b": {"c": draw(st.integers(0, 2))}}
        for name in ("a", "p.q", "p.r.s"):
            if draw(st.booleans()):
                node = event
                *path, last = name.split(".")
                for part in path:
                    node = node.setdefault(part, {})
                node[last] = draw(json_values)
        events.append(event)
    return events


json_fields = st.sampled_from(["a", "n", "b.c", "p.q", "p.r.s"]).map(ast.Field)
json_leaves = st.one_of(
    st.builds(ast.Comparison, st.sampled_from(["==", "!=", ">"]), json_fields,
              st.one_of(literals, st.just(ast.Literal(None)))),
    st.builds(lambda f, ps: ast.Match(":", f, tuple(ast.Literal(p) for p in ps), listed=True), json_fields, patterns),
    st.builds(lambda f, items: ast.In(f, tuple(items), True, False), json_fields, in_lists),
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boolean_trees(json_leaves, max_leaves=4), json_events())
def test_json_normalize_frame_answers_as_its_events(condition: ast.Expr, events: list[dict[str, Any]]) -> None:
    query = compiled(condition)
    frame = pd.json_normalize(events)
    assert filtered_rows(query, frame) == engine_rows(query, events), (str(condition), frame.to_dict("records"))


# ------------------------------------------------------------------ the detection-rules corpus
@pytest.fixture(scope="module")
def corpus() -> tuple[list[Any], list[dict[str, Any]]]:
    """The active corpus rules and 1,000 generated events that exercise their fields
    (benchmarks/ruleset.py's generator: each event takes the shape of some rule's stage)."""
    require(CORPUS)
    spec = importlib.util.spec_from_file_location("benchmark_ruleset", PROJECT / "benchmarks" / "ruleset.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    rules = module.corpus_rules()
    return rules, module.generate_events(rules, 1000, seed=11, hot=0.2)


@pytest.mark.parametrize("kind", ["pandas", "pandas-object"])
def test_corpus_event_rules_over_frames(corpus: tuple[list[Any], list[dict[str, Any]]], kind: str) -> None:
    rules, events = corpus
    frame = BUILDERS[kind](events)
    rows = rows_of(frame)
    expected = {rule.name: engine_rows(rule.query, rows) for rule in rules if rule.query.kind == "event"}
    columns = Columns(Table.of(frame), keep=16)  # shared by the rules, as in a scan: columns read once
    wrong = [rule.name for rule in rules if rule.name in expected
             and rows_where(plans_of(rule.query)[0], range(len(rows)), columns) != expected[rule.name]]
    assert not wrong, f"{len(wrong)} of {len(expected)} event rules differ: {wrong[:5]}"
    assert len(expected) > 800 and sum(map(bool, expected.values())) > 80  # many rules, many with matches


def test_corpus_scan_over_a_frame(corpus: tuple[list[Any], list[dict[str, Any]]]) -> None:
    rules, events = corpus
    frame = pd.json_normalize(events)
    rows = rows_of(frame)
    ruleset = eqlmini.RuleSet(rules)
    found = ruleset.scan(frame)
    keys = [name for name in found.columns if name.startswith("join_key_")]

    def trimmed(values: Any) -> tuple[Any, ...]:  # the frame pads the keys of an alert with fewer
        values = [None if value is None or value != value else value for value in values]
        while values and values[-1] is None:
            values.pop()
        return tuple(values)
    got = sorted((name, tuple(group["row"]), trimmed(group[keys].iloc[0]))
                 for (_, name), group in found.groupby(["alert", "rule_name"]))
    where = {id(row): position for position, row in enumerate(rows)}
    expected = sorted((alert.rule.name, tuple(where[id(event)] for event in alert.events), trimmed(alert.join_keys))
                      for alert in ruleset.scan(rows))
    assert got == expected
    assert len({name for name, _, _ in expected}) > 80
    assert any(len(rows_) > 1 for _, rows_, _ in expected)  # sequences too
