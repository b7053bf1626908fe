"""Push-style matching for live use: feed events one at a time, get results as they complete.

A :class:`StreamMatcher` wraps the engine of one query kind (a predicate, a sequence matcher
or a sampler) and applies the query's pipes and ``size`` as results flow out: ``head N``
passes the first N results and then reports ``done``; ``tail N`` keeps the last N until
``close()``. ``Query.search`` is a loop over the same object.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Mapping

from .errors import EqlError
from .sequences import Result

Event = Mapping[str, Any]


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

    def __init__(self, push: Callable[[Event], list[Result]], close: Callable[[], list[Result]],
                 limits: list[tuple[str, int]]) -> None:
        self._push = push
        self._close = close
        self._limits = [_Head(count) if name == "head" else _Tail(count) for name, count in limits]
        self._closed = False
        self.done = any(limit.done for limit in self._limits)
        """True once no further result can come out (a ``head`` limit was reached)."""

    def push(self, event: Event) -> list[Result]:
        """Match one more event; return the results it completed."""
        if self._closed:
            raise EqlError("push() after close(): start a new matcher with Query.matcher()")
        results = self._push(event)
        return self._through(results) if results and self._limits else results

    def close(self) -> list[Result]:
        """End of the stream: return the results that were waiting for it."""
        if self._closed:
            return []
        self._closed = True
        results = self._close()
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
