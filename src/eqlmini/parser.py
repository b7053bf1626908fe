"""EQL text -> AST, with Lark. Syntax errors come out as EqlSyntaxError with line, column, caret.

Forms that Elasticsearch lexes or parses only to reject them (single-quoted strings, `=`,
`join`, process relationships, array indexes, bad escapes) are rejected here, where their
position is known, with Elasticsearch's message.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any, Callable, TypeVar

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from . import ast
from .lalr import LalrLoop, Rejected
from .comments import blank_comments, comment_end
from .values import to_text
from .errors import (
    EqlError,
    EqlSemanticError,
    EqlSyntaxError,
    EqlUnsupportedError,
    Span,
)

__all__ = ["blank_comments", "comment_end", "parse", "unescape"]

_UNSIGNED_LONG_MAX = 2**64 - 1
_ESCAPES = {"t": "\t", "b": "\b", "f": "\f", "n": "\n", "r": "\r", '"': '"', "'": "'", "\\": "\\"}
_ESCAPE = re.compile(r"\\(u\{([^}]*)\}|.)", re.DOTALL)


_GRAMMAR = {"parser": "lalr", "lexer": "contextual", "maybe_placeholders": True}


@functools.cache
def _lark() -> Lark:
    """The parser that records positions, built when first needed (errors) and shared."""
    return Lark.open_from_package("eqlmini", "grammar.lark", propagate_positions=True, **_GRAMMAR)


@functools.cache
def _fast_parser() -> Callable[[str], ast.Query]:
    """The parser without positions, which builds the AST as it parses (no Lark tree at all),
    run by a loop that skips what only positions and error recovery need (:mod:`lalr`).

    Positions cost a third of Lark's parse, and only an error needs them: see :func:`parse_then`.
    The loop reads Lark's tables; a Lark whose internals it does not know runs its own loop.
    """
    lark = Lark.open_from_package("eqlmini", "grammar.lark", transformer=_FastToAst(), **_GRAMMAR)
    try:
        return LalrLoop(lark).parse
    except (ImportError, AttributeError, KeyError, TypeError, ValueError):  # tests/test_lalr.py fails loudly then
        return lark.parse


def parse(text: str, *, positions: bool = True) -> ast.Query:
    """Parse EQL ``text`` into an :class:`ast.Query` (no semantic checks; see ``verifier``).

    With ``positions=False`` the nodes have no ``span`` and parsing takes about half the time;
    a syntax error is still raised with its exact position (the text is parsed again for it).
    """
    if not isinstance(text, str):
        raise TypeError(f"EQL query must be a str, not {type(text).__name__}")
    blanked = blank_comments(text)
    if not positions:
        try:
            return _fast_parser()(blanked)
        except (EqlError, Rejected, UnexpectedInput, VisitError, RecursionError):
            pass  # parse again below, for the error with its position
    try:
        return _TO_AST.transform(_lark().parse(blanked))
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


Result = TypeVar("Result")


def parse_then(text: str, build: Callable[[ast.Query], Result]) -> Result:
    """``build(tree)`` for the tree of ``text``, parsed on the fast path without positions.

    Only an error needs positions: if parsing or ``build`` raises an EqlError, the text is
    parsed again with positions and built again, so that the error points at its place.
    """
    try:
        tree = parse(text, positions=False)
    except EqlError:
        tree = parse(text)
        return build(tree)
    try:
        return build(tree)
    except EqlError:
        return build(parse(text))  # raises the same error, now with its span


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
    return EqlSyntaxError(f"unexpected {_shown(str(token))}{_expected(_acceptable(exc))}",
                          Span.point(token.line, token.column), text)


# How a user reads each terminal of grammar.lark; the literal ones (`where`, `(`) are shown as
# written. Terminals that exist only to reject a form (`join`, `of`, `=`, '...') are left out.
_TERMINAL_NAMES = {
    "NAME": "a name", "QUOTED_NAME": "a name", "TILDE_NAME": "a function name",
    "STRING": "a string", "RAW_STRING": "a string", "INTEGER": "a number", "DECIMAL": "a number",
    "COMPARE": "a comparison", "ADD_OP": "an arithmetic operator", "MUL_OP": "an arithmetic operator", "IN_OP": "`in`",
    "MATCH_OP": "`:`, `like`, `regex`", "OPTIONAL": "`?`",
}
_HIDDEN = frozenset({"INDEX", "SINGLE_QUOTED", "QMARK_STRING", "JOIN", "OF", "EQUAL", "$END"})


def _acceptable(exc: UnexpectedInput) -> set[str]:
    """The terminals that can really come next. LALR's own list (``exc.expected``) holds every
    lookahead of the state, some of which fail after a reduction; trying each one is exact, and
    costs nothing that matters on the way to an error."""
    interactive = getattr(exc, "interactive_parser", None)
    if interactive is None:
        return set(getattr(exc, "expected", ()))
    try:
        return set(interactive.accepts())
    except UnexpectedInput:
        return set(getattr(exc, "expected", ()))


def _describe(terminal: str) -> str | None:
    """A terminal as the user reads it, or None for one not worth suggesting."""
    if terminal in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[terminal]
    if terminal in _HIDDEN:
        return None
    definition = _TERMINALS().get(terminal)
    return f"`{definition}`" if definition is not None else None


@functools.cache
def _TERMINALS() -> dict[str, str]:  # noqa: N802 - a constant, built once
    """Terminal name -> its text, for terminals that are one fixed string (`where`, `![`)."""
    return {t.name: t.pattern.value for t in _lark().terminals if t.pattern.type == "str"}


def _expected(terminals: Any) -> str:
    """"; expected x, y or z" for the terminals that can come next, each named once."""
    names = sorted({name for name in map(_describe, terminals) if name})
    names.sort(key=lambda name: not name.startswith("`"))  # the literal tokens first
    if not names:
        return ""
    if len(names) > 8:
        names = names[:8] + ["..."]
    return "; expected " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1])


def _shown(token: str) -> str:
    """A found token for a message: quoted, and cut short if long."""
    return repr(token if len(token) <= 40 else token[:37] + "...")


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

    body = text[1:-1]
    if "\\" not in body:  # most strings: nothing to unescape
        return body

    def replace(match: re.Match[str]) -> str:
        escape = match.group(1)
        if match.group(2) is not None or escape.startswith("u{"):
            return _code_point(match.group(2) or "", token)
        if escape in _ESCAPES:
            return _ESCAPES[escape]
        raise EqlSyntaxError(f"Illegal escape sequence [\\{escape}] in string literal", _token_span(token))

    return _ESCAPE.sub(replace, body)


def _code_point(digits: str, token: Token) -> str:
    # ES AbstractBuilder.handleUnicodePoints and hexToUnicode; ES's lexer rejects a non-hex digit.
    if not re.fullmatch(r"[0-9A-Fa-f]*", digits):
        raise EqlSyntaxError(f"Invalid unicode escape [\\u{{{digits}}}]: only hex digits may stand in the braces",
                             _token_span(token))
    if not 2 <= len(digits) <= 8:
        raise EqlSyntaxError(f"Unicode sequence should use [2-8] hex digits, [\\u{{{digits}}}] has [{len(digits)}]",
                             _token_span(token))
    value = int(digits, 16)
    if 0xD800 <= value <= 0xDFFF:
        raise EqlSyntaxError(f"Invalid unicode character code, [{digits}] is a surrogate code", _token_span(token))
    if value > 0x10FFFF:
        raise EqlSyntaxError(f"Invalid unicode character code [{digits}]", _token_span(token))
    return chr(value)


def _number(token: Token) -> int | float:
    text = str(token)
    try:
        if token.type == "INTEGER":
            value = int(text)
            # QL StringUtils.parseIntegral: up to 2^64-1 an exact (unsigned) long, beyond it a double
            return value if value <= _UNSIGNED_LONG_MAX else float(value)
        value = float(text)
    except (OverflowError, ValueError):  # beyond a double, or beyond Python's digit limit
        value = math.inf
    if not math.isfinite(value):
        raise EqlSyntaxError(f"Number [{text[:40]}{'...' if len(text) > 40 else ''}] is too large", _token_span(token))
    return value


def _unquote_name(token: Token) -> str:
    text = str(token)
    return text[1:-1].replace("``", "`") if token.type == "QUOTED_NAME" else text


class _Builder(Transformer):
    """Lark rule -> AST node; each method takes the rule's ``meta`` (positions), then its children.

    Two transformers share these methods: :class:`_ToAst` walks a tree with positions, and
    :class:`_FastToAst` runs inside the fast parser, where there are no positions.
    """

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
            raise EqlSemanticError(f"Decimal time interval [{value}] not supported; please use an positive integer",
                                   span)  # sic, ES LogicalPlanBuilder.visitSequenceParams
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
        return ast.Match(str(op), left, _like_text(op, (pattern,)), listed=False, span=_span(meta))

    def match_list(self, meta, left, op, *patterns):
        return ast.Match(str(op), left, _like_text(op, patterns), listed=True, span=_span(meta))

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


def _like_text(op: Token, patterns: tuple[ast.Literal, ...]) -> tuple[ast.Literal, ...]:
    """The patterns of ``:`` and ``like`` as Elasticsearch reads them.

    ``like`` takes any constant as its text: ``a like 5`` is ``a like "5"`` (ES ExpressionBuilder:
    ``toLikePattern(e.fold().toString())``). ``toLikePattern`` escapes ``%`` and ``_`` with
    U+0001 and then turns ``*`` into ``%``, ``?`` into ``_``, so a U+0001 the user wrote escapes
    what follows it: before ``*`` it makes a literal ``%``, before ``?`` a literal ``_``, and
    anywhere else it is an error (QL StringUtils.likeToJavaPattern). ``:`` goes through
    ``toLikePattern`` only when its pattern has a wildcard (ES Optimizer ReplaceWildcards).
    """
    if not op.startswith("like") and op != ":":
        return patterns
    out = []
    for pattern in patterns:
        value = pattern.value
        if op.startswith("like") and value is not None:
            value = to_text(value)
        if isinstance(value, str) and "\x01" in value and (op != ":" or "*" in value or "?" in value):
            value = value.replace("\x01*", "%").replace("\x01?", "_")
            if "\x01" in value:
                raise EqlSemanticError("Invalid sequence - escape character is not followed by special wildcard char",
                                       pattern.span)
        out.append(pattern if value is pattern.value else ast.Literal(value, span=pattern.span))
    return tuple(out)


class _Until:
    """Marks the ``until`` stage while a sequence is assembled."""

    __slots__ = ("stage",)

    def __init__(self, stage: ast.Stage) -> None:
        self.stage = stage


_NO_POSITION = type("NoPosition", (), {"empty": True})()


def _methods() -> dict[str, Callable[..., Any]]:
    return {key: value for key, value in vars(_Builder).items() if callable(value) and not key.startswith("_")}


def _without_positions(method: Callable[..., Any]) -> Callable[..., Any]:
    def call(self: Transformer, children: list[Any]) -> Any:  # Lark's plain callback: one list
        return method(self, _NO_POSITION, *children)
    return call


_ToAst = v_args(wrapper=lambda method, _rule, children, meta: method(meta, *children))(
    type("_ToAst", (Transformer,), _methods()))
# Called by Lark as it parses, with no wrapper layers: this is the hot path of compile().
_FastToAst = type("_FastToAst", (Transformer,), {k: _without_positions(v) for k, v in _methods().items()})
_TO_AST = _ToAst()
