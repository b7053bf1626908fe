"""A query laid out for reading: lines of at most :data:`WIDTH` characters where the syntax allows.

What fits on a line stays on it. A longer ``and``/``or`` puts each of its terms on a line
of its own, ending with the operator; a ``not`` or a parenthesised term keeps its inner
terms aligned after its opening; a long list (``in (...)``, ``: (...)``) fills lines under
its first item. Only blanks and line breaks change between tokens, so the text parses back
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


def _event(query: ast.EventQuery, prefix: str, indent: int) -> list[str]:
    text = str(query)
    head = prefix + text[:len(text) - len(str(query.where))]  # "process where "
    first, *rest = _expr(query.where, len(head), indent + _INDENT)
    return [head + first, *rest]


def _stage(stage: ast.Stage, prefix: str) -> list[str]:
    lines = _event(stage.query, prefix + ("![" if stage.missing else "["), len(prefix))
    suffix = str(stage)[len(("![" if stage.missing else "[") + str(stage.query)):]  # "] by a with runs=2"
    lines[-1] += suffix
    return lines


def _expr(node: ast.Expr, column: int, indent: int) -> list[str]:
    """``node`` as lines: the first goes on at ``column``, the others are whole lines."""
    text = str(node)
    if column + len(text) <= WIDTH:
        return [text]
    if isinstance(node, (ast.And, ast.Or)):
        word, level = (" and", ast.NOT) if isinstance(node, ast.And) else (" or", ast.AND)
        lines: list[str] = []
        for number, term in enumerate(node.terms):
            start = column if number == 0 else indent
            first, *rest = _wrapped(term, level, start, indent)
            lines += [first] if number == 0 else [" " * indent + first]
            lines += rest
            if number < len(node.terms) - 1:
                lines[-1] += word
        return lines
    if isinstance(node, ast.Not):
        first, *rest = _wrapped(node.operand, ast.NOT, column + 4, column + 4)
        return ["not " + first, *rest]
    if isinstance(node, (ast.Match, ast.In)) and (isinstance(node, ast.In) or node.listed or len(node.patterns) > 1):
        return _listed(node, text, column)
    return [text]


def _wrapped(node: ast.Expr, level: int, column: int, indent: int) -> list[str]:
    """``node`` in parentheses when it binds looser than ``level`` (as ast prints it)."""
    if node.precedence >= level:
        return _expr(node, column, indent)
    lines = _expr(node, column + 1, column + 1)
    lines[0] = "(" + lines[0]
    lines[-1] += ")"
    return lines


def _listed(node: ast.Match | ast.In, text: str, column: int) -> list[str]:
    """``left op (a, b, ...)`` with the items filling lines under the first one."""
    items = [str(item) for item in (node.patterns if isinstance(node, ast.Match) else node.items)]
    opening = text[:len(text) - len(", ".join(items)) - 2] + "("  # "process.args : ("
    align = column + len(opening)
    lines = [opening]
    width = align
    for number, item in enumerate(items):
        piece = item + (", " if number < len(items) - 1 else ")")
        if width + len(piece.rstrip()) > WIDTH and width > align:
            lines[-1] = lines[-1].rstrip()
            lines.append(" " * align)
            width = align
        lines[-1] += piece
        width += len(piece)
    return lines
