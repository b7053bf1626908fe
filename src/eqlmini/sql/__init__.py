"""EQL -> SQL for DuckDB and Spark: one generator over eqlmini's syntax tree, a table per dialect.

:func:`to_sql` turns a compiled query into a SQL condition on a table whose columns (names and
types) are given. The condition selects exactly the rows the Python engine matches, or, for
what SQL cannot express exactly, an :class:`EqlUnsupportedError` names the construct and the
engine; with ``prefilter=True`` it becomes a condition that may over-match instead, and the
result says the Python engine must confirm each row. Sequences and samples always need that
confirmation: their SQL selects the events of their stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from .. import ast
from ..errors import EqlUnsupportedError
from .columns import Columns, ListOf, Scalar, Struct, column_type
from .generator import SqlGenerator
from .spark import SparkGenerator

if TYPE_CHECKING:
    from ..query import Query

__all__ = ["GENERATORS", "Columns", "ListOf", "Scalar", "SqlFilter", "SqlGenerator", "SparkGenerator", "Struct",
           "column_type", "event_condition", "generator", "to_sql"]

GENERATORS: Mapping[str, type[SqlGenerator]] = {"duckdb": SqlGenerator, "spark": SparkGenerator}


@dataclass(frozen=True)
class SqlFilter:
    """A SQL condition for a WHERE clause, and whether it is exact.

    ``exact`` False means the condition may select rows the query does not match (never
    fewer): run the Python engine on the selected rows. ``refused`` says why.
    """

    sql: str
    exact: bool
    dialect: str
    refused: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.sql


def generator(query: "Query", dialect: str, columns: Columns | Mapping[str, Any], *,
              prefilter: bool = False) -> SqlGenerator:
    """A generator for ``dialect`` over ``columns``, with the query's typed fields."""
    if dialect not in GENERATORS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; known: {', '.join(GENERATORS)}")
    options = query.options
    field_types = {options.timestamp_field: "date", **options.field_types}  # as the compiler types them
    return GENERATORS[dialect](columns, prefilter=prefilter, field_types=field_types)


def event_condition(query: ast.EventQuery, category_field: str) -> ast.Expr:
    """The whole condition of ``category where condition``: the category test included."""
    if query.category is None:
        return query.where
    category = ast.Comparison("==", ast.Field(category_field), ast.Literal(query.category))
    return ast.And((category, query.where))


def to_sql(query: "Query", dialect: str, columns: Columns | Mapping[str, Any], *,
           prefilter: bool = False) -> SqlFilter:
    """The query as a SQL condition on a table of events, one per row.

    ``columns`` maps each column name to its type, as the engine spells it (``VARCHAR[]``,
    ``array<string>``, ``STRUCT(name VARCHAR)``) or as a Python shape (``str``, ``[str]``,
    ``{"name": str}``); dotted names (``process.name``) and structs may be mixed. Pipes are
    not part of a condition. Raises EqlUnsupportedError for what this SQL cannot express
    exactly, unless ``prefilter`` is true (then ``exact`` may be False).
    """
    sql_generator = generator(query, dialect, columns, prefilter=prefilter)
    category_field = query.options.event_category_field
    conditions = [sql_generator.condition(event_condition(stage, category_field))
                  for stage in query.tree.event_queries()]
    exact = sql_generator.exact
    if query.kind != "event":
        if not prefilter:
            raise EqlUnsupportedError(
                f"{dialect}: a {query.kind} is not one SQL condition: with prefilter=True the SQL selects the "
                f"events of its stages, and eqlmini matches the {query.kind} among them")
        exact = False
    sql = conditions[0] if len(conditions) == 1 else "(" + " OR ".join(dict.fromkeys(conditions)) + ")"
    return SqlFilter(sql, exact, dialect, tuple(dict.fromkeys(sql_generator.refused)))
