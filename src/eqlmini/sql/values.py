"""Typed, three-valued SQL for EQL value expressions, with the Python engine's coercions.

Every value carries its SQL, its kind (``string``, ``integer``, ``float``, ``boolean`` or
``null``) and the fields whose null makes it null. Kinds are known before any row is read
(from the column types), so each coercion of :mod:`eqlmini.values` becomes a choice made
here, once: a number column against ``"42"`` compares with 42, against ``"abc"`` is false;
a boolean against ``"true"`` compares as text. What SQL cannot do exactly (text read as a
number or a date, floating-point arithmetic, ``cidrMatch``) raises EqlUnsupportedError.

Function calls are in :mod:`eqlmini.sql.calls`; this module holds the shared vocabulary.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .. import ast, values
from ..runtime import COMPARISONS
from ..errors import EqlUnsupportedError
from ..patterns import fold, lucene_to_re2

__all__ = ["Value", "ValueBuilder"]

_NOT_CONSTANT = object()
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1
_SQL_OPS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass(frozen=True)
class Value:
    """One SQL value: its text, kind, and the fields whose null makes it null."""

    sql: str
    kind: str
    nulls: frozenset[str] = frozenset()
    constant: Any = field(default=_NOT_CONSTANT, compare=False)

    @property
    def is_constant(self) -> bool:
        """Whether the value is a literal known now (``constant`` holds it)."""
        return self.constant is not _NOT_CONSTANT


class ValueBuilder:
    """Value expressions for DuckDB: the base of every dialect's generator."""

    dialect = "duckdb"
    TEMPLATES = {
        "string_type": "VARCHAR",
        "integer_text": "CAST({0} AS VARCHAR)",
        "boolean_text": "(CASE {0} WHEN TRUE THEN 'true' WHEN FALSE THEN 'false' END)",
        "double": "CAST({0} AS DOUBLE)",
        "double_literal": "CAST('{0}' AS DOUBLE)",
        "nan_null": "(CASE WHEN isnan({0}) THEN NULL ELSE {0} END)",
        "fold": "lower({0})",
        "fold_ascii": "lower({0})",
        "like": "({0} LIKE {1} ESCAPE {2})",
        "regex": "regexp_full_match({0}, {1})",
        "regex_text": "(?s){0}",
        "in": "({0} IN ({1}))",
    }

    # ------------------------------------------------------------------ dialect vocabulary
    def template(self, name: str, *args: str) -> str:
        """The dialect's SQL for ``name`` (a key of ``TEMPLATES``) over argument SQL."""
        return self.TEMPLATES[name].format(*args)

    def string(self, text: str) -> str:
        """A string literal: single quotes doubled; control characters through ``chr()``."""
        parts, plain = [], []
        for char in text:
            if ord(char) < 0x20 or ord(char) == 0x7F:
                if plain:
                    parts.append("'" + "".join(plain).replace("'", "''") + "'")
                    plain = []
                parts.append(f"chr({ord(char)})")
            else:
                plain.append(char)
        if plain or not parts:
            parts.append("'" + "".join(plain).replace("'", "''") + "'")
        return parts[0] if len(parts) == 1 else "(" + " || ".join(parts) + ")"

    def identifier(self, name: str) -> str:
        """A column or struct field name, quoted whatever it holds."""
        return '"' + name.replace('"', '""') + '"'

    def unsupported(self, what: str, node: ast.Expr | None = None) -> EqlUnsupportedError:
        """The error for a construct this engine's SQL cannot express exactly."""
        return EqlUnsupportedError(f"{self.dialect}: {what} cannot be expressed exactly in SQL",
                                   getattr(node, "span", None))

    # ------------------------------------------------------------------ constants
    def constant(self, value: Any) -> Value:
        """A literal value as SQL."""
        if value is None:
            return Value("NULL", "null", constant=None)
        if value is True or value is False:
            return Value("TRUE" if value else "FALSE", "boolean", constant=value)
        if isinstance(value, int):
            sql = str(value) if _LONG_MIN <= value <= _LONG_MAX else ""  # compare() copes; others refuse
            return Value(sql, "integer", constant=value)
        if isinstance(value, float):
            if math.isnan(value):
                raise self.unsupported("a NaN value (SQL orders NaN, eqlmini does not)")
            return Value(self.double_literal(value), "float", constant=value)
        return Value(self.string(value), "string", constant=value)

    def double_literal(self, value: float) -> str:
        """A double literal that reads back exactly (``repr``), infinities included."""
        text = "Infinity" if value == math.inf else "-Infinity" if value == -math.inf else repr(value)
        return self.template("double_literal", text)

    def readable(self, sql: str, kind: str) -> str:
        """A column's value as the Python engine reads it: a float as a double, NaN as null."""
        return self.template("nan_null", self.template("double", sql)) if kind == "float" else sql

    def known(self, result: bool, *operands: Value) -> Value:
        """``result`` when no operand is null, else null (a comparison decided by the types)."""
        tests = [f"{v.sql} IS NULL" for v in operands if not v.is_constant]
        truth = "TRUE" if result else "FALSE"
        sql = f"(CASE WHEN {' OR '.join(tests)} THEN NULL ELSE {truth} END)" if tests else truth
        return Value(sql, "boolean", frozenset().union(*(v.nulls for v in operands)))

    def null(self, kind: str, *operands: Value) -> Value:
        """A typed null (what a Python function returns for an argument of the wrong kind)."""
        types = {"boolean": "BOOLEAN", "integer": "BIGINT", "float": "DOUBLE", "string": self.template("string_type")}
        return Value(f"CAST(NULL AS {types[kind]})", kind, frozenset().union(*(v.nulls for v in operands)))

    # ------------------------------------------------------------------ expressions
    def value(self, node: ast.Expr, bound: dict[str, Value]) -> Value:
        """The three-valued SQL of an expression, fields taken from ``bound``."""
        if isinstance(node, ast.Literal):
            return self.constant(node.value)
        if isinstance(node, ast.Field):
            return bound[node.name]
        if isinstance(node, (ast.Call, ast.Arithmetic)):
            return self.call(node, [self.value(arg, bound) for arg in _arguments(node)])
        if isinstance(node, ast.Unary):
            operand = self.value(node.operand, bound)
            if node.op == "+" or operand.kind == "null":
                return operand
            if operand.is_constant and operand.kind in ("integer", "float"):
                return self.constant(-operand.constant)
            if operand.kind not in ("integer", "float"):
                return self.null("integer", operand)
            raise self.unsupported(f"the negation [{node}] of a field", node)
        if isinstance(node, ast.Comparison):
            return self.comparison(node, bound)
        if isinstance(node, ast.Match):
            return self.match(node, self.value(node.left, bound))
        if isinstance(node, ast.In):
            return self.within(node, bound)
        if isinstance(node, ast.Not):
            inner = self.value(node.operand, bound)
            return Value(f"(NOT {inner.sql})", "boolean", inner.nulls)
        glue = " AND " if isinstance(node, ast.And) else " OR "
        terms = [self.value(term, bound) for term in node.terms]  # type: ignore[union-attr]
        return Value("(" + glue.join(term.sql for term in terms) + ")", "boolean")

    def call(self, node: ast.Call | ast.Arithmetic, args: list[Value]) -> Value:
        """A function call or arithmetic (:mod:`eqlmini.sql.calls`)."""
        from .calls import translate  # the two modules are one vocabulary, split by topic

        return translate(self, node, args)

    def comparison(self, node: ast.Comparison, bound: dict[str, Value]) -> Value:
        """A comparison node: ``== null`` as IS NULL, optional fields as ``eq_optional``."""
        left, right = self.value(node.left, bound), self.value(node.right, bound)
        if node.op in ("==", "!=") and "null" in (left.kind, right.kind) and (
                _is_null(node.left) or _is_null(node.right)):
            other = right if _is_null(node.left) else left
            test = "IS NULL" if node.op == "==" else "IS NOT NULL"
            return Value(f"({other.sql} {test})", "boolean")
        optional = any(isinstance(side, ast.Field) and side.optional for side in (node.left, node.right))
        if node.op in ("==", "!=") and optional:
            equal = self.compare("==", left, right)
            sql = (f"(CASE WHEN {left.sql} IS NULL OR {right.sql} IS NULL THEN ({left.sql} IS NULL AND "
                   f"{right.sql} IS NULL) ELSE {equal.sql} END)")
            return Value(sql if node.op == "==" else f"(NOT {sql})", "boolean")
        return self.compare(node.op, left, right, node)

    def compare(self, op: str, a: Value, b: Value, node: ast.Expr | None = None) -> Value:
        """``a op b`` as ``values.equals`` / ``values.compare`` decide it (three-valued)."""
        nulls = a.nulls | b.nulls
        unknown = Value("CAST(NULL AS BOOLEAN)", "boolean", nulls)
        if "null" in (a.kind, b.kind):
            return unknown
        if a.is_constant and b.is_constant:
            return self.constant(COMPARISONS[op](a.constant, b.constant))
        if a.is_constant:
            return self.compare(ast.FLIPPED_COMPARISONS[op], b, a, node)
        kinds = {a.kind, b.kind}
        if a.kind == b.kind and (a.kind != "integer" or b.sql):
            return Value(f"({a.sql} {_SQL_OPS[op]} {b.sql})", "boolean", nulls)
        if kinds <= {"integer", "float"}:
            if not b.is_constant:
                raise self.unsupported(f"the comparison [{node}] of an integer with a floating-point value", node)
            return self.number_compare(op, a, b.constant)
        if kinds == {"boolean", "string"}:
            return self.compare(op, self.text(a), self.text(b), node)
        if "boolean" in kinds:  # a boolean and a number: never equal, not ordered
            return self.known(op == "!=", a, b) if op in ("==", "!=") else unknown
        # A string and a number: the string is read as a number (or an ISO-8601 date).
        if b.kind == "string" and b.is_constant:
            number = values.parse_number(b.constant)
            if number is None:
                return self.known(op == "!=", a) if op in ("==", "!=") else unknown
            return self.number_compare(op, a, number)
        raise self.unsupported(f"the comparison [{node}] of text with a number (eqlmini reads the text as a "
                               f"number or an ISO-8601 date)", node)

    def number_compare(self, op: str, a: Value, number: int | float) -> Value:
        """A numeric value against a Python number, exactly (no rounding through doubles)."""
        if a.kind == "integer":
            return self._integer_compare(op, a, number)
        if isinstance(number, float) or float(number) == number:
            return Value(f"({a.sql} {_SQL_OPS[op]} {self.double_literal(float(number))})", "boolean", a.nulls)
        # An integer that no double equals: the doubles on either side of it decide.
        if op in ("==", "!="):
            return self.known(op == "!=", a)
        below, above = (self.double_literal(x) for x in _neighbours(number))
        sql = {"<": f"{a.sql} <= {below}", "<=": f"{a.sql} <= {below}",
               ">": f"{a.sql} >= {above}", ">=": f"{a.sql} >= {above}"}[op]
        return Value(f"({sql})", "boolean", a.nulls)

    def _integer_compare(self, op: str, a: Value, number: int | float) -> Value:
        if isinstance(number, float) and not math.isfinite(number):
            return self.known(op in ("!=", "<", "<=") if number > 0 else op in ("!=", ">", ">="), a)
        exact = Fraction(number)
        if exact.denominator != 1:  # an integer is never equal to a fraction
            if op in ("==", "!="):
                return self.known(op == "!=", a)
            op, exact = {"<": ("<=", math.floor(exact)), "<=": ("<=", math.floor(exact)),
                         ">": (">=", math.ceil(exact)), ">=": (">=", math.ceil(exact))}[op]
        bound = int(exact)
        if bound > _LONG_MAX or bound < _LONG_MIN:  # beyond every column value
            above = bound > _LONG_MAX
            return self.known(op in ("!=", "<", "<=") if above else op in ("!=", ">", ">="), a)
        return Value(f"({a.sql} {_SQL_OPS[op]} {bound})", "boolean", a.nulls)

    def text(self, value: Value) -> Value:
        """A value as its text (``values.to_text``): what ``:``, ``like`` and ``concat`` see."""
        if value.kind in ("string", "null"):
            return value
        if value.is_constant:
            return self.constant(values.to_text(value.constant))
        if value.kind == "integer":
            return Value(self.template("integer_text", value.sql), "string", value.nulls)
        if value.kind == "boolean":
            return Value(self.template("boolean_text", value.sql), "string", value.nulls)
        raise self.unsupported("the text of a floating-point value (Java's Double.toString)")

    def folded(self, value: Value, partners: list[Value]) -> Value:
        """A text value case-folded as ``patterns.fold`` folds it, to be compared with
        ``partners`` (when all are ASCII constants, a dialect may fold more cheaply)."""
        if value.is_constant:
            return self.constant(fold(value.constant)) if value.kind == "string" else value
        if value.kind != "string":
            return value
        ascii_only = bool(partners) and all(
            p.is_constant and (p.kind != "string" or p.constant.isascii()) for p in partners)
        return Value(self.template("fold_ascii" if ascii_only else "fold", value.sql), "string", value.nulls)

    def match(self, node: ast.Match, left: Value) -> Value:
        """``left : patterns`` and its kin (wildcards through LIKE, regexps through RE2)."""
        text = self.text(left)
        if text.kind == "null":
            return Value("CAST(NULL AS BOOLEAN)", "boolean", text.nulls)
        patterns = [pattern.value for pattern in node.patterns]
        if node.op.startswith("regex"):
            try:
                regex = lucene_to_re2("|".join(patterns), node.insensitive)  # type: ignore[arg-type]
            except EqlUnsupportedError as error:
                raise self.unsupported(f"the regexp [{node}] ({error.message})", node) from None
            return Value(self.template("regex", text.sql, self.string(self.regex_text(regex))), "boolean",
                         text.nulls)
        if node.insensitive:
            patterns = [fold(p) for p in patterns]  # type: ignore[arg-type]
            text = self.folded(text, [self.constant(p) for p in patterns])
        plain = [p for p in patterns if "*" not in p and "?" not in p]  # type: ignore[operator]
        tests = []
        if plain:
            tests.append(self.template("in", text.sql, ", ".join(map(self.string, plain))))  # type: ignore
        escape = self.string("\\")
        tests.extend(self.template("like", text.sql, self.string(_like(p)), escape)  # type: ignore[arg-type]
                     for p in patterns if p not in plain)
        return Value(tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")", "boolean", text.nulls)

    def regex_text(self, re2: str) -> str:
        """The engine's whole-value regex for an RE2 pattern from the Lucene translation."""
        return self.template("regex_text", re2)

    def within(self, node: ast.In, bound: dict[str, Value]) -> Value:
        """``left in (items)`` (``in~`` folds text first), as ``runtime.in3`` decides it."""
        left = self.value(node.left, bound)
        items = [self.value(item, bound) for item in node.items]
        if node.insensitive:
            left, items = self.folded(left, items), [self.folded(item, [left]) for item in items]
        nulls = left.nulls | (items[0].nulls if len(items) == 1 else frozenset())
        if left.kind == "string" and all(i.kind == "string" and i.is_constant for i in items):
            return Value(self.template("in", left.sql, ", ".join(i.sql for i in items)), "boolean", nulls)
        tests = [self.compare("==", left, item, node) for item in items]
        return Value("(" + " OR ".join(t.sql for t in tests) + ")", "boolean", nulls)


def _arguments(node: ast.Call | ast.Arithmetic) -> tuple[ast.Expr, ...]:
    return node.args if isinstance(node, ast.Call) else (node.left, node.right)


def _is_null(node: ast.Expr) -> bool:
    return isinstance(node, ast.Literal) and node.value is None


def _like(pattern: str) -> str:
    """An EQL wildcard pattern as a LIKE pattern with ``\\`` as its escape."""
    out = []
    for char in pattern:
        if char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        else:
            out.append("\\" + char if char in "%_\\" else char)
    return "".join(out)


def _neighbours(number: int) -> tuple[float, float]:
    """The doubles just below and just above an integer that no double equals."""
    try:
        nearest = float(number)
    except OverflowError:  # beyond every finite double
        return (-math.inf, -sys.float_info.max) if number < 0 else (sys.float_info.max, math.inf)
    if nearest < number:
        return nearest, math.nextafter(nearest, math.inf)
    return math.nextafter(nearest, -math.inf), nearest
