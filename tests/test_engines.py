"""DuckDB and Spark against the Python engine: the same events, query by query.

* Elasticsearch's QA queries over their own data: every event query through
  ``eqlmini.duckdb.filter`` and the exact SQL on Spark; every query through
  ``eqlmini.duckdb.search``; the sequences and samples through ``eqlmini.spark.scan`` (one
  job per file) and ``eqlmini.spark.search``.
* The corpus's event rules over generated events that exercise their fields
  (tests/engine_data.py): DuckDB on nested columns, Spark on dotted columns. Every rule whose
  SQL is not exact is named, with the reason, in ``UNTRANSLATABLE`` and printed.
* Sequences and samples of every form over generated keyed streams (ties in time, missing
  tiebreakers, multi-valued and null keys).

The Python engine runs on the table's own rows (``to_pylist``), so both see the same values.
DuckDB tests run wherever DuckDB is installed (the ``test`` extra has it); Spark tests need
pyspark and Java and share one local SparkSession.
"""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
from typing import Any

import pytest
from conftest import CONFORMANCE, CORPUS, load_es_toml
from engine_data import STREAM_QUERIES, arrow_table, keyed_stream, nested, rule_events
from test_conformance import FILES, INDICES, _events

import eqlmini
from eqlmini.sql import to_sql

duckdb = pytest.importorskip("duckdb", reason="the DuckDB engine needs duckdb: pip install -e '.[test]'")
pyarrow = pytest.importorskip("pyarrow", reason="the DuckDB engine needs pyarrow: pip install -e '.[test]'")
import eqlmini.duckdb as eql_duckdb  # noqa: E402 - after the skips
import eqlmini.spark  # noqa: E402
import eqlmini.values  # noqa: E402

# Corpus event rules whose SQL is not exact on the generated tables, and why (the reason up to
# the construct); none since cidrMatch translates. Such rules still run exactly: SQL selects
# loosely and the Python engine confirms.
UNTRANSLATABLE: dict[str, str] = {}


def _options(index_name: str) -> dict[str, Any]:
    index = INDICES[index_name]
    return {"tiebreaker_field": index.tiebreaker, "field_types": dict(index.field_types)}


def _tables() -> dict[str, Any]:
    tables = {}
    for index_name in {*FILES.values()}:
        events = [copy.deepcopy(event) for event in _events(index_name)]
        tables[index_name] = arrow_table(events)
    return tables


_TABLES: dict[str, Any] = {}


def table_of(index_name: str) -> Any:
    if not _TABLES:
        _TABLES.update(_tables())
    return _TABLES[index_name]


def _qa_cases() -> list[Any]:
    if not CONFORMANCE.exists():
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=f"{CONFORMANCE} not found"))]
    return [pytest.param(case, index, id=f"{file}::{case['name']}")
            for file, index in FILES.items() for case in load_es_toml(CONFORMANCE / file)]


def _ids(results: Any, id_field: str) -> list[Any]:
    return [[None if isinstance(e, eqlmini.MissingEvent) else e[id_field] for e in r.events] + [list(r.join_keys)]
            for r in results]


# ---------------------------------------------------------------- DuckDB: the ES QA suite
@pytest.mark.parametrize(("case", "index_name"), _qa_cases())
def test_duckdb_matches_python_on_elasticsearch_qa(case: dict[str, Any], index_name: str) -> None:
    index = INDICES[index_name]
    options = _options(index_name)
    for name in ("size", "max_samples_per_key"):
        if name in case:
            options[name] = case[name]
    query = eqlmini.compile(case["query"], **options)
    table = table_of(index_name)
    rows = table.to_pylist()
    con = duckdb.connect()
    rel = con.from_arrow(table)
    if query.kind == "event":
        got = [row[index.id_field] for row in eql_duckdb.arrow_table(eql_duckdb.filter(query, rel, connection=con)).to_pylist()]
        assert got == [row[index.id_field] for row in query.filter(rows)]
    got_results = _ids(eql_duckdb.search(query, rel, connection=con), index.id_field)
    assert got_results == _ids(query.search(rows), index.id_field)


