"""Sequence matching over ordered events, as Elasticsearch's EQL runs it.

The engine knows nothing of EQL text: each stage arrives compiled as a :class:`StageSpec`
(a filter and a join-key function). :class:`SequenceMatcher` is push-style, so it serves
lists, streams and live feeds alike (``run`` is the same loop for events already in order);
samples are matched in :mod:`samples`.

The rules follow Elasticsearch (``execution/sequence/SequenceMatcher.java``,
``TumblingWindow.java``, ``KeyToSequences.java``) and spec §10; the places where they are
subtle are commented where they are applied.

Memory: a partial sequence is one small list, ``[first time, key, (lead, dead, last
time,) event, event, ...]``, held in a dict per stage under its key tuple (about 160 bytes
with its key and dict entry, besides the events it holds); ``limits.MAX_OPEN_PARTIALS``
bounds how many are open, for streams with no ``maxspan`` to expire them.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any, Iterable, Iterator, Sequence

from . import limits
from .errors import EqlEventError
from .ordering import EventOrder, join_key_order, ordered, timestamp_millis
from .stages import MISSING, Event, MissingEvent, Result, StageSpec, by_category

__all__ = [
    "Event", "EventOrder", "MissingEvent", "Result", "SequenceMatcher",
    "StageSpec", "ordered", "timestamp_millis",
]

# A partial is a list: its first event's time, its key, then (queries with ![...] stages
# only) the latest leading ![...] time before it, whether a middle ![...] event was seen
# (it may then not complete) and its last event's time; then its events. A partial at
# positive stage j holds j + 1 events.
_FIRST, _KEY, _LEAD, _DEAD, _LAST = 0, 1, 2, 3, 4
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
    bounded by the events of one maxspan window; without it, by keys x stages, and by
    ``max_partials`` (default ``limits.MAX_OPEN_PARTIALS``): past it the oldest partials
    are dropped, counted in :attr:`dropped` and reported as an ``EqlLimitWarning``.
    """

    def __init__(
        self,
        stages: Sequence[StageSpec],
        *,
        until: StageSpec | None = None,
        maxspan_ms: int | float | None = None,
        order: EventOrder,
        max_partials: int | None = None,
    ) -> None:
        stages = tuple(stages)
        positive = [i for i, stage in enumerate(stages) if not stage.missing]
        if not positive:
            raise ValueError("a sequence needs at least one stage that is not ![...]")
        self._m = len(positive)
        self._last = self._m - 1
        specs = [stages[i] for i in reversed(positive)]
        # (positive index, filter, keys, same filter and keys as the stage just before in
        # this order), last positive stage first; each event is shown only the stages its
        # category allows.
        self._candidates = by_category([
            (spec, (self._last - n, spec.matches, spec.keys,
                    n > 0 and spec.matches is specs[n - 1].matches and spec.keys is specs[n - 1].keys))
            for n, spec in enumerate(specs)])
        self._until = until
        self._maxspan = maxspan_ms
        self._order = order
        self._cap = limits.MAX_OPEN_PARTIALS if max_partials is None else max_partials
        if self._cap < 1:
            raise ValueError("max_partials must be at least 1")
        first, last = positive[0], positive[-1]
        self._plain = len(positive) == len(stages)
        self._has_lead = first > 0
        self._has_tail = last < len(stages) - 1
        self._needs_ts = maxspan_ms is not None or not self._plain
        self._off = 2 if self._plain else 5  # where a partial's events start
        # Where each result event comes from: a positive event's index, or None (placeholder).
        self._template = tuple(positive.index(i) if i in positive else None for i in range(len(stages)))
        # Per-key time trackers for ![...] stages: one shared by all leading stages (only
        # their latest event matters), one per middle stage; trailing stages resolve
        # candidates directly.
        self._lead: dict[tuple, list] = {}
        self._gaps: list[list[dict[tuple, list]]] = [[] for _ in positive]
        self._watch: list[tuple[StageSpec, dict | None]] = []  # (stage, its time tracker; None: trailing)
        for i, stage in enumerate(stages):
            if not stage.missing:
                continue
            if i < first:
                self._watch.append((stage, self._lead))
            elif i > last:
                self._watch.append((stage, None))
            else:
                tracker: dict[tuple, list] = {}
                self._gaps[sum(1 for p in positive if p < i)].append(tracker)
                self._watch.append((stage, tracker))
        self._slots: list[dict[tuple, list]] = [{} for _ in range(self._m - 1)]  # per stage: key -> partial
        self._started: deque[list] = deque()               # partials by start time (maxspan, bound)
        self._check_at = min(self._cap, 1024)               # len(_started) that calls for _trim
        self.dropped = 0
        """Partial sequences dropped because ``max_partials`` were open (oldest first)."""
        self.released = 0
        """Completed sequences released before a trailing ``![...]`` could drop them, because
        ``max_partials`` were waiting."""
        self._tracker_expiry: deque[tuple] = deque()       # (time, tracker, key) (maxspan only)
        self._tracked = 0
        self._out: deque[_Candidate] = deque()             # results held back behind a pending one
        self._waiting: dict[tuple, Any] = {}               # key -> candidate, or a deque of them
        self._deadlines: list[tuple] = []                  # heap of (base time, n, candidate)
        self._pending = 0
        self._n = 0
        self._now: Any = None
        self._pusher: Iterator[list[Result]] | None = None  # the loop push() feeds
        self._incoming: Any = None
        self._closed = False

    # ------------------------------------------------------------------ public API
    @property
    def partials(self) -> int:
        """Number of live partial sequences held."""
        return sum(map(len, self._slots))

    @property
    def pending(self) -> int:
        """Completed sequences held back until no trailing ``![...]`` event can drop them."""
        return self._pending

    def extend(self, events: Iterable[Event]) -> list[Result]:
        """Push several events; the results that became final, in order."""
        return [result for results in self.run(events) for result in results]

    def push(self, event: Event) -> list[Result]:
        """Feed the next event (in order); returns the results that are final now."""
        if self._closed:
            raise ValueError("the matcher is closed")
        if self._pusher is None:  # one loop, kept suspended between pushes
            self._pusher = self._loop(self._pushed(), every_event=True)
        self._incoming = event
        try:
            return next(self._pusher)
        except BaseException:
            self._pusher = None  # a loop that raised is over: the next push starts another
            raise

    def _pushed(self) -> Iterator[Event]:
        while True:
            yield self._incoming

    def run(self, events: Iterable[Event]) -> Iterator[list[Result]]:
        """Push every event in order, in one loop; yield the results of each event that
        completed some. An event out of time order raises EqlEventError (``ordering.ordered``
        puts a list in order first). The matcher is not closed at the end."""
        if self._closed:
            raise ValueError("the matcher is closed")
        return self._loop(events, every_event=False)

    def _loop(self, events: Iterable[Event], every_event: bool) -> Iterator[list[Result]]:
        """The matcher itself: each event in turn; yields its results (with ``every_event``,
        an empty list too)."""
        # Hot loop: everything it reads is a local. (The containers are only ever changed
        # in place, so these names stay valid.)
        candidates, slots, started, until = self._candidates, self._slots, self._started, self._until
        last, plain, maxspan, watch = self._last, self._plain, self._maxspan, self._watch
        needs_ts, read, millis = self._needs_ts, self._order.read_timestamp, self._order.millis
        top_level = self._order.top_level
        start, emit = self._start, self._emit
        ts = None
        for event in events:
            if needs_ts:
                ts = event.get(top_level) if top_level is not None else read(event)
                if ts.__class__ is not int:
                    ts = millis(event)
                now = self._now
                if now is not None and ts < now:
                    raise EqlEventError(f"events must arrive in time order: {ts!r} came after {now!r}")
                self._now = ts
                if maxspan is not None and ((started and ts - started[0][_FIRST] > maxspan)
                                            or (not plain and (self._tracker_expiry or self._deadlines))):
                    self._expire(ts)
                if watch:
                    self._observe_missing(event, ts)

            done: list[tuple[tuple, list]] = []
            hit, read_keys = False, None
            keys: Sequence[tuple] = ()
            for j, matches, key_fn, same in candidates(event):   # last positive stage first
                if not same:                              # `runs=N`: test the event once, not N times
                    hit = matches(event)
                    if hit and key_fn is not read_keys:   # stages that share keys read them once
                        keys, read_keys = key_fn(event), key_fn
                if not hit:
                    continue
                if j == 0:
                    start(keys, event, ts, done)
                    continue
                waiting = slots[j - 1]
                for key in keys:
                    # ES `trimBefore`: the most recent partial is taken out whatever happens
                    # next, so a maxspan or until rejection still consumes it.
                    partial = waiting.pop(key, None)
                    if partial is None or (maxspan is not None and ts - partial[_FIRST] > maxspan):
                        continue
                    if not plain:
                        if self._gaps[j] and not partial[_DEAD]:
                            partial[_DEAD] = self._gap_seen(j, key, partial[_LAST], ts)
                        partial[_LAST] = ts
                    partial.append(event)
                    if j < last:
                        slots[j][key] = partial           # replaces an older one (trimBefore)
                    elif plain or not partial[_DEAD]:
                        done.append((key, partial))

            if until is not None and until.matches(event):
                # An until event kills every partial of its key whose last event is at or
                # before it (ES: `between` is inclusive), i.e. all of them, including
                # partials this same event just started or extended; completions stand.
                for key in until.keys(event):
                    for waiting in slots:
                        waiting.pop(key, None)

            if done or (not plain and self._out):
                results = emit(done)
                if results or every_event:
                    yield results
            elif every_event:
                yield []

    def close(self) -> list[Result]:
        """End of stream: every held-back result is final; returns them."""
        for candidate in self._out:
            if candidate.status == _PENDING:
                candidate.status = _KEEP
        results = self._emit([])
        self._closed = True
        self._pusher = None
        for slot in self._slots:
            slot.clear()
        self._waiting.clear()
        self._deadlines.clear()
        self._started.clear()
        self._tracker_expiry.clear()
        self._pending = 0
        if self.dropped or self.released:
            limits.skipped(f"sequence: limits.MAX_OPEN_PARTIALS ({self._cap:,}) was reached: {self.dropped:,} "
                           f"partial sequences dropped, {self.released:,} results released before a trailing "
                           f"![...] event could drop them")
        return results

    # ------------------------------------------------------------------ stages
    def _start(self, keys: Sequence[tuple], event: Event, ts: Any, done: list) -> None:
        """Stage 0: a new partial per key, replacing an older one at stage 0 (trimBefore)."""
        for key in keys:
            if self._plain:
                partial = [ts, key, event]
            else:
                entry = self._lead.get(key) if self._has_lead else None
                lead = _latest_before(entry, ts) if entry is not None else None
                partial = [ts, key, lead, False, ts, event]
            if self._m == 1:            # a single positive stage completes at once
                done.append((key, partial))
                continue
            self._slots[0][key] = partial
            self._started.append(partial)
        if len(self._started) > self._check_at:
            self._trim()

    def _holds(self, partial: list) -> bool:
        """Whether ``partial`` is still open (in the slot of its stage)."""
        stage = len(partial) - self._off - 1
        return stage < self._m - 1 and self._slots[stage].get(partial[_KEY]) is partial

    def _trim(self) -> None:
        """Drop the oldest partials past ``max_partials``; forget partials no longer open."""
        started = self._started
        live = self.partials
        while live > self._cap:
            partial = started.popleft()
            if self._holds(partial):
                del self._slots[len(partial) - self._off - 1][partial[_KEY]]
                live -= 1
                self.dropped += 1
                if self.dropped == 1:
                    limits.skipped(f"sequence: more than limits.MAX_OPEN_PARTIALS ({self._cap:,}) partial "
                                   f"sequences open; the oldest are dropped (SequenceMatcher.dropped counts them)")
        if len(started) > 2 * live + 1024:  # amortised: most entries are partials gone on
            kept = list(filter(self._holds, started))
            started.clear()
            started.extend(kept)
        self._check_at = min(self._cap, 2 * live + 1024)

    def _expire(self, now: Any) -> None:
        """Drop partials whose first event is more than maxspan before ``now``."""
        maxspan = self._maxspan
        started = self._started
        # Same comparison as the extension check, so rounding cannot make them disagree.
        while started and now - started[0][_FIRST] > maxspan:
            partial = started.popleft()
            if self._holds(partial):
                del self._slots[len(partial) - self._off - 1][partial[_KEY]]
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
                self._unwait(candidate.key)

    # ------------------------------------------------------------------ missing events
    def _observe_missing(self, event: Event, ts: Any) -> None:
        """Record or apply events of ``![...]`` stages (ES TumblingWindow missing-event check)."""
        for spec, tracker in self._watch:
            if not spec.matches(event):
                continue
            for key in spec.keys(event):
                if tracker is None:
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
                        kept = list(filter(_is_latest, self._tracker_expiry))
                        self._tracker_expiry.clear()
                        self._tracker_expiry.extend(kept)

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

    def _judge(self, key: tuple, partial: list, result: Result) -> _Candidate | None:
        """Apply the leading/trailing rules to a completed sequence (ES doCheckMissingEvents)."""
        lead, last_ts = partial[_LEAD], partial[_LAST]
        if self._has_lead and not self._has_tail:
            # Keep unless L exists and the last event is within maxspan of it.
            if lead is None or self._exceeds(lead, last_ts):
                return _Candidate(_KEEP, result, key, last_ts, None)
            return None
        if not self._has_tail or (self._has_lead and lead is None):
            return _Candidate(_KEEP, result, key, last_ts, None)
        # Trailing: T is the first matching event strictly after the last one; it drops
        # the candidate if within maxspan of the first event (or of L, with both).
        base = lead if self._has_lead else partial[_FIRST]
        candidate = _Candidate(_PENDING, result, key, last_ts, base)
        self._pending += 1
        queue = self._waiting.get(key)  # most keys wait on one candidate: a deque only for more
        if queue is None:
            self._waiting[key] = candidate
        elif queue.__class__ is deque:
            queue.append(candidate)
        else:
            self._waiting[key] = deque((queue, candidate))
        if self._maxspan is not None:
            self._n += 1
            heapq.heappush(self._deadlines, (base, self._n, candidate))
            if len(self._deadlines) > 2 * self._pending + 1024:
                self._deadlines[:] = [item for item in self._deadlines if item[2].status == _PENDING]
                heapq.heapify(self._deadlines)
        return candidate

    def _trailing_event(self, key: tuple, ts: Any) -> None:
        """A trailing ``![...]`` event: it is T for the candidates of ``key`` that end before it."""
        queue = self._waiting.get(key)
        if queue is None:
            return
        if queue.__class__ is not deque:
            queue = deque((queue,))
        while queue and queue[0].last_ts < ts:
            candidate = queue.popleft()
            if candidate.status == _PENDING:
                self._settle(candidate, _KEEP if self._exceeds(candidate.base, ts) else _DROP)
        self._keep_waiting(key, queue)

    def _unwait(self, key: tuple) -> None:
        """Forget the settled candidates at the head of ``key``'s queue."""
        queue = self._waiting.get(key)
        if queue is not None:
            if queue.__class__ is not deque:
                queue = deque((queue,))
            while queue and queue[0].status != _PENDING:
                queue.popleft()
            self._keep_waiting(key, queue)

    def _keep_waiting(self, key: tuple, queue: deque) -> None:
        if not queue:
            del self._waiting[key]
        else:
            self._waiting[key] = queue[0] if len(queue) == 1 else queue

    def _settle(self, candidate: _Candidate, status: int) -> None:
        candidate.status = status
        self._pending -= 1

    # ------------------------------------------------------------------ output
    def _emit(self, done: list[tuple[tuple, list]]) -> list[Result]:
        """Queue this event's completions and release every result not behind a pending one.

        Completions on the same event come in ascending key order: ES keeps completed
        sequences in a TreeSet ordered by last ordinal, then SequenceKey.
        """
        if len(done) > 1:
            done.sort(key=lambda item: join_key_order(item[0]))
        off = self._off
        if self._plain:
            return [Result(tuple(partial[off:]), key) for key, partial in done]
        results: list[Result] = []
        template = self._template
        out = self._out
        for key, partial in done:
            events = partial[off:]
            result = Result(tuple(MISSING if i is None else events[i] for i in template), key)
            candidate = self._judge(key, partial, result)
            if candidate is None:
                continue
            if out or candidate.status == _PENDING:
                out.append(candidate)
            else:
                results.append(result)
        while out and (out[0].status != _PENDING or self._pending > self._cap):
            candidate = out.popleft()
            if candidate.status == _PENDING:  # too many held: decided as if no trailing event came
                self._settle(candidate, _KEEP)
                self._unwait(candidate.key)
                self.released += 1
                if self.released == 1:
                    limits.skipped(f"sequence: more than limits.MAX_OPEN_PARTIALS ({self._cap:,}) results wait "
                                   f"for a trailing ![...] event; the oldest are released without waiting "
                                   f"(SequenceMatcher.released counts them)")
            if candidate.status == _KEEP:
                results.append(candidate.result)
        return results
