"""``eqlmini replay FILE...``: the command-line face of :func:`eqlmini.replay`.

    eqlmini replay logs/week.ndjson                          # the bundled rules
    eqlmini replay --rules my-rules/ --set max_signals=500 logs/week.ndjson
    eqlmini replay --show missed --format csv -o missed.csv logs/week.ndjson

:func:`add` puts the subcommand on the ``eqlmini`` command's subparsers; the command line
calls :func:`run` with the parsed arguments and maps what it raises (a bad rule: exit 3) to
stderr and an exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Any

from ..cli.packs import add_rules_option, load_pack
from ..inputs import FORMATS as INPUT_FORMATS
from ..inputs import ReadReport, read_events
from ..output import printable
from . import Replay, changed, replay
from .documents import delay_function
from .output import FORMATS, SECTIONS, plural, write
from .timing import CHANGEABLE, instant

__all__ = ["add", "run"]

OK, FOUND, USAGE, INPUT = 0, 1, 2, 4  # the statuses of docs/cli.md that this command gives itself
# What -o FILE writes when --format is not given, by the file's extension.
_FORMAT_OF_EXTENSION = {".csv": "csv", ".ndjson": "json", ".jsonl": "json", ".json": "json", ".txt": "table"}
STATUSES = f"""exit status:
  {OK}    done, no alert
  {FOUND}    done, alerts raised
  {USAGE}    usage error
  3    a rule, or its schedule, is invalid (with --strict: a rule file was skipped)
  {INPUT}    input trouble: a file, record or event could not be read, or a limit cut work short"""


def add(commands: Any) -> argparse.ArgumentParser:
    """The ``replay`` subcommand, on ``commands`` (argparse's subparsers)."""
    text = ("replay rules as Kibana's scheduled runs would run them: each run's window, alerts, duplicates "
            "and truncation; alerts per day and their delay; what the runs miss that one scan finds")
    sub = commands.add_parser("replay", help=text, description=text, epilog=STATUSES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.set_defaults(run=run)
    sub.add_argument("files", nargs="+", metavar="FILE", help="NDJSON, JSON or EVTX files (gzip too); - reads "
                                                                 "standard input")
    sub.add_argument("--input-format", choices=INPUT_FORMATS, help="the format of every FILE (default: guessed)")
    add_rules_option(sub)
    sub.add_argument("--format", choices=FORMATS,
                     help="table (the default on a terminal), json: one JSON object per line (the default "
                          "otherwise), or csv")
    sub.add_argument("-o", "--output", metavar="FILE", help="write to FILE (its format from its extension: .csv, "
                                                            ".ndjson, .jsonl, .json, .txt for a table; else json)")
    sub.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")
    group = sub.add_argument_group("the runs")
    group.add_argument("--start", type=_time, metavar="TIME",
                       help="the first run's start, ISO-8601 (default: the first event's window time)")
    group.add_argument("--end", type=_time, metavar="TIME",
                       help="runs go on while their window reaches TIME (default: the last event)")
    group.add_argument("--set", action="append", default=[], type=_change, metavar="KEY=VALUE", dest="changes",
                       help="change every rule's schedule (repeatable): interval=1m, from=now-2m, max_signals=500, "
                            "timestamp_override=none, alert_suppression=none")
    group.add_argument("--delay", type=_delay, metavar="DURATION",
                       help="a simulated ingest delay for events without event.ingested: 2m, or 1m..10m for one "
                            "drawn per event (seeded by --seed)")
    group.add_argument("--seed", type=int, default=0, help="the seed of a --delay range (default 0)")
    group.add_argument("--outage", action="append", default=[], type=_outage, metavar="TIME..TIME",
                       help="no run starts in this span (repeatable), to see Kibana's catch-up after a gap")
    shown = sub.add_argument_group("what is written")
    shown.add_argument("--show", type=_sections, metavar="SECTIONS",
                       help=f"comma-separated, of {', '.join(SECTIONS)} (default: executions,missed,summary; "
                            "CSV holds one section: executions by default)")
    shown.add_argument("--all-executions", action="store_true",
                       help="a table lists every search, not only those that found something or were unusual")
    shown.add_argument("--plot", metavar="FILE", help="draw alerts over time to FILE (.png, .svg or .pdf); needs "
                                                      "matplotlib: pip install 'eqlmini[plot]'")
    return sub


def run(args: argparse.Namespace) -> int:
    """Replay; return the exit status."""
    rules = load_pack(args)
    if args.changes:  # a changed rule is a new Rule, compiled again: only when asked for
        rules = [changed(rule, **dict(args.changes)) for rule in rules]
    format = args.format or (_FORMAT_OF_EXTENSION.get(os.path.splitext(args.output)[1].lower(), "json")
                             if args.output else "table" if sys.stdout.isatty() else "json")
    sections = args.show or (["executions"] if format == "csv" else ["executions", "missed", "summary"])
    if format == "csv" and (len(sections) != 1 or sections[0] == "summary"):
        _say("error: a CSV file holds one section: --show executions, alerts or missed")
        return USAGE
    if args.plot:
        try:
            from .plot import plot
        except ImportError as error:  # said before the work, not after it
            _say(f"error: {error}")
            return USAGE
    report = ReadReport()
    events = list(read_events(args.files, report=report, format=args.input_format))
    result = replay(rules, events, start=args.start, end=args.end, delay=args.delay, seed=args.seed,
                    outages=args.outage)
    with contextlib.ExitStack() as stack:
        stream = sys.stdout if args.output is None else \
            stack.enter_context(open(args.output, "w", encoding="utf-8", newline=""))
        write(result, stream, format, sections, every=args.all_executions)
    if args.plot:
        _say(f"plot: {plot(result, args.plot)}")
    for problem in report.problems:
        _say(str(problem))
    if not args.quiet:
        _say(f"{report.summary()}; {_found(result)}")
    return INPUT if not report.ok or getattr(args, "limits_hit", None) else FOUND if result.alerts else OK


def _found(result: Replay) -> str:
    return (f"{plural(len(result.alerts), 'alert')} from {plural(len(result.rules), 'rule')} in "
            f"{plural(len(result.executions), 'search', 'searches')}; {len(result.missed):,} of "
            f"{sum(len(r.scanned) for r in result.rules):,} whole-history matches missed")


def _say(message: str) -> None:
    print(f"eqlmini: {printable(message, lines=True)}", file=sys.stderr)


# ----------------------------------------------------------------------------- argument types
def _argument_type(parse: Any) -> Any:
    """An argparse type from a parser that raises ValueError: a usage error with its message."""
    def checked(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    checked.__name__ = parse.__name__.lstrip("_")
    return checked


@_argument_type
def _time(text: str) -> int | float:
    return instant(text, "time")


@_argument_type
def _delay(text: str) -> str:
    delay_function(text)  # checked now, drawn later
    return text


@_argument_type
def _outage(text: str) -> tuple[int | float, int | float]:
    low, dots, high = text.partition("..")
    if not dots:
        raise ValueError(f"an outage is FROM..TO, not {text!r}")
    return instant(low, "outage"), instant(high, "outage")


@_argument_type
def _change(text: str) -> tuple[str, Any]:
    key, equals, value = text.partition("=")
    key = key.strip()
    if not equals or key not in CHANGEABLE or key == "from_":
        raise ValueError(f"expected KEY=VALUE with KEY one of {', '.join(k for k in CHANGEABLE if k != 'from_')}, "
                         f"not {text!r}")
    value = value.strip()
    if value.lower() == "none":
        return key, None
    if key == "max_signals":
        if not value.isdigit():
            raise ValueError(f"max_signals must be a whole number, not {value!r}")
        return key, int(value)
    if key == "timestamp_override_fallback_disabled":
        return key, value.lower() in ("true", "1", "yes")
    if key == "alert_suppression":
        raise ValueError("alert_suppression can only be removed here (alert_suppression=none): "
                         "set it in the rule file")
    return key, value


@_argument_type
def _sections(text: str) -> list[str]:
    sections = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in sections if part not in SECTIONS]
    if unknown or not sections:
        raise ValueError(f"sections are {', '.join(SECTIONS)}, not {text!r}")
    return sections
