"""Generated code for a RuleSet's index: per category, one function that reads each indexed field once.

A RuleSet (:mod:`ruleset`) indexes its rules by literal texts a matching event must hold
in some field. For each category (and for the rules of no category) this module writes one
function ``collect(e, found)`` that reads each field the category's rules are indexed on
once per event, inlined as the compiler inlines a predicate's reads (the same emitter,
:class:`compiler._Emitter`, so the same safe constants: no text from a rule reaches the
source), folds its text values (or reads them as numbers) and looks each up in the
field's tables, which map a folded text (or its first or last characters, or a number) to
the rules testing the field for it: one dictionary lookup is the shared literal test of
every rule that tests the field for that text. ``found`` gathers the rule
numbers; a table may also map to another such function (the category's), which is called.

Events the inlined reads cannot take (not a dict, a list of objects along a path) make the
function start over on the full getters, as a compiled predicate does; a dotted key along
a path (``{"process.name": ...}``) makes that one field read through its getter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from . import ast, limits
from .compiler import _Emitter
from .fields import dotted_keys
from .patterns import fold
from .values import as_values, parse_number, texts as value_texts

Event = Mapping[str, Any]
Collect = Callable[[Event, set], None]
# A field, and what of its values is looked up: "text" (every value as folded text), its
# "prefix" or "suffix" (the first or last AFFIX characters of that), "numeric text" (a text
# value as text; any other value, which may equal a numeric text, reaches every rule), or
# "number" (every value as the number it is or reads as).
Lookup = tuple[str, str]
# Per lookup, its table: folded text (or its first or last AFFIX characters, or a number)
# -> rule numbers, or a Collect to call.
Lookups = Sequence[tuple[Lookup, Mapping[str, Any]]]
AFFIX = 4  # characters of a wildcard pattern's literal beginning or end that are looked up
_PARTS = {"prefix": f"[:{AFFIX}]", "suffix": f"[-{AFFIX}:]"}  # how a lookup slices the folded text


def collector(always: tuple[int, ...], lookups: Lookups) -> Collect:
    """``collect(e, found)``: add ``always`` and the rules the fields' values look up to ``found``."""
    return _build(always, lookups, _Fallback(always, lookups))


class _Fallback:
    """The collector on full getters, built the first time an event needs it."""

    def __init__(self, always: tuple[int, ...], lookups: Lookups) -> None:
        self.always, self.lookups = always, lookups
        self.collect: Collect | None = None

    def __call__(self, event: Event, found: set) -> None:
        if self.collect is None:
            self.collect = _build(self.always, self.lookups, None)
        self.collect(event, found)


def numbers(raw: Any) -> list[Any]:
    """What a field read returned, as the numbers a number equals (a numeric text counts,
    a boolean never), as the compiled ``field == 1`` reads them (runtime.any_number_in)."""
    found = []
    for value in as_values(raw):
        if value.__class__ is str:
            value = parse_number(value)
        if value.__class__ is int or value.__class__ is float:
            found.append(value)
    return found


def texts(raw: Any) -> tuple[str, ...]:
    """What a field read returned, as the texts the tables are keyed with (folded)."""
    if raw is None:
        return ()
    if raw.__class__ is str:
        return (fold(raw),)
    return tuple(map(fold, value_texts(raw)))


