"""One rule's runs, search by search, as Kibana's detection engine makes them.

Each search (``eqlExecutor``, ``rule_types/eql/eql.ts``) sends the rule's query to
Elasticsearch's EQL search with ``size: max_signals`` and the window as a filter
(``build_eql_search_request.ts``); Elasticsearch returns the first ``size`` results in its
order (events by timestamp and tiebreaker; sequences as they complete). Each result becomes
an alert whose ``_id`` is a hash of the events it holds and the rule (``wrapHits``:
``generateId``; a sequence's shell alert: ``generateAlertId`` over its building blocks'
ancestors, ``build_alert_group_from_sequence.ts``), so a result an earlier run alerted on has
an ``_id`` that exists already and is dropped (``filterDuplicateAlerts``, rule registry's
``create_persistence_rule_type_wrapper.ts``). A sequence alert comes with one building-block
alert per event. With ``alert_suppression`` (event queries only) alerts go through
:class:`~eqlmini.replay.suppression.Suppressor` instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from .. import limits
from ..compile_cache import compiled
from ..rules import Rule
from ..sequences import MissingEvent, Result
from .documents import Document, Index, last_time
from .results import Execution, ReplayAlert, iso
from .suppression import Candidate, Group, Suppressor
from .timing import Schedule, Window

__all__ = ["Key", "RuleRuns"]

Key = tuple  # the input positions of a match's events (None for a ``![...]`` stage)


class RuleRuns:
    """The state Kibana keeps between the runs of one rule: the alerts it has created."""

    def __init__(self, rule: Rule, schedule: Schedule, index: Index) -> None:
        self.rule, self.schedule = rule, schedule
        query = rule.query
        self.limited = compiled(rule.text, dataclasses.replace(query.options, size=schedule.max_signals))
        # An event query without pipes matches event by event: only the events it matches
        # can be results, so each window needs only those.
        self.simple = query.kind == "event" and not query.tree.pipes
        self.everything = index
        self.index = index.narrowed(lambda doc: query.match(doc.event)) if self.simple else index
        self.sequence_like = query.kind != "event"
        self.suppressor = None
        self.notes: list[str] = []
        if schedule.suppression is not None:
            if query.kind == "event":
                self.suppressor = Suppressor(schedule.suppression)
                self._terms = schedule.suppression.reader()
            else:
                self.notes.append("alert_suppression is not applied: Kibana suppresses sequence alerts only "
                                  "behind an experimental flag")
        self._rule_key = rule.rule_id or rule.name
        self._ids = {id(doc.event): doc.id for doc in index.documents}
        self._documents = {doc.id: doc for doc in index.documents}
        self.created: dict[str, ReplayAlert] = {}   # the alerts index: _id -> alert
        self.found: set[Key] = set()                # matches alerted or counted into an alert
        self.cut: set[Key] = set()                  # matches a run saw but max_signals cut
        self.dropped: set[Key] = set()              # matches suppression dropped
        self.windows: list[Window] = []             # the windows searched

    def run(self, windows: Iterable[Window]) -> list[Execution]:
        """Every search, in order (kept in :attr:`windows`), until one of the limits
        ``MAX_REPLAY_SEARCHES`` and ``MAX_REPLAY_DOCUMENTS`` stops the replay."""
        executions: list[Execution] = []
        read = 0
        for window in windows:
            if len(executions) >= limits.MAX_REPLAY_SEARCHES or read >= limits.MAX_REPLAY_DOCUMENTS:
                which = "SEARCHES" if len(executions) >= limits.MAX_REPLAY_SEARCHES else "DOCUMENTS"
                limits.skipped(f"{self.rule.name}: replay stopped by limits.MAX_REPLAY_{which} after "
                               f"{len(executions):,} searches that read {read:,} documents; the runs from "
                               f"{iso(window.started)} on were not made")
                break
            executions.append(self._search(window))
            self.windows.append(window)
            read += executions[-1].events
        return executions

    def key(self, result: Result) -> Key:
        """A result's identity: its events' input positions."""
        return tuple(None if isinstance(event, MissingEvent) else self._ids.get(id(event)) for event in result.events)

    def _search(self, window: Window) -> Execution:
        documents = self.index.visible(window.start, window.end, window.started)
        searched = self.everything.count(window.start, window.end, window.started) if self.simple else len(documents)
        events = [doc.event for doc in documents]
        results = list(self.limited.search(events, on_error=_skip))
        matches = len(results)
        if len(results) >= self.schedule.max_signals:
            everything = list(self.rule.query.search(events, on_error=_skip))
            matches = len(everything)
            returned = {self.key(result) for result in results}
            self.cut.update(key for key in map(self.key, everything) if key not in returned)
        fresh: list[tuple[str, Key, Result]] = []
        duplicates = 0
        for result in results:
            key = self.key(result)
            alert_id = self._alert_id(key)
            if alert_id in self.created:
                duplicates += 1
            else:
                fresh.append((alert_id, key, result))
        if self.suppressor is None:
            created = [self._alert(alert_id, key, result, window) for alert_id, key, result in fresh]
            suppressed = 0
        else:
            created, suppressed = self._suppress(fresh, window)
        for alert in created:
            self.created[alert.id] = alert
        return Execution(self.rule, window.run, window.started, window.start, window.end, window.catchup,
                         window.uncovered, searched, len(results), matches,
                         len(results) >= self.schedule.max_signals, tuple(created), duplicates, suppressed)

    def _suppress(self, fresh: list[tuple[str, Key, Result]], window: Window) -> tuple[list[ReplayAlert], int]:
        """``bulkCreateSuppressedAlertsInMemory``: matches missing a group-by field get plain
        alerts when the rule says ``doNotSuppress``; the others are suppressed."""
        assert self.suppressor is not None
        plain, candidates = [], []
        for alert_id, key, result in fresh:
            terms = self._terms(result.events[0])
            if not self.suppressor.suppression.suppress_missing and None in terms:
                plain.append(self._alert(alert_id, key, result, window))
            else:
                time = self._documents[key[0]].window_time
                candidates.append(Candidate(alert_id, terms, window.started if time is None else time, (key, result)))
        room = self.schedule.max_signals - len(plain)

        def create(candidate: Candidate, group: Group) -> ReplayAlert:
            key, result = candidate.payload
            return self._alert(candidate.alert_id, key, result, window, group)
        created, counted, stale, cut = self.suppressor.add(candidates, now=window.started, window_start=window.start,
                                                           run=window.run, room=room, create=create)
        self.found.update(candidate.payload[0] for candidate in counted)
        self.dropped.update(candidate.payload[0] for candidate in (*stale, *cut))
        return plain + created, len(counted)

    def _alert(self, alert_id: str, key: Key, result: Result, window: Window, group: Group | None = None) -> ReplayAlert:
        self.found.add(key)
        last = last_time(self._documents[doc] for doc in key if doc is not None)
        blocks = sum(doc is not None for doc in key) if self.sequence_like else 0
        return ReplayAlert(self.rule, alert_id, result.events, result.join_keys, key, window.started,
                           window.started if last is None else last, window.run, blocks, group)

    def _alert_id(self, key: Key) -> str:
        kind = "sequence" if self.sequence_like else "event"
        text = f"{kind}:{','.join('-' if doc is None else str(doc) for doc in key)}:{self._rule_key}"
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _skip(position: int, event: Any, error: Exception) -> None:
    """An event without the rule's timestamp: Elasticsearch's EQL search never returns one."""


def full_scan(rule: Rule, index: Index, key: Callable[[Result], Key]) -> list[tuple[Key, Result]]:
    """What one search over the whole history finds (no size limit), each with its key."""
    documents: list[Document] = index.documents
    return [(key(result), result) for result in rule.query.search([doc.event for doc in documents], on_error=_skip)]
