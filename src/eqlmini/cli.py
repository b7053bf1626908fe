"""The ``eqlmini`` command: search events with a query, scan them with rules, check and list rules.

    eqlmini search 'process where process.name : "cmd.exe"' events.ndjson
    eqlmini scan Security.evtx                      # the bundled rules
    eqlmini scan --rules my-rules/ logs/*.ndjson.gz
    eqlmini check my-rules/
    eqlmini rules --rules my-rules/
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
import traceback
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from pathlib import Path
from typing import Any

from . import compile as compile_query
from . import limits
from .errors import EqlError, EqlEventError, EqlSemanticError, EqlSyntaxError
from .fields import getter
from .inputs import FORMATS, ReadReport, read_batches
from .limits import EqlLimitWarning
from .options import SearchOptions
from .output import Progress, Writer, alert_record, event_detail, printable, rule_record
from .rule_files import Skipped, bundled_rules, load_rule, load_rules, rule_files
from .rules import NotEqlError, Rule, RuleError, RuleWarning
from .ruleset import RuleSet
from .sequences import MissingEvent, Result

__all__ = ["main"]

OK, FOUND, USAGE, INVALID, INPUT, INTERNAL, INTERRUPTED = 0, 1, 2, 3, 4, 70, 130
EXIT_STATUS = f"""exit status:
  {OK}    done, nothing found (no match, no alert); check: every rule is valid
  {FOUND}    done, matches or alerts found
  {USAGE}    usage error
  {INVALID}    a query or rule is invalid (with --strict: a rule file was skipped)
  {INPUT}    input trouble: a file, record or event could not be read or used (no
       timestamp where time order matters), or a limit cut work short; the run
       still went to the end and printed what it found
  {INTERNAL}   internal error: a bug in eqlmini (shown with a traceback), or the system
       failing (disk full)
  {INTERRUPTED}  interrupted
  The output's reader going away (| head) ends the run quietly with the status
  it had earned so far (1 once a match was found)."""
# Each error class: what stderr calls it, and the exit status (first match wins).
ERRORS: tuple[tuple[type[Exception], str, int], ...] = (
    (EqlEventError, "event error", INPUT), (RuleError, "rule error", INVALID),
    (EqlSyntaxError, "syntax error", INVALID), (EqlSemanticError, "invalid query", INVALID),
    (EqlError, "error", INVALID))
EVENT_COLUMNS = (("TIME", 27), ("CATEGORY", 12), ("EVENT", 30))
ALERT_COLUMNS = (("TIME", 27), ("SEVERITY", 8), ("RISK", 4), ("RULE", 48), ("EVENT", 30))
RULE_COLUMNS = (("SEVERITY", 8), ("RISK", 4), ("KIND", 8), ("ATT&CK", 28), ("NAME", 30))
CHECK_COLUMNS = (("STATUS", 6), ("FILE", 50), ("RULE", 30))


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit:  # --help, or a usage error argparse has reported
        return int(exit.code or 0)
    args.earned = lambda: OK  # the status earned so far: a command keeps it up to date
    args.limits_hit = []  # EqlLimitWarnings met: each is a problem, as in a ReadReport
    collector = gc.get_threshold()  # _settle changes it for the run; main may be called in a program
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", RuleWarning)
            warnings.simplefilter("always", EqlLimitWarning)
            warnings.showwarning = lambda message, category, *_: _warned(args, message, category)
            status = args.run(args)
        sys.stdout.flush()  # a pipe closed early fails here, not after main has returned
        return status
    except EqlError as error:
        name, status = _describe(error)
        _say(f"{name}: {error}")
        return status
    except KeyboardInterrupt:
        _say("interrupted")
        return INTERRUPTED
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        with contextlib.suppress(OSError, ValueError):  # the rest of the buffer goes nowhere
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return args.earned()
    except OSError as error:  # writing the output failed: the system, not eqlmini
        _say(f"error: {error}")
        return INTERNAL
    except Exception as error:  # a bug: never a traceback with a status that means something else
        _internal(error)
        return INTERNAL
    finally:
        gc.unfreeze()
        gc.set_threshold(*collector)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eqlmini", description=__doc__.split("\n")[0].strip(),
                                     epilog=EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    def command(name: str, run: Callable[[argparse.Namespace], int], text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text, epilog=EXIT_STATUS,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.set_defaults(run=run)
        sub.add_argument("--format", choices=("table", "json"),
                         help="table (default on a terminal) or json: one JSON object per line (default otherwise)")
        sub.add_argument("-q", "--quiet", action="store_true", help="no progress line and no summary on stderr")
        return sub

    def inputs(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("files", nargs="+", metavar="FILE",
                         help="NDJSON, JSON or EVTX files (gzip too); - reads standard input")
        sub.add_argument("--input-format", choices=FORMATS, help="the format of every FILE (default: guessed)")
        sub.add_argument("--max-line-bytes", type=_count, default=limits.MAX_LINE_BYTES, metavar="N",
                         help=f"a longer NDJSON line is reported and skipped (default {limits.MAX_LINE_BYTES:,})")
        sub.add_argument("--max-document-bytes", type=_count, default=limits.MAX_DOCUMENT_BYTES, metavar="N",
                         help="a longer JSON document (a .json array) is reported and not read "
                              f"(default {limits.MAX_DOCUMENT_BYTES:,})")

    def packs(sub: argparse.ArgumentParser, *, check: bool = False) -> None:
        sub.add_argument("--strict", action="store_true",
                         help="a rule file that cannot be used (not EQL, invalid) is an error (exit 3)"
                         if not check else "a rule in another language (KQL, ES|QL) is an error too")
        sub.add_argument("--follow-links", action="store_true",
                         help="follow links that lead out of a rules folder (default: reported, not followed)")

    search = command("search", _search, "run one EQL query over events and print what it finds")
    search.add_argument("query", metavar="QUERY", help="the EQL query")
    inputs(search)
    search.add_argument("--timestamp-field", default=SearchOptions.timestamp_field,
                        help=f"default: {SearchOptions.timestamp_field}")
    search.add_argument("--tiebreaker-field", help="orders events with the same timestamp")
    search.add_argument("--event-category-field", default=SearchOptions.event_category_field,
                        help=f"default: {SearchOptions.event_category_field}")
    search.add_argument("--size", type=_count, help="stop after this many results (0 or more)")
    scan = command("scan", _scan, "run rules over events and print their alerts")
    scan.add_argument("--rules", action="append", metavar="PATH",
                      help="a rule file or folder (repeatable; default: the bundled rules)")
    packs(scan)
    inputs(scan)
    check = command("check", _check, "validate rule files (.eql, detection-rules .toml)")
    check.add_argument("paths", nargs="+", metavar="PATH", help="rule files or folders")
    packs(check, check=True)
    rules = command("rules", _rules, "list rules with severity, risk score and ATT&CK ids")
    rules.add_argument("--rules", action="append", metavar="PATH",
                       help="a rule file or folder (repeatable; default: the bundled rules)")
    packs(rules)
    return parser


# ----------------------------------------------------------------------------- commands
def _search(args: argparse.Namespace) -> int:
    query = compile_query(args.query, timestamp_field=args.timestamp_field, tiebreaker_field=args.tiebreaker_field,
                          event_category_field=args.event_category_field, size=args.size)
    _settle()
    reading = _Reading(args)
    writer = _writer(args, EVENT_COLUMNS, reading.progress)
    found = 0
    args.earned = lambda: _status(found, reading)
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
                              {"join_keys": list(result.join_keys), "events": list(result.events)})
            else:
                prefix = "" if query.kind == "event" else f"#{found} "
                for event in result.events:
                    detail = "(missing)" if isinstance(event, MissingEvent) else event_detail(event)
                    writer.row((time(event), category(event), prefix + detail))
    except EqlEventError as error:
        return _stopped(args, reading, error, f"{found} match{'es' if found != 1 else ''}")
    _finish(args, reading, f"{found} match{'es' if found != 1 else ''}")
    return _status(found, reading)


def _scan(args: argparse.Namespace) -> int:
    rules = _load(args)
    if rules is None:
        return INVALID
    ruleset = RuleSet(rules)
    _settle()
    reading = _Reading(args)
    writer = _writer(args, ALERT_COLUMNS, reading.progress)
    counts: Counter[Rule] = Counter()
    args.earned = lambda: _status(counts.total(), reading)

    def untimed(position: int, error: EqlEventError) -> None:
        reading.problem(position, error, "only the rules that need no time order ran on it")

    def found() -> str:
        total = counts.total()
        return (f"{total} alert{'s' if total != 1 else ''} from {len(counts)} of "
                f"{len(ruleset)} rule{'s' if len(ruleset) != 1 else ''}")

    try:
        for alert in ruleset.scan(reading.all() if ruleset.ordered else reading.events(), on_event_error=untimed):
            counts[alert.rule] += 1
            if writer.json:
                writer.record(alert_record(alert))
            else:
                last = next(e for e in reversed(alert.events) if not isinstance(e, MissingEvent))
                writer.row((alert.timestamp, alert.severity, alert.risk_score, alert.rule.name, event_detail(last)))
    except EqlEventError as error:
        return _stopped(args, reading, error, found())
    lines = [f"{count:>8}  {rule.severity:<8}  {rule.name}" for rule, count in counts.most_common()]
    _finish(args, reading, found(), lines)
    return _status(counts.total(), reading)


def _check(args: argparse.Namespace) -> int:
    writer = _writer(args, CHECK_COLUMNS, None)
    files: list[Path] = []
    errors = skipped = 0
    internal = False

    def invalid(path: Any, error: EqlError) -> None:
        nonlocal errors
        errors += 1
        _report_invalid(writer, path, error)
    for path in args.paths:
        try:
            files.extend(rule_files(path, follow_links=args.follow_links, on_error=invalid))
        except RuleError as error:
            invalid(path, error)
    seen: dict[str, Path] = {}
    valid = 0
    args.earned = lambda: INTERNAL if internal else INVALID if errors else OK
    for file in files:
        try:
            rule = load_rule(file, strict=True)
            if rule.rule_id in seen:
                raise RuleError(f"{file}: rule_id {rule.rule_id} is also the rule_id of {seen[rule.rule_id]}")
        except NotEqlError as error:
            if args.strict:
                invalid(file, error)
            else:
                skipped += 1
                _report_skipped(writer, file, error)
            continue
        except EqlError as error:
            invalid(file, error)
            continue
        except Exception as error:  # a bug: say which file, and check the others
            internal = True
            _internal(error, f" while checking {file}")
            continue
        valid += 1
        if rule.rule_id is not None:
            seen[rule.rule_id] = file
        if writer.json:
            writer.record({"path": str(file), "ok": True, "rule": rule.name})
        else:
            writer.row(("ok", file, rule.name))
    if not args.quiet:
        others = f", {skipped} skipped (not EQL)" if skipped else ""
        _say(f"checked {len(files)} file{'s' if len(files) != 1 else ''}: {valid} valid "
             f"rule{'s' if valid != 1 else ''}, {errors} error{'s' if errors != 1 else ''}{others}")
    return args.earned()


def _rules(args: argparse.Namespace) -> int:
    rules = _load(args)
    if rules is None:
        return INVALID
    writer = _writer(args, RULE_COLUMNS, None)
    for rule in rules:
        if writer.json:
            writer.record(rule_record(rule))
        else:
            ids = " ".join(dict.fromkeys(i for threat in rule.threat for i in threat.ids))
            writer.row((rule.severity, rule.risk_score, rule.query.kind, ids, rule.name))
    return OK


# ----------------------------------------------------------------------------- helpers
def _load(args: argparse.Namespace) -> list[Rule] | None:
    """The rules of ``--rules`` (the bundled ones by default); what could not be loaded is
    reported, each invalid file and a count; None when ``--strict`` makes that an error."""
    if not args.rules:
        return bundled_rules()
    skipped = Skipped()

    def report(path: Path, error: EqlError) -> None:
        skipped(path, error)
        if not isinstance(error, NotEqlError):
            _say(f"{_describe(error)[0]}: {error}")
    rules = [rule for path in args.rules
             for rule in load_rules(path, on_error=report, follow_links=args.follow_links)]
    if skipped:
        _say(skipped.summary(len(rules)) + ("; --strict: stopped" if args.strict else ""))
    return None if skipped and args.strict else rules


def _settle() -> None:
    """Before events are read: what exists now lives for the whole run, and what is read
    is freed by reference counting (JSON events hold no cycles), so the cyclic garbage
    collector need not look at either every few hundred objects (it took half the time).
    :func:`main` puts the collector back as it was."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)


