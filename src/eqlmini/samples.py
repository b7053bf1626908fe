"""Sample matching: per join-key tuple, one distinct event per filter, as Elasticsearch picks them.

The rules follow Elasticsearch (``execution/sample/SampleIterator.java``) and spec §11.
"""

from __future__ import annotations

from typing import Sequence

from .ordering import join_key_order
from .stages import Event, Result, StageSpec

__all__ = ["SampleMatcher"]


class SampleMatcher:
    """Matches ``sample`` filters: per join-key tuple, one distinct event per filter.

    Time plays no part. Like ES (SampleIterator: each filter fetches ``filters +
    max_samples_per_key - 1`` events per key, then a backtracking search picks distinct
    events), each filter keeps its first events in input order for each key; ``close``
    returns up to ``max_samples_per_key`` samples per key in ascending key order.
    """

    def __init__(self, stages: Sequence[StageSpec], *, max_samples_per_key: int = 1) -> None:
        if max_samples_per_key < 1:
            raise ValueError("max_samples_per_key must be at least 1")
        self._specs = tuple(stages)
        self._per_key = max_samples_per_key
        self._cap = len(self._specs) + max_samples_per_key - 1
        self._found: dict[tuple, list[list[Event]]] = {}

    def push(self, event: Event) -> None:
        """Feed one event (any order)."""
        found = self._found
        for i, spec in enumerate(self._specs):
            if not spec.matches(event):
                continue
            for key in spec.keys(event):
                lists = found.get(key)
                if lists is None:
                    lists = found[key] = [[] for _ in self._specs]
                if len(lists[i]) < self._cap:
                    lists[i].append(event)

    def close(self) -> list[Result]:
        """The samples, ascending by join key (None first), events in filter order."""
        results: list[Result] = []
        for key in sorted(self._found, key=join_key_order):
            lists = self._found[key]
            if all(lists):
                for events in _distinct_picks(lists, self._per_key):
                    results.append(Result(events, key))
        return results


def _distinct_picks(lists: list[list[Event]], limit: int) -> list[tuple[Event, ...]]:
    """Up to ``limit`` picks of one event per list, no event twice in a pick, depth first."""
    picks: list[tuple[Event, ...]] = []
    chosen: list[Event] = []

    def search(depth: int) -> None:
        for event in lists[depth]:
            if any(event is other for other in chosen):
                continue
            chosen.append(event)
            if depth == len(lists) - 1:
                picks.append(tuple(chosen))
            else:
                search(depth + 1)
            chosen.pop()
            if len(picks) == limit:
                return

    search(0)
    return picks
