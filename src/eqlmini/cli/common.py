"""What every command shares: exit statuses, messages on stderr, where and how output is written.

Each command states its own exit statuses (:func:`exit_statuses`), so ``eqlmini COMMAND
--help`` lists only those it can give; usage errors, internal errors and interruptions are
common to all.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import textwrap
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import EqlError, EqlEventError, EqlSemanticError, EqlSyntaxError
from ..limits import EqlLimitWarning
from ..output import FORMATS, Column, Progress, Writer, printable
from ..rules import RuleError

OK, FOUND, USAGE, INVALID, INPUT, INTERNAL, INTERRUPTED = 0, 1, 2, 3, 4, 70, 130
INPUT_TROUBLE = ("input trouble: a file, record or event could not be read or used (no timestamp where "
                 "time order matters), or a limit cut work short; the run still went to the end and "
                 "printed what it found")
_COMMON = ((USAGE, "usage error"),
           (INTERNAL, "internal error: a bug in eqlmini (shown with a traceback), or the system failing "
                      "(disk full)"),
           (INTERRUPTED, "interrupted"))
# Each error class: what stderr calls it, and the exit status (first match wins).
ERRORS: tuple[tuple[type[Exception], str, int], ...] = (
    (EqlEventError, "event error", INPUT), (RuleError, "rule error", INVALID),
    (EqlSyntaxError, "syntax error", INVALID), (EqlSemanticError, "invalid query", INVALID),
    (EqlError, "error", INVALID))
# What -o FILE writes when --format is not given, by the file's extension.
_FORMAT_OF_EXTENSION = {".csv": "csv", ".ndjson": "json", ".jsonl": "json", ".json": "json", ".txt": "table"}


class Stop(Exception):
    """Ends a command with ``status``, what went wrong having been said on stderr."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def exit_statuses(*statuses: tuple[int, str]) -> str:
    """The ``exit status:`` section of a help text: ``statuses``, then those every command shares
    (wrapped here: argparse keeps an epilog's lines as they are)."""
    lines = ["exit status:"]
    for status, meaning in sorted((*statuses, *_COMMON)):
        lines += textwrap.wrap(meaning, 88, initial_indent=f"  {status:<5}", subsequent_indent=" " * 7)
    return "\n".join(lines)


def new_command(commands: Any, name: str, run: Callable[[argparse.Namespace], int], text: str,
                statuses: str) -> argparse.ArgumentParser:
    """A subcommand's parser: its help ``text``, its ``exit_statuses`` text, and ``run``."""
    sub = commands.add_parser(name, help=text, description=text, epilog=statuses,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.set_defaults(run=run)
    return sub


def add_output_options(sub: argparse.ArgumentParser) -> None:
    """``--format``, ``-o`` and ``-q``, as every command that writes rows takes them."""
    sub.add_argument("--format", choices=FORMATS,
                     help="table (the default on a terminal), json: one JSON object per line (the default "
                          "otherwise), or csv")
    sub.add_argument("-o", "--output", metavar="FILE",
                     help="write to FILE instead of standard output (its format from its extension: .csv, "
                          ".ndjson, .jsonl, .json, .txt for a table; else json)")
    sub.add_argument("-q", "--quiet", action="store_true", help="no progress line and no summary on stderr")


def open_writer(args: argparse.Namespace, columns: Sequence[Column], progress: Progress | None) -> Writer:
    """The writer of the command's rows: to ``-o FILE`` or standard output, in ``--format``
    (else guessed: a table on a terminal, JSON otherwise). A file opened here is closed by main."""
    stream = sys.stdout
    guessed = "table" if sys.stdout.isatty() else "json"
    if args.output is not None:
        try:
            stream = open(args.output, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed by main)
        except OSError as error:
            say(f"-o: cannot write {args.output}: {error.strerror or error}")
            raise Stop(USAGE) from None
        args.close.append(stream)
        guessed = _FORMAT_OF_EXTENSION.get(os.path.splitext(args.output)[1].lower(), "json")
    return Writer(stream, args.format or guessed, columns, progress)


def count(text: str) -> int:
    """An argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 rule``, ``2 rules`` (``many``: the plural when it is not ``word + "s"``)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def settle() -> None:
    """Before events are read: what exists now lives for the whole run, and what is read
    is freed by reference counting (JSON events hold no cycles), so the cyclic garbage
    collector need not look at either every few hundred objects (it took half the time).
    ``main`` puts the collector back as it was."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)


def say(message: str) -> None:
    """One message on stderr, ``eqlmini: `` first; control characters from files escaped."""
    print(f"eqlmini: {printable(message, lines=True)}", file=sys.stderr)


def warned(args: argparse.Namespace, message: Warning | str, category: type[Warning]) -> None:
    """A warning raised during the run: an EqlLimitWarning is kept as a problem, others shown."""
    if issubclass(category, EqlLimitWarning):
        args.limits_hit.append(str(message))
    else:
        say(f"warning: {message}")


def internal(error: Exception, where: str = "") -> None:
    """A bug in eqlmini: the traceback and a line that asks for a report."""
    traceback.print_exc()
    say(f"internal error{where}: {type(error).__name__}: {error} (a bug in eqlmini: "
        "please report it with the traceback above)")


def describe(error: EqlError) -> tuple[str, int]:
    """What stderr calls an error, and the exit status it gives."""
    return next((name, status) for kind, name, status in ERRORS if isinstance(error, kind))


def report_error(error: EqlError) -> None:
    """An error on stderr, named by its kind (``syntax error: ...``)."""
    say(f"{describe(error)[0]}: {error}")

