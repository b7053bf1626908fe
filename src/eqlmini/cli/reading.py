"""The events of a run: files found and read once, a time window applied, and where each event came from.

The readers give each batch of events with the line (NDJSON, JSON) or EVTX record number
of each event; :class:`Reading` keeps those numbers beside the events, never in them, so
an alert can name the file and record of its events while the events stay as read. An
event is found again by identity: in a list of every event, through an index built at the
first question; in a stream, in the batch being read (a rule answers about an event before
the next one is read).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

from .. import limits
from ..errors import EqlEventError
from ..fields import getter
from ..inputs import FORMATS, ReadReport, event_files, read_placed_batches
from ..ordering import timestamp_millis
from ..output import Progress, printable
from ..values import parse_date
from .common import FOUND, INPUT, OK, count, say

__all__ = ["Reading", "add_input_options", "time_bound"]

_RELATIVE = re.compile(r"([+-])(\d+)([smhdw])\Z")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def add_input_options(sub: argparse.ArgumentParser) -> None:
    """The inputs of ``search`` and ``scan``: files, folders and patterns, formats, limits, time window."""
    sub.add_argument("files", nargs="+", metavar="INPUT",
                     help="an NDJSON, JSON or EVTX file (gzip too), a folder (its .evtx, .json, .ndjson, "
                          ".jsonl files and their .gz, recursively), or a glob pattern ('logs/**/*.evtx'); "
                          "- reads standard input")
    sub.add_argument("--input-format", choices=FORMATS, help="the format of every file (default: guessed)")
    sub.add_argument("--max-line-bytes", type=count, default=limits.MAX_LINE_BYTES, metavar="N",
                     help=f"a longer NDJSON line is reported and skipped (default {limits.MAX_LINE_BYTES:,})")
    sub.add_argument("--max-document-bytes", type=count, default=limits.MAX_DOCUMENT_BYTES, metavar="N",
                     help="a longer JSON document (a .json array) is reported and not read "
                          f"(default {limits.MAX_DOCUMENT_BYTES:,})")
    window = sub.add_argument_group("time window", "  on each event's timestamp; TIME is ISO-8601 (2024-05-14T09:00:00Z, "
                                    "UTC when it\n  has no zone) or relative to now (-7d, -12h, -30m: s, m, h, d, w)")
    window.add_argument("--from", dest="since", type=time_bound, metavar="TIME", help="only events at or after TIME")
    window.add_argument("--to", dest="until", type=time_bound, metavar="TIME", help="only events at or before TIME")


def time_bound(text: str, now: Callable[[], float] = time.time) -> int | float:
    """An argparse type: ``--from``/``--to`` as epoch milliseconds."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        sign, amount, unit = relative.groups()
        offset = int(amount) * _UNIT_MS[unit]
        return round(now() * 1000) + (offset if sign == "+" else -offset)
    millis = parse_date(text.strip())
    if millis is None:
        raise argparse.ArgumentTypeError(f"not a time: {text!r}; expected an ISO-8601 time (2024-05-14T09:00:00Z) "
                                         "or one relative to now (-7d, -12h, -30m)")
    return millis


