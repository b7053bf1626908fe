"""Alert suppression as Kibana does it for EQL rules that are not sequences.

A rule with an ``alert_suppression`` table (``group_by``, or the newer ``group_by_v2`` of
``{field = ...}`` entries when it is there: one to three fields; ``duration``:
``{value, unit}``, optional; ``missing_fields_strategy``: ``suppress`` or ``doNotSuppress``)
raises one alert per group of field values, and counts the later matches of the group in it
instead of raising more: for ``duration`` after the alert was created, or, without a duration,
within one run. Kibana's code: ``wrapSuppressedAlerts`` and ``getSuppressionTerms``
(``rule_types/utils/``), ``getEffectiveSuppressionGroupByFields``,
``bulkCreateSuppressedAlertsInMemory``, and ``alertWithSuppression``
with ``suppressAlertsInMemory`` in the rule registry's ``create_persistence_rule_type_wrapper.ts``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..fields import getter
from ..rules import RuleError

__all__ = ["Candidate", "Suppression", "Suppressor"]

_UNIT_MILLIS = {"s": 1000, "m": 60_000, "h": 3_600_000}  # the units Kibana's schema allows
MAX_GROUP_BY = 3  # Kibana's limit on suppression fields


@dataclass(frozen=True)
class Suppression:
    """A rule's ``alert_suppression`` settings."""

    group_by: tuple[str, ...]
    duration: int | None          # ms; None: suppress within each run only
    suppress_missing: bool        # missing_fields_strategy "suppress" (Kibana's default)

    @classmethod
    def of(cls, table: Any, rule: str) -> "Suppression":
        """The settings from a rule's ``alert_suppression`` table (a RuleError if malformed)."""
        def bad(message: str) -> RuleError:
            return RuleError(f"{rule}: alert_suppression: {message}", key="alert_suppression")
        if not isinstance(table, Mapping):
            raise bad("must be a table")
        group_by = table.get("group_by")
        newer = table.get("group_by_v2")  # [{field = ...}], preferred when present (Kibana 9.x)
        if isinstance(newer, (list, tuple)) and newer:
            group_by = [entry.get("field") if isinstance(entry, Mapping) else None for entry in newer]
        if (not isinstance(group_by, (list, tuple)) or not 1 <= len(group_by) <= MAX_GROUP_BY
                or not all(isinstance(name, str) and name for name in group_by)):
            raise bad(f"group_by must list 1 to {MAX_GROUP_BY} field names")
        duration = table.get("duration")
        millis = None
        if duration is not None:
            value = duration.get("value") if isinstance(duration, Mapping) else None
            unit = duration.get("unit") if isinstance(duration, Mapping) else None
            if not isinstance(value, int) or isinstance(value, bool) or value < 1 or unit not in _UNIT_MILLIS:
                raise bad("duration must be {value = N, unit = \"s\", \"m\" or \"h\"} with N at least 1")
            millis = value * _UNIT_MILLIS[unit]
        strategy = table.get("missing_fields_strategy", "suppress")
        if strategy not in ("suppress", "doNotSuppress"):
            raise bad(f"missing_fields_strategy must be suppress or doNotSuppress, not {strategy!r}")
        return cls(tuple(group_by), millis, strategy == "suppress")

    def reader(self) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
        """A function from an event to its suppression terms: one value per field, a list's
        values sorted (as ``getSuppressionTerms`` sorts them), None for a missing field."""
        reads = [getter(name) for name in self.group_by]

        def terms(event: Mapping[str, Any]) -> tuple[Any, ...]:
            return tuple(_term(read(event)) for read in reads)
        return terms


def _term(value: Any) -> Any:
    """A field's value as a hashable term: a list's values sorted, an object as its JSON."""
    if isinstance(value, list):
        if not value:
            return None
        items = [_term(item) for item in value]
        try:
            return tuple(sorted(items))
        except TypeError:  # values of mixed types: sorted as their texts
            return tuple(sorted(items, key=repr))
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True, default=str)
    return value


@dataclass(slots=True)
class Candidate:
    """A match that may be suppressed: its alert id, its group's terms and its time (the
    event's window time, as Kibana takes the override field, else ``@timestamp``)."""

    alert_id: str
    terms: tuple[Any, ...]
    time: int | float
    payload: Any                  # what the caller builds an alert from


@dataclass(slots=True)
class Group:
    """What an alert has suppressed so far, and when and by which run it was created."""

    created: int | float
    run: int
    end: int | float              # the latest event time counted in it
    count: int = 0                # the matches counted in it besides the first


class Suppressor:
    """The suppression state of one rule across its runs (Kibana keeps it in the alerts index)."""

    def __init__(self, suppression: Suppression) -> None:
        self.suppression = suppression
        self._groups: dict[tuple[Any, ...], Group] = {}   # the latest alert of each group

    def add(self, candidates: list[Candidate], *, now: int | float, window_start: int | float, run: int,
            room: int, create: Callable[[Candidate, Group], Any]) -> tuple[list[Any], list[Candidate],
                                                                           list[Candidate], list[Candidate]]:
        """One search's matches (alert ids already created are filtered out by the caller).

        Returns the alerts created (``create(candidate, group)`` builds each), the candidates
        counted into an alert, those dropped as older than their group's last counted event,
        and those cut because the run had no room left (``room``: alerts it may still create).
        """
        # The alerts a candidate may be counted into: created no earlier than the duration
        # before this run, or (no duration) no earlier than this window's start.
        since = now - self.suppression.duration if self.suppression.duration is not None else window_start
        existing = {terms: group for terms, group in self._groups.items() if group.created >= since}
        fresh, stale = [], []
        for candidate in candidates:
            group = existing.get(candidate.terms)
            if group is None or group.run == run or group.end < candidate.time:
                fresh.append(candidate)
            else:
                stale.append(candidate)
        # In memory: the earliest candidate of each group stands for the others.
        leaders: dict[tuple[Any, ...], list[Candidate]] = {}
        for candidate in sorted(fresh, key=lambda c: c.time):
            leaders.setdefault(candidate.terms, []).append(candidate)
        created: list[Any] = []
        counted: list[Candidate] = []
        cut: list[Candidate] = []
        per_run = self.suppression.duration is None
        for terms, members in leaders.items():
            end = max(member.time for member in members)
            group = existing.get(terms)
            if group is not None and (group.run == run if per_run else True):
                group.end = max(group.end, end)
                group.count += len(members)
                counted.extend(members)
            elif len(created) < room:
                group = self._groups[terms] = Group(now, run, end, len(members) - 1)
                created.append(create(members[0], group))
                counted.extend(members[1:])
            else:
                cut.extend(members)
        return created, counted, stale, cut
