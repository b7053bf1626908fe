"""Field access over events as Elasticsearch sees them: nested dicts, dotted keys, lists.

Elasticsearch flattens a document before it indexes it: ``{"process": {"name": "a"}}``,
``{"process.name": "a"}`` and any mix of the two give the field ``process.name``; a list
(also a list of objects) gives a multi-valued field; ``null`` values are not indexed. A
getter returns what the field holds in the form cheapest to test:

* ``None`` when the field is missing, null or an empty list;
* the value itself when there is exactly one;
* a list of the values (never nested, never holding None) when there are several.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Mapping

Event = Mapping[str, Any]
Getter = Callable[[Event], Any]

_MISSING = object()


def _splits(parts: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Every (first key, rest of path) a dict level can hold: ``a``, ``a.b``, ``a.b.c``, ..."""
    return tuple((".".join(parts[:i]), parts[i:]) for i in range(1, len(parts) + 1))


def _collect(node: Any, parts: tuple[str, ...], out: list[Any]) -> None:
    """Append the leaf values found under ``node`` along ``parts`` (any split of dots)."""
    if node.__class__ is list:
        for item in node:
            _collect(item, parts, out)
        return
    if not parts:
        if node is not None and not isinstance(node, Mapping):
            out.append(node)
        return
    if not isinstance(node, Mapping):
        return
    for key, rest in _splits(parts):
        if key in node:
            _collect(node[key], rest, out)


def _simplify(values: list[Any]) -> Any:
    if not values:
        return None
    return values[0] if len(values) == 1 else values


@lru_cache(maxsize=4096)
def getter(name: str) -> Getter:
    """A function that reads field ``name`` from an event (see the module docstring).

    The common shapes (all nested, or the whole dotted name as one key, holding a scalar)
    are answered without building lists; anything else falls back to a full walk.
    """
    parts = tuple(name.split("."))
    if len(parts) == 1:
        return _single_key_getter(name)

    head, tail = parts[0], parts[1:]
    # Dotted keys that could hold part of the path, per dict level along the chain.
    # Elasticsearch merges values found under such keys with the nested ones, so the
    # fast path may only answer when none of them is present.
    dotted = tuple(
        (part, tuple(".".join(parts[i:j]) for j in range(i + 2, len(parts) + 1)))
        for i, part in enumerate(parts[:-1])
    )

    def has_dotted_key(node: Any) -> bool:
        for part, keys in dotted:
            for key in keys:
                if key in node:
                    return True
            node = node.get(part)
            if node.__class__ is not dict:
                return False
        return False

    def get(event: Event) -> Any:
        # Fast path: a dict chain with no flat dotted keys and a scalar (or nothing) at the end.
        node = event.get(head, _MISSING)
        if node.__class__ is dict:
            for part in tail:
                node = node.get(part, _MISSING)
                if node.__class__ is not dict:
                    break
        if (node is _MISSING or node.__class__ in _SCALARS) and not has_dotted_key(event):
            return None if node is _MISSING else node
        values: list[Any] = []
        _collect(event, parts, values)
        return _simplify(values)

    return get


_SCALARS = frozenset({str, int, float, bool})


def _single_key_getter(name: str) -> Getter:
    def get(event: Event) -> Any:
        value = event.get(name)
        if value is None or value.__class__ in _SCALARS:
            return value
        values: list[Any] = []
        _collect(value, (), values)
        return _simplify(values)

    return get


def values(event: Event, name: str) -> list[Any]:
    """All values of field ``name`` in ``event`` as a list (empty when missing)."""
    value = getter(name)(event)
    if value is None:
        return []
    return value if value.__class__ is list else [value]
