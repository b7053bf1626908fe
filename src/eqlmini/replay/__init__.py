"""Replay: what rules would have raised in production, run by run, as Kibana schedules them.

>>> import eqlmini
>>> rule = eqlmini.Rule("cmd", 'process where process.name == "cmd.exe"', interval="5m", from_="now-9m")
>>> events = [{"@timestamp": "2024-05-01T12:01:00Z", "event": {"category": "process"},
...            "process": {"name": "cmd.exe"}}]
>>> result = eqlmini.replay(rule, events, start="2024-05-01T12:00:00Z")
>>> [(iso(e.started), e.results, len(e.created), e.duplicates) for e in result.executions]
[('2024-05-01T12:00:00.000Z', 0, 0, 0), ('2024-05-01T12:05:00.000Z', 1, 1, 0), ('2024-05-01T12:10:00.000Z', 1, 0, 1)]
>>> result.alerts[0].delay   # ms from the event to the run that raised the alert
240000

See docs/replay.md for what is simulated, from which part of Kibana's source, and the
choices made where Kibana leaves something open.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..rules import Rule
from .compare import compare
from .documents import Delay, Index, delay_function
from .engine import RuleRuns, full_scan
from .results import REASONS, Execution, Miss, ReplayAlert, RuleReplay, iso
from .timing import MAX_ALERTS_PER_RUN, Schedule, changed, instant, run_times, windows

__all__ = ["REASONS", "Execution", "Miss", "Replay", "ReplayAlert", "RuleReplay", "Schedule", "changed", "iso",
           "replay"]

Event = Mapping[str, Any]
DAY = 86_400_000


def replay(rule_or_rules: Rule | Iterable[Rule], events: Iterable[Event], *, start: Any = None, end: Any = None,
           delay: Delay = None, seed: int = 0, outages: Iterable[tuple[Any, Any]] = (),
           max_alerts_per_run: int = MAX_ALERTS_PER_RUN) -> "Replay":
    """Simulate Kibana's scheduled runs of each rule over ``events``; compare with one scan.

    Runs start at ``start`` (default: the earliest time a window can place an event by) and
    follow every ``interval`` for as long as their window reaches ``end`` (default: the
    latest such time or arrival), so that every run that sees the last events is made. ``delay`` simulates ingest delay for events without ``event.ingested``:
    a duration (``"2m"``, or ms), a range drawn per event (``"1m..10m"``, seeded by ``seed``)
    or a function of the event. ``outages`` are ``(from, to)`` spans in which no run starts,
    to see Kibana's gap catch-up. Times are ISO-8601 text, epoch ms or datetimes.
    ``max_alerts_per_run`` is Kibana's cap on ``max_signals``.
    """
    rules = [rule_or_rules] if isinstance(rule_or_rules, Rule) else list(rule_or_rules)
    events = events if isinstance(events, (list, tuple)) else list(events)
    late = delay_function(delay, seed)
    down = [(instant(lo, "outage"), instant(hi, "outage")) for lo, hi in outages]
    planned = []
    indexes: dict[tuple, Index] = {}
    for rule in rules:
        schedule = Schedule.of(rule, max_alerts_per_run=max_alerts_per_run)
        reading = (rule.query.options.timestamp_field, schedule.timestamp_override, schedule.fallback)
        if reading not in indexes:
            indexes[reading] = Index(events, timestamp_field=reading[0], override=reading[1], fallback=reading[2],
                                     delay=late)
        planned.append((rule, schedule, indexes[reading]))
    spans = [span for index in indexes.values() if (span := index.span()) is not None]
    first = instant(start, "start") if start is not None else min((lo for lo, _ in spans), default=None)
    last = instant(end, "end") if end is not None else max((hi for _, hi in spans), default=None)
    outcomes = []
    for rule, schedule, index in planned:
        runs = RuleRuns(rule, schedule, index)
        executions = runs.run(() if first is None or last is None else
                              windows(schedule, run_times(first, last, schedule, down)))
        full = full_scan(rule, runs.index, runs.key)
        scanned, missed, unexpected = compare(runs, runs.windows, runs.index, full)
        alerts = sorted(runs.created.values(), key=lambda alert: (alert.time, alert.event_time))
        outcomes.append(RuleReplay(rule, schedule, executions, alerts, scanned, missed, unexpected, runs.notes))
    unplaced = len(events) - max((index.placed for index in indexes.values()), default=0)
    return Replay(outcomes, first, last, len(events), unplaced)


@dataclass(eq=False)
class Replay:
    """The replay of each rule (``rules``), over ``start``..``end`` (epoch ms; None when no
    event could be placed in time); ``events`` read, ``unplaced`` of them in no window."""

    rules: list[RuleReplay]
    start: int | float | None
    end: int | float | None
    events: int
    unplaced: int

    @property
    def executions(self) -> list[Execution]:
        """Every search of every rule, by start time."""
        return sorted((e for r in self.rules for e in r.executions), key=lambda e: (e.started, e.start))

    @property
    def alerts(self) -> list[ReplayAlert]:
        """Every alert raised, by the time its run started."""
        return sorted((a for r in self.rules for a in r.alerts), key=lambda a: (a.time, a.event_time))

    @property
    def missed(self) -> list[Miss]:
        """Every match of the whole-history scans that raised no alert, by time."""
        return sorted((m for r in self.rules for m in r.missed), key=lambda m: (m.event_time is None, m.event_time or 0))

    def per_day(self) -> dict[str, Counter[str]]:
        """Alerts per UTC day (``2024-05-01``), per rule name; days without alerts included."""
        days: dict[str, Counter[str]] = {}
        if self.start is not None and self.end is not None:
            for day in range(int(self.start // DAY), int(self.end // DAY) + 1):
                days[str(iso(day * DAY))[:10]] = Counter()
        for alert in self.alerts:
            days.setdefault(str(iso(alert.time))[:10], Counter())[alert.rule.name] += 1
        return days

    def summary(self) -> dict[str, Any]:
        """The figures of the replay as one JSON-ready mapping: per rule, per day, delays."""
        delays = [alert.delay for alert in self.alerts]
        return {"start": iso(self.start), "end": iso(self.end), "events": self.events, "unplaced": self.unplaced,
                "alerts": len(self.alerts), "delay": _spread(delays),
                "rules": [_rule_summary(outcome) for outcome in self.rules],
                "days": {day: dict(counts) for day, counts in self.per_day().items()}}


def _rule_summary(outcome: RuleReplay) -> dict[str, Any]:
    executions = outcome.executions
    return {
        "rule": outcome.rule.name, "rule_id": outcome.rule.rule_id, "kind": outcome.rule.query.kind,
        "schedule": outcome.schedule.describe(),
        "runs": len({e.run for e in executions}), "searches": len(executions),
        "catchup": sum(e.catchup for e in executions), "uncovered_ms": round(sum(e.uncovered for e in executions)),
        "alerts": len(outcome.alerts), "building_blocks": sum(a.building_blocks for a in outcome.alerts),
        "duplicates": sum(e.duplicates for e in executions), "suppressed": sum(e.suppressed for e in executions),
        "truncated": sum(e.truncated for e in executions), "scanned": len(outcome.scanned),
        "missed": dict(Counter(miss.reason for miss in outcome.missed)), "unexpected": len(outcome.unexpected),
        "delay": _spread([alert.delay for alert in outcome.alerts]), "notes": list(outcome.notes)}


def _spread(values: Sequence[int | float]) -> dict[str, Any]:
    """Median and maximum, in ms (None when there is nothing to measure)."""
    return {"median": round(statistics.median(values)) if values else None, "max": round(max(values)) if values else None}
