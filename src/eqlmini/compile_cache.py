"""A per-process cache of compiled queries: each (text, options) pair compiles once per process.

A :class:`~eqlmini.Query` pickles as its text and options and unpickles through
:func:`compiled`, so a process pool that receives the same query with every task compiles
it once per worker, not once per task. Anything else that pickles as query text (rules,
rule sets) can unpickle through it the same way::

    >>> from eqlmini.compile_cache import compiled
    >>> query = compiled('process where process.name == "cmd.exe"')
    >>> query is compiled('process where process.name == "cmd.exe"')
    True

Queries are immutable, so sharing one between callers and threads is safe. The cache
keeps the :data:`MAX_QUERIES` most recently used; :func:`clear` empties it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .options import SearchOptions

if TYPE_CHECKING:
    from .query import Query

__all__ = ["MAX_QUERIES", "clear", "compiled"]

MAX_QUERIES = 4096  # compiled queries kept per process (a large rule pack is about 1,100)


def compiled(text: str, options: SearchOptions | None = None) -> "Query":
    """The query ``text`` compiled with ``options`` (default options if None), compiled at
    most once per process while it stays among the :data:`MAX_QUERIES` last used.

    Raises what :func:`eqlmini.compile` raises; a failed compilation is not cached.
    """
    return _compile(text, _Options(options if options is not None else SearchOptions()))


def clear() -> None:
    """Forget every cached query."""
    _compile.cache_clear()


class _Options:
    """SearchOptions as a cache key: equal when every option is equal (``field_types``,
    a mapping, compared as its items)."""

    __slots__ = ("options", "_key")

    def __init__(self, options: SearchOptions) -> None:
        self.options = options
        self._key = tuple((f.name, _hashable(getattr(options, f.name))) for f in dataclasses.fields(options))

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Options) and self._key == other._key


def _hashable(value: Any) -> Any:
    return tuple(sorted(value.items())) if isinstance(value, Mapping) else value


@functools.lru_cache(maxsize=MAX_QUERIES)
def _compile(text: str, options: _Options) -> "Query":
    import eqlmini  # the package imports this module's users: import it when first needed

    settings = {f.name: getattr(options.options, f.name) for f in dataclasses.fields(options.options)}
    return eqlmini.compile(text, **settings)
