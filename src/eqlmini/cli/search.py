"""``eqlmini search QUERY INPUT...``: one EQL query over events; the matching events, or sequences and samples."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from itertools import islice

from .. import compile as compile_query
from ..errors import EqlEventError
from ..fields import getter
from ..options import SearchOptions
from ..output import Column, event_detail
from ..sequences import MissingEvent, Result
from .common import FOUND, INPUT, INPUT_TROUBLE, INVALID, OK, add_output_options, count, exit_statuses, \
    new_command, open_writer, plural, settle
from .reading import Reading, add_input_options

COLUMNS = (Column("TIME", 24), Column("CATEGORY", 10), Column("SOURCE", 26, "path"), Column("EVENT", 30))


def add(commands: argparse._SubParsersAction) -> None:
    """The ``search`` command and its options."""
    sub = new_command(commands, "search", run, "run one EQL query over events and print what it finds",
                      exit_statuses((OK, "done, nothing matched"), (FOUND, "done, matches found"),
                                    (INVALID, "the query is invalid"), (INPUT, INPUT_TROUBLE)))
    sub.add_argument("query", metavar="QUERY", help="the EQL query")
    add_input_options(sub)
    options = sub.add_argument_group("EQL search options")
    options.add_argument("--timestamp-field", default=SearchOptions.timestamp_field,
                         help=f"default: {SearchOptions.timestamp_field} (--from and --to read it too)")
    options.add_argument("--tiebreaker-field", help="orders events with the same timestamp")
    options.add_argument("--event-category-field", default=SearchOptions.event_category_field,
                         help=f"default: {SearchOptions.event_category_field}")
    options.add_argument("--size", type=count, help="stop after this many results (0 or more)")
    add_output_options(sub)


def run(args: argparse.Namespace) -> int:
    """Search; return the exit status."""
    query = compile_query(args.query, timestamp_field=args.timestamp_field, tiebreaker_field=args.tiebreaker_field,
                          event_category_field=args.event_category_field, size=args.size)
    settle()
    reading = Reading(args, args.timestamp_field)
    writer = open_writer(args, COLUMNS, reading.progress)
    found = 0
    args.earned = lambda: reading.status(found)
    results: Iterable[Result]
    if query.kind == "event" and not query.tree.pipes:  # streams, in input order (any order will do)
        results = (Result((event,), ()) for event in islice(query.filter(reading.events()), args.size))
    elif query.kind == "sample":  # samples ignore time
        results = query.search(reading.all())
    else:
        results = query.search(reading.all(), on_error=lambda position, _, error: reading.problem(
            position, error, "left out: the query needs events in time order"))
    time, category = getter(query.options.timestamp_field), getter(query.options.event_category_field)
    try:
        for result in results:
            found += 1  # counted before it is written: a pipe closed early still gives 1
            if writer.json:
                writer.record(result.events[0] if query.kind == "event" else
                              {"join_keys": list(result.join_keys), "events": list(result.events),
                               "sources": [reading.origin(event) for event in result.events]})
                continue
            prefix = "" if query.kind == "event" else f"#{found} "
            for event in result.events:
                if isinstance(event, MissingEvent):
                    writer.row((None, None, None, prefix + "(missing)"))
                else:
                    writer.row((time(event), category(event), reading.source(event),
                                prefix + event_detail(event)))
    except EqlEventError as error:
        return reading.stopped(args, error, plural(found, "match", "matches"))
    reading.finish(args, plural(found, "match", "matches"))
    return reading.status(found)

