"""The EQL syntax tree: small frozen dataclasses that keep what the user wrote.

``str(node)`` prints EQL text that parses back to an equal tree. Positions (``span``)
are kept for error messages but are left out of ``==`` so that tests can compare parsed
trees with hand-written ones. Only the standard library is imported here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterator, Union

from .errors import Span

# Words the grammar reserves; a field or category spelled like one must be backquoted.
KEYWORDS = frozenset(
    "and any by false in join like maxspan not null of or regex sample sequence true until where with".split()
)
_IDENTIFIER = re.compile(r"[A-Za-z_@][A-Za-z0-9_]*\Z")
_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r", "\b": "\\b", "\f": "\\f"}

Scalar = Union[str, int, float, bool, None]


def quote_string(value: str) -> str:
    """EQL source for a string value: double quotes, with escapes where needed."""
    out = []
    for char in value:
        if char in _STRING_ESCAPES:
            out.append(_STRING_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append("\\u{%02x}" % ord(char))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _is_plain_identifier(text: str) -> bool:
    return bool(_IDENTIFIER.match(text)) and text not in KEYWORDS


def quote_name(name: str) -> str:
    """EQL source for a field name: dotted identifiers, or one backquoted name."""
    if all(_is_plain_identifier(part) for part in name.split(".")):
        return name
    return "`" + name.replace("`", "``") + "`"


def _span() -> Span | None:
    return field(default=None, compare=False, repr=False)  # type: ignore[return-value]


# --------------------------------------------------------------------------- expressions
# Printing precedence, loosest first. A child is parenthesised when it binds looser than
# its parent requires.
OR, AND, NOT, COMPARE, ADD, MUL, UNARY, PRIMARY = range(8)


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: string, integer, float, boolean or null (None)."""

    value: Scalar
    span: Span | None = _span()

    @property
    def precedence(self) -> int:
        # A negative number prints with its sign, which binds like a unary minus.
        value = self.value
        negative = type(value) in (int, float) and math.copysign(1, value) < 0  # type: ignore[arg-type]
        return UNARY if negative else PRIMARY

    def __str__(self) -> str:
        value = self.value
        if value is None:
            return "null"
        if value is True:
            return "true"
        if value is False:
            return "false"
        if isinstance(value, str):
            return quote_string(value)
        if isinstance(value, float):
            text = repr(value)
            if text in ("inf", "-inf", "nan"):
                raise ValueError(f"{value} has no EQL spelling")
            return text
        return str(value)


@dataclass(frozen=True, slots=True)
class Field:
    """A field reference such as ``process.name``; ``?name`` is optional (null if unmapped)."""

    name: str
    optional: bool = False
    span: Span | None = _span()

    precedence = PRIMARY

    def __str__(self) -> str:
        return ("?" if self.optional else "") + quote_name(self.name)


@dataclass(frozen=True, slots=True)
class Call:
    """A built-in function call; ``insensitive`` is the ``~`` suffix (``startsWith~``)."""

    name: str
    args: tuple["Expr", ...]
    insensitive: bool = False
    span: Span | None = _span()

    precedence = PRIMARY

    def __str__(self) -> str:
        return f"{self.name}{'~' if self.insensitive else ''}({', '.join(map(str, self.args))})"


@dataclass(frozen=True, slots=True)
class Unary:
    """Unary ``-`` or ``+`` applied to a value expression."""

    op: str
    operand: "Expr"
    span: Span | None = _span()

    precedence = UNARY

    def __str__(self) -> str:
        return f"{self.op}{_wrap(self.operand, UNARY)}"


@dataclass(frozen=True, slots=True)
class Arithmetic:
    """``left op right`` with op one of ``+ - * / %``."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span | None = _span()

    @property
    def precedence(self) -> int:  # type: ignore[override]
        return ADD if self.op in "+-" else MUL

    def __str__(self) -> str:
        level = self.precedence
        # Left-associative: the right operand needs parentheses at the same level.
        return f"{_wrap(self.left, level)} {self.op} {_wrap(self.right, level + 1)}"


@dataclass(frozen=True, slots=True)
class Comparison:
    """``left op right`` with op one of ``== != < <= > >=`` (case-sensitive)."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span | None = _span()

    precedence = COMPARE

    def __str__(self) -> str:
        return f"{_wrap(self.left, ADD)} {self.op} {_wrap(self.right, ADD)}"


