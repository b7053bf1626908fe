"""Query: a compiled EQL statement with its options; match, filter and search events."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping

from . import ast, compiler, frames, sequences
from .errors import EqlError
from .fields import getter
from .options import SearchOptions
from .ordering import OnError
from .samples import SampleMatcher
from .sequences import EventOrder, Result, SequenceMatcher, StageSpec
from .stream import StreamMatcher

Event = Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class Query:
    """A compiled query. Call it (or ``match``) on one event; ``filter`` or ``search`` streams.

    Build it with :func:`eqlmini.compile`; it is immutable and safe to share between threads.
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
        stages = _stage_specs(body.stages, body.by, options)
        until = None
        if isinstance(body, ast.Sequence) and body.until is not None:
            until = _stage_specs((body.until,), body.by, options)[0]
        return cls(text, tree, options, None, tuple(stages), until)

    def __post_init__(self) -> None:
        if self._predicate is not None:
            # Hot path: `query.match` is the compiled predicate itself, with no wrapper call.
            object.__setattr__(self, "match", self._predicate)

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
        An event with no place in time (no or a bad timestamp) raises EqlEventError, unless
        ``on_error(position, event, error)`` is given: it hears of the event, which is left out.
        A DataFrame or Arrow Table gives its results as a frame (eqlmini.frames).
        """
        if frames.kind_of(events) is not None:
            return frames.search(self, events, assume_sorted=assume_sorted, on_error=on_error)
        return self._search(events, assume_sorted, on_error)

    def _search(self, events: Iterable[Event], assume_sorted: bool | None,
                on_error: OnError | None) -> Iterator[Result]:
        matcher = self.matcher()
        if self.kind != "sample":
            events = sequences.ordered(events, self.order(), assume_sorted=assume_sorted, on_error=on_error)
        for event in events:
            yield from matcher.push(event)
            if matcher.done:  # a head limit is full: stop reading, but let tails flush
                break
        yield from matcher.close()

    def matcher(self) -> StreamMatcher:
        """A push-style matcher for live streams: ``push(event)`` returns the results that
        event completed, ``close()`` the rest. Events must come in (timestamp, tiebreaker)
        order. Pipes and ``size`` apply as in :meth:`search`."""
        limits = [(pipe.name, pipe.args[0].value) for pipe in self.tree.pipes]  # type: ignore[union-attr]
        if self.options.size is not None:
            # As Elasticsearch plans it: `size` is a limit of the first pipe's kind, applied
            # before that pipe; with no pipe, it keeps the first results.
            limits.insert(0, (limits[0][0] if limits else "head", self.options.size))
        if self._predicate is not None:
            match = self._predicate
            return StreamMatcher(lambda event: [Result((event,), ())] if match(event) else [], list, limits)
        body = self.tree.body
        if isinstance(body, ast.Sequence):
            engine = SequenceMatcher(self._stages, until=self._until, order=self.order(),
                                     maxspan_ms=body.maxspan.millis if body.maxspan else None)
            return StreamMatcher(engine.push, engine.close, limits)
        sampler = SampleMatcher(self._stages, max_samples_per_key=self.options.max_samples_per_key)
        return StreamMatcher(lambda event: sampler.push(event) or [], sampler.close, limits)

    def order(self) -> EventOrder:
        """How this query orders events: by its timestamp field, then its tiebreaker."""
        tiebreaker = self.options.tiebreaker_field
        return EventOrder(getter(self.options.timestamp_field), getter(tiebreaker) if tiebreaker else None)


def _stage_specs(stages: Iterable[ast.Stage], by: tuple[ast.Expr, ...],
                 options: SearchOptions) -> list[StageSpec]:
    """One StageSpec per stage, a stage ``with runs=N`` repeated N times."""
    specs = []
    for stage in stages:
        spec = StageSpec(matches=compiler.compile_event_query(stage.query, options),
                         keys=_join_keys((*by, *stage.by)), missing=stage.missing)
        specs.extend([spec] * (stage.runs or 1))
    return specs


def _join_keys(keys: tuple[ast.Expr, ...]) -> Callable[[Event], list[tuple]]:
    """Every key tuple an event takes part under: the product of its keys' values.

    Duplicates collapse; a null or missing value excludes the event unless the key is
    ``?optional``, where null is a key value of its own (spec sections 5 and 6).
    """
    if not keys:
        return lambda event: [()]
    readers = [(getter(key.name), key.optional) for key in keys]  # type: ignore[union-attr]

    def key_tuples(event: Event) -> list[tuple]:
        key = []
        several = False
        for read, optional in readers:
            value = read(event)  # None, a scalar, or a flat list of scalars
            if value is None and not optional:
                return []
            several = several or value.__class__ is list
            key.append(value)
        if not several:
            return [tuple(key)]
        choices = [tuple(dict.fromkeys(v)) if v.__class__ is list else (v,) for v in key]
        return list(itertools.product(*choices))
    return key_tuples
