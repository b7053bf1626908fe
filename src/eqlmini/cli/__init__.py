"""The eqlmini command: search events with a query, scan them with rules; check, list, show and convert rules.

    eqlmini scan examples/                           # the bundled rules over a folder of logs
    eqlmini scan --rules my-rules/ --min-severity high 'logs/**/*.evtx' -o alerts.csv
    eqlmini search 'process where process.name : "cmd.exe"' events.ndjson
    eqlmini check --schema ecs my-rules/
    eqlmini show 4ed493fc
    eqlmini convert detection-rules/rules/windows -o my-rules/

Each command is a module of this package; this one reads the arguments, runs the command and
maps what it raises to a line on stderr and an exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
import warnings

from .. import __version__
from ..errors import EqlError
from ..limits import EqlLimitWarning
from ..rules import RuleWarning
from ..replay import command as replay
from . import check, convert, scan, search, show
from .common import FOUND, INPUT, INTERNAL, INTERRUPTED, INVALID, OK, USAGE, Stop, describe, internal, say, warned

__all__ = ["main"]

EXIT_STATUS = f"""exit status (each command's --help lists its own):
  {OK}    done, nothing found (search, scan); every rule is valid (check)
  {FOUND}    done, matches or alerts found (search, scan)
  {USAGE}    usage error
  {INVALID}    a query or rule is invalid
  {INPUT}    input trouble (search, scan): a file, record or event could not be read or used,
       or a limit cut work short; the run still went to the end
  {INTERNAL}   internal error: a bug in eqlmini, or the system failing (disk full)
  {INTERRUPTED}  interrupted"""


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        args = _parser().parse_args(_joined(sys.argv[1:] if argv is None else argv))
    except SystemExit as exit:  # --help, --version, or a usage error argparse has reported
        return int(exit.code or 0)
    args.earned = lambda: OK  # the status earned so far: a command keeps it up to date
    args.limits_hit = []  # EqlLimitWarnings met: each is a problem, as in a ReadReport
    args.close = []  # files a command opened for its output
    collector = gc.get_threshold()  # settle() changes it for the run; main may be called in a program
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", RuleWarning)
            warnings.simplefilter("always", EqlLimitWarning)
            warnings.showwarning = lambda message, category, *_: warned(args, message, category)
            status = args.run(args)
        sys.stdout.flush()  # a pipe closed early fails here, not after main has returned
        for stream in args.close:
            stream.close()
        return status
    except Stop as stop:
        return stop.status
    except EqlError as error:
        name, status = describe(error)
        say(f"{name}: {error}")
        return status
    except KeyboardInterrupt:
        say("interrupted")
        return INTERRUPTED
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        with contextlib.suppress(OSError, ValueError):  # the rest of the buffer goes nowhere
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return args.earned()
    except OSError as error:  # writing the output failed: the system, not eqlmini
        say(f"error: {error}")
        return INTERNAL
    except Exception as error:  # a bug: never a traceback with a status that means something else
        internal(error)
        return INTERNAL
    finally:
        for stream in args.close:
            with contextlib.suppress(OSError):
                stream.close()
        gc.unfreeze()
        gc.set_threshold(*collector)


def _joined(argv: list[str]) -> list[str]:
    """``--from -7d`` as ``--from=-7d``: argparse takes a value that starts with ``-`` for an option."""
    out: list[str] = []
    waiting = False
    for arg in argv:
        if waiting and arg.startswith("-") and arg != "-":
            out[-1] += "=" + arg
        else:
            out.append(arg)
        waiting = arg in ("--from", "--to") and not waiting
    return out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eqlmini", description=__doc__.split("\n")[0].strip(),
                                     epilog=EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"eqlmini {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for module in (search, scan, check, show, convert, replay):
        module.add(commands)
    return parser
