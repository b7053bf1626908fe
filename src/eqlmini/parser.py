"""EQL text -> AST, with Lark. Syntax errors come out as EqlSyntaxError with line, column, caret.

Forms that Elasticsearch lexes or parses only to reject them (single-quoted strings, `=`,
`join`, process relationships, array indexes, bad escapes) are rejected here, where their
position is known, with Elasticsearch's message.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from . import ast
from .comments import blank_comments, comment_end
from .errors import (
    EqlError,
    EqlSemanticError,
    EqlSyntaxError,
    EqlUnsupportedError,
    Span,
)

__all__ = ["blank_comments", "comment_end", "parse", "unescape"]

_LONG_MAX = 2**63 - 1
_ESCAPES = {"t": "\t", "b": "\b", "f": "\f", "n": "\n", "r": "\r", '"': '"', "'": "'", "\\": "\\"}
_ESCAPE = re.compile(r"\\(u\{([^}]*)\}|.)", re.DOTALL)


@functools.cache
def _lark() -> Lark:
    """The parser, built on first use and shared (it is read-only afterwards)."""
    return Lark.open_from_package(
        "eqlmini", "grammar.lark", parser="lalr", lexer="contextual", propagate_positions=True,
        maybe_placeholders=True,
    )


def parse(text: str) -> ast.Query:
    """Parse EQL ``text`` into an :class:`ast.Query` (no semantic checks; see ``verifier``)."""
    if not isinstance(text, str):
        raise TypeError(f"EQL query must be a str, not {type(text).__name__}")
    try:
        tree = _lark().parse(blank_comments(text))
        return _TO_AST.transform(tree)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    except VisitError as exc:
        if isinstance(exc.orig_exc, EqlError):
            raise exc.orig_exc.with_text(text) from None
        if isinstance(exc.orig_exc, RecursionError):
            raise _too_deep() from None
        raise
    except RecursionError:
        raise _too_deep() from None


def _too_deep() -> EqlSyntaxError:
    return EqlSyntaxError("the query is nested too deeply to be parsed")


def _syntax_error(exc: UnexpectedInput, text: str) -> EqlSyntaxError:
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        lines = text.split("\n")
        return EqlSyntaxError("unexpected end of query", Span.point(len(lines), len(lines[-1]) + 1), text)
    if isinstance(exc, UnexpectedCharacters):
        char = exc.char
        if char == '"':
            message = "unterminated string (a string cannot span lines)"
        elif char == "`":
            message = "unterminated backquoted name"
        elif char == "=" and text[exc.pos_in_stream : exc.pos_in_stream + 2] != "==":
            message = "unexpected '=', use [==] to compare"
        else:
            message = f"unexpected character {char!r}"
        return EqlSyntaxError(message, Span.point(exc.line, exc.column), text)
    assert isinstance(exc, UnexpectedToken)
    token = exc.token
    expected = sorted(_describe(name) for name in exc.expected)
    hint = f"; expected {', '.join(expected[:8])}" + (", ..." if len(expected) > 8 else "") if expected else ""
    return EqlSyntaxError(f"unexpected {str(token)!r}{hint}", Span.point(token.line, token.column), text)


_TERMINAL_NAMES = {
    "NAME": "a name", "STRING": "a string", "RAW_STRING": "a string", "INTEGER": "a number",
    "DECIMAL": "a number", "COMPARE": "a comparison", "MATCH_OP": "':', like, regex",
    "IN_OP": "in", "LSQB": "'['", "RSQB": "']'", "LPAR": "'('", "RPAR": "')'", "COMMA": "','",
    "WHERE": "where", "BY": "by", "WITH": "with", "VBAR": "'|'", "QUOTED_NAME": "a name",
}


def _describe(terminal: str) -> str:
    if terminal in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[terminal]
    return terminal.lower()


def _span(meta: Any) -> Span | None:
    if getattr(meta, "empty", True):
        return None
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _token_span(token: Token) -> Span:
    return Span(token.line, token.column, token.end_line, token.end_column)


def unescape(token: Token) -> str:
    """The value of a string token, checked the way Elasticsearch's lexer checks it."""
    text = str(token)
    if token.type == "RAW_STRING":
        return text[3:-3]
    if token.type == "SINGLE_QUOTED":
        raise EqlSyntaxError("Use double quotes [\"] to define string literals, not single quotes [']",
                             _token_span(token))
    if token.type == "QMARK_STRING":
        raise EqlSyntaxError('Use triple double quotes ["""] to define unescaped string literals, not [?"]',
                             _token_span(token))

    def replace(match: re.Match[str]) -> str:
        escape = match.group(1)
        if match.group(2) is not None or escape.startswith("u{"):
            return _code_point(match.group(2) or "", token)
        if escape in _ESCAPES:
            return _ESCAPES[escape]
        raise EqlSyntaxError(f"Illegal escape sequence [\\{escape}] in string literal", _token_span(token))

    return _ESCAPE.sub(replace, text[1:-1])