class Reading:
    """The events of every input, read once, with a progress line on a terminal; the problems
    met in ``report``; where each event came from (:meth:`origin`)."""

    def __init__(self, args: argparse.Namespace, timestamp_field: str = "@timestamp") -> None:
        self.report = ReadReport()
        self.limits_hit: list[str] = args.limits_hit
        self._files = event_files(args.files, self.report)
        self.progress = None
        if not args.quiet and sys.stderr.isatty():
            self.progress = Progress(sys.stderr, sum(_size(path) for path in self._files))
        self._format = args.input_format
        self._limits = {"max_line_bytes": args.max_line_bytes, "max_document_bytes": args.max_document_bytes}
        self._window = None
        if args.since is not None or args.until is not None:
            self._window = _Window(args.since, args.until, getter(timestamp_field))
        self._starts: list[int] = []  # the position of each batch's first event
        self._places: list[tuple[str, str, Sequence[int]]] = []  # each batch's file, unit and numbers
        self._current: list[dict] = []  # the batch being read
        self._all: list[dict] | None = None
        self._index: dict[int, int] | None = None

    def events(self) -> Iterator[dict]:
        """The events, lazily; positions count from 0 across the files."""
        return chain.from_iterable(self._batches())

    def all(self) -> list[dict]:
        """Every event, in memory (positions are list indexes)."""
        self._all = list(self.events())
        return self._all

    def _batches(self) -> Iterator[list[dict]]:
        count = 0
        for path in self._files:
            for batch in read_placed_batches(path, report=self.report, format=self._format, **self._limits):
                events, numbers = batch.events, batch.numbers
                if self._window is not None:
                    events, numbers = self._window.keep(events, numbers)
                if self.progress is not None:
                    self.progress.update(count + len(events))
                if events:
                    self._starts.append(count)
                    self._places.append((batch.source, batch.unit, numbers))
                    self._current = events
                    count += len(events)
                    yield events
            if self.progress is not None:
                self.progress.update(count, file_done=_size(path))

    def origin(self, event: Any) -> dict[str, Any] | None:
        """Where ``event`` came from: ``{"file": ..., "line": n}`` or ``{"file": ..., "record": n}``."""
        position = self._position(event)
        if position is None:
            return None
        source, unit, number = self._place(position)
        return {"file": source, unit: number}

    def source(self, event: Any) -> str:
        """Where ``event`` came from, for a table or CSV: ``events.ndjson:12`` (a line),
        ``Security.evtx#4021`` (an EVTX record's EventRecordID), ``logs.parquet#12`` (a
        Parquet row); "" when unknown."""
        position = self._position(event)
        if position is None:
            return ""
        source, unit, number = self._place(position)
        return f"{source}{':' if unit == 'line' else '#'}{number}"

    def problem(self, position: int, error: EqlEventError, consequence: str) -> None:
        """Report the event at ``position`` that could not be used (the run goes on)."""
        source, unit, number = self._place(position)
        self.report.add(source, f"{unit} {number}", f"{error.message}; {consequence}", unreadable=False)

    def _place(self, position: int) -> tuple[str, str, int]:
        batch = bisect_right(self._starts, position) - 1
        source, unit, numbers = self._places[batch]
        return source, unit, numbers[position - self._starts[batch]]

    def _position(self, event: Any) -> int | None:
        if self._all is not None:
            if self._index is None:
                self._index = {id(each): position for position, each in enumerate(self._all)}
            return self._index.get(id(event))
        current = self._current
        for index in range(len(current) - 1, -1, -1):  # most often the event just read
            if current[index] is event:
                return self._starts[-1] + index
        return None

    def finish(self, args: argparse.Namespace, found: str, lines: Iterable[str] = ()) -> None:
        """The problems met while reading (always), and the summary (unless --quiet), on stderr."""
        report = self.report
        if self.progress is not None:
            self.progress.clear()
        for problem in report.problems:
            say(str(problem))
        if report.problems_omitted:
            say(f"... and {report.problems_omitted} more problems")
        for message in args.limits_hit[:report.MAX_PROBLEMS]:
            say(f"limit: {message}")
        if len(args.limits_hit) > report.MAX_PROBLEMS:
            say(f"... and {len(args.limits_hit) - report.MAX_PROBLEMS} more limits hit")
        if not args.quiet:
            window = self._window.summary() if self._window is not None else ""
            say(f"{report.summary()}{window}; {found}")
            for line in lines:
                print(printable(line), file=sys.stderr)

    def stopped(self, args: argparse.Namespace, error: EqlEventError, found: str) -> int:
        """An event stopped the run: what was found, the problems, the error and the summary."""
        self.finish(args, f"{found} before it stopped")
        say(f"event error: {error}")
        return INPUT

    def status(self, found: int) -> int:
        """The exit status of a run that found ``found`` results."""
        if not self.report.ok or self.limits_hit:
            return INPUT
        return FOUND if found else OK


class _Window:
    """``--from``/``--to``: keeps the events whose timestamp lies between, counts the others."""

    def __init__(self, since: float | None, until: float | None, timestamp: Callable[[Any], Any]) -> None:
        self._since = float("-inf") if since is None else since
        self._until = float("inf") if until is None else until
        self._timestamp = timestamp
        self.outside = self.untimed = 0

    def keep(self, events: list[dict], numbers: Sequence[int]) -> tuple[list[dict], list[int]]:
        kept: list[dict] = []
        places: list[int] = []
        for event, number in zip(events, numbers):
            try:
                millis = timestamp_millis(self._timestamp(event))
            except EqlEventError:
                self.untimed += 1
                continue
            if self._since <= millis <= self._until:
                kept.append(event)
                places.append(number)
            else:
                self.outside += 1
        return kept, places

    def summary(self) -> str:
        """``, 12 outside --from/--to, 1 without a timestamp`` (the parts that apply)."""
        parts = [f"{self.outside} outside --from/--to"] if self.outside else []
        if self.untimed:
            parts.append(f"{self.untimed} without a timestamp, left out by --from/--to")
        return f" ({', '.join(parts)})" if parts else ""


def _size(path: str) -> int:
    return os.path.getsize(path) if path != "-" and os.path.isfile(path) else 0

