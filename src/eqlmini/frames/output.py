"""Results and alerts as frames: one row per event, numbered, with the event's columns.

A result (a sequence, a sample, or one event) gives a row per event: ``result`` (its number,
from 0), ``stage`` (the event's place in it, from 0), ``join_key_0``, ``join_key_1``, ...
(its join-key values), then the event's columns. An alert gives ``alert``, ``rule_name``,
``rule_id``, ``severity``, ``risk_score``, ``stage``, its join keys, then the event's columns.

In Polars and Arrow, a join-key column whose values differ in type (a rule pack joins some
rules on text, others on numbers) holds them as text. Events read from a frame add ``row`` (the event's position in that frame) and keep the
frame's own columns and types; a ``![...]`` stage's placeholder is a row of nulls. Events
given as dicts are flattened to dotted column names, as ``pandas.json_normalize`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..errors import EqlError
from ..stages import MissingEvent
from ..values import to_text
from .tables import TABLES, Table


@dataclass(frozen=True)
class Item:
    """A result or an alert reduced to what a frame shows of it."""

    events: tuple[Any, ...]  # event dicts, or row positions (None for a missing event)
    join_keys: tuple[Any, ...]
    rule: Any = None  # the Rule, for an alert


def item_of(thing: Any) -> Item:
    """An :class:`Item` from a ``Result`` or an ``Alert`` (an alert has a ``rule``)."""
    if not (hasattr(thing, "events") and hasattr(thing, "join_keys")):
        raise EqlError(f"to_frame takes results or alerts, not {type(thing).__name__}")
    return Item(tuple(thing.events), tuple(thing.join_keys), getattr(thing, "rule", None))


def _head(items: list[Item], alerts: bool) -> dict[str, list[Any]]:
    """The columns before the event's own: numbers, the rule, stage, join keys."""
    width = max((len(item.join_keys) for item in items), default=0)
    columns: dict[str, list[Any]] = {"alert" if alerts else "result": []}
    if alerts:
        columns.update(rule_name=[], rule_id=[], severity=[], risk_score=[])
    columns["stage"] = []
    keys = [columns.setdefault(f"join_key_{i}", []) for i in range(width)]
    for number, item in enumerate(items):
        for stage in range(len(item.events)):
            columns["alert" if alerts else "result"].append(number)
            if alerts:
                columns["rule_name"].append(item.rule.name)
                columns["rule_id"].append(item.rule.rule_id)
                columns["severity"].append(item.rule.severity)
                columns["risk_score"].append(item.rule.risk_score)
            columns["stage"].append(stage)
            for i, values in enumerate(keys):
                values.append(item.join_keys[i] if i < len(item.join_keys) else None)
    return columns


def _typed_keys(head: dict[str, list[Any]], kind: str) -> None:
    """Polars and Arrow need one type per column: a join-key column whose values have several
    (text for one rule, numbers for another) holds them as text, as Elasticsearch's
    keyword fields show them."""
    if kind == "pandas":
        return
    for name, values in head.items():
        if name.startswith("join_key_") and len({value.__class__ for value in values if value is not None}) > 1:
            head[name] = [None if value is None else to_text(value) for value in values]


def from_rows(table: Table, items: list[Item], alerts: bool) -> Any:
    """A frame of ``items`` whose events are row positions in ``table``."""
    head = _head(items, alerts)
    _typed_keys(head, table.kind)
    head["row"] = [row for item in items for row in item.events]
    clash = sorted(set(head) & {name for name in table.names if isinstance(name, str)})
    if clash:
        raise EqlError(f"the frame has columns named like those eqlmini adds: {', '.join(clash)}; rename them")
    return table.beside(table.build(head), table.take_or_null(head["row"]))


def from_events(kind: str, items: list[Item], alerts: bool) -> Any:
    """A frame of ``kind`` of ``items`` whose events are dicts, flattened to dotted names."""
    if kind not in TABLES:
        raise EqlError(f"unknown frame kind {kind!r}: use one of {', '.join(TABLES)}")
    head = _head(items, alerts)
    _typed_keys(head, kind)
    records = [{} if isinstance(event, MissingEvent) else flatten(event) for item in items for event in item.events]
    names = list(dict.fromkeys(name for record in records for name in record))
    clash = sorted(set(head) & set(names))
    if clash:
        raise EqlError(f"the events have fields named like the columns eqlmini adds: {', '.join(clash)}")
    for name in names:
        head[name] = [record.get(name) for record in records]
    return TABLES[kind].build(head)


def flatten(event: Mapping[str, Any], prefix: str = "", into: dict[str, Any] | None = None) -> dict[str, Any]:
    """A nested event as one level of dotted names (lists stay as they are). A name given
    both nested and dotted (``{"a": {"b": 1}, "a.b": 2}``) holds both values, in a list."""
    flat: dict[str, Any] = {} if into is None else into
    for key, value in event.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):  # an empty object holds no field: no column
            flatten(value, f"{name}.", flat)
        elif name in flat:
            flat[name] = [*_as_list(flat[name]), *_as_list(value)]
        else:
            flat[name] = value
    return flat


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def items_of(things: Iterable[Any]) -> tuple[list[Item], bool]:
    """Items, and whether they are alerts (all of them must be of one kind)."""
    items = [item_of(thing) for thing in things]
    kinds = {item.rule is not None for item in items}
    if len(kinds) > 1:
        raise EqlError("to_frame takes results or alerts, not both at once")
    return items, kinds == {True}
