"""RuleSet: many rules over one pass of the events, each event shown only the rules it could match.

The naive way tries every rule on every event. A RuleSet indexes the rules instead, by
its category and one more literal test a matching event must pass (:mod:`ruleindex`),
looked up by generated code (:mod:`packgen`): one function per category, which reads each
field it is indexed on once per event and looks its values up in one table per field, the
shared literal test of every rule that tests the field for that text.

Each rule reached is then decided: an event rule by its predicate; a sequence or sample
rule (indexed by each of its stages, ``until`` and ``![...]`` included) by the filter of
a stage the index found, and its matcher is pushed only the events one of its stages
matches: the others change nothing but how soon a result becomes final.

For fewer rules than :data:`INDEX_FROM` the RuleSet tries each rule on each event instead.
"""

from __future__ import annotations

import html
import logging
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from . import ast, frames, ruleindex
from .errors import EqlError, EqlEventError
from .fields import getter
from .ordering import ordered as in_time_order
from .query import Query
from .rules import Rule
from .sequences import MissingEvent

__all__ = ["INDEX_FROM", "Alert", "RuleSet"]

Event = Mapping[str, Any]
OnEventError = Callable[[int, EqlEventError], None]
_log = logging.getLogger(__name__)
# From this many rules on, the index pays for itself (benchmarks/ruleset.py --index-cost:
# it cost more than the rules' predicates at 8 rules, less at 12, in four runs).
INDEX_FROM = 12


@dataclass(frozen=True, slots=True)
class Alert:
    """A rule's match: its events (one, or a sequence's or sample's) and join-key values.

    ``timestamp`` is the value of the rule's timestamp field in the last event.
    """

    rule: Rule
    events: tuple[Event, ...]
    join_keys: tuple[Any, ...]
    timestamp: Any

    @property
    def severity(self) -> str:
        """The rule's severity: low, medium, high or critical."""
        return self.rule.severity

    @property
    def risk_score(self) -> int:
        """The rule's risk score, 0 to 100."""
        return self.rule.risk_score  # type: ignore[return-value]  # set by Rule

    def __repr__(self) -> str:
        keys = f", join_keys={self.join_keys!r}" if self.join_keys else ""
        return (f"Alert(rule={self.rule.name!r}, severity={self.severity!r}, timestamp={self.timestamp!r}, "
                f"events={len(self.events)}{keys})")

    def _repr_html_(self) -> str:
        """The alert in a notebook: its rule, severity, time, join keys and events (escaped)."""
        rows = [("rule", self.rule.name), ("severity", f"{self.severity} ({self.risk_score})"),
                ("timestamp", self.timestamp), *((("join keys", self.join_keys),) if self.join_keys else ()),
                *((f"event {n}", event) for n, event in enumerate(self.events, 1))]
        cells = "".join(f"<tr><th style='text-align:left'>{html.escape(name)}</th>"
                        f"<td style='text-align:left'><code>{html.escape(str(value))}</code></td></tr>"
                        for name, value in rows)
        return f"<table>{cells}</table>"


