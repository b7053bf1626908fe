"""``eqlmini convert PATH... [--to eql|toml] [-o OUT]``: rule files from one format to the other.

Each rule file (a file, or every rule file under a folder) is written in the other format,
or in ``--to``: a detection-rules ``.toml`` becomes an ``.eql`` file and back, without
loss (:meth:`Rule.to_eql`, :meth:`Rule.to_toml`). One file goes to standard output or to
``-o FILE``; folders and several files go under ``-o FOLDER`` (made if missing), each at
its place relative to the folder given. An existing file is never overwritten, unless
``--force``. Rules in other languages are counted and left out; invalid ones are reported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import EqlError
from ..rule_files import Skipped, load_rule, rule_files
from ..rules import NotEqlError, Rule, RuleError
from .common import INVALID, OK, USAGE, Stop, exit_statuses, new_command, plural, report_error, say
from .packs import add_pack_options

SUFFIXES = {"eql": ".eql", "toml": ".toml"}


def add(commands: argparse._SubParsersAction) -> None:
    """The ``convert`` command and its options."""
    sub = new_command(commands, "convert", run, "convert rule files between detection-rules .toml and .eql",
                      exit_statuses((OK, "every rule file was converted (rules in other languages are only "
                                         "counted)"),
                                    (INVALID, "some file is invalid or could not be written (with --strict: "
                                              "or a rule in another language)")))
    sub.add_argument("paths", nargs="+", metavar="PATH", help="rule files or folders")
    sub.add_argument("--to", choices=tuple(SUFFIXES), help="the format to write (default: the other one)")
    sub.add_argument("-o", "--output", metavar="OUT",
                     help="a file for one rule file (default: standard output), a folder for several or for folders")
    sub.add_argument("--force", action="store_true", help="overwrite files that exist")
    sub.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    add_pack_options(sub, strict_help="a rule in another language (KQL, ES|QL) is an error too")


def run(args: argparse.Namespace) -> int:
    """Convert; return the exit status."""
    skipped = Skipped()
    jobs: list[tuple[Path, Path]] = []  # (rule file, where it goes relative to the output folder)
    for name in args.paths:
        path = Path(name)
        try:
            files = rule_files(path, follow_links=args.follow_links, on_error=skipped)
        except RuleError as error:
            skipped(path, error)
            continue
        jobs += [(file, file.relative_to(path) if path.is_dir() else Path(file.name)) for file in files]
    single = len(jobs) == 1 and not any(Path(name).is_dir() for name in args.paths)
    if args.output is None and not single:
        say("-o FOLDER is needed to convert a folder or several files")
        raise Stop(USAGE)
    into_file = single and args.output is not None and not Path(args.output).is_dir() \
        and not args.output.endswith(("/", "\\"))
    written: set[Path] = set()
    for file, relative in jobs:
        try:
            rule = load_rule(file)
        except EqlError as error:
            _skip(skipped, file, error)
            continue
        target_format = args.to or ("eql" if file.suffix.lower() == ".toml" else "toml")
        text = rule.to_eql() if target_format == "eql" else rule.to_toml()
        if args.output is None:
            sys.stdout.write(text)
            written.add(file)
            continue
        target = Path(args.output) if into_file else Path(args.output, relative).with_suffix(SUFFIXES[target_format])
        try:
            _write(target, text, rule, force=args.force, written=written)
        except RuleError as error:
            _skip(skipped, file, error)
    return _summary(args, skipped, len(written))


def _skip(skipped: Skipped, file: Path, error: EqlError) -> None:
    skipped(file, error)
    if not isinstance(error, NotEqlError):
        report_error(error)


def _write(target: Path, text: str, rule: Rule, *, force: bool, written: set[Path]) -> None:
    """Write one converted rule, never over a file written in this run, nor over another unless ``force``."""
    if target in written:
        raise RuleError(f"{rule.path}: not written: {target} was written from another file in this run")
    if target.exists() and not force:
        raise RuleError(f"{rule.path}: not written: {target} exists (--force overwrites it)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        raise RuleError(f"{rule.path}: cannot write {target}: {error.strerror or error}") from None
    written.add(target)


def _summary(args: argparse.Namespace, skipped: Skipped, converted: int) -> int:
    invalid = len(skipped.invalid)
    other = len(skipped) - invalid
    if not args.quiet:
        text = f"converted {plural(converted, 'rule file')}"
        say(f"{text}, {skipped.details()}" if skipped else text)
    return INVALID if invalid or (other and args.strict) else OK
