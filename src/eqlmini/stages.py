"""Stages in, results out: the data the sequence and sample matchers share.

A :class:`StageSpec` is one compiled stage (filter and join keys; the matchers never see EQL
text); a :class:`Result` is one sequence or sample, with :data:`MISSING` standing in for the
events of ``![...]`` stages.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TypeVar

from .fields import getter
from .ordering import Event

__all__ = ["MISSING", "Event", "MissingEvent", "Result", "StageSpec", "by_category"]
T = TypeVar("T")


class MissingEvent(dict):
    """Placeholder for a ``![...]`` stage in a result: ``{"missing": True}``.

    Read-only, and equal only to other placeholders (never to a real event that happens
    to hold ``missing: true``).
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(missing=True)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MissingEvent)

    def __ne__(self, other: object) -> bool:
        return not isinstance(other, MissingEvent)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "MissingEvent()"

    def __reduce__(self) -> tuple:
        return (MissingEvent, ())

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a MissingEvent placeholder is read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _read_only  # type: ignore


MISSING = MissingEvent()


@dataclass(frozen=True, slots=True, repr=False)
class Result:
    """One sequence or sample: its events in stage order and its join-key values.

    It pickles with its events; its repr is short (the join keys and the number of
    events) and Jupyter shows it as a table of its events.
    """

    events: tuple[Event, ...]
    join_keys: tuple[Any, ...]

    def __repr__(self) -> str:
        count = len(self.events)
        return f"<Result join_keys={_clip(repr(self.join_keys))}, {count} event{'s' if count != 1 else ''}>"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{i}</td><td><code>{html.escape(_clip(repr(event), 400))}</code></td></tr>"
            for i, event in enumerate(self.events))
        keys = html.escape(_clip(repr(self.join_keys)))
        return (f"<table><caption>Result, join keys <code>{keys}</code></caption>"
                f"<tr><th>stage</th><th>event</th></tr>{rows}</table>")


def _clip(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


@dataclass(frozen=True, slots=True)
class StageSpec:
    """A compiled stage: its filter, its join-key tuples, and whether it is ``![...]``.

    ``keys(event)`` lists every key tuple the event takes part under (the cartesian product
    of multi-valued keys, duplicates collapsed; ``[]`` when it cannot take part, ``[()]``
    for a query without keys). ``category`` is ``(field, value)`` when the filter can only
    match events whose ``field`` holds the string ``value`` (``process where ...``), so
    that matchers try a filter only on the events it can match (:func:`by_category`).
    """

    matches: Callable[[Event], bool]
    keys: Callable[[Event], list[tuple]]
    missing: bool = False
    category: tuple[str, str] | None = None


def by_category(entries: Sequence[tuple[StageSpec, T]]) -> Callable[[Event], tuple[T, ...]]:
    """A function from an event to the entries whose stage could match it, in their order.

    Each event's category is read once: a stage whose filter needs another category is
    left out; stages without a known category are always in. An event whose category is
    not plain text (a number, a str subclass, an object) gets every entry, so a filter
    never misses an event it would match.
    """
    everything = tuple(item for _, item in entries)
    fields = {spec.category[0] for spec, _ in entries if spec.category is not None}
    if len(fields) != 1:
        return lambda event: everything
    field = fields.pop()
    read = getter(field)
    values = {spec.category[1] for spec, _ in entries if spec.category is not None}
    table = {value: tuple(item for spec, item in entries if spec.category is None or spec.category[1] == value)
             for value in values}
    anywhere = tuple(item for spec, item in entries if spec.category is None)
    # `event.category` in the two shapes ECS events give it ("process", or ["process"]) is
    # read here directly; any other shape (a dotted key, a list of objects) by the getter.
    top, dot, name = field.partition(".")
    direct = bool(dot) and "." not in name

    def candidates(event: Event) -> tuple[T, ...]:
        node = event.get(top) if direct else None
        value = node.get(name) if node.__class__ is dict and field not in event else read(event)
        if value.__class__ is str:
            return table.get(value, anywhere)
        if value is None:
            return anywhere
        if value.__class__ is list:
            if len(value) == 1 and value[0].__class__ is str:
                return table.get(value[0], anywhere)
            if all(item.__class__ is str for item in value):
                held = set(value)
                return tuple(item for spec, item in entries if spec.category is None or spec.category[1] in held)
        return everything
    return candidates
