"""A query laid out for reading: lines of at most :data:`WIDTH` characters where the syntax allows.

What fits on a line stays on it. A longer ``and``/``or`` puts each of its terms on a line
of its own, ending with the operator; a ``not`` or a parenthesised term keeps its inner
terms aligned after its opening; a long list (``in (...)``, ``: (...)``, a function's
arguments) fills lines under its first item; a stage's long ``by`` keys go on a line of
their own. Only a long string stays longer than the line. Only blanks and line breaks change between tokens, so the text parses back
to the same tree (tested over the corpus).
"""

from __future__ import annotations

from .. import ast

__all__ = ["WIDTH", "pretty"]

WIDTH = 100
_INDENT = 2


def pretty(query: ast.Query) -> str:
    """The query's text, laid out (see the module docstring)."""
    body = query.body
    if isinstance(body, ast.EventQuery):
        lines = _event(body, "", 0)
    else:
        head = str(body).split("\n", 1)[0]
        lines = [head]
        for stage in body.stages:
            lines += _stage(stage, " " * _INDENT)
        if isinstance(body, ast.Sequence) and body.until is not None:
            lines += _stage(body.until, "until ")
    return "\n".join([*lines, *map(str, query.pipes)])


def _event(query: ast.EventQuery, prefix: str, indent: int, tail: int = 0) -> list[str]:
    text = str(query)
    head = prefix + text[:len(text) - len(str(query.where))]  # "process where "
    first, *rest = _expr(query.where, len(head), indent + _INDENT, tail)
    return [head + first, *rest]


def _stage(stage: ast.Stage, prefix: str) -> list[str]:
    opening = "![" if stage.missing else "["
    lines = _event(stage.query, prefix + opening, len(prefix), tail=1)
    rest = str(stage)[len(opening + str(stage.query)) + 1:]  # " by a, b with runs=2", after the "]"
    lines[-1] += "]"
    if rest and len(lines[-1] + rest) > WIDTH:  # the keys on a line of their own
        lines.append(" " * (len(prefix) + _INDENT) + rest.strip())
    else:
        lines[-1] += rest
    return lines


def _expr(node: ast.Expr, column: int, indent: int, tail: int = 0) -> list[str]:
    """``node`` as lines: the first goes on at ``column``, the others are whole lines; ``tail``
    characters (a closing bracket, an operator) will follow the last line."""
    text = str(node)
    if column + len(text) + tail <= WIDTH:
        return [text]
    if isinstance(node, (ast.And, ast.Or)):
        word, level = (" and", ast.NOT) if isinstance(node, ast.And) else (" or", ast.AND)
        lines: list[str] = []
        last = len(node.terms) - 1
        for number, term in enumerate(node.terms):
            start = column if number == 0 else indent
            first, *rest = _wrapped(term, level, start, indent, tail if number == last else len(word))
            lines += [first] if number == 0 else [" " * indent + first]
            lines += rest
            if number < last:
                lines[-1] += word
        return lines
    if isinstance(node, ast.Not):
        first, *rest = _wrapped(node.operand, ast.NOT, column + 4, column + 4, tail)
        return ["not " + first, *rest]
    if isinstance(node, ast.Match) and (node.listed or len(node.patterns) > 1):
        return _listed(text, [str(pattern) for pattern in node.patterns], column, tail)
    if isinstance(node, (ast.In, ast.Call)) and node.__class__ is not ast.Match:
        return _listed(text, [str(item) for item in (node.items if isinstance(node, ast.In) else node.args)],
                       column, tail)
    return [text]


def _wrapped(node: ast.Expr, level: int, column: int, indent: int, tail: int) -> list[str]:
    """``node`` in parentheses when it binds looser than ``level`` (as ast prints it)."""
    if node.precedence >= level:
        return _expr(node, column, indent, tail)
    lines = _expr(node, column + 1, column + 1, tail + 1)
    lines[0] = "(" + lines[0]
    lines[-1] += ")"
    return lines


def _listed(text: str, items: list[str], column: int, tail: int) -> list[str]:
    """``left op (a, b, ...)`` or ``f(a, b, ...)`` with the items filling lines under the first one."""
    opening = text[:len(text) - len(", ".join(items)) - 1]  # "process.args : (", "cidrmatch("
    align = column + len(opening)
    lines = [opening]
    width = align
    for number, item in enumerate(items):
        piece = item + (", " if number < len(items) - 1 else ")")
        ending = len(piece.rstrip()) + (tail if number == len(items) - 1 else 0)
        if width + ending > WIDTH and width > align:
            lines[-1] = lines[-1].rstrip()
            lines.append(" " * align)
            width = align
        lines[-1] += piece
        width += len(piece)
    return lines
