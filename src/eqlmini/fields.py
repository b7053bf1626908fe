"""Field access over events as Elasticsearch sees them: nested dicts, dotted keys, lists.

Elasticsearch flattens a document before it indexes it: ``{"process": {"name": "a"}}``,
``{"process.name": "a"}`` and any mix of the two give the field ``process.name``; a list
(also a list of objects) gives a multi-valued field; ``null`` values are not indexed. A
getter returns what the field holds in the form cheapest to test, its values made plain
(:func:`values.plain`: a numpy number is a Python number, NaN is null, a tuple is a list):

* ``None`` when the field is missing, null or an empty list;
* the value itself when there is exactly one;
* a list of scalars (never nested, never holding None) when there are several or when the
  event stored a list (a one-element list may come back as it is).

The work is linear in the name and the event: a walk tries, at each object, only the keys
that can continue the path, and a name of more than ``limits.INLINE_FIELD_PARTS`` parts is
matched against the keys an object has instead of every way to split the name.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Callable

from . import limits
from .values import ALWAYS_VALUES, as_event, expand, list_items, plain_values

Event = Mapping[str, Any]
Getter = Callable[[Event], Any]


def getter(name: str) -> Getter:
    """A function that reads field ``name`` from an event (see the module docstring).

    The common shapes (a chain of plain dicts with no dotted keys along the way, ending in
    a scalar or a flat list of scalars) are answered with a few dict lookups; anything else
    falls back to a full walk over the event. A non-mapping event is an EqlEventError.
    """
    if len(name) <= limits.GETTER_CACHE_NAME_CHARS:
        return _cached_getter(name)
    return _make_getter(name)


def walker(name: str) -> Callable[[Event], list[Any]]:
    """A function that returns every value stored under ``name`` in an event, made plain: at
    each object, the values under shorter keys first (``a`` before ``a.b``); a list's in order."""
    parts = name.split(".")
    count = len(parts)
    starts = [0]  # where each part begins in the name
    for part in parts[:-1]:
        starts.append(starts[-1] + len(part) + 1)
    # A key that ends where part j - 1 ends continues the path at part j.
    after = {start - 1: index for index, start in enumerate(starts) if index} | {len(name): count}
    table = None
    if count <= limits.INLINE_FIELD_PARTS:  # few parts: look up each way the rest can be spelled
        table = [[(".".join(parts[i:j]), j) for j in range(i + 1, count + 1)] for i in range(count)]

    def children(node: Mapping[str, Any], index: int) -> list[tuple[Any, int]]:
        if table is not None:
            return [(node[key], after) for key, after in table[index] if key in node]
        start = starts[index]
        found = []
        for key in node:  # many parts: only keys that spell the path from here can continue it
            if key.__class__ is str and name.startswith(key, start):
                following = after.get(start + len(key))
                if following is not None:
                    found.append((node[key], following))
        return sorted(found, key=lambda pair: pair[1])  # shorter keys first, as the table has them

    def walk(event: Event) -> list[Any]:
        leaves = []
        stack = [(as_event(event), 0)]
        while stack:
            node, index = stack.pop()
            items = list_items(node)
            if items is not None:
                stack.extend((item, index) for item in reversed(expand(items)))
            elif index == count:
                leaves.append(node)
            elif isinstance(node, Mapping):
                stack.extend(reversed(children(node, index)))
        return plain_values(leaves)
    return walk


@lru_cache(maxsize=4096)
def _cached_getter(name: str) -> Getter:
    return _make_getter(name)


def _make_getter(name: str) -> Getter:
    walk = walker(name)

    def slow(event: Event) -> Any:
        found = walk(event)
        if not found:
            return None
        return found[0] if len(found) == 1 else found

    def finish(value: Any, event: Event) -> Any:
        if value is None:
            return None
        if value.__class__ is float:
            return value if value == value else None  # NaN is null
        if value.__class__ is list and value and all(
                item.__class__ in ALWAYS_VALUES or item.__class__ is float and item == item for item in value):
            return value
        return slow(event)  # an odd type, a nested list, an object ...

    parts = tuple(name.split("."))
    if len(parts) == 1:
        def get_one(event: Event) -> Any:
            try:
                value = event.get(name)
            except AttributeError:  # not a mapping: the walk says so
                return slow(event)
            return value if value.__class__ in ALWAYS_VALUES else finish(value, event)
        return get_one
    if len(parts) > limits.INLINE_FIELD_PARTS:
        return slow
    if len(parts) == 2:
        first, second = parts

        def get_two(event: Event) -> Any:
            try:
                node = event.get(first)
            except AttributeError:
                return slow(event)
            if node.__class__ is dict and name not in event:
                value = node.get(second)
                return value if value.__class__ in ALWAYS_VALUES else finish(value, event)
            if node is None and name not in event:
                return None
            return slow(event)
        return get_two

    # Keys that would hold part of the path as one dotted key, per dict level: if any is
    # present, Elasticsearch merges its values in, so only the full walk is right.
    first, rest = parts[0], parts[1:]
    keys = dotted_keys(parts)
    top_dotted, inner = keys[0], tuple(zip(rest, keys[1:]))
    last = len(inner) - 1

    def get_many(event: Event) -> Any:
        try:
            node = event.get(first)
        except AttributeError:
            return slow(event)
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
                        return None if node is None or node.__class__ in ALWAYS_VALUES else slow(event)
                    break
            else:
                return None  # the path ends on an object, which holds no value
            return node if node.__class__ in ALWAYS_VALUES else finish(node, event)
        return slow(event)
    return get_many


def dotted_keys(parts: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Per dict level along ``parts``, the dotted keys that would hold part of the path there
    (quadratic in the parts: for names of at most ``limits.INLINE_FIELD_PARTS`` parts)."""
    return [tuple(".".join(parts[i:j]) for j in range(i + 2, len(parts) + 1)) for i in range(len(parts))]