# ---------------------------------------------------------------- DuckDB: the corpus
def _corpus_rules() -> list[dict[str, Any]]:
    if not CORPUS.exists():
        return []
    rules = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    return [rule for rule in rules if rule["query_kind"] == "event"]


def _compile_rule(rule: dict[str, Any]) -> eqlmini.Query:
    options = {}
    if rule["event_category_override"]:
        options["event_category_field"] = rule["event_category_override"]
    return eqlmini.compile(rule["query"], **options)


_CORPUS: list[tuple[dict[str, Any], eqlmini.Query, list[dict[str, Any]]]] = []


def corpus_cases() -> list[tuple[dict[str, Any], eqlmini.Query, list[dict[str, Any]]]]:
    """Every corpus event rule, its query and its generated (flat) events; built once."""
    if not CORPUS.exists():
        pytest.skip(f"{CORPUS} not found")
    if not _CORPUS:
        for rule in _corpus_rules():
            query = _compile_rule(rule)
            _CORPUS.append((rule, query, rule_events(query, rule["rule_id"])))
    return _CORPUS


def test_duckdb_matches_python_on_corpus_event_rules(capsys: pytest.CaptureFixture[str]) -> None:
    """Each rule over its own table of nested columns; the exact SQL of 100 rules per query."""
    cases = corpus_cases()
    con = duckdb.connect()
    wrong, refused, exercised, exact = [], {}, 0, []
    for number, (rule, query, events) in enumerate(cases):
        table = arrow_table([nested(event) for event in events])
        rows = table.to_pylist()
        expected = [row["__id"] for row in query.filter(rows)]
        exercised += 0 < len(expected) < len(rows)
        condition = eql_duckdb.to_sql(query, table)
        if condition.exact:
            con.register(f"t{number}", table)
            exact.append((number, rule, condition.sql, expected))
            continue
        refused[rule["name"]] = condition.refused[0]
        got = [row["__id"] for row in eql_duckdb.arrow_table(
            eql_duckdb.filter(query, con.from_arrow(table), connection=con)).to_pylist()]
        if got != expected:
            wrong.append(rule["name"])
    for start in range(0, len(exact), 100):
        chunk = exact[start:start + 100]
        sql = " UNION ALL ".join(f"SELECT {number} AS r, __id FROM t{number} WHERE {condition}"
                                 for number, _, condition, _ in chunk)
        found: dict[int, list[int]] = {}
        for number, event_id in con.execute(sql).fetchall():
            found.setdefault(number, []).append(event_id)
        wrong.extend(rule["name"] for number, rule, _, expected in chunk
                     if sorted(found.get(number, [])) != sorted(expected))
    with capsys.disabled():
        print(f"\ncorpus event rules: {len(cases)}; exact SQL: {len(cases) - len(refused)}; "
              f"pre-filter + Python: {len(refused)}; wrong: {len(wrong)}; "
              f"rules whose events both match and do not: {exercised}")
        for name, reason in sorted(refused.items()):
            print(f"  not exact: {name}: {reason[:160]}")
    assert wrong == []
    assert {name: reason.split(" [")[0] for name, reason in refused.items()} == UNTRANSLATABLE
    assert exercised > len(cases) * 0.6  # the generated events exercise most rules both ways


# ---------------------------------------------------------------- Spark
@pytest.fixture(scope="session")
def spark() -> Any:
    """One local SparkSession for the whole test session."""
    pytest.importorskip("pyspark", reason="the Spark engine needs pyspark: pip install -e '.[test]'")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("the Spark engine needs Java 17 (no `java` on PATH, no JAVA_HOME)")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("eqlmini-tests")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
               .config("spark.driver.memory", "2g").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _spark_rows(df: Any) -> list[dict[str, Any]]:
    return [row.asDict(recursive=True) for row in df.collect()]


