"""Push-style matching for live use: feed events one at a time, get results as they complete.

A :class:`StreamMatcher` wraps the engine of one query kind (a predicate, a sequence matcher
or a sampler) and applies the query's pipes and ``size`` as results flow out: ``head N``
passes the first N results and then reports ``done``; ``tail N`` keeps the last N until
``close()``. ``Query.search`` is :meth:`StreamMatcher.run`: the engine's own loop over
events already in order, with the same pipes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, Callable, Iterable, Iterator, Protocol

from .errors import EqlError, EqlEventError
from .sequences import Result

Event = Mapping[str, Any]


class Engine(Protocol):
    """What a StreamMatcher drives: a sequence matcher, a sampler or an event filter."""

    def push(self, event: Event) -> list[Result]: ...  # noqa: D102 - one event: the results it completed

    def run(self, events: Iterable[Event]) -> Iterator[list[Result]]: ...  # noqa: D102 - push each event

    def close(self) -> list[Result]: ...  # noqa: D102 - end of the stream: the held-back results


class EventFilter:
    """The engine of an event query with pipes: each matching event is a result."""

    def __init__(self, match: Callable[[Event], bool]) -> None:
        self._match = match

    def push(self, event: Event) -> list[Result]:
        """``[Result((event,), ())]`` if the event matches, else ``[]``."""
        return [Result((event,), ())] if self._match(event) else []

    def run(self, events: Iterable[Event]) -> Iterator[list[Result]]:
        """The results of the matching events, one list each."""
        for event in filter(self._match, events):
            yield [Result((event,), ())]

    def close(self) -> list[Result]:
        """Nothing is held back."""
        return []


class _Head:
    def __init__(self, count: int) -> None:
        self.left = count

    def push(self, results: list[Result]) -> list[Result]:
        taken = results[: self.left]
        self.left -= len(taken)
        return taken

    def close(self) -> list[Result]:
        return []

    @property
    def done(self) -> bool:
        return self.left <= 0


class _Tail:
    def __init__(self, count: int) -> None:
        self.kept: deque[Result] = deque(maxlen=count)

    def push(self, results: list[Result]) -> list[Result]:
        self.kept.extend(results)
        return []

    def close(self) -> list[Result]:
        return list(self.kept)

    done = False


class StreamMatcher:
    """Feed events in (timestamp, tiebreaker) order with :meth:`push`; end with :meth:`close`.

    Obtain one from ``Query.matcher()``. Each call returns the results that became final,
    in Elasticsearch's order, with the query's pipes applied.
    """

    def __init__(self, engine: Engine, limits: list[tuple[str, int]]) -> None:
        self._engine = engine
        self._limits = [_Head(count) if name == "head" else _Tail(count) for name, count in limits]
        self._closed = False
        self.done = any(limit.done for limit in self._limits)
        """True once no further result can come out (a ``head`` limit was reached)."""

    def push(self, event: Event) -> list[Result]:
        """Match one more event; return the results it completed.

        An event that is not a mapping raises EqlEventError (and leaves the state as it was).
        """
        if self._closed:
            raise EqlError("push() after close(): start a new matcher with Query.matcher()")
        if event.__class__ is not dict and not isinstance(event, Mapping):
            raise EqlEventError(f"an event must be a mapping (a dict), not {type(event).__name__}")
        results = self._engine.push(event)
        return self._through(results) if results and self._limits else results

    def run(self, events: Iterable[Event]) -> Iterator[Result]:
        """Every event through the engine's own loop (events in order, each a mapping, as
        ``ordering.ordered`` gives them), then :meth:`close`: the results as they become
        final. Stops reading events once a ``head`` limit is full."""
        if self._closed:
            raise EqlError("run() after close(): start a new matcher with Query.matcher()")
        if not self.done:
            limited = bool(self._limits)
            for results in self._engine.run(events):
                if limited:
                    results = self._through(results)
                yield from results
                if self.done:  # a head limit is full: stop reading, but let tails flush
                    break
        yield from self.close()

    def close(self) -> list[Result]:
        """End of the stream: return the results that were waiting for it."""
        if self._closed:
            return []
        self._closed = True
        results = self._engine.close()
        for limit in self._limits:  # each limit's output, tail buffers included, feeds the next
            results = limit.push(results) + limit.close()
        return results

    def _through(self, results: list[Result]) -> list[Result]:
        for limit in self._limits:
            results = limit.push(results)
            if not results:
                break
        self.done = any(limit.done for limit in self._limits)
        return results
