"""``eqlmini check PATH...``: validate rule files, every one, and report each fault with its place.

Stricter than loading: an unknown header key is an error (with the nearest known key), and
so is a ``rule_id`` two files share.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import EqlError
from ..output import Column, Writer
from ..rule_files import load_rule, rule_files
from ..rules import NotEqlError, Rule, RuleError
from .common import INTERNAL, INVALID, OK, add_output_options, exit_statuses, internal, new_command, open_writer, \
    plural, report_error, say
from .packs import add_pack_options

COLUMNS = (Column("STATUS", 6), Column("FILE", 50, "path"), Column("RULE", 30))


def add(commands: argparse._SubParsersAction) -> None:
    """The ``check`` command and its options."""
    sub = new_command(commands, "check", run, "validate rule files (.eql, detection-rules .toml)",
                      exit_statuses((OK, "every rule is valid (rules in other languages are only counted)"),
                                    (INVALID, "some file is invalid (with --strict: or a rule in another "
                                              "language)")))
    sub.add_argument("paths", nargs="+", metavar="PATH", help="rule files or folders")
    add_pack_options(sub, strict_help="a rule in another language (KQL, ES|QL) is an error too")
    add_output_options(sub, formats=("table", "json", "csv"))


def run(args: argparse.Namespace) -> int:
    """Check; return the exit status."""
    check = _Check(args, open_writer(args, COLUMNS, None))
    files: list[Path] = []
    for path in args.paths:
        try:
            files.extend(rule_files(path, follow_links=args.follow_links, on_error=check.invalid))
        except RuleError as error:
            check.invalid(path, error)
    args.earned = check.status
    for file in files:
        check.file(file)
    if not args.quiet:
        others = f", {check.skipped} skipped (not EQL)" if check.skipped else ""
        say(f"checked {plural(len(files), 'file')}: {plural(check.valid, 'valid rule')}, "
            f"{plural(check.errors, 'error')}{others}")
    return check.status()


class _Check:
    """The files checked so far: counts, the rule_ids seen, the rows written."""

    def __init__(self, args: argparse.Namespace, writer: Writer) -> None:
        self.args, self.writer = args, writer
        self.errors = self.skipped = self.valid = 0
        self.internal = False
        self.seen: dict[str, Path] = {}

    def status(self) -> int:
        """The exit status earned so far."""
        return INTERNAL if self.internal else INVALID if self.errors else OK

    def file(self, file: Path) -> None:
        """Check one rule file."""
        try:
            rule = load_rule(file, strict=True)
            if rule.rule_id in self.seen:
                raise RuleError(f"{file}: rule_id {rule.rule_id} is also the rule_id of {self.seen[rule.rule_id]}")
        except NotEqlError as error:
            if self.args.strict:
                self.invalid(file, error)
            else:
                self.skip(file, error)
            return
        except EqlError as error:
            self.invalid(file, error)
            return
        except Exception as error:  # a bug: say which file, and check the others
            self.internal = True
            internal(error, f" while checking {file}")
            return
        self.ok(file, rule)

    def ok(self, file: Path, rule: Rule) -> None:
        """A valid rule."""
        self.valid += 1
        if rule.rule_id is not None:
            self.seen[rule.rule_id] = file
        if self.writer.json:
            self.writer.record({"path": str(file), "ok": True, "rule": rule.name})
        else:
            self.writer.row(("ok", file, rule.name))

    def invalid(self, path: Any, error: EqlError) -> None:
        """A file that is not a valid rule (or a folder or link that could not be read)."""
        self.errors += 1
        report_error(error)
        if self.writer.json:
            self.writer.record({"path": str(path), "ok": False, "error": error.message, "line": error.line,
                                "column": error.column})
        else:
            self.writer.row(("error", path, error.message))

    def skip(self, file: Path, error: NotEqlError) -> None:
        """A rule in another language."""
        self.skipped += 1
        reason = f"not EQL ({error.language})"
        if self.writer.json:
            self.writer.record({"path": str(file), "ok": False, "skipped": reason})
        else:
            self.writer.row(("skip", file, reason))
