"""The columns of a table as the SQL generator sees them: names, and each one's type tree.

A table holds events one per row. A column may be named with dots (``process.name``, as
``json_normalize`` makes them), hold a struct (``process`` with a field ``name``), a list
(``process.args``) or lists of structs (``threat`` with ``tactic.name`` inside). The Python
engine reads such a row as a dict, and finds a field wherever the dotted name can be split
across column and struct-field names (:mod:`eqlmini.fields`); :meth:`Columns.paths` finds
the same places, so that SQL reads exactly the values the Python engine reads.

Types are given as the engines spell them (DuckDB ``VARCHAR[]``, ``STRUCT(name VARCHAR)``;
Spark ``array<string>``, ``struct<name:string>``), or as Python shapes: ``str``, ``int``,
``float``, ``bool``, ``[item]`` for a list and ``{"field": type}`` for a struct.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Union

__all__ = ["ColumnType", "Columns", "ListOf", "Scalar", "Struct", "column_type"]

# Scalar kinds the generator reads; any other type keeps its own name and is refused.
KINDS = ("string", "integer", "float", "boolean")
_KIND_OF = {
    **dict.fromkeys(("varchar", "string", "text", "char", "bpchar"), "string"),
    **dict.fromkeys(("tinyint", "smallint", "integer", "int", "bigint", "utinyint", "usmallint", "uinteger",
                     "byte", "short", "long", "int1", "int2", "int4", "int8", "signed"), "integer"),
    **dict.fromkeys(("double", "float", "real", "float4", "float8", "double precision"), "float"),
    **dict.fromkeys(("boolean", "bool", "logical"), "boolean"),
}
_PYTHON_KINDS = {str: "string", int: "integer", float: "float", bool: "boolean"}


@dataclass(frozen=True)
class Scalar:
    """A column (or struct field, or list item) of one value: ``kind`` is one of KINDS, or
    the engine's name for a type eqlmini does not read (``timestamp``, ``decimal(4,2)``)."""

    kind: str

    @property
    def supported(self) -> bool:
        """Whether the generator can read values of this type."""
        return self.kind in KINDS


@dataclass(frozen=True)
class ListOf:
    """A list column (or field) and the type of its items."""

    item: "ColumnType"


@dataclass(frozen=True)
class Struct:
    """A struct column (or field): its fields, by name, in order."""

    fields: tuple[tuple[str, "ColumnType"], ...]


ColumnType = Union[Scalar, ListOf, Struct]


def column_type(spec: Any) -> ColumnType:
    """A type tree from a type as written (DuckDB or Spark spelling) or a Python shape."""
    if isinstance(spec, (Scalar, ListOf, Struct)):
        return spec
    if isinstance(spec, type) and spec in _PYTHON_KINDS:
        return Scalar(_PYTHON_KINDS[spec])
    if isinstance(spec, list) and len(spec) == 1:
        return ListOf(column_type(spec[0]))
    if isinstance(spec, Mapping):
        return Struct(tuple((str(name), column_type(inner)) for name, inner in spec.items()))
    if isinstance(spec, str):
        return _TypeParser(spec).parse()
    raise TypeError(f"not a column type: {spec!r} (a type name, [item], {{field: type}} or str/int/float/bool)")


class Columns:
    """The columns of one table: name -> type tree, in table order."""

    def __init__(self, columns: Mapping[str, Any]) -> None:
        self.types: dict[str, ColumnType] = {str(name): column_type(spec) for name, spec in columns.items()}

    def __contains__(self, name: object) -> bool:
        return name in self.types

    def paths(self, field: str) -> list[tuple[str, tuple[str, ...]]]:
        """Every place a row stores ``field``: (column, struct-field steps after it).

        The dotted name may be split between the column's name and struct field names at
        any dot, as the Python engine reads nested and dotted keys alike; a list on the way
        (a list of structs) is looked through.
        """
        found = []
        for column, kind in self.types.items():
            if field == column:
                found.append((column, ()))
            elif field.startswith(column + "."):
                found.extend((column, steps) for steps in _descend(kind, field[len(column) + 1:]))
        return found

    def type_at(self, column: str, steps: tuple[str, ...]) -> ColumnType:
        """The type found after following ``steps`` from ``column`` (lists looked through)."""
        kind = self.types[column]
        for step in steps:
            while isinstance(kind, ListOf):
                kind = kind.item
            assert isinstance(kind, Struct)
            kind = dict(kind.fields)[step]
        return kind


