"""EQL conditions -> SQL, with the Python engine's answers exactly (DuckDB; dialects override).

The semantics are those of :mod:`eqlmini.compiler` (spec §5): a *leaf* (comparison, ``:``,
``like``, ``regex``, ``in``, a boolean function) is true when some combination of its
fields' values makes its three-valued value true; a missing column, a null and an empty
list leave only "null" to try, so the leaf is false and ``not leaf`` true, as in
Elasticsearch. ``and``, ``or`` and ``not`` are Boolean. Inside a leaf the SQL is
three-valued and typed: :mod:`eqlmini.sql.values` builds each value from the column types
it reads, with the Python engine's coercions.

A list column is quantified (``exists`` over its non-null items). A leaf the SQL cannot
express exactly raises :class:`EqlUnsupportedError` naming the engine; in pre-filter mode it
becomes TRUE (FALSE under a ``not``), so the SQL may over-match but never misses a row, and
``exact`` turns False: the Python engine must confirm each row.
"""

from __future__ import annotations

import itertools
from typing import Callable, Mapping

from .. import ast, values
from ..errors import EqlUnsupportedError
from . import calls
from .columns import Columns, ListOf, Scalar, Struct
from .values import Value, ValueBuilder

__all__ = ["SqlGenerator"]

Build = Callable[[dict[str, Value]], Value]


class _Source:
    """Where one field's values are: SQL for a value or for a list of values, and their kind."""

    __slots__ = ("sql", "kind", "many")

    def __init__(self, sql: str, kind: str, many: bool) -> None:
        self.sql, self.kind, self.many = sql, kind, many


