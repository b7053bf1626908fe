"""When a rule runs and what each run searches: Kibana's schedule, look-back and gap catch-up.

Kibana runs a detection rule every ``interval`` (``5m``). Each run searches the window from
``from`` (date math such as ``now-9m``) to ``to`` (``now``), ``now`` being the time the run
started, so that consecutive windows overlap by ``from - to - interval``. When a run starts
later than the window of the one before covers (a gap), Kibana adds up to
:data:`MAX_RULE_GAP_RATIO` catch-up windows, each one interval earlier than the last
(``getRuleRangeTuples`` and ``getCatchupTuples`` in the security solution's
``detection_engine/rule_types/utils/utils.ts``).

Times here are epoch milliseconds.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import EqlEventError
from ..ordering import timestamp_millis
from ..rules import Rule, RuleError
from .suppression import Suppression

__all__ = ["CHANGEABLE", "DEFAULT_FROM", "DEFAULT_INTERVAL", "DEFAULT_MAX_SIGNALS", "MAX_ALERTS_PER_RUN", "MAX_RULE_GAP_RATIO",
           "Schedule", "Window", "changed", "duration_millis", "instant", "offset_millis", "run_times", "windows"]

# Kibana's defaults for a rule that does not set them (the rule schema's defaults).
DEFAULT_INTERVAL = "5m"
DEFAULT_FROM = "now-6m"
DEFAULT_TO = "now"
DEFAULT_MAX_SIGNALS = 100
MAX_ALERTS_PER_RUN = 1000  # Kibana's xpack.alerting.rules.run.alerts.max: max_signals above it is cut to it
MAX_RULE_GAP_RATIO = 4  # catch-up windows a run adds at most after a gap

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "H": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"\s*(\d+)\s*(ms|s|m|h|H|d|w)\s*")
_TERM = re.compile(r"([+-])(\d+)(ms|s|m|h|H|d|w)")


def duration_millis(text: str | int | float, what: str = "duration") -> int:
    """``"5m"`` as 300000: a whole number and a unit (ms, s, m, h, d, w); a number is milliseconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"{what} must not be negative, not {text!r}")
        return int(text)
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{what} must be a number and a unit (ms, s, m, h, d, w) such as 5m, not {text!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def offset_millis(text: str, what: str) -> int:
    """Date math relative to now, as Kibana's ``from`` and ``to``: ``now-9m`` as -540000.

    ``now`` followed by any number of ``+N unit`` / ``-N unit`` terms; rounding (``/d``) and
    calendar units (months, years) are refused: they make windows of varying length.
    """
    compact = text.replace(" ", "") if isinstance(text, str) else ""
    if not compact.startswith("now"):
        raise ValueError(f"{what} must be date math relative to now (now-9m), not {text!r}")
    rest, offset = compact[3:], 0
    while rest:
        match = _TERM.match(rest)
        if match is None:
            raise ValueError(f"{what}: cannot read {rest!r} in {text!r} (terms such as -9m or +1h; "
                             "no rounding, months or years)")
        sign = -1 if match.group(1) == "-" else 1
        offset += sign * int(match.group(2)) * _UNITS[match.group(3)]
        rest = rest[match.end():]
    return offset


def instant(value: Any, what: str) -> int | float:
    """A time given by a caller (ISO-8601 text, epoch milliseconds, a datetime) in epoch ms."""
    try:
        return timestamp_millis(value)
    except EqlEventError as error:
        raise ValueError(f"{what}: {error.message}") from None


@dataclass(frozen=True)
class Schedule:
    """How Kibana runs one rule: its interval, look-back, size limit and timestamps.

    Read from the rule (:meth:`of`), with Kibana's defaults for what the rule leaves out;
    any field can be replaced for a what-if replay (:meth:`with_changes`).
    """

    interval: int                       # ms between runs
    from_offset: int                    # the window's start, relative to the run (ms, <= 0)
    to_offset: int                      # the window's end, relative to the run (ms)
    max_signals: int                    # results asked of Elasticsearch per search (after the cap)
    asked_max_signals: int              # what the rule asked for, before Kibana's cap
    timestamp_override: str | None      # the window's field; None: @timestamp
    fallback: bool                      # events without the override field are placed by @timestamp
    suppression: Suppression | None

    @classmethod
    def of(cls, rule: Rule, *, max_alerts_per_run: int = MAX_ALERTS_PER_RUN) -> "Schedule":
        """The schedule ``rule`` states (``interval``, ``from``, ``to``, ``max_signals``,
        ``timestamp_override``, ``timestamp_override_fallback_disabled``, ``alert_suppression``)."""
        extra = rule.extra
        interval = _read(rule, "interval", duration_millis, rule.interval or DEFAULT_INTERVAL)
        from_offset = _read(rule, "from", offset_millis, rule.from_ or DEFAULT_FROM)
        to_offset = _read(rule, "to", offset_millis, extra.get("to") or DEFAULT_TO)
        if interval <= 0:
            raise RuleError(f"{rule.name}: interval must be longer than 0", key="interval")
        if from_offset >= to_offset:
            raise RuleError(f"{rule.name}: from ({rule.from_}) must be earlier than to", key="from")
        asked = rule.max_signals if rule.max_signals is not None else DEFAULT_MAX_SIGNALS
        if asked < 1:
            raise RuleError(f"{rule.name}: max_signals must be at least 1", key="max_signals")
        suppression = None
        if "alert_suppression" in extra:
            suppression = Suppression.of(extra["alert_suppression"], rule.name)
        return cls(interval, from_offset, to_offset, min(asked, max_alerts_per_run), asked,
                   rule.timestamp_override or None, not extra.get("timestamp_override_fallback_disabled", False),
                   suppression)

    @property
    def lookback(self) -> int:
        """The window's length (ms)."""
        return self.to_offset - self.from_offset

    def describe(self) -> str:
        """``every 5m, window now-9m..now, max_signals 100, on event.ingested``."""
        where = f"on {self.timestamp_override}" + (" (else @timestamp)" if self.fallback else "") \
            if self.timestamp_override else "on @timestamp"
        capped = f" (asked {self.asked_max_signals}, Kibana's cap)" if self.asked_max_signals != self.max_signals else ""
        return (f"every {_short(self.interval)}, window {_relative(self.from_offset)}..{_relative(self.to_offset)}, "
                f"max_signals {self.max_signals}{capped}, {where}")


# What changed() may change: a typed attribute of Rule, or a key of Rule.extra.
CHANGEABLE = {"interval": "interval", "from": "from_", "from_": "from_", "max_signals": "max_signals",
              "timestamp_override": "timestamp_override", "to": None, "alert_suppression": None,
              "timestamp_override_fallback_disabled": None}


def changed(rule: Rule, **changes: Any) -> Rule:
    """``rule`` with other schedule metadata, for a what-if replay: ``interval``, ``from``
    (or ``from_``), ``to``, ``max_signals``, ``timestamp_override``, ``alert_suppression``,
    ``timestamp_override_fallback_disabled``; None removes a setting (Kibana's default then).

    >>> changed(Rule("r", "process where true"), max_signals=500, timestamp_override=None).max_signals
    500
    """
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        raise ValueError(f"cannot change {', '.join(unknown)}: only {', '.join(k for k in CHANGEABLE if k != 'from_')}")
    typed: dict[str, Any] = {str(CHANGEABLE[key]): value for key, value in changes.items() if CHANGEABLE[key]}
    extra = dict(rule.extra)
    for key, value in changes.items():
        if CHANGEABLE[key] is None:
            if value is None:
                extra.pop(key, None)
            else:
                extra[key] = value
    return dataclasses.replace(rule, extra=extra, **typed)


@dataclass(frozen=True, slots=True)
class Window:
    """One search of one run: the run's start, the time range searched, and whether it is a
    catch-up window after a gap."""

    run: int                # the run it belongs to (0, 1, ...)
    started: int | float    # the run's start time: Kibana's `now`
    start: int | float      # the window, both ends included
    end: int | float
    catchup: bool
    uncovered: int | float = 0  # before a run's own window: time after a gap that no window searched


def run_times(start: int | float, end: int | float, schedule: Schedule,
              outages: Iterable[tuple[int | float, int | float]] = ()) -> Iterator[int | float]:
    """The start time of each run: ``start``, then every interval for as long as a window
    still reaches ``end`` (the last run is the last whose window holds ``end``); a run due
    inside an outage (``(from, to)``, both ends included) does not happen."""
    down = sorted(outages)
    time, reached = start, False
    while not (reached and time + schedule.from_offset > end):
        if not any(lo <= time <= hi for lo, hi in down):
            yield time
        reached = reached or time + schedule.to_offset >= end
        time += schedule.interval


def windows(schedule: Schedule, starts: Iterable[int | float]) -> Iterator[Window]:
    """Every search of every run, in the order Kibana runs them (a run's catch-up windows,
    oldest first, before its own)."""
    previous: int | float | None = None
    for run, now in enumerate(starts):
        start, end = now + schedule.from_offset, now + schedule.to_offset
        catchup, uncovered = 0, 0.0
        if previous is not None:
            # The gap: how much later than the previous window's length this run started.
            gap = (now - previous) - schedule.lookback
            if gap > 0:
                catchup = min(math.ceil(gap / schedule.interval), MAX_RULE_GAP_RATIO)
                uncovered = max(gap - catchup * schedule.interval, 0)
        for back in range(catchup, 0, -1):
            shift = back * schedule.interval
            yield Window(run, now, start - shift, end - shift, True)
        yield Window(run, now, start, end, False, uncovered)
        previous = now


def _read(rule: Rule, key: str, parse: Callable[[Any, str], int], value: Any) -> int:
    try:
        return parse(value, key)
    except ValueError as error:
        raise RuleError(f"{rule.name}: {error}", key=key) from None


def _short(millis: int) -> str:
    for unit in ("w", "d", "h", "m", "s"):
        if millis % _UNITS[unit] == 0 and millis >= _UNITS[unit]:
            return f"{millis // _UNITS[unit]}{unit}"
    return f"{millis}ms"


def _relative(offset: int) -> str:
    return "now" if offset == 0 else f"now{'-' if offset < 0 else '+'}{_short(abs(offset))}"