def _descend(kind: ColumnType, rest: str) -> Iterator[tuple[str, ...]]:
    """The struct-field steps that spell ``rest`` inside a value of type ``kind``."""
    while isinstance(kind, ListOf):
        kind = kind.item
    if not isinstance(kind, Struct):
        return
    for name, inner in kind.fields:
        if rest == name:
            yield (name,)
        elif rest.startswith(name + "."):
            for steps in _descend(inner, rest[len(name) + 1:]):
                yield (name, *steps)


# ---------------------------------------------------------------- type names as written
_TOKEN = re.compile(r'\s*(?:("(?:[^"]|"")*")|(`(?:[^`]|``)*`)|([A-Za-z_][A-Za-z0-9_$]*)|(\d+)|(\S))')
_MULTIWORD = ("double precision", "timestamp with time zone", "time with time zone")


class _TypeParser:
    """DuckDB spellings (``VARCHAR[]``, ``STRUCT("a b" INT)``) and Spark's (``array<string>``,
    ``struct<a:string>``, ``STRUCT<a: STRING>``), one recursive descent."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = [next(t for t in match.groups() if t is not None) for match in _TOKEN.finditer(text)]
        self.pos = 0

    def error(self) -> ValueError:
        return ValueError(f"cannot read the column type {self.text!r}")

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token.lower() != expected):
            raise self.error()
        self.pos += 1
        return token

    def parse(self) -> ColumnType:
        kind = self.type()
        if self.peek() is not None:
            raise self.error()
        return kind

    def type(self) -> ColumnType:
        name = self.take().lower()
        for words in _MULTIWORD:  # DOUBLE PRECISION, TIMESTAMP WITH TIME ZONE
            rest = words.split()[1:]
            if words.startswith(name + " ") and [t.lower() for t in self.tokens[self.pos:self.pos + len(rest)]] == rest:
                self.pos += len(rest)
                name = words
        if name == "struct":
            kind: ColumnType = self.struct()
        elif name in ("array", "list") and self.peek() == "<":
            self.take("<")
            kind = ListOf(self.type())
            self.take(">")
        elif self.peek() in ("(", "<"):  # DECIMAL(4,2), MAP(...), map<k,v>, VARCHAR(10)
            kind = Scalar(name + self.balanced())
        else:
            kind = Scalar(_KIND_OF.get(name, name))
        while self.peek() == "[":  # DuckDB lists and fixed-size arrays
            self.take("[")
            if self.peek() != "]":
                self.take()
            self.take("]")
            kind = ListOf(kind)
        if isinstance(kind, Scalar) and re.fullmatch(r"(var)?char\(\d+\)", kind.kind):
            kind = Scalar("string")
        return kind

    def struct(self) -> Struct:
        close = {"(": ")", "<": ">"}[self.take()]
        fields = []
        while True:
            name = _unquote(self.take())
            if self.peek() == ":":
                self.take(":")
            fields.append((name, self.type()))
            if self.peek() == close:
                self.take(close)
                return Struct(tuple(fields))
            self.take(",")

    def balanced(self) -> str:
        opener = self.take()
        close = {"(": ")", "<": ">"}[opener]
        depth, parts = 1, [opener]
        while depth:
            token = self.take()
            depth += (token == opener) - (token == close)
            parts.append(token)
        return "".join(parts).lower()


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in '"`':
        return token[1:-1].replace(token[0] * 2, token[0])
    return token
