"""eqlmini: Elasticsearch's Event Query Language (EQL), parsed with Lark and run in Python.

    >>> import eqlmini
    >>> query = eqlmini.compile('process where process.name : "cmd.exe"')
    >>> query({"event": {"category": "process"}, "process": {"name": "CMD.EXE"}})
    True
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from . import ast
from .errors import (
    EqlError,
    EqlEventError,
    EqlSemanticError,
    EqlSyntaxError,
    EqlUnsupportedError,
    Span,
)
from .options import SearchOptions
from .parser import parse as _parse
from .parser import parse_then
from .query import Query
from .rules import Rule, RuleError, bundled_rules, load_rule, load_rules
from .ruleset import Alert, RuleSet
from .sequences import MissingEvent, Result
from .verifier import verify

__all__ = [
    "compile", "parse", "Query", "Result", "MissingEvent", "ast",
    "Rule", "RuleError", "RuleSet", "Alert", "bundled_rules", "load_rule", "load_rules",
    "EqlError", "EqlSyntaxError", "EqlSemanticError", "EqlUnsupportedError", "EqlEventError", "Span",
]
__version__ = "0.1.0"


def parse(text: str) -> ast.Query:
    """Parse and verify EQL ``text``; return its syntax tree.

    Raises EqlSyntaxError for text that is not EQL and EqlSemanticError for EQL that
    Elasticsearch would reject (unknown function, type clash, unsupported feature, ...).
    """
    tree = _parse(text)
    with _about(text):
        return verify(tree)


def compile(text: str, **options: Any) -> Query:  # noqa: A001 - the name is the API
    """Compile EQL ``text`` into a :class:`Query`, ready to match millions of events.

    Options (keyword only), as in Elasticsearch's EQL search API: ``timestamp_field``
    (default ``"@timestamp"``), ``tiebreaker_field`` (default None),
    ``event_category_field`` (default ``"event.category"``), ``size`` (default None: no
    limit), ``max_samples_per_key`` (default 1) and ``field_types`` (field -> ``"date"`` or
    ``"version"``, standing in for the index mapping; see docs/api.md).
    """
    search_options = SearchOptions(**options)
    with _about(text):  # positions are parsed only for an error (parser.parse_then)
        return parse_then(text, lambda tree: Query.build(text, verify(tree), search_options))


@contextlib.contextmanager
def _about(text: str) -> Iterator[None]:
    """Errors raised inside show ``text`` with their caret; Python's recursion limit on a
    deeply nested query becomes an EqlSemanticError."""
    try:
        yield
    except EqlError as error:
        raise error.with_text(text) from None
    except RecursionError:
        raise EqlSemanticError("the query is nested too deeply") from None
