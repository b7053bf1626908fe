"""Field checks against a schema, as Elasticsearch checks a query against an index mapping.

    >>> import eqlmini
    >>> from eqlmini import schemas
    >>> eqlmini.compile('process where proces.name == "cmd.exe"', schema=schemas.ecs())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eqlmini.schemas.schema.UnknownFieldError: Unknown column [proces.name], did you mean any of [process.name, ...
    >>> [str(problem).splitlines()[0] for problem in schemas.check('process where process.pid : "4"', "ecs")]
    ['first argument of [:] must be [string], found value [process.pid] type [long]; consider using [==] instead (line 1, column 15)']

A schema maps flat field names to Elasticsearch mapping types (:class:`Schema`). Bundled:
:func:`ecs`. Built: :func:`from_mapping` (a mapping or index template as Elasticsearch returns
it), :func:`from_fields` (``{field: type}``), :func:`merge`, :meth:`Schema.extend`, and
:func:`for_detection_rule` (what detection-rules checks a rule against). See docs/schemas.md.
"""

from __future__ import annotations

import os
from typing import Union

from ..errors import EqlError
from .schema import FieldType, Schema, UnknownFieldError, merge
from .sources import ecs, from_fields, from_mapping, load

__all__ = ["Schema", "FieldType", "UnknownFieldError", "ecs", "from_mapping", "from_fields", "merge", "load",
           "resolve", "check", "for_detection_rule"]

SchemaSpec = Union[Schema, str, "os.PathLike[str]"]


def resolve(schema: SchemaSpec) -> Schema:
    """A :class:`Schema` as given, or :func:`load`-ed from a name (``"ecs"``) or a JSON file."""
    return schema if isinstance(schema, Schema) else load(schema)


def check(query: object, schema: SchemaSpec, *, event_category_field: str = "event.category") -> list[EqlError]:
    """Every problem of a query against ``schema``; an empty list if it would compile.

    ``query`` is EQL text or a parsed ``eqlmini.ast.Query``. Each problem is an
    :class:`~eqlmini.EqlError` with ``line``, ``column`` and ``message`` (``str()`` adds the
    caret): every field that does not resolve (an :class:`UnknownFieldError` carries
    ``field`` and ``suggestions``), then the first other error, if any. A syntax error is the
    only problem of text that does not parse.
    """
    from .. import ast, parser, verifier  # here: the verifier is not needed to build schemas

    text = None
    if isinstance(query, str):
        text = query
        try:
            query = parser.parse(text)
        except EqlError as error:
            return [error.with_text(text)]
    if not isinstance(query, ast.Query):
        raise TypeError(f"check() takes EQL text or an eqlmini.ast.Query, not {type(query).__name__}")
    found = verifier.problems(query, resolve(schema), event_category_field=event_category_field)
    return [error.with_text(text) for error in found] if text is not None else found


def __getattr__(name: str) -> object:
    """``for_detection_rule`` is imported on first use: few programs need it (nor gzip, fnmatch)."""
    if name == "for_detection_rule":
        from .detection_rules import for_detection_rule
        return for_detection_rule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
