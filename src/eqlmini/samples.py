"""Sample matching: per join-key tuple, one distinct event per filter, as Elasticsearch picks them.

The rules follow Elasticsearch (``execution/sample/SampleIterator.java``) and spec §11.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Iterable, Iterator, Sequence

from .ordering import join_key_order
from .stages import Event, Result, StageSpec, by_category

__all__ = ["SampleMatcher"]
_SMALL_SEARCH = 4096  # picks walked without pruning when the lists' sizes multiply to at most this


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
        self._candidates = by_category([(spec, (i, spec)) for i, spec in enumerate(self._specs)])
        self._per_key = max_samples_per_key
        self._cap = len(self._specs) + max_samples_per_key - 1
        self._found: dict[tuple, list[list[Event]]] = {}

    def push(self, event: Event) -> list[Result]:
        """Feed one event (any order); samples complete only at :meth:`close`, so ``[]``."""
        found = self._found
        for i, spec in self._candidates(event):
            if not spec.matches(event):
                continue
            for key in spec.keys(event):
                lists = found.get(key)
                if lists is None:
                    lists = found[key] = [[] for _ in self._specs]
                if len(lists[i]) < self._cap:
                    lists[i].append(event)
        return []

    def run(self, events: Iterable[Event]) -> Iterator[list[Result]]:
        """Feed every event; nothing completes before :meth:`close`."""
        push = self.push
        for event in events:
            push(event)
        return iter(())

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
    """Up to ``limit`` picks of one event per list, no event twice in a pick, depth first.

    The picks and their order are those of ES's backtracking search (``matchSample``);
    branches that cannot lead to a pick are cut before they are walked, so the work is
    polynomial: at most ``limit x filters`` successful descents, each trying the events of
    one list against a Hall's-theorem test over the later lists (at most 5 filters).
    """
    picks: list[tuple[Event, ...]] = []
    chosen: list[Event] = []
    last = len(lists) - 1
    # A small search (the default of one sample per key) is walked as it is.
    fits = _Completions(lists) if math.prod(map(len, lists)) > _SMALL_SEARCH else None
    if fits is not None and not fits(0, ()):
        return picks

    def search(depth: int) -> None:
        later = fits.later[depth] if fits is not None else ()
        for event in lists[depth]:
            if any(event is other for other in chosen):
                continue
            chosen.append(event)
            if depth == last:
                picks.append(tuple(chosen))
            elif fits is None or id(event) not in later or fits(depth + 1, chosen):
                search(depth + 1)
            chosen.pop()
            if len(picks) == limit:
                return

    search(0)
    return picks


class _Completions:
    """Whether lists ``depth..`` can still get one distinct event each, avoiding ``chosen``.

    Hall's theorem: they can if and only if every set S of them holds at least |S| events
    outside ``chosen`` between them. The unions are built once per key.
    """

    def __init__(self, lists: list[list[Event]]) -> None:
        ids = [{id(event) for event in events} for events in lists]
        count = len(lists)
        # Per depth: (size of S, union of S's event ids) for every non-empty S of the lists from there on.
        self.unions = [[(size, set().union(*(ids[i] for i in group)))
                        for size in range(1, count - depth + 1) for group in combinations(range(depth, count), size)]
                       for depth in range(count + 1)]
        # Per depth: the ids in the lists after it (an event outside them cannot spoil a completion).
        self.later = [set().union(*ids[depth + 1:]) for depth in range(count)]

    def __call__(self, depth: int, chosen: Sequence[Event]) -> bool:
        taken = [id(event) for event in chosen]
        return all(len(union) - sum(1 for i in taken if i in union) >= size for size, union in self.unions[depth])
