"""Sequence matching over ordered events, as Elasticsearch's EQL runs it.

The engine knows nothing of EQL text: each stage arrives compiled as a :class:`StageSpec`
(a filter and a join-key function). :class:`SequenceMatcher` is push-style, so it serves
lists, streams and live feeds alike; samples are matched in :mod:`samples`.

The rules follow Elasticsearch (``execution/sequence/SequenceMatcher.java``,
``TumblingWindow.java``, ``KeyToSequences.java``) and spec §10; the places where they are
subtle are commented where they are applied.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any, Iterable, Sequence

from .errors import EqlEventError
from .ordering import EventOrder, join_key_order, ordered, timestamp_millis
from .stages import MISSING, Event, MissingEvent, Result, StageSpec

__all__ = [
    "Event", "EventOrder", "MissingEvent", "Result", "SequenceMatcher",
    "StageSpec", "ordered", "timestamp_millis",
]


class _Partial:
    """An in-flight sequence for one key, waiting for positive stage ``stage + 1``."""

    __slots__ = ("key", "stage", "events", "first_ts", "last_ts", "lead", "dead", "alive")

    def __init__(self, key: tuple, event: Event, ts: Any, lead: Any) -> None:
        self.key = key
        self.stage = 0
        self.events = [event]
        self.first_ts = ts
        self.last_ts = ts
        self.lead = lead      # latest leading ![...] event time before the first event
        self.dead = False     # a middle ![...] event was seen: it may not complete
        self.alive = True     # still held in its slot


_PENDING, _KEEP, _DROP = 0, 1, 2


class _Candidate:
    """A completed sequence in the output queue; trailing ``![...]`` may still drop it."""

    __slots__ = ("status", "result", "key", "last_ts", "base")

    def __init__(self, status: int, result: Result, key: tuple, last_ts: Any, base: Any) -> None:
        self.status = status
        self.result = result
        self.key = key
        self.last_ts = last_ts
        self.base = base      # time a trailing event is measured from (first event or L)


def _latest_before(entry: list, ts: Any) -> Any:
    """From a ``[latest, previous distinct]`` time pair: the latest time strictly before ``ts``."""
    return entry[0] if entry[0] < ts else entry[1]


def _is_latest(item: tuple) -> bool:
    """Whether a ``(time, tracker, key)`` expiry record is still its key's latest time."""
    ts, tracker, key = item
    entry = tracker.get(key)
    return entry is not None and entry[0] == ts