def _selected(df: Any, conditions: dict[Any, str], id_field: str) -> dict[Any, list[Any]]:
    """The ids of the rows each SQL condition selects, all conditions in one Spark job."""
    names = {f"c{i}": key for i, key in enumerate(conditions)}
    columns = [f"`{id_field}` AS id", *(f"COALESCE({sql}, FALSE) AS {name}"
                                        for name, sql in zip(names, conditions.values()))]
    found: dict[Any, list[Any]] = {key: [] for key in conditions}
    for row in df.selectExpr(*columns).collect():
        for name, key in names.items():
            if row[name]:
                found[key].append(row["id"])
    return found


def _spark_results(rows: list[Any], id_field: str) -> list[list[Any]]:
    """Rows of eqlmini.spark.search or scan as [[ids..., join keys], ...] per result."""
    results: dict[Any, list[Any]] = {}
    for row in rows:
        results.setdefault(row["result"], [[], row["join_keys"]])[0].append(
            None if row["missing"] else row[id_field])
    return [ids + [keys] for _, (ids, keys) in sorted(results.items())]


def _key_texts(results: list[list[Any]]) -> list[list[Any]]:
    """Python results with their join keys as text, as the Spark rows hold them."""
    return [[*r[:-1], [None if k is None else eqlmini.values.to_text(k) for k in r[-1]]] for r in results]


@pytest.mark.parametrize("index_name", sorted({*FILES.values()}))
def test_spark_matches_python_on_elasticsearch_qa(spark: Any, index_name: str) -> None:
    if not CONFORMANCE.exists():
        pytest.skip(f"{CONFORMANCE} not found")
    index = INDICES[index_name]
    table = table_of(index_name)
    df = spark.createDataFrame(table).repartition(2)
    rows = _spark_rows(df)
    cases = [case for file, name in FILES.items() if name == index_name for case in load_es_toml(CONFORMANCE / file)]
    queries = {case["name"]: eqlmini.compile(case["query"], **_options(index_name)) for case in cases}
    # Event queries: every SQL condition in one job; a loose one must select every match.
    events = {name: q for name, q in queries.items() if q.kind == "event"}
    conditions = {name: to_sql(q, "spark", eqlmini.spark.columns(df), prefilter=True) for name, q in events.items()}
    selected = _selected(df, {name: c.sql for name, c in conditions.items()}, index.id_field)
    for name, query in events.items():
        expected = [row[index.id_field] for row in query.filter(rows)]
        if conditions[name].exact:
            assert sorted(selected[name]) == sorted(expected), name
        else:
            assert set(expected) <= set(selected[name]), name
    # Sequences and samples: as rules of one RuleSet, in one scan.
    typed = {field for field, _ in index.field_types}
    timed = {case["name"]: case for case in cases if queries[case["name"]].kind != "event"
             and "size" not in case and not typed & set(queries[case["name"]].fields)}
    rules = [eqlmini.Rule(name, case["query"], tiebreaker_field=index.tiebreaker) for name, case in timed.items()]
    if rules:
        scanned = eqlmini.spark.scan(eqlmini.RuleSet(rules), df)
        by_rule: dict[str, Any] = {}
        for row in scanned.collect():
            by_rule.setdefault(row["rule"], []).append(row)
        for name in timed:
            got = _spark_results(by_rule.get(name, []), index.id_field)
            assert got == _key_texts(_ids(queries[name].search(rows), index.id_field)), name
    # The rest (size, typed fields) and a few event queries with pipes through search.
    others = [case for case in cases if case["name"] not in timed and queries[case["name"]].kind != "event"]
    others += [case for case in cases if queries[case["name"]].kind == "event" and queries[case["name"]].tree.pipes][:1]
    for case in others:
        options = _options(index_name)
        if "size" in case:
            options["size"] = case["size"]
        query = eqlmini.compile(case["query"], **options)
        got = _spark_results(eqlmini.spark.search(query, df).collect(), index.id_field)
        assert got == _key_texts(_ids(query.search(rows), index.id_field)), case["name"]


