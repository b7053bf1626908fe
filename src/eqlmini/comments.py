"""Comments in EQL text, found exactly as Elasticsearch's ANTLR lexer finds them.

Elasticsearch's grammar reads block comments with the rule
``BRACKETED_COMMENT: '/*' (BRACKETED_COMMENT | .)*? '*/'``: a non-greedy loop whose body may
be a nested comment. ANTLR's lexer tries every way through that rule at once, keeps the longest
comment it can close, and drops, whenever a way closes the outer comment, every way of lower
priority (closing beats going on, a nested comment beats a plain character). So a balanced
inner ``/* ... */`` nests, while an inner ``/*`` that never closes is plain comment text:
``a == 1 /* x /* y */ or b == 2`` is ``a == 1 or b == 2``. :func:`comment_end` runs that same
search; it was checked against the ANTLR 4 lexer built from the rule on random text.
"""

from __future__ import annotations

import re

from . import limits
from .errors import EqlSyntaxError, Span

__all__ = ["blank_comments", "comment_end"]

# A way through the rule is (depth, place): depth 1 is the outer comment; the places are
# "may close" (needs `*`), "may open" (needs `/`), "any character", "closing" (read `*`,
# needs `/`) and "opening" (read `/`, needs `*`). One int holds both: depth * 5 + place.
_MAY_CLOSE, _MAY_OPEN, _ANY, _CLOSING, _OPENING = range(5)
_PAIR = re.compile(r"/\*|\*/")  # only characters in these pairs change the ways; others are plain


def _loop(depth: int, ways: list[int], seen: set[int]) -> None:
    """Add the ways out of the comment loop at ``depth``, in ANTLR's order of priority."""
    for way in (depth * 5 + _MAY_CLOSE, depth * 5 + _MAY_OPEN, depth * 5 + _ANY):
        if way not in seen:
            seen.add(way)
            ways.append(way)


def _step(ways: list[int], char: str) -> tuple[list[int], bool]:
    """The ways alive after reading ``char``, and whether the outer comment closed on it."""
    reach: list[int] = []
    seen: set[int] = set()
    for way in ways:
        depth, place = divmod(way, 5)
        if place == _ANY:
            _loop(depth, reach, seen)
        elif place == _MAY_CLOSE and char == "*" or place == _MAY_OPEN and char == "/":
            follow = depth * 5 + (_CLOSING if char == "*" else _OPENING)
            if follow not in seen:
                seen.add(follow)
                reach.append(follow)
        elif place == _CLOSING and char == "/":
            if depth == 1:
                return reach, True  # ways of lower priority are dropped
            _loop(depth - 1, reach, seen)
        elif place == _OPENING and char == "*":
            _loop(depth + 1, reach, seen)
    return reach, False


def comment_end(text: str, start: int) -> int | None:
    """Just past the ``*/`` that ends the block comment opened at ``start``, or None.

    The comment is the longest one Elasticsearch's lexer can close (see the module's
    docstring): a balanced nested comment is skipped whole, an unclosed inner ``/*`` is text.
    Raises :class:`EqlSyntaxError` beyond ``limits.MAX_COMMENT_OPENERS`` inner ``/*``.
    """
    ways: list[int] = []
    _loop(1, ways, set())
    end = None
    openers = 0
    position = start + 2
    while ways and position < len(text):
        char = text[position]
        if not (char in "/*" and (text[position - 1:position + 1] in ("/*", "*/")
                                  or text[position:position + 2] in ("/*", "*/"))):
            pair = _PAIR.search(text, position)  # a run of plain characters acts as one
            ways = _step(ways, " ")[0]
            position = pair.start() if pair else len(text)
            continue
        if text.startswith("/*", position):
            openers += 1
            if openers > limits.MAX_COMMENT_OPENERS:
                raise EqlSyntaxError(f"a block comment may hold at most {limits.MAX_COMMENT_OPENERS} inner /* "
                                     "(limits.MAX_COMMENT_OPENERS)", Span.at(text, position), text)
        ways, closed = _step(ways, char)
        position += 1
        if closed:
            end = position
    return end


# Unrolled loops, as in grammar.lark: no backtracking frame per character of a long string.
_QUOTE = re.compile(r'"""[^\r\n]*?""""?"?|"[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*"?|\'[^\'\\\r\n]*(?:\\.[^\'\\\r\n]*)*\'?'
                    r'|`[^`]*(?:``[^`]*)*`?')
_SPECIAL = re.compile(r"[\"'`/]")


def blank_comments(text: str) -> str:
    """``text`` with every comment replaced by spaces (line breaks kept), so positions stay.

    Done before Lark sees the text because which ``*/`` ends a block comment depends on the
    whole comment (see :func:`comment_end`), which no regular expression can decide. Strings
    and backquoted names are skipped: a ``/*`` inside them is text.
    """
    if "/" not in text:
        return text
    out: list[str] = []
    position = 0
    while position < len(text):
        special = _SPECIAL.search(text, position)  # jump over plain text in one step
        if special is None:
            out.append(text[position:])
            break
        out.append(text[position:special.start()])
        position = special.start()
        char = text[position]
        if char in "\"'`":
            quoted = _QUOTE.match(text, position)
            end = quoted.end() if quoted else position + 1
        elif text.startswith("//", position):
            end = text.find("\n", position)
            end = len(text) if end < 0 else end
            out.append(" " * (end - position))
            position = end
            continue
        elif text.startswith("/*", position):
            closing = comment_end(text, position)
            if closing is None:
                raise EqlSyntaxError("unterminated comment: no closing */", Span.at(text, position), text)
            out.append("".join(c if c in "\r\n" else " " for c in text[position:closing]))
            position = closing
            continue
        else:
            end = position + 1
        out.append(text[position:end])
        position = end
    return "".join(out)