class RuleSet:
    """Rules run together over one pass of the events (see the module docstring)."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        # Sequences, and pipes of event queries, depend on the order of the events.
        self._timed = frozenset(i for i, r in enumerate(self.rules)
                                if r.query.kind == "sequence" or (r.query.kind == "event" and r.query.tree.pipes))
        orders = {(self.rules[i].query.options.timestamp_field, self.rules[i].query.options.tiebreaker_field)
                  for i in self._timed}
        if len(orders) > 1:
            raise EqlError("the rules of a RuleSet that need events in time order (sequences, pipes) "
                           "must share timestamp_field and tiebreaker_field")
        self._order = self.rules[min(self._timed)].query.order() if self._timed else None
        self._timestamps = tuple(getter(rule.query.options.timestamp_field) for rule in self.rules)
        # An event rule is called on each event; any other (and one with pipes) gets a matcher.
        self._predicates: tuple[Callable[[Event], bool] | None, ...] = tuple(
            rule.query.match if rule.query.kind == "event" and not rule.query.tree.pipes else None
            for rule in self.rules)
        # What the index reaches: per rule, its event query, or one entry per stage (see _entries).
        entries = [entry for i, rule in enumerate(self.rules) for entry in _entries(i, rule.query)]
        self._entries = tuple((i, test, final) for i, _, test, final in entries)
        # Without the index, each rule once per event: its predicate, or its matcher pushed the event.
        self._everyone = tuple((i, match or _every_event, match is not None)
                               for i, match in enumerate(self._predicates))
        self._collect = ruleindex.build([(query, self.rules[i].query.options) for i, query, _, _ in entries])

    def __reduce__(self) -> tuple:
        # Rebuilt from its rules (each rebuilt from its text and metadata): compiled code
        # does not pickle, and the index is cheap to build again.
        return (RuleSet, (self.rules,))

    def __repr__(self) -> str:
        names = ", ".join(repr(rule.name) for rule in self.rules[:3])
        more = f", ... ({len(self.rules)} rules)" if len(self.rules) > 3 else ""
        return f"RuleSet([{names}{more}])"

    @property
    def ordered(self) -> bool:
        """Whether events must come in time order (sequence rules, or pipes): see :meth:`scan`."""
        return self._order is not None

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def scan(self, events: Iterable[Event], *, assume_sorted: bool | None = None, indexed: bool | None = None,
             on_event_error: OnEventError | None = None) -> Iterator[Alert]:
        """Run every rule over ``events`` and yield alerts as they become final.

        With sequence rules (or pipes), events must come in (timestamp, tiebreaker) order, as
        for :meth:`Query.search`: a list is sorted if needed, any other iterable is checked
        as it streams (EqlEventError when out of order), ``assume_sorted=False`` sorts it
        in memory. ``indexed``: None (default) uses the index from :data:`INDEX_FROM`
        rules on, True always, False never: ``indexed=False`` tries every rule on every
        event, the reference the index is tested and measured against; all three yield
        the same alerts.

        An event that is not a mapping, or has no place in time (no timestamp, a bad
        timestamp or tiebreaker), does not stop the scan: ``on_event_error(position,
        error)`` hears of it (``position``: its index in ``events``, from 0), by default
        as a warning on the ``eqlmini.ruleset`` logger. No rule sees an event that is not
        a mapping; the rules that need no order (event rules without pipes, samples) still
        see one without a place in time, after the others from a list, where it comes in
        a stream. A DataFrame or Arrow Table gives its alerts as a frame (eqlmini.frames).
        """
        if frames.kind_of(events) is not None:
            return frames.scan(self, events, assume_sorted=assume_sorted, indexed=indexed,
                               on_event_error=on_event_error)
        use_index = len(self.rules) >= INDEX_FROM if indexed is None else indexed
        if self._order is None and not use_index and None not in self._predicates:
            return self._each_rule_on_each_event(events, on_event_error or _warn)
        return self._scan(events, assume_sorted, use_index, on_event_error)

    def _each_rule_on_each_event(self, events: Iterable[Event], on_error: OnEventError) -> Iterator[Alert]:
        """The plain loop, for a few event rules without pipes."""
        rules = list(zip(self.rules, self._predicates, self._timestamps))
        for position, event in enumerate(events):
            if event.__class__ is not dict and not isinstance(event, Mapping):
                on_error(position, _not_an_event(event))
                continue
            for rule, match, stamp in rules:
                if match(event):  # type: ignore[misc]  # every predicate is set here
                    yield Alert(rule, (event,), (), stamp(event))

    def _scan(self, events: Iterable[Event], assume_sorted: bool | None, indexed: bool,
              on_error: OnEventError | None) -> Iterator[Alert]:
        """The general loop: matchers for sequences, samples and pipes; the index if asked."""
        events, position_of = _mappings(events, on_error or _warn)
        if self._order is None:
            stream: Iterable[tuple[Event, bool]] = zip(events, repeat(True))
        else:
            untimed = on_error or _warn_untimed
            stream = self._in_time(events, assume_sorted, lambda at, error: untimed(position_of(at), error))
        matchers = {i: rule.query.matcher() for i, rule in enumerate(self.rules) if self._predicates[i] is None}
        everyone = self._everyone
        reach = self._reach if indexed else lambda event: everyone
        rules, timed, timestamps = self.rules, self._timed, self._timestamps
        for event, in_time in stream:
            done = -1  # the last rule decided for this event: a rule's entries are next to each other
            for i, test, final in reach(event):
                if i != done and test(event):
                    done = i
                    if final:  # an event rule's predicate
                        yield Alert(rules[i], (event,), (), timestamps[i](event))
                    elif in_time or i not in timed:
                        for result in matchers[i].push(event):
                            yield self._alert(i, result.events, result.join_keys)
        for i, matcher in matchers.items():
            for result in matcher.close():
                yield self._alert(i, result.events, result.join_keys)

    def _in_time(self, events: Iterable[Event], assume_sorted: bool | None,
                 on_error: OnEventError) -> Iterator[tuple[Event, bool]]:
        """``(event, has a place in time)`` in (timestamp, tiebreaker) order (see :meth:`scan`)."""
        unplaced: list[Event] = []

        def note(position: int, event: Event, error: EqlEventError) -> None:
            on_error(position, error)
            unplaced.append(event)
        batch = assume_sorted is False or (assume_sorted is None and isinstance(events, (list, tuple)))
        for event in in_time_order(events, self._order, assume_sorted=assume_sorted,  # type: ignore[arg-type]
                                   on_error=note):
            if unplaced and not batch:  # in a stream, where it came
                yield from zip(unplaced, repeat(False))
                unplaced.clear()
            yield event, True
        yield from zip(unplaced, repeat(False))  # from a list, after the others

    def candidates(self, event: Event) -> list[Rule]:
        """The rules the index shows ``event`` to (every rule that could match it, and others):
        an event rule the index reaches; a sequence, sample or piped rule only when the event
        passes the filter of one of its stages (or the piped query's condition)."""
        reached = (i for i, test, final in self._reach(event) if final or test(event))
        return [self.rules[i] for i in dict.fromkeys(reached)]

    def _alert(self, i: int, events: tuple[Event, ...], join_keys: tuple[Any, ...]) -> Alert:
        last = next((event for event in reversed(events) if not isinstance(event, MissingEvent)), None)
        return Alert(self.rules[i], events, join_keys, None if last is None else self._timestamps[i](last))

    def _reach(self, event: Event) -> list[tuple[int, Callable[[Event], bool], bool]]:
        """The entries the index reaches for ``event``, in rule order."""
        found: set[int] = set()
        self._collect(event, found)
        entries = self._entries
        return [entries[entry] for entry in sorted(found)]

def _entries(i: int, query: Query) -> list[tuple[int, ast.EventQuery, Callable[[Event], bool], bool]]:
    """What the index reaches for rule ``i``: ``(i, event query, test, final)``. An event
    rule without pipes has one, its predicate (final: true is an alert); any other rule
    one per stage (``until`` and ``![...]`` included) with the stage's filter, or its
    query's predicate when it has pipes: only the events that pass one of these change what
    the rule's matcher finds (the others only tell it that time went by), so only those
    are pushed to it."""
    body = query.tree.body
    if isinstance(body, ast.EventQuery):
        return [(i, body, query.match, not query.tree.pipes)]
    specs = list(dict.fromkeys(query._stages))  # a stage `with runs=N` is there N times
    stages = [*zip(body.stages, specs, strict=True),
              *([(body.until, query._until)] if isinstance(body, ast.Sequence) and body.until else [])]
    return [(i, stage.query, spec.matches, False) for stage, spec in stages]  # type: ignore[union-attr]


def _every_event(event: Event) -> bool:
    return True


def _warn(position: int, error: EqlEventError) -> None:
    _log.warning("event %d (counting from 0): %s", position, error.message)


def _warn_untimed(position: int, error: EqlEventError) -> None:
    _log.warning("event %d (counting from 0): %s; only the rules that need no time order saw it",
                 position, error.message)


def _not_an_event(value: object) -> EqlEventError:
    return EqlEventError(f"not an event: a {type(value).__name__}, not a mapping; no rule saw it")


def _mappings(events: Iterable[Event], on_error: OnEventError) -> tuple[Iterable[Event], Callable[[int], int]]:
    """The events that are mappings (a list stays a list), each other one reported; and
    the position in ``events`` of the event at a position among them."""
    before: list[int] = []  # for each event left out: how many were kept before it

    def position_of(kept: int) -> int:
        return kept + bisect_right(before, kept)

    def kept() -> Iterator[Event]:
        count = 0
        for position, event in enumerate(events):
            if event.__class__ is dict or isinstance(event, Mapping):
                count += 1
                yield event
            else:
                before.append(count)
                on_error(position, _not_an_event(event))
    return (list(kept()) if isinstance(events, (list, tuple)) else kept()), position_of