SPARK_CORPUS_STEP = int(os.environ.get("EQLMINI_SPARK_CORPUS_STEP", "6"))


def test_spark_matches_python_on_corpus_event_rules(spark: Any) -> None:
    """Every ``SPARK_CORPUS_STEP``-th rule (all with EQLMINI_SPARK_CORPUS_STEP=1; Spark plans a
    query in seconds, so the suite samples) in one table of dotted columns, 48 rules a job."""
    cases = corpus_cases()[::SPARK_CORPUS_STEP]
    table = arrow_table([{**event, "__rule": number} for number, (_, _, events) in enumerate(cases)
                         for event in events])
    df = spark.createDataFrame(table)
    columns = eqlmini.spark.columns(df)
    by_rule: dict[int, list[dict[str, Any]]] = {}
    for row in table.to_pylist():
        by_rule.setdefault(row["__rule"], []).append(row)
    wrong = []
    for start in range(0, len(cases), 48):
        conditions = {number: to_sql(cases[number][1], "spark", columns, prefilter=True)
                      for number in range(start, min(start + 48, len(cases)))}
        where = " OR ".join(f"(`__rule` = {number} AND {c.sql})" for number, c in conditions.items())
        found: dict[int, list[int]] = {}
        for row in df.where(where).select("__rule", "__id").collect():
            found.setdefault(row["__rule"], []).append(row["__id"])
        for number, condition in conditions.items():
            expected = sorted(row["__id"] for row in cases[number][1].filter(by_rule.get(number, [])))
            got = sorted(found.get(number, []))
            if condition.exact and got != expected or not set(expected) <= set(got):
                wrong.append(cases[number][0]["name"])
    assert wrong == []


# ---------------------------------------------------------------- sequences over keyed streams
@pytest.mark.parametrize("text", STREAM_QUERIES)
def test_duckdb_search_matches_python_on_keyed_streams(text: str) -> None:
    for seed in range(3):
        tiebreaker = "seq" if seed == 1 else None
        query = eqlmini.compile(text, tiebreaker_field=tiebreaker)
        table = arrow_table(keyed_stream(seed, tiebreaker=bool(tiebreaker)))
        expected = _ids(query.search(table.to_pylist()), "id")
        assert _ids(eql_duckdb.search(query, table), "id") == expected


def test_spark_search_and_scan_match_python_on_keyed_streams(spark: Any) -> None:
    table = arrow_table(keyed_stream(7))
    df = spark.createDataFrame(table).repartition(3)
    rows = _spark_rows(df)
    queries = {text: eqlmini.compile(text) for text in STREAM_QUERIES}
    scanned: dict[str, list[Any]] = {}
    rules = [eqlmini.Rule(f"q{i}", text) for i, text in enumerate(STREAM_QUERIES)]
    for row in eqlmini.spark.scan(eqlmini.RuleSet(rules), df).collect():
        scanned.setdefault(row["rule"], []).append(row)
    for i, (text, query) in enumerate(queries.items()):
        expected = _key_texts(_ids(query.search(rows), "id"))
        assert expected, text  # every form finds something in this stream
        if query.kind == "event" and not query.tree.pipes:
            continue  # an event rule's alerts are numbered in input order: compared below
        assert _spark_results(scanned.get(f"q{i}", []), "id") == expected, text
    windowed = [text for text, q in queries.items() if q.kind == "sequence" and not q.tree.body.by
                and not any(s.by for s in q.tree.stages()) and q.tree.body.maxspan]
    assert len(windowed) == 3
    for text in windowed:  # the time-window groups
        got = _spark_results(eqlmini.spark.search(queries[text], df, groups=4).collect(), "id")
        assert got == _key_texts(_ids(queries[text].search(rows), "id")), text