def _build(always: tuple[int, ...], lookups: Lookups, fallback: _Fallback | None) -> Collect:
    """The function's source, with reads inlined when a ``fallback`` (on full getters) backs them."""
    emitter = _Emitter(inline=fallback is not None)
    body = [f"found.update({emitter.const(always)})"] if always else []
    # Whether the event has a dotted key of its own ("process.name"), which may hold part
    # of a path: one test per event instead of one per field (a key that is not text
    # raises here, and the fallback's getters take the event).
    dotted = emitter.temporary()
    if emitter.inline:
        body.append(f"{dotted} = '.' in ''.join(e)")
    by_object: dict[str, dict[str, list[tuple[str, Mapping[str, Any]]]]] = {}
    for (field, part), table in lookups:
        parts = field.split(".")
        top = parts[0] if emitter.inline and 1 < len(parts) <= limits.INLINE_FIELD_PARTS else ""
        by_object.setdefault(top, {}).setdefault(field, []).append((part, table))
    for top, fields in by_object.items():
        lines = [line for field, tables in fields.items() for line in _lookups(emitter, field, tables, dotted)]
        if not top:
            body += lines
            continue
        # The fields under one top-level object are read only when the event has the object,
        # or a dotted key that holds part of one of their paths.
        holder = emitter.shared[top]
        keys = dict.fromkeys(key for field in fields for key in dotted_keys(tuple(field.split(".")))[0])
        body += [f"{holder} = _dget(e, {emitter.const(top)}, _NOTHING)",
                 f"if {holder} is not _NOTHING or {dotted} and ({_any_key(emitter, keys)}):",
                 *(f"    {line}" for line in lines)]
    body = body or ["pass"]
    if fallback is None:
        source = "def collect(e, found):\n" + "".join(f"    {line}\n" for line in body)
    else:
        source = ("def collect(e, found):\n    try:\n" + "".join(f"        {line}\n" for line in body)
                  + f"    except (AttributeError, TypeError):\n        {emitter.function(fallback)}(e, found)\n")
    return emitter.build(source, "collect")


def _any_key(emitter: _Emitter, keys: Iterable[str]) -> str:
    """Whether the event has one of these keys of its own."""
    return " or ".join(f"{emitter.const(key)} in e" for key in keys)


def _lookups(emitter: _Emitter, field: str, tables: list[tuple[str, Mapping[str, Any]]], dotted: str) -> list[str]:
    """Statements that read ``field`` once and look its values up in ``tables`` (per part);
    ``dotted`` names whether the event has a dotted key of its own."""
    parts = field.split(".")
    probe: str | None = None
    if emitter.inline and 1 < len(parts) <= limits.INLINE_FIELD_PARTS:
        if parts[0] not in emitter.shared:
            emitter.shared[parts[0]] = emitter.temporary()  # the top-level object: read by _build
        read, below = emitter.read(ast.Field(field), top_probes=False)
        probe = " or ".join(filter(None, [f"{dotted} and ({_any_key(emitter, dotted_keys(tuple(parts))[0])})", below]))
    else:
        read, _ = emitter.read(ast.Field(field))  # a top-level field, or read by the getter
    emitter.shared.update(emitter.fresh)  # the objects along the path serve the later reads
    emitter.fresh = {}
    value, key, hit = emitter.temporary(), emitter.temporary(), emitter.temporary()
    # The lookups of one folded text or one number, `key`. A text value: its folded text and
    # the number it reads as; any other value: its texts (and every rule of a "numeric
    # text" lookup) and its numbers.
    folded, number, by_text, every = [], [], [], []
    for part, table in tables:
        use = f"{hit}(e, found)" if any(callable(entry) for entry in table.values()) else f"found.update({hit})"
        lines = [f"{hit} = {emitter.const(table)}.get({key}{_PARTS.get(part, '')})", f"if {hit} is not None:",
                 f"    {use}"]
        if part == "number":
            number += lines
            continue
        folded += lines
        if part == "numeric text":
            every.append(f"found.update({emitter.const(tuple(sorted(set().union(*table.values()))))})")
        else:
            by_text += lines
    out = [f"{value} = {read}"]
    if probe:
        out += [f"if {probe}:", f"    {value} = {emitter.getter(ast.Field(field))}(e)"]
    out.append(f"if {value}.__class__ is str:")
    if folded:
        out += [f"    {key} = {value}.lower() if {value}.isascii() else _fold({value})", *(f"    {line}" for line in folded)]
    if number:
        out += [f"    {key} = {emitter.function(parse_number)}({value})", *(f"    {line}" for line in number)]
    out += [f"elif {value} is not None:", *(f"    {line}" for line in every)]
    for function, lines in ((texts, by_text), (numbers, number)):
        if lines:
            out += [f"    for {key} in {emitter.function(function)}({value}):", *(f"        {line}" for line in lines)]
    return out