@dataclass(frozen=True, slots=True)
class Match:
    """``left : pattern`` and its kin; ``op`` is ``:``, ``like``, ``like~``, ``regex`` or ``regex~``.

    ``listed`` records that the patterns were written in parentheses.
    """

    op: str
    left: "Expr"
    patterns: tuple[Literal, ...]
    listed: bool = False
    span: Span | None = _span()

    precedence = COMPARE

    @property
    def insensitive(self) -> bool:
        """Whether the match ignores case (``:``, ``like~``, ``regex~``)."""
        return self.op == ":" or self.op.endswith("~")

    def __str__(self) -> str:
        if self.listed or len(self.patterns) != 1:
            right = "(" + ", ".join(map(str, self.patterns)) + ")"
        else:
            right = str(self.patterns[0])
        return f"{_wrap(self.left, PRIMARY)} {self.op} {right}"


@dataclass(frozen=True, slots=True)
class In:
    """``left in (a, b)``; ``insensitive`` is ``in~``, ``negated`` is ``not in``."""

    left: "Expr"
    items: tuple["Expr", ...]
    insensitive: bool = False
    negated: bool = False
    span: Span | None = _span()

    precedence = COMPARE

    def __str__(self) -> str:
        op = ("not " if self.negated else "") + ("in~" if self.insensitive else "in")
        return f"{_wrap(self.left, PRIMARY)} {op} ({', '.join(map(str, self.items))})"


@dataclass(frozen=True, slots=True)
class Not:
    """Boolean negation of a whole condition."""

    operand: "Expr"
    span: Span | None = _span()

    precedence = NOT

    def __str__(self) -> str:
        return f"not {_wrap(self.operand, NOT)}"


@dataclass(frozen=True, slots=True)
class And:
    """Conjunction of two or more conditions."""

    terms: tuple["Expr", ...]
    span: Span | None = _span()

    precedence = AND

    def __str__(self) -> str:
        return " and ".join(_wrap(term, NOT) for term in self.terms)


@dataclass(frozen=True, slots=True)
class Or:
    """Disjunction of two or more conditions."""

    terms: tuple["Expr", ...]
    span: Span | None = _span()

    precedence = OR

    def __str__(self) -> str:
        return " or ".join(_wrap(term, AND) for term in self.terms)


Expr = Union[Literal, Field, Call, Unary, Arithmetic, Comparison, Match, In, Not, And, Or]


def _wrap(node: Expr, level: int) -> str:
    """Print ``node``, in parentheses if it binds looser than ``level``."""
    text = str(node)
    return f"({text})" if node.precedence < level else text


