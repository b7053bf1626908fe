"""DuckDB as eqlmini's embedded engine: EQL over Parquet and NDJSON files, tables and DataFrames.

An event query runs as SQL (:mod:`eqlmini.sql`), exactly as the Python engine answers it;
what SQL cannot express exactly is selected loosely and confirmed by the Python engine, row
by row. A sequence or sample query selects the events of its stages in SQL, and eqlmini's
own matcher runs over them in time order: exact for every form, since an event that no
stage matches changes nothing.

Requires ``pip install eqlmini[duckdb]``; ``import eqlmini`` never imports DuckDB.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterator

from .errors import EqlError
from .ordering import OnError
from .query import Query
from .sequences import Result
from .sql import SqlFilter
from .sql.columns import ColumnType, ListOf, Struct, column_type

if TYPE_CHECKING:
    import duckdb as _duckdb_module

__all__ = ["arrow_table", "columns", "events", "filter", "positions", "relation", "search", "to_sql"]

_PARQUET = (".parquet", ".parq", ".pq")
_NDJSON = (".ndjson", ".jsonl", ".json", ".ndjson.gz", ".jsonl.gz", ".json.gz")
_POSITION = "__eqlmini_position"


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("eqlmini.duckdb needs DuckDB: pip install 'eqlmini[duckdb]'") from None
    return duckdb


def relation(source: Any, connection: "_duckdb_module.DuckDBPyConnection | None" = None) -> Any:
    """The events of ``source`` as a DuckDB relation.

    ``source``: a relation (returned as it is); a path or glob of Parquet or NDJSON files
    (``logs/*.parquet``); a table or view name; a pandas DataFrame; or any Arrow table,
    record batch reader or frame (pyarrow, Polars).
    """
    duckdb = _duckdb()
    if isinstance(source, duckdb.DuckDBPyRelation):
        return source
    con = connection if connection is not None else duckdb  # the module's default connection
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        lower = text.lower()
        if lower.endswith(_PARQUET):
            return con.read_parquet(text)
        if lower.endswith(_NDJSON):
            return con.read_json(text, format="newline_delimited")
        if any(mark in text for mark in "/\\*?") or os.path.exists(text):
            raise ValueError(f"{text!r}: eqlmini.duckdb reads .parquet and .ndjson/.jsonl/.json files")
        return con.table(text)
    if type(source).__module__.split(".")[0] == "pandas":
        return con.from_df(source)
    if hasattr(source, "__arrow_c_stream__") or type(source).__module__.split(".")[0] == "pyarrow":
        return con.from_arrow(source)
    raise TypeError(f"cannot read events from a {type(source).__name__}: give a DuckDB relation, a file path "
                    f"or glob, a table name, a pandas DataFrame or an Arrow table")


def columns(source: Any) -> dict[str, ColumnType]:
    """The columns of a relation (or any ``source`` of :func:`relation`) and their types."""
    rel = relation(source)
    return {name: _column_type(kind) for name, kind in zip(rel.columns, rel.types)}


def arrow_table(rel: Any) -> Any:
    """The rows of DuckDB relation ``rel`` as a pyarrow Table (``to_arrow_table`` where this
    DuckDB has it; ``fetch_arrow_table``, deprecated since, where it does not)."""
    return _current(rel, "to_arrow_table", "fetch_arrow_table")()


def _current(rel: Any, name: str, deprecated: str) -> Any:
    """The relation's method ``name``, or its older name on a DuckDB that lacks it."""
    return getattr(rel, name, None) or getattr(rel, deprecated)


def _column_type(kind: Any) -> ColumnType:
    if kind.id in ("list", "array"):
        return ListOf(_column_type(dict(kind.children)["child"]))
    if kind.id == "struct":
        return Struct(tuple((name, _column_type(inner)) for name, inner in kind.children))
    return column_type(str(kind))


def to_sql(query: Query, source: Any, *, prefilter: bool = True) -> SqlFilter:
    """The query's SQL condition for the columns of ``source`` (a pre-filter by default)."""
    return query.to_sql("duckdb", columns(source), prefilter=prefilter)


def filter(query: Query, source: Any, *,  # noqa: A001 - the name is the API
           connection: "_duckdb_module.DuckDBPyConnection | None" = None) -> Any:
    """The rows of ``source`` that an event query matches, as a DuckDB relation.

    The same rows as ``query.filter`` over the rows read as dicts, in the same order. When
    the SQL is exact (``to_sql(...).exact``) the relation is lazy; otherwise the rows SQL
    selects are confirmed by the Python engine and the relation holds them, materialized.
    """
    if query.kind != "event":
        raise EqlError(f"a {query.kind} query matches a stream of events, not rows one by one: use search()")
    rel = relation(source, connection)
    condition = to_sql(query, rel)
    selected = rel.filter(condition.sql)
    if condition.exact:
        return selected
    table = arrow_table(selected)
    keep = [query.match(row) for row in table.to_pylist()]
    import pyarrow

    con = connection if connection is not None else _duckdb()
    return con.from_arrow(table.filter(pyarrow.array(keep, type=pyarrow.bool_())))


def positions(query: Query, table: Any) -> list[int]:
    """The positions (from 0) of the rows of an Arrow table (or DataFrame) that an event
    query matches, in ascending order: the column-wise path for frames."""
    import pyarrow

    if type(table).__module__.split(".")[0] == "pandas":
        table = pyarrow.Table.from_pandas(table, preserve_index=False)
    elif not isinstance(table, pyarrow.Table):
        table = pyarrow.table(table)
    numbered = table.append_column(_POSITION, pyarrow.array(range(table.num_rows), type=pyarrow.int64()))
    con = _duckdb().connect()
    rel = con.from_arrow(numbered)
    matched = filter(query, rel, connection=con).select(_quote(_POSITION)).fetchall()
    return sorted(row[0] for row in matched)


def search(query: Query, source: Any, *, connection: "_duckdb_module.DuckDBPyConnection | None" = None,
           on_error: OnError | None = None) -> Iterator[Result]:
    """Run any query over ``source`` as ``query.search`` would, with SQL choosing the events.

    SQL selects the events some filter (or stage) could match; eqlmini's own engine orders
    them by (timestamp, tiebreaker) and matches the query, pipes and ``size`` included. The
    selected events are held in memory while they are ordered. Events SQL leaves out are
    not checked for a timestamp (``on_error``, as in ``Query.search``, hears of the others).
    """
    rel = relation(source, connection)
    condition = to_sql(query, rel)
    rows = arrow_table(rel.filter(condition.sql)).to_pylist()
    return query.search(rows, on_error=on_error)


def events(source: Any, *, connection: "_duckdb_module.DuckDBPyConnection | None" = None,
           batch_size: int = 10_000) -> Iterator[dict[str, Any]]:
    """The rows of ``source`` (Parquet or NDJSON paths or globs, a table ...) as event dicts,
    streamed in batches: what ``eqlmini search`` and ``scan`` read from a Parquet file."""
    rel = relation(source, connection)
    reader = _current(rel, "to_arrow_reader", "fetch_arrow_reader")(batch_size)
    for batch in reader:
        yield from batch.to_pylist()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