def _writer(args: argparse.Namespace, columns: tuple, progress: Progress | None) -> Writer:
    format = args.format or ("table" if sys.stdout.isatty() else "json")
    return Writer(sys.stdout, format, columns, progress)


class _Reading:
    """The events of every file, read once, with a progress line on a terminal; the problems
    met in ``report``, each event's place (file, and its number there) for those found later."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.report = ReadReport()
        self.progress = None
        if not args.quiet and sys.stderr.isatty():
            self.progress = Progress(sys.stderr, sum(_size(path) for path in args.files))
        self._files, self._format = args.files, args.input_format
        self._limits = {"max_line_bytes": args.max_line_bytes, "max_document_bytes": args.max_document_bytes}
        self.limits_hit: list[str] = args.limits_hit
        self._starts: list[int] = []  # the position of each file's first event
        self._names: list[str] = []

    def events(self) -> Iterator[dict]:
        """The events, lazily; positions count from 0 across the files."""
        return chain.from_iterable(self._batches())

    def _batches(self) -> Iterator[list[dict]]:
        count = 0
        for path in self._files:
            self._starts.append(count)
            self._names.append("<stdin>" if path == "-" else path)
            for batch in read_batches(path, report=self.report, format=self._format, **self._limits):
                count += len(batch)
                if self.progress is not None:
                    self.progress.update(count)
                yield batch
            if self.progress is not None:
                self.progress.update(count, file_done=_size(path))

    def all(self) -> list[dict]:
        """Every event, in memory (positions are list indexes)."""
        return list(self.events())

    def problem(self, position: int, error: EqlEventError, consequence: str) -> None:
        """Report the event at ``position`` that could not be used (the run goes on)."""
        file = bisect_right(self._starts, position) - 1
        self.report.add(self._names[file], f"event {position - self._starts[file] + 1}",
                        f"{error.message}; {consequence}", unreadable=False)


def _size(path: str) -> int:
    return os.path.getsize(path) if path != "-" and os.path.isfile(path) else 0


def _count(text: str) -> int:
    """An argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _finish(args: argparse.Namespace, reading: _Reading, found: str, lines: Iterable[str] = ()) -> None:
    """The problems met while reading (always), and the summary (unless --quiet), on stderr."""
    report = reading.report
    if reading.progress is not None:
        reading.progress.clear()
    for problem in report.problems:
        _say(str(problem))
    if report.problems_omitted:
        _say(f"... and {report.problems_omitted} more problems")
    for message in args.limits_hit[:report.MAX_PROBLEMS]:
        _say(f"limit: {message}")
    if len(args.limits_hit) > report.MAX_PROBLEMS:
        _say(f"... and {len(args.limits_hit) - report.MAX_PROBLEMS} more limits hit")
    if not args.quiet:
        _say(f"{report.summary()}; {found}")
        for line in lines:
            print(printable(line), file=sys.stderr)


