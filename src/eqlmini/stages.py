"""Stages in, results out: the data the sequence and sample matchers share.

A :class:`StageSpec` is one compiled stage (filter and join keys; the matchers never see EQL
text); a :class:`Result` is one sequence or sample, with :data:`MISSING` standing in for the
events of ``![...]`` stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .ordering import Event

__all__ = ["MISSING", "Event", "MissingEvent", "Result", "StageSpec"]


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


@dataclass(frozen=True, slots=True)
class Result:
    """One sequence or sample: its events in stage order and its join-key values."""

    events: tuple[Event, ...]
    join_keys: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class StageSpec:
    """A compiled stage: its filter, its join-key tuples, and whether it is ``![...]``.

    ``keys(event)`` lists every key tuple the event takes part under (the cartesian product
    of multi-valued keys, duplicates collapsed; ``[]`` when it cannot take part, ``[()]``
    for a query without keys).
    """

    matches: Callable[[Event], bool]
    keys: Callable[[Event], list[tuple]]
    missing: bool = False