class SqlGenerator(ValueBuilder):
    """SQL conditions for DuckDB; a dialect subclass overrides ``TEMPLATES`` and quoting."""

    dialect = "duckdb"
    TEMPLATES = {
        **ValueBuilder.TEMPLATES,
        **calls.TEMPLATES,
        "exists": "list_bool_or(list_transform({0}, lambda {1}: {2}))",
        "filter": "list_filter({0}, lambda {1}: {2})",
        "map": "list_transform({0}, lambda {1}: {2})",
        "size": "len({0})",
        "list_of": "list_value({0})",
        "concat_lists": "list_concat({0}, {1})",
        "flatten": "flatten({0})",
        "contains_item": "list_contains({0}, {1})",
        "field_of": "{0}.{1}",
    }

    def __init__(self, columns: Columns | Mapping[str, object], *, prefilter: bool = False,
                 field_types: Mapping[str, str] | None = None) -> None:
        self.columns = columns if isinstance(columns, Columns) else Columns(columns)
        self.prefilter = prefilter
        self.field_types = dict(field_types or {})
        self.exact = True
        self.refused: list[str] = []  # what pre-filter mode left to the Python engine
        self._variables = itertools.count()

    # ------------------------------------------------------------------ conditions
    def condition(self, node: ast.Expr, positive: bool = True) -> str:
        """SQL that is TRUE exactly for the rows where ``node`` holds.

        Under no ``not`` (``positive``) a false leaf may come out NULL, which WHERE treats
        as false; under a ``not`` every leaf is two-valued.
        """
        if ast.fields_of(node) and isinstance(node, (ast.And, ast.Or)):
            glue = " AND " if isinstance(node, ast.And) else " OR "
            return "(" + glue.join(self.condition(term, positive) for term in node.terms) + ")"
        if ast.fields_of(node) and isinstance(node, ast.Not):
            return f"(NOT {self.condition(node.operand, not positive)})"
        try:
            sql = self.leaf(node)
        except EqlUnsupportedError as error:
            if not self.prefilter:
                raise
            self.exact = False
            self.refused.append(error.message)
            return "TRUE" if positive else "FALSE"
        return sql if positive else f"COALESCE({sql}, FALSE)"

    def leaf(self, node: ast.Expr) -> str:
        """One leaf (or a condition that reads no field, in three-valued logic), as the
        compiler's ``_leaf`` reads it: presence tests, ``!=`` and ``not in`` as negations."""
        if isinstance(node, ast.Comparison) and node.op in ("==", "!=") and _null_side(node) is not None:
            present = self.present(_null_side(node))  # type: ignore[arg-type]
            return present if node.op == "!=" else f"(NOT {present})"
        if isinstance(node, ast.Comparison) and node.op == "!=":
            equal = self.leaf(ast.Comparison("==", node.left, node.right, span=node.span))
            return f"(NOT COALESCE({equal}, FALSE))"
        if isinstance(node, ast.In) and node.negated:
            inside = self.leaf(ast.In(node.left, node.items, node.insensitive, span=node.span))
            return f"(NOT COALESCE({inside}, FALSE))"
        typed = self.typed_leaf(node)
        if typed is not None:
            return typed
        return self.any_of(node, lambda bound: self.truth(self.value(node, bound)))

    def truth(self, value: Value) -> Value:
        """A leaf's value as a condition: only a true boolean counts (``any where x`` on a
        text field is never true, as ``runtime.any_leaf`` asks ``is True``)."""
        if value.kind in ("boolean", "null"):
            return value
        return self.known(False, value)

    def present(self, node: ast.Expr) -> str:
        """Some combination of the fields' values gives ``node`` a non-null value."""
        def build(bound: dict[str, Value]) -> Value:
            inner = self.value(node, bound)
            return Value(f"({inner.sql} IS NOT NULL)", "boolean")
        return self.any_of(node, build)

    def typed_leaf(self, node: ast.Expr) -> str | None:
        """A ``date`` or ``version`` field against a literal (the compiler's ``typed_leaf``)."""
        compared = ast.field_against_literal(node)
        if compared is None or compared[1].name not in self.field_types:
            return None
        op, field, literal = compared
        kind = self.field_types[field.name]
        key = values.FIELD_TYPES[kind](literal.value)
        if key is None:
            return None  # a literal the type cannot read: compared as plain values
        if kind != "date":
            raise self.unsupported(f"a comparison of the {kind} field {field.name} (its order is not SQL's)", node)

        def build(bound: dict[str, Value]) -> Value:
            item = bound[field.name]  # type: ignore[union-attr]
            if item.kind == "string":
                raise self.unsupported(f"a comparison of the date field {field.name}, which holds text "
                                       f"(dates in text are read by eqlmini, not SQL)", node)
            if item.kind not in ("integer", "float"):  # a date field holding booleans: never true
                return Value("FALSE", "boolean")
            return self.compare(op, item, self.constant(key))
        return self.any_of(field, build)

    # ------------------------------------------------------------------ quantifying over fields
    def any_of(self, node: ast.Expr, build: Build) -> str:
        """SQL that is TRUE when ``build`` gives TRUE for some combination of the values of
        the fields ``node`` reads (a field with no value is tried once, as null)."""
        names = [field.name for field in ast.fields_of(node)]
        sources = {name: self.source(name, node) for name in names}
        probe = {name: Value(name, "null", frozenset({name})) for name in names}
        try:
            strict = build(probe).nulls  # fields whose null makes the leaf null: no need to try null
        except EqlUnsupportedError:
            strict = frozenset()
        return self._combinations(names, sources, {}, build, strict)

    def _combinations(self, pending: list[str], sources: dict[str, _Source | None], bound: dict[str, Value],
                      build: Build, strict: frozenset[str]) -> str:
        if not pending:
            return build(bound).sql
        name, rest = pending[0], pending[1:]
        source = sources[name]
        if source is None:
            return self._combinations(rest, sources, {**bound, name: self.null_value(name)}, build, strict)
        if not source.many:
            item = Value(self.readable(source.sql, source.kind), source.kind, frozenset({name}))
            return self._combinations(rest, sources, {**bound, name: item}, build, strict)
        var = self.variable()
        item = Value(self.readable(var, source.kind), source.kind, frozenset({name}))
        inner = self._combinations(rest, sources, {**bound, name: item}, build, strict)
        if name in strict:  # null items make the leaf null: they drop out of `exists` by themselves
            return self.template("exists", source.sql, var, inner)
        present = self.variable()
        items = self.template("filter", source.sql, present, f"{self.readable(present, source.kind)} IS NOT NULL")
        when_empty = self._combinations(rest, sources, {**bound, name: self.null_value(name)}, build, strict)
        return (f"(CASE WHEN COALESCE({self.template('size', items)}, 0) > 0 "
                f"THEN {self.template('exists', items, var, inner)} ELSE {when_empty} END)")

    def variable(self) -> str:
        """A fresh lambda variable (no column can be spelled like it)."""
        return f"__eqlmini_{next(self._variables)}"

    def null_value(self, name: str) -> Value:
        """Field ``name`` read as null (no column, or nothing in the row)."""
        return Value("NULL", "null", frozenset({name}))

    # ------------------------------------------------------------------ where a field's values are
    def source(self, name: str, node: ast.Expr) -> _Source | None:
        """The values of field ``name`` in a row, or None if no column holds it."""
        found = []
        for column, steps in self.columns.paths(name):
            rendered = self._walk(self.identifier(column), self.columns.types[column], steps)
            if rendered is not None:
                found.append(rendered)
        if not found:
            return None
        kinds = {kind for _, kind, _ in found}
        unread = sorted(kind for kind in kinds if kind not in ("string", "integer", "float", "boolean"))
        if unread:
            raise self.unsupported(f"field {name} has type {unread[0]}, which eqlmini does not read", node)
        if len(kinds) > 1:
            raise self.unsupported(f"field {name} is stored in columns of different types", node)
        kind = kinds.pop()
        if len(found) == 1:
            sql, _, depth = found[0]
            return _Source(self.flattened(sql, depth), kind, depth > 0)
        lists = [self.flattened(sql, depth) if depth else self.template("list_of", sql) for sql, _, depth in found]
        combined = lists[0]
        for more in lists[1:]:
            combined = self.template("concat_lists", combined, more)
        return _Source(combined, kind, True)

    def _walk(self, sql: str, kind: object, steps: tuple[str, ...]) -> tuple[str, str, int] | None:
        """(SQL, scalar kind, list depth) after following ``steps`` into a value of type
        ``kind``; a list on the way is mapped over. None where the path holds no value."""
        if isinstance(kind, ListOf):
            var = self.variable()
            inner = self._walk(var, kind.item, steps)
            if inner is None:
                return None
            item_sql, scalar, depth = inner
            mapped = sql if item_sql == var else self.template("map", sql, var, item_sql)
            return mapped, scalar, depth + 1
        if not steps:
            return (sql, kind.kind, 0) if isinstance(kind, Scalar) else None
        if isinstance(kind, Struct):
            return self._walk(self.template("field_of", sql, self.identifier(steps[0])),
                              dict(kind.fields)[steps[0]], steps[1:])
        return None  # a path that goes on into a scalar holds nothing

    def flattened(self, sql: str, depth: int) -> str:
        """A list of lists ``depth`` deep as one flat list."""
        for _ in range(depth - 1):
            sql = self.template("flatten", sql)
        return sql



def _null_side(node: ast.Comparison) -> ast.Expr | None:
    """The side compared with the null literal (``x == null``), if any."""
    if isinstance(node.right, ast.Literal) and node.right.value is None:
        return node.left
    if isinstance(node.left, ast.Literal) and node.left.value is None:
        return node.right
    return None
