"""Query: a compiled EQL statement with its options; match, filter and search events."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from . import ast, compile_cache, compiler, frames
from .errors import EqlError, EqlEventError
from .fields import getter
from .joins import stage_specs
from .options import SearchOptions
from .ordering import OnError, ordered
from .samples import SampleMatcher
from .sequences import EventOrder, Result, SequenceMatcher, StageSpec
from .stream import EventFilter, StreamMatcher

Event = Mapping[str, Any]


@dataclass(frozen=True, eq=False, repr=False)
class Query:
    """A compiled query. Call it (or ``match``) on one event; ``filter`` or ``search`` streams.

    Build it with :func:`eqlmini.compile`; it is immutable and safe to share between threads.
    It pickles as its text and options: unpickling compiles it again, once per process
    (:mod:`eqlmini.compile_cache`), so it can be sent to worker processes.
    """

    text: str
    tree: ast.Query
    options: SearchOptions
    _predicate: Callable[[Event], bool] | None = field(repr=False)
    _stages: tuple[StageSpec, ...] = field(default=(), repr=False)
    _until: StageSpec | None = field(default=None, repr=False)

    @classmethod
    def build(cls, text: str, tree: ast.Query, options: SearchOptions) -> "Query":
        """Compile a verified tree once: the event predicate, or every stage's filter and keys."""
        body = tree.body
        if isinstance(body, ast.EventQuery):
            return cls(text, tree, options, compiler.compile_event_query(body, options))
        stages, until = stage_specs(body, options)
        return cls(text, tree, options, None, stages, until)

    def __post_init__(self) -> None:
        if self._predicate is not None:
            # Hot path: `query.match` is the compiled predicate itself, with no wrapper call.
            object.__setattr__(self, "match", self._predicate)

    def __reduce__(self) -> tuple:
        return compile_cache.compiled, (self.text, self.options)

    def __repr__(self) -> str:
        text = " ".join(self.text.split())
        return f"<Query {self.kind}: {text if len(text) <= 72 else text[:71] + chr(0x2026)}>"

    def _repr_html_(self) -> str:
        return (f"<div><b>{html.escape(self.kind)} query</b>"
                f"<pre style='white-space: pre-wrap'>{html.escape(self.text.strip())}</pre></div>")

    @property
    def kind(self) -> str:
        """``"event"``, ``"sequence"`` or ``"sample"``."""
        return self.tree.kind

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields the query reads (the category field included when it tests one)."""
        names = list(self.tree.fields())
        if any(query.category is not None for query in self.tree.event_queries()):
            names.append(self.options.event_category_field)
        return tuple(dict.fromkeys(names))

    def __str__(self) -> str:
        return self.text

    def __call__(self, event: Event) -> bool:
        """Whether one event matches (event queries only)."""
        return self.match(event)

    def match(self, event: Event) -> bool:
        """Whether one event matches (event queries only; pipes do not apply to one event)."""
        if self._predicate is None:
            raise EqlError(f"a {self.kind} query matches a stream of events, not one: use search()")
        return self._predicate(event)

    def filter(self, events: Iterable[Event]) -> Iterator[Event]:
        """Lazily yield the events that match, in input order (event queries only, no pipes).
        A pandas or Polars DataFrame or an Arrow Table gives its matching rows (eqlmini.frames)."""
        if frames.kind_of(events) is not None:
            return frames.filter(self, events)
        if self._predicate is None:
            raise EqlError(f"a {self.kind} query matches a stream of events, not one: use search()")
        return filter(self._predicate, events)

    def search(self, events: Iterable[Event], *, assume_sorted: bool | None = None,
               on_error: OnError | None = None) -> Iterator[Result]:
        """Run the query over events as Elasticsearch would and yield ``Result`` objects.

        Events are taken in (timestamp, tiebreaker) order. A list or tuple is checked and
        sorted only if needed; any other iterable is streamed and must already be in order
        (an event out of order raises EqlEventError), unless ``assume_sorted=False``, which
        sorts it in memory. Samples ignore time. ``| head``, ``| tail`` and ``size`` apply.
        An event with no place in time (not a mapping, no or a bad timestamp) raises
        EqlEventError, unless ``on_error(position, event, error)`` is given: it hears of
        the event, which is left out. Nothing is read before the first result is asked for.
        A DataFrame or Arrow Table gives its results as a frame (eqlmini.frames).
        """
        if frames.kind_of(events) is not None:
            return frames.search(self, events, assume_sorted=assume_sorted, on_error=on_error)
        return self._search(events, assume_sorted, on_error)

    def _search(self, events: Iterable[Event], assume_sorted: bool | None,
                on_error: OnError | None) -> Iterator[Result]:
        if self.kind == "sample":
            events = _mappings(events, on_error)
        else:
            events = ordered(events, self.order(), assume_sorted=assume_sorted, on_error=on_error)
        yield from self.matcher().run(events)

    def matcher(self) -> StreamMatcher:
        """A push-style matcher for live streams: ``push(event)`` returns the results that
        event completed, ``close()`` the rest. Events must come in (timestamp, tiebreaker)
        order. Pipes and ``size`` apply as in :meth:`search`."""
        # `head N`/`tail N`: the verifier made N a non-negative integer literal.
        limits = [(pipe.name, int(pipe.args[0].value))  # type: ignore[union-attr, arg-type]
                  for pipe in self.tree.pipes]
        if self.options.size is not None:
            # As Elasticsearch plans it: `size` is a limit of the first pipe's kind, applied
            # before that pipe; with no pipe, it keeps the first results.
            limits.insert(0, (limits[0][0] if limits else "head", self.options.size))
        if self._predicate is not None:
            return StreamMatcher(EventFilter(self._predicate), limits)
        body = self.tree.body
        if isinstance(body, ast.Sequence):
            return StreamMatcher(SequenceMatcher(self._stages, until=self._until, order=self.order(),
                                                 maxspan_ms=body.maxspan.millis if body.maxspan else None), limits)
        return StreamMatcher(SampleMatcher(self._stages, max_samples_per_key=self.options.max_samples_per_key),
                             limits)

    def to_sql(self, dialect: str, columns: Mapping[str, Any], *, prefilter: bool = False) -> Any:
        """The query as a SQL condition (``"duckdb"`` or ``"spark"``) on a table with ``columns``
        (name -> type); returns an ``eqlmini.sql.SqlFilter``. See :func:`eqlmini.sql.to_sql`."""
        from .sql import to_sql  # the SQL generator loads only when asked for

        return to_sql(self, dialect, columns, prefilter=prefilter)

    def order(self) -> EventOrder:
        """How this query orders events: by its timestamp field, then its tiebreaker."""
        timestamp, tiebreaker = self.options.timestamp_field, self.options.tiebreaker_field
        return EventOrder(getter(timestamp), getter(tiebreaker) if tiebreaker else None,
                          timestamp if "." not in timestamp else None)


def _mappings(events: Iterable[Event], on_error: OnError | None) -> Iterator[Event]:
    """The events that are mappings; any other is an EqlEventError, or reported to ``on_error``."""
    for position, event in enumerate(events):
        if event.__class__ is dict or isinstance(event, Mapping):
            yield event
            continue
        error = EqlEventError(f"an event must be a mapping (a dict), not {type(event).__name__}")
        if on_error is None:
            raise error
        on_error(position, event, error)
