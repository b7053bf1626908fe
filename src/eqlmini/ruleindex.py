"""The RuleSet's index: for each rule's event queries, a literal test every event it matches passes.

A RuleSet (:mod:`ruleset`) shows an event only the event queries it could match, found by
what such an event must hold:

1. its category: ``process where ...`` needs ``process`` in the rule's category field;
2. one more required test on literals: ``field == "text"``, ``field in ("a", "b")``,
   ``field in~ (...)``, ``field : "text"`` (``like``, ``like~``), and for a wildcard pattern
   the first or last :data:`packgen.AFFIX` characters of its literal beginning or end
   (``"python*"``, ``"*\\cmd.exe"``), taken from the ``and`` of the condition (the
   cheapest one) or from every branch of an ``or`` (any of them). A test costs as many
   queries as test for the same values: a value many rules look for (``event.type ==
   "start"``) is likely common in events too. A text that reads as a number also equals
   numbers: any value that is not text reaches it. A field of a type that compares in its
   own order (a date, a version) is never looked up as text.

:func:`build` turns the tests into lookup tables, one per field, category by category,
and has :mod:`packgen` write the code that looks an event's values up in them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import ast, packgen
from .options import SearchOptions
from .patterns import fold
from .values import parse_number

_WILDCARD = re.compile(r"[*?]")
_LEAVES = (ast.Comparison, ast.Match, ast.In)  # the nodes a term can come from


@dataclass(frozen=True, slots=True)
class _Term:
    """A test every matching event passes: for some ``(lookup, keys)`` alternative, a value
    of the lookup's field, as text folded by patterns.fold, is in ``keys`` (folded too), or
    with a lookup of part ``"prefix"`` (``"suffix"``) its first (last) :data:`packgen.AFFIX`
    characters are.

    Folding makes a case-sensitive test looser, never stricter: the query, run on each
    event the index finds, decides. One table per lookup serves both kinds of test.
    """

    alternatives: tuple[tuple[packgen.Lookup, frozenset[str]], ...]


class _Bucket:
    """Queries to evaluate: ``always``, and those reached by looking a field's value up."""

    __slots__ = ("always", "tables")

    def __init__(self) -> None:
        self.always: set[int] = set()
        self.tables: dict[packgen.Lookup, dict[str, set[int]]] = {}

    def add(self, number: int, term: _Term | None) -> None:
        if term is None:
            self.always.add(number)
            return
        for lookup, keys in term.alternatives:
            table = self.tables.setdefault(lookup, {})
            for key in keys:
                table.setdefault(key, set()).add(number)

    def collector(self, more: packgen.Lookups = ()) -> packgen.Collect:
        """The generated lookups of this bucket (and ``more``)."""
        lookups = [(lookup, {key: tuple(sorted(numbers)) for key, numbers in table.items()})
                   for lookup, table in self.tables.items()]
        return packgen.collector(tuple(sorted(self.always)), [*lookups, *more])


def build(queries: Sequence[tuple[ast.EventQuery, SearchOptions]]) -> packgen.Collect:
    """``collect(event, found)``, which adds to ``found`` the number (position in ``queries``)
    of every query the event could match, and of a few more."""
    terms: list[dict[int, _Term | None]] = []  # per query: its nodes' terms, by node id
    # A value many queries test for is a common one (event.type "start", host.os.type
    # "windows"): a term costs as many queries as test for its values.
    mentions: dict[tuple[packgen.Lookup, str], int] = {}
    for query, options in queries:
        if query.category is not None:
            key = ((options.event_category_field, "text"), fold(query.category))
            mentions[key] = mentions.get(key, 0) + 1
        typed = _typed(options)
        terms.append({id(node): _leaf_term(node, typed) for node in ast.walk(query.where)
                      if node.__class__ in _LEAVES})
        for term in terms[-1].values():
            for lookup, keys in getattr(term, "alternatives", ()):
                for key in keys:
                    mentions[lookup, key] = mentions.get((lookup, key), 0) + 1

    def cost(term: _Term) -> tuple:
        total = sum(mentions[lookup, key] for lookup, keys in term.alternatives for key in keys)
        return (total, sum(len(keys) for _, keys in term.alternatives), repr(term))

    anywhere = _Bucket()
    by_category: dict[str, dict[str, _Bucket]] = {}
    for number, (query, options) in enumerate(queries):
        if query.category is None or parse_number(query.category) is not None:
            bucket = anywhere
        else:
            bucket = by_category.setdefault(options.event_category_field, {}).setdefault(
                fold(query.category), _Bucket())
        bucket.add(number, _cheapest(query.where, cost, lambda node: terms[number].get(id(node))))  # noqa: B023
    # One generated function per category, called from the one for the queries of any category.
    categories = [((field, "text"), {key: bucket.collector() for key, bucket in buckets.items()})
                  for field, buckets in by_category.items()]
    return anywhere.collector(categories)


