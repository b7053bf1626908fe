"""The scheduled runs against one search over the whole history: what they missed, and why.

A match the whole-history search finds and no run alerted (nor counted into a suppressed
alert) is a :class:`~eqlmini.replay.results.Miss`; its reason is the first of
:data:`~eqlmini.replay.results.REASONS` that holds, judged from the windows the runs
searched, the times of the match's events, and what the runs saw and cut.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from ..sequences import Result
from .documents import Index, last_time
from .engine import Key, RuleRuns
from .results import Miss, ReplayAlert
from .timing import Window

__all__ = ["compare"]


def compare(runs: RuleRuns, windows: Sequence[Window], index: Index,
            full: list[tuple[Key, Result]]) -> tuple[list[int | float | None], list[Miss], list[ReplayAlert]]:
    """The time of each match of ``full`` (its last event's), the matches the runs missed,
    and the alerts whose match ``full`` lacks."""
    documents = {doc.id: doc for doc in index.documents}
    reason = _Reasons(runs, windows, documents)
    times, missed = [], []
    for key, result in full:
        time = last_time(documents[doc] for doc in key if doc is not None)
        times.append(time)
        if key not in runs.found:
            missed.append(Miss(runs.rule, result.events, key, time, reason(key)))
    scanned = {key for key, _ in full}
    unexpected = [alert for alert in runs.created.values() if alert.documents not in scanned]
    return times, missed, unexpected


class _Reasons:
    """Why a match was missed (see REASONS for the order of the checks)."""

    def __init__(self, runs: RuleRuns, windows: Sequence[Window], documents: dict) -> None:
        self.runs, self.documents = runs, documents
        self.windows = sorted(windows, key=lambda window: window.end)
        self.ends = [window.end for window in self.windows]
        self.length = runs.schedule.lookback  # every window has this length
        self.first = min((window.start for window in windows), default=0)
        self.last = max(self.ends, default=0)

    def __call__(self, key: Key) -> str:
        docs = [self.documents[doc] for doc in key if doc is not None]
        places = [doc.window_time for doc in docs]
        if None in places:
            return "no time"
        if min(places) < self.first or max(places) > self.last:
            return "outside"
        if not all(self._covering(place, place) for place in places):
            return "gap"
        if key in self.runs.cut:
            return "truncated"
        if key in self.runs.dropped:
            return "suppression"
        together = self._covering(min(places), max(places))
        if not together:
            return "split"
        arrived = max(float("inf") if doc.arrival is None else doc.arrival for doc in docs)  # None: never searchable
        if all(window.started < arrived for window in together):
            return "late"
        return "history"

    def _covering(self, low: float, high: float) -> list[Window]:
        """The windows that hold both ``low`` and ``high`` (all windows are equally long)."""
        return self.windows[bisect_left(self.ends, high):bisect_right(self.ends, low + self.length)]