def _stopped(args: argparse.Namespace, reading: _Reading, error: EqlEventError, found: str) -> int:
    """An event stopped the run: what was found, the problems, the error and the summary."""
    _finish(args, reading, f"{found} before it stopped")
    _say(f"event error: {error}")
    return INPUT


def _report_invalid(writer: Writer, path: Any, error: EqlError) -> None:
    _say(f"{_describe(error)[0]}: {error}")
    if writer.json:
        writer.record({"path": str(path), "ok": False, "error": error.message, "line": error.line})
    else:
        writer.row(("error", path, error.message))


def _report_skipped(writer: Writer, path: Path, error: NotEqlError) -> None:
    reason = f"not EQL ({error.language})"
    if writer.json:
        writer.record({"path": str(path), "ok": False, "skipped": reason})
    else:
        writer.row(("skip", path, reason))


def _say(message: str) -> None:
    """One message on stderr, ``eqlmini: `` first; control characters from files escaped."""
    print(f"eqlmini: {printable(message, lines=True)}", file=sys.stderr)


def _warned(args: argparse.Namespace, message: Warning | str, category: type[Warning]) -> None:
    if issubclass(category, EqlLimitWarning):
        args.limits_hit.append(str(message))
    else:
        _say(f"warning: {message}")


def _internal(error: Exception, where: str = "") -> None:
    traceback.print_exc()
    _say(f"internal error{where}: {type(error).__name__}: {error} (a bug in eqlmini: "
         "please report it with the traceback above)")


def _describe(error: EqlError) -> tuple[str, int]:
    """What stderr calls an error, and the exit status it gives."""
    return next((name, status) for kind, name, status in ERRORS if isinstance(error, kind))


def _status(found: int, reading: _Reading) -> int:
    if not reading.report.ok or reading.limits_hit:
        return INPUT
    return FOUND if found else OK