def _typed(options: SearchOptions) -> frozenset[str]:
    """The fields that compare in their type's order (dates, versions), not as text."""
    return frozenset((options.timestamp_field, *options.field_types))


def _cheapest(condition: ast.Expr, cost: Callable[[_Term], Any],
              leaf: Callable[[ast.Expr], _Term | None]) -> _Term | None:
    """The cheapest indexable test that every event matching ``condition`` passes, if any:
    the cheapest of an ``and``'s parts, or the union of an ``or``'s parts."""
    if isinstance(condition, ast.And):
        return min(filter(None, (_cheapest(part, cost, leaf) for part in condition.terms)), key=cost, default=None)
    if isinstance(condition, ast.Or):
        parts = [_cheapest(part, cost, leaf) for part in condition.terms]
        if any(part is None for part in parts):
            return None
        return _Term(tuple(dict.fromkeys(alt for part in parts for alt in part.alternatives)))  # type: ignore
    return leaf(condition)


def _leaf_term(node: ast.Expr, typed: frozenset[str]) -> _Term | None:
    """A leaf as a :class:`_Term`, when an event passes it only with one of a few texts,
    or texts that begin or end with one of a few (a wildcard pattern's literal ends). A
    field in ``typed`` compares in its type's order, where other texts may be equal: none."""
    if isinstance(node, ast.Comparison) and node.op == "==":
        pair = (node.left, node.right) if isinstance(node.left, ast.Field) else (node.right, node.left)
        if isinstance(pair[0], ast.Field) and pair[0].name not in typed:
            if _text(pair[1]):
                return _term(pair[0].name, [pair[1].value])  # type: ignore[union-attr, list-item]
            if _number(pair[1]):
                return _Term((((pair[0].name, "number"), frozenset([pair[1].value])),))  # type: ignore[union-attr]
    if not isinstance(node, (ast.Match, ast.In)) or not isinstance(node.left, ast.Field) or node.left.name in typed:
        return None
    if (isinstance(node, ast.Match) and node.op in (":", "like", "like~")
            and all(isinstance(pattern.value, str) for pattern in node.patterns)):
        return _pattern_term(node.left.name, [pattern.value for pattern in node.patterns])  # type: ignore
    if isinstance(node, ast.In) and not node.negated and all(_text(item) for item in node.items):
        return _term(node.left.name, [item.value for item in node.items])  # type: ignore
    if isinstance(node, ast.In) and not node.negated and all(_number(item) for item in node.items):
        return _Term((((node.left.name, "number"), frozenset(item.value for item in node.items)),))  # type: ignore
    return None


def _term(field: str, texts: list[str]) -> _Term:
    """``field == text`` for one of ``texts``. A text that reads as a number equals text
    only as the same text, but equals numbers too: it has a ``"numeric text"`` lookup,
    which takes any value that is not text (see packgen)."""
    keys: dict[packgen.Lookup, set[str]] = {}
    for text in texts:
        keys.setdefault((field, "text" if parse_number(text) is None else "numeric text"), set()).add(fold(text))
    return _Term(tuple((lookup, frozenset(folded)) for lookup, folded in keys.items()))


def _pattern_term(field: str, patterns: list[str]) -> _Term | None:
    """Wildcard patterns as a term: each by its text (no wildcard), or by the first or last
    AFFIX characters of the literal text before its first or after its last wildcard."""
    keys: dict[packgen.Lookup, set[str]] = {}
    for pattern in patterns:
        pieces = _WILDCARD.split(pattern)
        head, tail = pieces[0], pieces[-1]
        if len(pieces) == 1:
            part, key = "text", fold(pattern)
        elif len(head) >= packgen.AFFIX:
            part, key = "prefix", fold(head[:packgen.AFFIX])
        elif len(tail) >= packgen.AFFIX:
            part, key = "suffix", fold(tail[-packgen.AFFIX:])
        else:
            return None  # `*` alone, or too short a literal end to look up
        keys.setdefault((field, part), set()).add(key)
    return _Term(tuple((lookup, frozenset(texts)) for lookup, texts in keys.items()))


def _text(node: ast.Expr) -> bool:
    """A string literal."""
    return isinstance(node, ast.Literal) and isinstance(node.value, str)


def _number(node: ast.Expr) -> bool:
    """A number literal (not a boolean, which equals no number)."""
    return isinstance(node, ast.Literal) and node.value.__class__ in (int, float)
