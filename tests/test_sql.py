"""The SQL generator, construct by construct: quoting, coercions, folding, patterns, errors.

Each case runs in DuckDB and Spark and is compared with the Python engine on the same rows;
what must be refused is refused by name. Cases are data, run in one query per engine.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from test_engines import _selected, spark  # noqa: F401 - the session's SparkSession fixture
from test_patterns import REGEX, WILDCARD

import eqlmini
from eqlmini.ast import quote_name, quote_string
from eqlmini.errors import EqlError, EqlUnsupportedError
from eqlmini.patterns import fold
from eqlmini.sql import Columns, ListOf, Scalar, Struct, column_type, to_sql

duckdb = pytest.importorskip("duckdb", reason="needs duckdb: pip install -e '.[test]'")
pyarrow = pytest.importorskip("pyarrow", reason="needs pyarrow: pip install -e '.[test]'")
import eqlmini.duckdb as eql_duckdb  # noqa: E402 - after the skips
import eqlmini.spark as eql_spark  # noqa: E402

HOSTILE = ["it's", 'say "hi"', "back\\slash", "two\\\\", "%_*?", "line\nbreak\ttab", "nul\x00byte", "😀",
           "İstanbul", "ΟΔΟΣ", "\u212aelvin", "straße", "", "  "]
NAMES = ['a"b', "c`d", "x.y", "select", "lower case"]


def _rows() -> list[dict[str, Any]]:
    rows = []
    for i, text in enumerate(HOSTILE):
        rows.append({"id": i, 'a"b': text, "c`d": text.upper(), "x.y": [text, "z"], "select": i - 5,
                     "lower case": i % 3 == 0, "s": {"p q": text if i % 2 else None, "r.t": [i, 2**62, -(2**63)]},
                     "f": [0.0, -0.0, 0.5, 2.0**53, 1e300, -1e-5][i % 6], "n": None if i % 4 == 0 else i * 10**15,
                     "e": [[], None, [None], [1], [None, 2]][i % 5]})
    return rows


def _queries() -> list[str]:
    out = []
    for text in HOSTILE:
        literal = quote_string(text)
        out += [f"{quote_name(NAMES[0])} == {literal}", f"{quote_name(NAMES[1])} : {literal}",
                f"{quote_name(NAMES[2])} like~ {literal}", f"`s.p q` in~ ({literal}, \"x\")",
                f"startsWith~({quote_name(NAMES[0])}, {literal})", f"stringContains({quote_name(NAMES[0])}, {literal})",
                f"indexOf~({quote_name(NAMES[1])}, {literal}) == 0", f"not {quote_name(NAMES[0])} : ({literal}, \"*x*\")"]
    out += [
        "`select` < 2.5", "`select` > -1.5", "`select` == -5.0", "`select` != 3", "`select` : \"-*\"",
        "`select` == \"-4\"", "`select` == \"x\"", "`select` >= \"1e0\"", "`select` in (1, 2, 99)",
        "`s.r.t` == 4611686018427387904", "`s.r.t` < -9223372036854775807", "`s.r.t` > 1e30", "`s.r.t` == 2.5",
        "`lower case` == true", "`lower case` == \"true\"", "`lower case` == 1", "`lower case` < \"u\"",
        "f == 0", "f < 0", "f == 9007199254740992", "f > 9007199254740993", "f >= 9007199254740993",
        "f < 9007199254740993", "`a\"b` : \"it_s*\"", "`a\"b` like~ \"*\\\\_*\"", "f >= 1e300", "f == \"0.5\"",
        "n == 1000000000000000", "n < 2000000000000001", "n == null", "n != null", "?missing != \"a\"",
        "not missing : \"a\"", "missing == null", "length(`a\"b`) > 3", "length(`select`) == null",
        "`select` + 1 == -3", "`select` * 2 == -6", "`select` / 2 == -2", "`select` % 4 == -1",
        "`s.r.t` * 4 == null", "`select` / 0 == null", "substring(`a\"b`, -3) == \"ath\"",
        "substring(`a\"b`, 1, -1) : \"*\"", "indexOf(`a\"b`, \"a\", 1) > 2", "indexOf(`a\"b`, \"\", 50) == null",
        "concat(`a\"b`, `select`, `lower case`) : \"*-*\"", "string(`select`) == \"-5\"",
        "endsWith~(`x.y`, \"Z\")", "`x.y` : \"*\"", "`x.y` == \"z\"", "`x.y` in~ (\"IT'S\", \"q\")",
        "concat(`a\"b`, `x.y`) == \"zz\"", "`a\"b` > \"straße\"", "`a\"b` regex~ \".*[kK]ELVIN|[0-9]+\"",
        "`a\"b` regex \"\\\"hi\\\".*|.*\\\\.*\"", "`a\"b` like \"%_*\"", "`a\"b` : \"*\\n*\"",
        "`lower case`", "not `lower case`", "`a\"b`", "not ?`select`",
        "substring(`a\"b`, e) != null", "indexOf(`a\"b`, \"s\", e) == 1", "e == null", "not e == 2",
    ]
    return [f"any where {condition}" for condition in out]


@pytest.fixture(scope="module")
def table() -> Any:
    return pyarrow.Table.from_struct_array(pyarrow.array(_rows()))


def _expected(query: eqlmini.Query, rows: list[dict[str, Any]]) -> list[int]:
    return sorted(row["id"] for row in query.filter(rows))


def test_duckdb_quotes_coerces_and_folds_as_python(table: Any) -> None:
    rows = table.to_pylist()
    con = duckdb.connect()
    con.register("t", table)
    columns = eql_duckdb.columns(con.table("t"))
    for text in _queries():
        query = eqlmini.compile(text)
        condition = to_sql(query, "duckdb", columns, prefilter=True)
        got = sorted(row[0] for row in con.execute(f"SELECT id FROM t WHERE {condition}").fetchall())
        if condition.exact:
            assert got == _expected(query, rows), f"{text}\n{condition}"
        else:  # refused: indexOf~ of a text with a sigma, whose final form Java lowers apart
            assert "indexOf~" in text and "Σ" in text, text
            assert set(_expected(query, rows)) <= set(got)
            confirmed = eql_duckdb.arrow_table(eql_duckdb.filter(query, con.table("t"), connection=con)).to_pylist()
            assert sorted(row["id"] for row in confirmed) == _expected(query, rows), text


def test_spark_quotes_coerces_and_folds_as_python(spark: Any, table: Any) -> None:  # noqa: F811
    rows = table.to_pylist()
    df = spark.createDataFrame(table)
    columns = eql_spark.columns(df)
    queries = {text: eqlmini.compile(text) for text in _queries()}
    conditions = {text: to_sql(q, "spark", columns, prefilter=True) for text, q in queries.items()}
    selected = _selected(df, {text: c.sql for text, c in conditions.items()}, "id")
    for text, query in queries.items():
        if conditions[text].exact:
            assert sorted(selected[text]) == _expected(query, rows), text
        else:  # refused: indexOf~ of non-ASCII text (Spark's lower follows its own Unicode tables)
            assert "indexOf~" in text, text
            assert set(_expected(query, rows)) <= set(selected[text]), text


# ---------------------------------------------------------------- patterns: the matchers' own cases
def _pattern_cases() -> list[tuple[str, str]]:
    cases = []
    for kind, table in (("like", WILDCARD), ("regex", REGEX)):
        for patterns, insensitive, value, _ in table:
            patterns = (patterns,) if isinstance(patterns, str) else patterns
            op = kind + ("~" if insensitive else "")
            text = f"any where v {op} ({', '.join(map(quote_string, patterns))})"
            try:
                eqlmini.compile(text)
            except EqlError:  # the matcher tests' error cases
                continue
            if "\ud800" <= max(value + "".join(patterns), default="") or any(
                    "\ud800" <= c <= "\udfff" for c in value + "".join(patterns)):
                continue  # lone surrogates cannot be stored in a table
            cases.append((text, value))
    return cases


def _pattern_table(cases: list[tuple[str, str]]) -> Any:
    return pyarrow.table({"id": list(range(len(cases))), "v": [value for _, value in cases]})


def test_duckdb_runs_the_wildcard_and_regex_cases_as_python() -> None:
    cases = _pattern_cases()
    con = duckdb.connect()
    con.register("t", _pattern_table(cases))
    refused = 0
    for i, (text, value) in enumerate(cases):
        query = eqlmini.compile(text)
        try:
            condition = to_sql(query, "duckdb", {"id": int, "v": str})
        except EqlUnsupportedError:  # Lucene's & and ~, which have no RE2 equivalent
            assert "regex" in text and ("&" in text or "~(" in text or '"~' in text), text
            refused += 1
            continue
        got = con.execute(f"SELECT count(*) FROM t WHERE id = {i} AND {condition}").fetchone()[0] == 1
        assert got == query({"v": value}), (text, value)
    assert refused < len(cases) / 15


def test_spark_runs_the_wildcard_and_regex_cases_as_python(spark: Any) -> None:  # noqa: F811
    cases = _pattern_cases()
    df = spark.createDataFrame(_pattern_table(cases))
    conditions = {}
    for i, (text, value) in enumerate(cases):
        try:
            conditions[i] = f"(id = {i} AND {to_sql(eqlmini.compile(text), 'spark', {'id': int, 'v': str})})"
        except EqlUnsupportedError:
            continue
    selected = _selected(df, conditions, "id")
    for i, (text, value) in enumerate(cases):
        if i in conditions:
            assert bool(selected[i]) == eqlmini.compile(text)({"v": value}), (text, value)


# ---------------------------------------------------------------- case folding, every code point
def test_duckdb_lower_is_eqlmini_fold_on_every_character() -> None:
    """DuckDB's ``lower`` serves as ``patterns.fold``: checked here for every code point."""
    con = duckdb.connect()
    changed = dict(con.execute("SELECT c, lower(chr(c::INTEGER)) FROM range(1, 1114112) t(c) "
                               "WHERE (c < 55296 OR c > 57343) AND lower(chr(c::INTEGER)) <> chr(c::INTEGER)").fetchall())
    python = {ord(c): fold(c) for c in map(chr, range(1, 0x110000))
              if c.lower() != c and not "\ud800" <= c <= "\udfff" and fold(c) != c}
    assert changed == python


