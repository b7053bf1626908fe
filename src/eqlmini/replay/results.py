"""What a replay found: each search a run made, each alert raised, each match the runs missed.

Times are epoch milliseconds; :func:`iso` writes one as ISO-8601 text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..rules import Rule
from .suppression import Group
from .timing import Schedule

__all__ = ["REASONS", "Execution", "Miss", "ReplayAlert", "RuleReplay", "iso"]

Event = Mapping[str, Any]
# Why a match that a scan of the whole history finds raised no alert, in the order checked.
REASONS = {
    "no time": "an event has no time a window can place it by (timestamp_override or @timestamp)",
    "outside": "an event is before the first window or after the last one",
    "gap": "an event fell in time no window searched (runs missed after a gap too long to catch up)",
    "truncated": "a run saw it but cut it: more matches in its window than max_signals",
    "suppression": "a run saw it but suppression dropped it (older than its group's last counted event, "
                   "or no room left)",
    "split": "its events never fell in one window together (the match spans more time than a window)",
    "late": "the windows that held its events ran before one of them arrived (ingest delay)",
    "history": "a window held all its events but, seeing less history, found another match",
}


def iso(millis: int | float | None) -> str | None:
    """Epoch milliseconds as ISO-8601 UTC text (``2020-08-01T22:58:09.443Z``)."""
    if millis is None:
        return None
    moment = datetime.fromtimestamp(millis / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True, eq=False)
class ReplayAlert:
    """An alert a run created: its events, when its run started (``time``), and the time of
    its last event (``event_time``, the rule's timestamp field).

    ``documents`` are the events' positions in the input (None for a ``![...]`` stage);
    ``id`` is the alert's id, a hash of them and the rule, as Kibana derives ``_id``;
    ``building_blocks`` the building-block alerts a sequence alert comes with.
    """

    rule: Rule
    id: str
    events: tuple[Event, ...]
    join_keys: tuple[Any, ...]
    documents: tuple[int | None, ...]
    time: int | float
    event_time: int | float
    run: int
    building_blocks: int = 0
    suppression: Group | None = field(default=None, repr=False)

    @property
    def delay(self) -> int | float:
        """Milliseconds from the last event to the run that raised the alert."""
        return self.time - self.event_time

    @property
    def suppressed(self) -> int:
        """The later matches counted in this alert instead of raising their own."""
        return self.suppression.count if self.suppression is not None else 0

    def __repr__(self) -> str:
        more = f", suppressed={self.suppressed}" if self.suppression is not None else ""
        return (f"ReplayAlert(rule={self.rule.name!r}, time={iso(self.time)!r}, event_time={iso(self.event_time)!r}, "
                f"events={len(self.events)}{more})")


@dataclass(frozen=True, eq=False)
class Execution:
    """One search of one run: its window and what came of it.

    ``results`` is what Elasticsearch returned (at most ``max_signals``); ``matches`` what
    the window held (more than ``results`` only when the search was cut); ``truncated`` is
    Kibana's warning condition, ``results >= max_signals``. ``created`` are the new alerts,
    ``duplicates`` the results whose alert an earlier run had raised, ``suppressed`` those
    counted into an alert by suppression. ``catchup`` marks a window added after a gap;
    ``uncovered`` is time after a gap that no window searched (ms).
    """

    rule: Rule
    run: int
    started: int | float
    start: int | float
    end: int | float
    catchup: bool
    uncovered: int | float
    events: int
    results: int
    matches: int
    truncated: bool
    created: tuple[ReplayAlert, ...]
    duplicates: int
    suppressed: int

    def __repr__(self) -> str:
        return (f"Execution(rule={self.rule.name!r}, started={iso(self.started)!r}, results={self.results}, "
                f"new={len(self.created)}, duplicates={self.duplicates}, truncated={self.truncated})")


@dataclass(frozen=True, eq=False)
class Miss:
    """A match a scan of the whole history finds and no run alerted, with the reason (a key
    of :data:`REASONS`)."""

    rule: Rule
    events: tuple[Event, ...]
    documents: tuple[int | None, ...]
    event_time: int | float | None
    reason: str

    def __repr__(self) -> str:
        return f"Miss(rule={self.rule.name!r}, event_time={iso(self.event_time)!r}, reason={self.reason!r})"


@dataclass(eq=False)
class RuleReplay:
    """Everything one rule's replay produced."""

    rule: Rule
    schedule: Schedule
    executions: list[Execution]
    alerts: list[ReplayAlert]
    scanned: list[int | float | None]  # the matches of a scan of the whole history: their last event's time
    missed: list[Miss]
    unexpected: list[ReplayAlert]      # alerts whose match the whole-history scan does not find
    notes: list[str]                   # what the replay could not do as Kibana would