class SequenceMatcher:
    """Matches ``sequence`` stages over events pushed in (timestamp, tiebreaker) order.

    State is kept per join-key tuple, one partial sequence per positive stage, as in
    Elasticsearch (``SequenceGroup.trimBefore`` keeps only the most recent candidate).
    With ``maxspan``, partials older than it are dropped as time advances, so memory stays
    bounded by the events of one maxspan window; without it, by keys x stages.
    """

    def __init__(
        self,
        stages: Sequence[StageSpec],
        *,
        until: StageSpec | None = None,
        maxspan_ms: int | float | None = None,
        order: EventOrder,
    ) -> None:
        stages = tuple(stages)
        positive = [i for i, stage in enumerate(stages) if not stage.missing]
        if not positive:
            raise ValueError("a sequence needs at least one stage that is not ![...]")
        self._m = len(positive)
        self._last = self._m - 1
        specs = [stages[i] for i in reversed(positive)]
        # (positive index, filter, keys, same filter and keys as the stage just before in this order)
        self._plan = tuple(
            (self._last - n, spec.matches, spec.keys,
             n > 0 and spec.matches is specs[n - 1].matches and spec.keys is specs[n - 1].keys)
            for n, spec in enumerate(specs))
        self._until = until
        self._maxspan = maxspan_ms
        self._millis = order.millis
        first, last = positive[0], positive[-1]
        self._has_lead = first > 0
        self._has_tail = last < len(stages) - 1
        self._needs_ts = maxspan_ms is not None or len(positive) < len(stages)
        # Where each result event comes from: a positive event's index, or None (placeholder).
        self._template = tuple(positive.index(i) if i in positive else None for i in range(len(stages)))
        self._plain = len(positive) == len(stages)
        # Per-key time trackers for ![...] stages: one shared by all leading stages (only
        # their latest event matters), one per middle stage; trailing stages resolve
        # candidates directly.
        self._lead: dict[tuple, list] = {}
        self._gaps: list[list[dict[tuple, list]]] = [[] for _ in positive]
        self._watch: list[tuple[StageSpec, str, dict | None]] = []
        for i, stage in enumerate(stages):
            if not stage.missing:
                continue
            if i < first:
                self._watch.append((stage, "lead", self._lead))
            elif i > last:
                self._watch.append((stage, "tail", None))
            else:
                tracker: dict[tuple, list] = {}
                self._gaps[sum(1 for p in positive if p < i)].append(tracker)
                self._watch.append((stage, "gap", tracker))
        self._state: dict[tuple, list] = {}                 # key -> slots (one per positive stage but the last)
        self._live = 0
        self._expiry: deque[_Partial] = deque()            # partials by start time (maxspan only)
        self._tracker_expiry: deque[tuple] = deque()       # (time, tracker, key) (maxspan only)
        self._tracked = 0
        self._out: deque[_Candidate] = deque()             # results held back behind a pending one
        self._waiting: dict[tuple, deque[_Candidate]] = {}  # key -> candidates awaiting a trailing event
        self._deadlines: list[tuple] = []                  # heap of (base time, n, candidate)
        self._pending = 0
        self._n = 0
        self._now: Any = None
        self._closed = False

    # ------------------------------------------------------------------ public API
    @property
    def partials(self) -> int:
        """Number of live partial sequences held."""
        return self._live

    @property
    def pending(self) -> int:
        """Completed sequences held back until no trailing ``![...]`` event can drop them."""
        return self._pending

    def extend(self, events: Iterable[Event]) -> list[Result]:
        """Push several events; the results that became final, in order."""
        out: list[Result] = []
        push = self.push
        for event in events:
            out.extend(push(event))
        return out

    def push(self, event: Event) -> list[Result]:
        """Feed the next event (in order); returns the results that are final now."""
        if self._closed:
            raise ValueError("the matcher is closed")
        ts = None
        maxspan = self._maxspan
        if self._needs_ts:
            ts = self._millis(event)
            if self._now is not None and ts < self._now:
                raise EqlEventError(f"events must arrive in time order: {ts!r} came after {self._now!r}")
            self._now = ts
            if maxspan is not None:
                expiry = self._expiry
                if (expiry and ts - expiry[0].first_ts > maxspan) or self._tracker_expiry or self._deadlines:
                    self._expire(ts)
        if self._watch:
            self._observe_missing(event, ts)

        done: list[tuple[tuple, _Partial]] = []
        state = self._state
        hit, keys = False, ()
        for j, matches, key_fn, same in self._plan:   # last positive stage first
            if not same:                              # `runs=N`: test the event once, not N times
                hit = matches(event)
                if hit:
                    keys = key_fn(event)
            if not hit:
                continue
            if j == 0:
                for key in keys:
                    self._start(key, event, ts, done)
                continue
            i = j - 1
            for key in keys:
                slots = state.get(key)
                if slots is None or slots[i] is None:
                    continue
                # ES `trimBefore`: the most recent partial is taken out whatever happens
                # next, so a maxspan or until rejection still consumes it.
                partial = slots[i]
                slots[i] = None
                if maxspan is not None and ts - partial.first_ts > maxspan:
                    self._drop(partial, slots)
                    continue
                if self._gaps[j] and not partial.dead:
                    partial.dead = self._gap_seen(j, key, partial.last_ts, ts)
                partial.events.append(event)
                partial.last_ts = ts
                if j == self._last:
                    self._drop(partial, slots)
                    if not partial.dead:
                        done.append((key, partial))
                else:
                    older = slots[j]
                    if older is not None:
                        older.alive = False
                        self._live -= 1
                    slots[j] = partial
                    partial.stage = j

        until = self._until
        if until is not None and until.matches(event):
            # An until event kills every partial of its key whose last event is at or
            # before it (ES: `between` is inclusive), i.e. all of them, including partials
            # this same event just started or extended; completions above stand.
            for key in until.keys(event):
                slots = state.pop(key, None)
                if slots is not None:
                    for partial in slots:
                        if partial is not None:
                            partial.alive = False
                            self._live -= 1

        if not done and not self._out:
            return []
        return self._emit(done)

    def close(self) -> list[Result]:
        """End of stream: every held-back result is final; returns them."""
        for candidate in self._out:
            if candidate.status == _PENDING:
                candidate.status = _KEEP
        results = self._emit([])
        self._closed = True
        self._state.clear()
        self._waiting.clear()
        self._deadlines.clear()
        self._expiry.clear()
        self._tracker_expiry.clear()
        self._live = self._pending = 0
        return results

    # ------------------------------------------------------------------ stages
    def _start(self, key: tuple, event: Event, ts: Any, done: list) -> None:
        lead = None
        if self._has_lead:
            entry = self._lead.get(key)
            lead = _latest_before(entry, ts) if entry is not None else None
        partial = _Partial(key, event, ts, lead)
        if self._m == 1:            # a single positive stage completes at once
            partial.alive = False
            done.append((key, partial))
            return
        slots = self._state.get(key)
        if slots is None:
            slots = self._state[key] = [None] * (self._m - 1)
        elif slots[0] is not None:  # a newer start replaces the older one (trimBefore)
            slots[0].alive = False
            self._live -= 1
        slots[0] = partial
        self._live += 1
        if self._maxspan is not None:
            self._expiry.append(partial)
            if len(self._expiry) > 2 * self._live + 1024:  # amortised compaction
                self._expiry = deque(p for p in self._expiry if p.alive)

    def _drop(self, partial: _Partial, slots: list) -> None:
        """Forget a partial already taken out of ``slots``; forget the key if nothing is left."""
        partial.alive = False
        self._live -= 1
        if not any(slots):
            del self._state[partial.key]

    def _expire(self, now: Any) -> None:
        """Drop partials whose first event is more than maxspan before ``now``."""
        maxspan = self._maxspan
        expiry = self._expiry
        # Same comparison as the extension check, so rounding cannot make them disagree.
        while expiry and now - expiry[0].first_ts > maxspan:
            partial = expiry.popleft()
            if partial.alive:
                slots = self._state[partial.key]
                slots[partial.stage] = None
                self._drop(partial, slots)
        trackers = self._tracker_expiry
        while trackers and now - trackers[0][0] > maxspan:
            # An ![...] time older than maxspan can no longer drop any candidate (spec §10).
            _, tracker, key = trackers.popleft()
            entry = tracker.get(key)
            if entry is not None and now - entry[0] > maxspan:
                del tracker[key]
                self._tracked -= 1
        deadlines = self._deadlines
        while deadlines and now - deadlines[0][0] > maxspan:
            # No later trailing event can fall within maxspan of the base time: keep it.
            candidate = heapq.heappop(deadlines)[2]
            if candidate.status == _PENDING:
                self._settle(candidate, _KEEP)
                queue = self._waiting.get(candidate.key)
                while queue and queue[0].status != _PENDING:
                    queue.popleft()
                if queue is not None and not queue:
                    del self._waiting[candidate.key]

    # ------------------------------------------------------------------ missing events
    def _observe_missing(self, event: Event, ts: Any) -> None:
        """Record or apply events of ``![...]`` stages (ES TumblingWindow missing-event check)."""
        for spec, kind, tracker in self._watch:
            if not spec.matches(event):
                continue
            for key in spec.keys(event):
                if kind == "tail":
                    self._trailing_event(key, ts)
                    continue
                entry = tracker.get(key)
                if entry is None:
                    tracker[key] = [ts, None]
                    self._tracked += 1
                elif ts > entry[0]:
                    entry[1], entry[0] = entry[0], ts
                else:
                    continue
                if self._maxspan is not None:
                    self._tracker_expiry.append((ts, tracker, key))
                    if len(self._tracker_expiry) > 2 * self._tracked + 1024:  # amortised compaction
                        self._tracker_expiry = deque(filter(_is_latest, self._tracker_expiry))

    def _gap_seen(self, j: int, key: tuple, after: Any, before: Any) -> bool:
        """Whether a middle ``![...]`` event of ``key`` lies strictly between the two times."""
        for tracker in self._gaps[j]:
            entry = tracker.get(key)
            if entry is not None:
                latest = _latest_before(entry, before)
                if latest is not None and latest > after:
                    return True
        return False

    def _exceeds(self, start: Any, end: Any) -> bool:
        return self._maxspan is not None and end - start > self._maxspan

    def _judge(self, key: tuple, partial: _Partial, result: Result) -> _Candidate | None:
        """Apply the leading/trailing rules to a completed sequence (ES doCheckMissingEvents)."""
        lead = partial.lead
        if self._has_lead and not self._has_tail:
            # Keep unless L exists and the last event is within maxspan of it.
            if lead is None or self._exceeds(lead, partial.last_ts):
                return _Candidate(_KEEP, result, key, partial.last_ts, None)
            return None
        if not self._has_tail or (self._has_lead and lead is None):
            return _Candidate(_KEEP, result, key, partial.last_ts, None)
        # Trailing: T is the first matching event strictly after the last one; it drops
        # the candidate if within maxspan of the first event (or of L, with both).
        base = lead if self._has_lead else partial.first_ts
        candidate = _Candidate(_PENDING, result, key, partial.last_ts, base)
        self._pending += 1
        self._waiting.setdefault(key, deque()).append(candidate)
        if self._maxspan is not None:
            self._n += 1
            heapq.heappush(self._deadlines, (base, self._n, candidate))
            if len(self._deadlines) > 2 * self._pending + 1024:
                self._deadlines = [item for item in self._deadlines if item[2].status == _PENDING]
                heapq.heapify(self._deadlines)
        return candidate

    def _trailing_event(self, key: tuple, ts: Any) -> None:
        """A trailing ``![...]`` event: it is T for the candidates of ``key`` that end before it."""
        queue = self._waiting.get(key)
        if queue is None:
            return
        while queue and queue[0].last_ts < ts:
            candidate = queue.popleft()
            if candidate.status == _PENDING:
                self._settle(candidate, _KEEP if self._exceeds(candidate.base, ts) else _DROP)
        if not queue:
            del self._waiting[key]

    def _settle(self, candidate: _Candidate, status: int) -> None:
        candidate.status = status
        self._pending -= 1

    # ------------------------------------------------------------------ output
    def _emit(self, done: list[tuple[tuple, _Partial]]) -> list[Result]:
        """Queue this event's completions and release every result not behind a pending one.

        Completions on the same event come in ascending key order: ES keeps completed
        sequences in a TreeSet ordered by last ordinal, then SequenceKey.
        """
        if len(done) > 1:
            done.sort(key=lambda item: join_key_order(item[0]))
        results: list[Result] = []
        if self._plain:
            for key, partial in done:
                results.append(Result(tuple(partial.events), key))
            return results
        template = self._template
        out = self._out
        for key, partial in done:
            events = partial.events
            result = Result(tuple(MISSING if i is None else events[i] for i in template), key)
            candidate = self._judge(key, partial, result)
            if candidate is None:
                continue
            if out or candidate.status == _PENDING:
                out.append(candidate)
            else:
                results.append(result)
        while out and out[0].status != _PENDING:
            candidate = out.popleft()
            if candidate.status == _KEEP:
                results.append(candidate.result)
        return results