def _code_point(digits: str, token: Token) -> str:
    if not re.fullmatch(r"[0-9A-Fa-f]{2,8}", digits):
        raise EqlSyntaxError("Unicode sequence should use [2-8] hex digits, got [" + digits + "]", _token_span(token))
    value = int(digits, 16)
    if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
        raise EqlSyntaxError(f"Invalid unicode character code [{digits}]", _token_span(token))
    return chr(value)


def _number(token: Token) -> int | float:
    text = str(token)
    try:
        if token.type == "INTEGER":
            value = int(text)
            return value if value <= _LONG_MAX else float(value)  # ES reads an overflowing long as a double
        value = float(text)
    except (OverflowError, ValueError):  # beyond a double, or beyond Python's digit limit
        value = math.inf
    if not math.isfinite(value):
        raise EqlSyntaxError(f"Number [{text[:40]}{'...' if len(text) > 40 else ''}] is too large", _token_span(token))
    return value


def _unquote_name(token: Token) -> str:
    text = str(token)
    return text[1:-1].replace("``", "`") if token.type == "QUOTED_NAME" else text


@v_args(inline=True, meta=True)
class _ToAst(Transformer):
    """Lark tree -> AST. Stateless, so one instance could serve every parse."""

    # ------------------------------------------------------------------ statement
    def start(self, meta, body, *pipes):
        return ast.Query(body, tuple(pipes), span=_span(meta))

    def pipe(self, meta, name, *args):
        return ast.Pipe(str(name), tuple(a for a in args if a is not None), span=_span(meta))

    # ------------------------------------------------------------------ queries
    def event_query(self, meta, category, where):
        return ast.EventQuery(category, where, span=_span(meta))

    def any_category(self, meta):
        return None

    def named_category(self, meta, name):
        return str(name)

    def quoted_category(self, meta, value):
        return value

    def sequence(self, meta, *parts):
        head = parts[0] if isinstance(parts[0], tuple) else ((), None)
        stages = tuple(p for p in parts if isinstance(p, ast.Stage))
        until = parts[-1] if isinstance(parts[-1], _Until) else None
        return ast.Sequence(stages, by=head[0], maxspan=head[1], until=until.stage if until else None,
                            span=_span(meta))

    def head_by(self, meta, keys):
        return (keys, None)

    def head_by_maxspan(self, meta, keys, maxspan):
        return (keys, maxspan)

    def head_maxspan(self, meta, maxspan):
        return ((), maxspan)

    def head_maxspan_by(self, meta, maxspan, keys):
        raise EqlSemanticError("Please specify sequence [by] before [with] not after", _span(meta))

    def maxspan(self, meta, value, unit):
        span = _span(meta)
        if unit is None:
            raise EqlSemanticError(f"No time unit specified, did you mean [s] as in [{value}s]?", span)
        if isinstance(value, float):
            raise EqlSemanticError(f"Decimal time interval [{value}] not supported", span)
        if str(unit) not in ast.MaxSpan.UNIT_MILLIS:
            raise EqlSemanticError(f"Unrecognized time unit [{unit}] in [{value}{unit}], please specify one of "
                                   "[ms, s, m, h, d]", span)
        if value <= 0:
            raise EqlSemanticError(f"A positive maxspan value is required; found [{value}]", span)
        return ast.MaxSpan(value, str(unit), span=span)

    def stage(self, meta, subquery, keys, option):
        missing, query = subquery
        return ast.Stage(query, by=keys or (), runs=option, missing=missing, span=_span(meta))

    def stage_option(self, meta, name, value):
        span = _span(meta)
        if str(name) != "runs":
            raise EqlSemanticError(f"Unrecognized option [{name}], expecting [runs]", span)
        if not isinstance(value, int) or not 1 <= value <= 100:
            raise EqlSemanticError(f"A positive [runs] value between 1 and 100 is required; found [{value}]", span)
        return value

    def until(self, meta, subquery, keys):
        missing, query = subquery
        if missing:
            raise EqlSemanticError("A missing event ![...] cannot be used as [until]", _span(meta))
        return _Until(ast.Stage(query, by=keys or (), span=_span(meta)))

    def positive(self, meta, query):
        return (False, query)

    def negative(self, meta, query):
        return (True, query)

    def by_keys(self, meta, *keys):
        return tuple(keys)

    def sample(self, meta, *parts):
        keys = parts[0] if isinstance(parts[0], tuple) else ()
        stages = tuple(p for p in parts if isinstance(p, ast.Stage))
        return ast.Sample(stages, by=keys, span=_span(meta))

    def join(self, meta, *parts):
        raise EqlUnsupportedError("Join is not supported", _span(meta))

    def relationship(self, meta, name, subquery):
        raise EqlUnsupportedError("Process relationships are not supported", _span(meta))

    # ------------------------------------------------------------------ expressions
    def or_expr(self, meta, *terms):
        return ast.Or(tuple(terms), span=_span(meta))

    def and_expr(self, meta, *terms):
        return ast.And(tuple(terms), span=_span(meta))

    def not_(self, meta, operand):
        return ast.Not(operand, span=_span(meta))

    def compare(self, meta, left, op, right):
        return ast.Comparison(str(op), left, right, span=_span(meta))

    def assign(self, meta, left, right):
        raise EqlSyntaxError("Use [==] to compare, not [=]", _span(meta))

    def arithmetic(self, meta, left, op, right):
        return ast.Arithmetic(str(op), left, right, span=_span(meta))

    def unary(self, meta, op, operand):
        # A signed number literal is one constant, as Elasticsearch folds it.
        if isinstance(operand, ast.Literal) and type(operand.value) in (int, float):
            value = -operand.value if op == "-" else operand.value
            return ast.Literal(value, span=_span(meta))
        return ast.Unary(str(op), operand, span=_span(meta))

    def in_(self, meta, left, op, *items):
        return ast.In(left, tuple(items), insensitive=op == "in~", span=_span(meta))

    def not_in(self, meta, left, op, *items):
        return ast.In(left, tuple(items), insensitive=op == "in~", negated=True, span=_span(meta))

    def match(self, meta, left, op, pattern):
        return ast.Match(str(op), left, (pattern,), listed=False, span=_span(meta))

    def match_list(self, meta, left, op, *patterns):
        return ast.Match(str(op), left, tuple(patterns), listed=True, span=_span(meta))

    def call(self, meta, name, *args):
        text = str(name)
        arguments = tuple(a for a in args if a is not None)
        return ast.Call(text.removesuffix("~"), arguments, insensitive=text.endswith("~"), span=_span(meta))

    def field(self, meta, *parts):
        optional = bool(parts) and isinstance(parts[0], Token) and parts[0].type == "OPTIONAL"
        names = [p for p in parts if isinstance(p, Token) and p.type in ("NAME", "QUOTED_NAME")]
        if any(isinstance(p, Token) and p.type == "INDEX" for p in parts):
            raise EqlUnsupportedError("Array indexes are not supported", _span(meta))
        return ast.Field(".".join(_unquote_name(p) for p in names), optional=optional, span=_span(meta))

    # ------------------------------------------------------------------ constants
    def constant(self, meta, value):
        return ast.Literal(value, span=_span(meta))

    def string_constant(self, meta, *values):
        return ast.Literal("".join(values), span=_span(meta))

    def true(self, meta):
        return ast.Literal(True, span=_span(meta))

    def false(self, meta):
        return ast.Literal(False, span=_span(meta))

    def null(self, meta):
        return ast.Literal(None, span=_span(meta))

    def number(self, meta, token):
        return _number(token)

    def string(self, meta, token):
        return unescape(token)


class _Until:
    """Marks the ``until`` stage while a sequence is assembled."""

    __slots__ = ("stage",)

    def __init__(self, stage: ast.Stage) -> None:
        self.stage = stage


_TO_AST = _ToAst()