def test_spark_ascii_fold_agrees_with_eqlmini_on_every_character(spark: Any) -> None:  # noqa: F811
    """Against ASCII constants Spark folds with ``lower(translate(x, 'İ', 'i'))``: every code
    point stays one character, and becomes ASCII exactly when eqlmini's fold makes it ASCII
    (then the same letter). Other text is folded with eqlmini's own table (``translate``)."""
    template = eql_spark_generator().template
    rows = (spark.range(1, 0x110000).where("id < 55296 OR id > 57343")
            # UTF-32 after an "A", so that U+FEFF is not read as a byte order mark
            .selectExpr("id", "substring(decode(unhex(concat('00000041', lpad(hex(id), 8, '0'))), 'utf-32'), 2) AS c")
            .selectExpr("id", f"{template('fold_ascii', 'c')} AS lowered", f"{template('fold', 'c')} AS folded")
            .where("lowered <> c OR folded <> c OR length(lowered) <> 1").collect())
    spark_ascii = {row["id"]: row["lowered"] for row in rows}
    spark_full = {row["id"]: row["folded"] for row in rows}
    for cp in range(1, 0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        char = chr(cp)
        folded = fold(char)
        lowered = spark_ascii.get(cp, char)
        assert len(lowered) == 1 and lowered.isascii() == folded.isascii(), hex(cp)
        assert not folded.isascii() or lowered == folded, hex(cp)
        assert spark_full.get(cp, char) == folded, hex(cp)


def eql_spark_generator() -> Any:
    from eqlmini.sql import SparkGenerator

    return SparkGenerator({})


# ---------------------------------------------------------------- what is refused, and how
def test_refusals_name_the_engine_and_the_construct() -> None:
    query = eqlmini.compile('network where between(process.name, "a", "e") == "b"')
    columns = {"event.category": str, "process.name": str}
    for dialect in ("duckdb", "spark"):
        with pytest.raises(EqlUnsupportedError, match=f"{dialect}: the function between"):
            to_sql(query, dialect, columns)
        loose = to_sql(query, dialect, columns, prefilter=True)
        assert not loose.exact and "between" in loose.refused[0]
    text_vs_number = eqlmini.compile("any where x < 5")
    with pytest.raises(EqlUnsupportedError, match="text with a number"):
        to_sql(text_vs_number, "duckdb", {"x": str})
    with pytest.raises(EqlUnsupportedError, match="a sequence is not one SQL condition"):
        to_sql(eqlmini.compile("sequence [any where true] [any where true]"), "duckdb", {})
    with pytest.raises(ValueError, match="unknown SQL dialect"):
        to_sql(text_vs_number, "sqlite", {})
    with pytest.raises(EqlUnsupportedError, match="type timestamp"):
        to_sql(eqlmini.compile("any where t == 1"), "spark", {"t": "timestamp"})


def test_loose_sql_under_not_selects_more_never_less() -> None:
    query = eqlmini.compile('any where not number(ip) == 1 and x == 1')
    loose = to_sql(query, "duckdb", {"ip": str, "x": int}, prefilter=True)
    assert loose.sql == '((NOT FALSE) AND ("x" = 1))'


# ---------------------------------------------------------------- column types
@pytest.mark.parametrize(("spelling", "expected"), [
    ("VARCHAR", Scalar("string")), ("BIGINT[]", ListOf(Scalar("integer"))),
    ('STRUCT("a b" INTEGER, c DOUBLE[])', Struct((("a b", Scalar("integer")), ("c", ListOf(Scalar("float")))))),
    ("array<struct<name:string,pid:bigint>>", ListOf(Struct((("name", Scalar("string")), ("pid", Scalar("integer")))))),
    ("STRUCT<a: STRING>", Struct((("a", Scalar("string")),))), ("decimal(10,2)", Scalar("decimal(10,2)")),
    ("TIMESTAMP WITH TIME ZONE", Scalar("timestamp with time zone")), ("varchar(10)", Scalar("string")),
    ({"name": str, "args": [str]}, Struct((("name", Scalar("string")), ("args", ListOf(Scalar("string")))))),
])
def test_column_types_read_both_spellings(spelling: Any, expected: Any) -> None:
    assert column_type(spelling) == expected


def test_a_field_is_found_wherever_a_row_stores_it() -> None:
    columns = Columns({"process.name": str, "process": {"parent.name": str, "parent": {"name": str}},
                       "threat": [{"tactic": {"name": str}}]})
    assert columns.paths("process.parent.name") == [("process", ("parent.name",)), ("process", ("parent", "name"))]
    assert columns.paths("threat.tactic.name") == [("threat", ("tactic", "name"))]
    assert columns.paths("process.pid") == []


# ---------------------------------------------------------------- entry points
def test_duckdb_reads_parquet_and_ndjson_paths(tmp_path: Any, table: Any) -> None:
    import pyarrow.parquet

    pyarrow.parquet.write_table(table, tmp_path / "events.parquet")
    (tmp_path / "events.ndjson").write_text('{"id": 1, "v": "a"}\n{"id": 2, "v": "B"}\n')
    query = eqlmini.compile('any where `a"b` : "*s*"')
    got = [row["id"] for row in eql_duckdb.arrow_table(eql_duckdb.filter(query, str(tmp_path / "*.parquet"))).to_pylist()]
    assert got == [row["id"] for row in query.filter(table.to_pylist())] and got
    rows = list(eql_duckdb.events(tmp_path / "events.ndjson"))
    assert rows == [{"id": 1, "v": "a"}, {"id": 2, "v": "B"}]
    assert eql_duckdb.positions(eqlmini.compile('any where v : "b"'), pyarrow.Table.from_pylist(rows)) == [1]


def test_spark_filter_confirms_loose_sql_in_python(spark: Any) -> None:  # noqa: F811
    rows = [{"id": i, "ip.address": ip} for i, ip in enumerate(["10.1.2.3", "10.0.0.1", "11.0.0.1", None, "b"])]
    df = spark.createDataFrame(pyarrow.Table.from_pylist(rows))
    query = eqlmini.compile('any where between(`ip.address`, ".", ".") == "0" or number(`ip.address`, 16) == 11')
    assert not eql_spark.to_sql(query, df).exact
    expected = _expected(query, rows)
    assert expected == [1, 2, 4]  # between: "0" for both 10.0.0.1 and 11.0.0.1; number("b", 16): 11
    assert sorted(row["id"] for row in eql_spark.filter(query, df).collect()) == expected


def test_import_eqlmini_loads_no_engine() -> None:
    code = "import sys, eqlmini; print([m for m in ('duckdb', 'pyspark', 'pyarrow', 'pandas') if m in sys.modules])"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


# ---------------------------------------------------------------- docs/scale.md runs as shown
def _doc_blocks(kind: str) -> list[str]:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "scale.md").read_text(encoding="utf-8")
    return re.findall(rf"```{kind}\n(.*?)```", text, re.S)