def children(node: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of an expression node."""
    if isinstance(node, (Literal, Field)):
        return ()
    if isinstance(node, Call):
        return node.args
    if isinstance(node, (Unary, Not)):
        return (node.operand,)
    if isinstance(node, (Arithmetic, Comparison)):
        return (node.left, node.right)
    if isinstance(node, Match):
        return (node.left, *node.patterns)
    if isinstance(node, In):
        return (node.left, *node.items)
    return node.terms


def fields_of(node: Expr) -> list[Field]:
    """The distinct fields an expression reads, by name, in order of first appearance."""
    seen: dict[str, Field] = {}
    stack = [node]
    while stack:  # a loop, not recursion: the compiler asks this of every subtree
        current = stack.pop()
        if current.__class__ is Field:
            seen.setdefault(current.name, current)  # type: ignore[union-attr]
        elif current.__class__ is not Literal:
            stack.extend(reversed(children(current)))
    return list(seen.values())


# A comparison read from its other side: `5 < x` is `x > 5`.
FLIPPED_COMPARISONS = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def field_against_literal(node: Expr) -> tuple[str, Field, Literal] | None:
    """``node`` as (operator, field, literal) when it compares a field with a literal, the
    operator read from the field's side (``5 < x`` gives ``(">", x, 5)``); otherwise None."""
    if node.__class__ is not Comparison:
        return None
    op, field, literal = node.op, node.left, node.right  # type: ignore[union-attr]
    if isinstance(literal, Field):
        op, field, literal = FLIPPED_COMPARISONS[op], literal, field
    if isinstance(field, Field) and isinstance(literal, Literal):
        return op, field, literal
    return None


def walk(node: Expr) -> Iterator[Expr]:
    """Every node of an expression, parents before children, left to right."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


# --------------------------------------------------------------------------- queries
@dataclass(frozen=True, slots=True)
class EventQuery:
    """``category where condition``; ``category`` is None for ``any``."""

    category: str | None
    where: Expr
    span: Span | None = _span()

    def __str__(self) -> str:
        if self.category is None:
            head = "any"
        elif _is_plain_identifier(self.category):
            head = self.category
        else:
            head = quote_string(self.category)
        return f"{head} where {self.where}"


@dataclass(frozen=True, slots=True)
class MaxSpan:
    """A ``maxspan`` duration as written: a positive integer and a unit (ms, s, m, h, d)."""

    value: int
    unit: str
    span: Span | None = _span()

    UNIT_MILLIS = MappingProxyType({"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000})

    @property
    def millis(self) -> int:
        """The duration in milliseconds."""
        return self.value * self.UNIT_MILLIS[self.unit]

    def __str__(self) -> str:
        return f"{self.value}{self.unit}"


@dataclass(frozen=True, slots=True)
class Stage:
    """One bracketed filter of a sequence or sample, with its own ``by`` keys.

    ``missing`` marks a ``![...]`` stage; ``runs`` is ``with runs=N`` (None if absent).
    """

    query: EventQuery
    by: tuple[Expr, ...] = ()
    runs: int | None = None
    missing: bool = False
    span: Span | None = _span()

    def __str__(self) -> str:
        text = f"{'![' if self.missing else '['}{self.query}]"
        if self.by:
            text += " by " + ", ".join(map(str, self.by))
        if self.runs is not None:
            text += f" with runs={self.runs}"
        return text


@dataclass(frozen=True, slots=True)
class Sequence:
    """``sequence [by keys] [with maxspan=N] stage... [until stage]``."""

    stages: tuple[Stage, ...]
    by: tuple[Expr, ...] = ()
    maxspan: MaxSpan | None = None
    until: Stage | None = None
    span: Span | None = _span()

    def __str__(self) -> str:
        head = "sequence"
        if self.by:
            head += " by " + ", ".join(map(str, self.by))
        if self.maxspan is not None:
            head += f" with maxspan={self.maxspan}"
        lines = [head, *(f"  {stage}" for stage in self.stages)]
        if self.until is not None:
            lines.append(f"until {self.until}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Sample:
    """``sample [by keys] stage...``: events that share keys, in any order."""

    stages: tuple[Stage, ...]
    by: tuple[Expr, ...] = ()
    span: Span | None = _span()

    def __str__(self) -> str:
        head = "sample"
        if self.by:
            head += " by " + ", ".join(map(str, self.by))
        return "\n".join([head, *(f"  {stage}" for stage in self.stages)])


@dataclass(frozen=True, slots=True)
class Pipe:
    """``| name args``; Elasticsearch runs only ``head`` and ``tail``."""

    name: str
    args: tuple[Expr, ...] = ()
    span: Span | None = _span()

    def __str__(self) -> str:
        return f"| {self.name}" + (" " + ", ".join(map(str, self.args)) if self.args else "")


Body = Union[EventQuery, Sequence, Sample]


@dataclass(frozen=True, slots=True)
class Query:
    """A whole EQL statement: an event query, sequence or sample, then pipes."""

    body: Body
    pipes: tuple[Pipe, ...] = ()
    span: Span | None = _span()

    @property
    def kind(self) -> str:
        """``"event"``, ``"sequence"`` or ``"sample"``."""
        if isinstance(self.body, Sequence):
            return "sequence"
        if isinstance(self.body, Sample):
            return "sample"
        return "event"

    def stages(self) -> tuple[Stage, ...]:
        """Every stage, ``until`` last; an event query has none."""
        if isinstance(self.body, EventQuery):
            return ()
        until = (self.body.until,) if isinstance(self.body, Sequence) and self.body.until else ()
        return (*self.body.stages, *until)

    def expressions(self) -> Iterator[Expr]:
        """Every top-level expression of the query: conditions, join keys, pipe arguments."""
        if isinstance(self.body, EventQuery):
            yield self.body.where
        else:
            yield from self.body.by
            for stage in self.stages():
                yield stage.query.where
                yield from stage.by
        for pipe in self.pipes:
            yield from pipe.args

    def event_queries(self) -> tuple[EventQuery, ...]:
        """The event filters: the query itself, or the filter of every stage."""
        if isinstance(self.body, EventQuery):
            return (self.body,)
        return tuple(stage.query for stage in self.stages())

    def fields(self) -> tuple[str, ...]:
        """Names of the fields the query reads, in order of first appearance."""
        names = (field.name for expr in self.expressions() for field in fields_of(expr))
        return tuple(dict.fromkeys(names))

    def __str__(self) -> str:
        return "\n".join([str(self.body), *map(str, self.pipes)])
