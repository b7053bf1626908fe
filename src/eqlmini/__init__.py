"""eqlmini: Elasticsearch's Event Query Language (EQL), parsed with Lark and run in Python.

    >>> import eqlmini
    >>> query = eqlmini.compile('process where process.name : "cmd.exe"')
    >>> query({"event": {"category": "process"}, "process": {"name": "CMD.EXE"}})
    True
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Iterator

from . import ast, schemas
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
    "compile", "parse", "schemas", "Query", "Result", "MissingEvent", "ast",
    "Rule", "RuleError", "RuleSet", "Alert", "bundled_rules", "load_rule", "load_rules",
    "EqlError", "EqlSyntaxError", "EqlSemanticError", "EqlUnsupportedError", "EqlEventError", "Span",
]
__version__ = "0.1.0"


def parse(text: str, *, schema: schemas.SchemaSpec | None = None) -> ast.Query:
    """Parse and verify EQL ``text``; return its syntax tree.

    Raises EqlSyntaxError for text that is not EQL and EqlSemanticError for EQL that
    Elasticsearch would reject (unknown function, type clash, unsupported feature, ...);
    ``schema`` as in :func:`compile`.
    """
    tree = _parse(text)
    with _about(text):
        return verify(tree, None if schema is None else schemas.resolve(schema))


def compile(text: str, *, schema: schemas.SchemaSpec | None = None,  # noqa: A001 - the name is the API
            **options: Any) -> Query:
    """Compile EQL ``text`` into a :class:`Query`, ready to match millions of events.

    Options (keyword only), as in Elasticsearch's EQL search API: ``timestamp_field``
    (default ``"@timestamp"``), ``tiebreaker_field`` (default None),
    ``event_category_field`` (default ``"event.category"``), ``size`` (default None: no
    limit), ``max_samples_per_key`` (default 1) and ``field_types`` (field -> ``"date"`` or
    ``"version"``, standing in for the index mapping; see docs/api.md). ``schema`` (a
    :class:`eqlmini.schemas.Schema`, ``"ecs"`` or a JSON mapping file) checks every field as
    Elasticsearch checks it against the mapping, and gives date and version fields their
    types (``field_types`` wins; see docs/schemas.md).
    """
    search_options = SearchOptions(**options)
    mapping = None if schema is None else schemas.resolve(schema)

    def build(tree: ast.Query) -> Query:
        found = search_options
        if mapping is not None:  # the schema's date and version types, for the fields the query reads
            typed = {name: mapping.field_types[name] for name in tree.fields() if name in mapping.field_types}
            found = dataclasses.replace(found, field_types={**typed, **found.field_types})
        return Query.build(text, verify(tree, mapping, event_category_field=found.event_category_field), found)
    with _about(text):  # positions are parsed only for an error (parser.parse_then)
        return parse_then(text, build)


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