def _run_block(block: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    import shutil
    from pathlib import Path

    shutil.copytree(Path(__file__).resolve().parents[1] / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "docs/scale.md", "exec"), {})  # noqa: S102 - the doc's own example
    return capsys.readouterr().out


def test_scale_doc_duckdb_examples_run_as_shown(tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    first, second = _doc_blocks("python")[:2]
    out = _run_block(first, tmp_path, monkeypatch, capsys)
    assert out.splitlines()[:2] == ["True", "[(4,)]"] and len(out.splitlines()) == 6
    assert _run_block(second, tmp_path / "sql", monkeypatch, capsys) == _doc_blocks("text")[0]


def test_scale_doc_spark_example_runs_as_shown(spark: Any, tmp_path: Any,  # noqa: F811
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = _run_block(_doc_blocks("python")[2], tmp_path, monkeypatch, capsys)
    assert out.splitlines()[0] == "4" and "cmd.exe" in out


# ---------------------------------------------------------------- cidrMatch: Python's address grammar
_BLOCKS = ['"10.0.0.0/8"', '"::1"', '"fe80::/10"', '"192.168.0.0/16"', '"0.0.0.0/0"', '"::/0"', '"ff00::/8"',
           '"127.0.0.1"', '"::fffe:0:0/95"', '"::/80"', '"fc00::/7"', '"2001:db8::/32"']


def _cidr_queries() -> list[eqlmini.Query]:
    rng = __import__("random").Random(3)
    queries = []
    for _ in range(12):
        blocks = ", ".join(rng.sample(_BLOCKS, rng.randint(1, 4)))
        queries += [eqlmini.compile(f"any where cidrMatch(ip, {blocks})"),
                    eqlmini.compile(f"any where not cidrMatch(ip, {blocks})")]
    return queries


def _address_table() -> Any:
    from engine_data import address_texts

    texts = address_texts(11)
    return pyarrow.table({"id": list(range(len(texts))), "ip": texts})


def test_duckdb_cidr_match_reads_addresses_as_python() -> None:
    table = _address_table()
    rows = table.to_pylist()
    assert sum(eqlmini.compile('any where cidrMatch(ip, "::/0")')(row) for row in rows) > 200  # valid ones
    con = duckdb.connect()
    con.register("t", table)
    for query in _cidr_queries():
        condition = to_sql(query, "duckdb", {"id": int, "ip": str})
        got = sorted(row[0] for row in con.execute(f"SELECT id FROM t WHERE {condition}").fetchall())
        assert got == _expected(query, rows), query.text


def test_spark_cidr_match_reads_addresses_as_python(spark: Any) -> None:  # noqa: F811
    table = _address_table()
    rows = table.to_pylist()
    queries = {query.text: query for query in _cidr_queries()}
    conditions = {text: to_sql(query, "spark", {"id": int, "ip": str}).sql for text, query in queries.items()}
    selected = _selected(spark.createDataFrame(table), conditions, "id")
    for text, query in queries.items():
        assert sorted(selected[text]) == _expected(query, rows), text


# ---------------------------------------------------------------- NaN in a double column
# The SQL reads a NaN double as null, as the Python engine reads float NaN (docs/api.md).
def test_duckdb_reads_nan_as_python_does() -> None:
    rows = [{"id": 0, "x": float("nan")}, {"id": 1, "x": 1.5}, {"id": 2, "x": None}]
    con = duckdb.connect()
    con.register("t", pyarrow.Table.from_pylist(rows))
    for text in ("any where x != null", "any where x == null", "any where x > 1", "any where not x < 1",
                 "any where x == 1.5"):
        query = eqlmini.compile(text)
        condition = to_sql(query, "duckdb", {"id": int, "x": float})
        got = sorted(row[0] for row in con.execute(f"SELECT id FROM t WHERE {condition}").fetchall())
        assert got == _expected(query, rows), text
