"""Field access over events as Elasticsearch sees them: nested dicts, dotted keys, lists.

Elasticsearch flattens a document before it indexes it: ``{"process": {"name": "a"}}``,
``{"process.name": "a"}`` and any mix of the two give the field ``process.name``; a list
(also a list of objects) gives a multi-valued field; ``null`` values are not indexed. A
getter returns what the field holds in the form cheapest to test:

* ``None`` when the field is missing, null or an empty list;
* the value itself when there is exactly one;
* a list of scalars (never nested, never holding None) when there are several or when the
  event stored a list (a one-element list may come back as it is).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Callable

from .values import SCALARS

Event = Mapping[str, Any]
Getter = Callable[[Event], Any]



def _collect(node: Any, splits: tuple, out: list[Any]) -> None:
    """Append the leaf values under ``node``; ``splits`` lists, per depth, the (key, rest) pairs."""
    if node.__class__ is list:
        for item in node:
            _collect(item, splits, out)
        return
    if not splits:
        if node is not None and not isinstance(node, Mapping):
            out.append(node)
        return
    if isinstance(node, Mapping):
        for key, rest in splits:
            if key in node:
                _collect(node[key], rest, out)


def _split_table(parts: tuple[str, ...]) -> tuple:
    """Every way a dict level can hold the rest of the path: ``a`` then ``b.c``, ``a.b`` then ``c``, ..."""
    return tuple((".".join(parts[:i]), _split_table(parts[i:])) for i in range(1, len(parts) + 1))


@lru_cache(maxsize=4096)
def getter(name: str) -> Getter:
    """A function that reads field ``name`` from an event (see the module docstring).

    The common shapes (a chain of plain dicts with no dotted keys along the way, ending in
    a scalar or a flat list of scalars) are answered with a few dict lookups; anything else
    falls back to a full walk over every way the dotted name can be split.
    """
    parts = tuple(name.split("."))
    splits = _split_table(parts)

    def slow(event: Event) -> Any:
        found: list[Any] = []
        _collect(event, splits, found)
        if not found:
            return None
        return found[0] if len(found) == 1 else found

    def finish(value: Any, event: Event) -> Any:
        if value.__class__ in SCALARS or value is None:
            return value
        if value.__class__ is list and value and all(item.__class__ in SCALARS for item in value):
            return value
        return slow(event)

    if len(parts) == 1:
        def get_one(event: Event) -> Any:
            value = event.get(name)
            return value if value.__class__ in SCALARS else finish(value, event)
        return get_one

    # Keys that would hold part of the path as one dotted key, per dict level: if any is
    # present, Elasticsearch merges its values in, so only the full walk is right.
    first, rest = parts[0], parts[1:]
    keys = dotted_keys(parts)
    top_dotted, inner = keys[0], tuple(zip(rest, keys[1:]))

    if len(parts) == 2:
        second = parts[1]
        dotted = name

        def get_two(event: Event) -> Any:
            node = event.get(first)
            if node.__class__ is dict and dotted not in event:
                value = node.get(second)
                return value if value.__class__ in SCALARS else finish(value, event)
            if node is None and dotted not in event:
                return None
            return slow(event)
        return get_two

    last = len(inner) - 1

    def get_many(event: Event) -> Any:
        node = event.get(first)
        if node is None or node.__class__ is dict:
            for key in top_dotted:
                if key in event:
                    return slow(event)
            if node is None:
                return None
            for index, (part, keys) in enumerate(inner):
                for key in keys:
                    if key in node:
                        return slow(event)
                node = node.get(part)
                if node.__class__ is not dict:
                    if index != last:  # the path stops short: a list of objects needs the walk
                        return slow(event) if node.__class__ is list else None
                    break
            else:
                return None  # the path ends on an object, which holds no value
            return node if node.__class__ in SCALARS else finish(node, event)
        return slow(event)
    return get_many


def dotted_keys(parts: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Per dict level along ``parts``, the dotted keys that would hold part of the path there."""
    return [tuple(".".join(parts[i:j]) for j in range(i + 2, len(parts) + 1)) for i in range(len(parts))]
