"""``eqlmini check PATH...``: validate rule files, every one, and report each fault with its place.

Stricter than loading: an unknown header key is an error (with the nearest known key), and
so is a ``rule_id`` two files share. With a schema, each rule's fields are checked as
Elasticsearch checks them against an index mapping (:func:`eqlmini.schemas.check`): an
unknown field is an error placed on its line and column, with Elasticsearch's suggestions.
A rule's schema is the merge of: ``--schema`` (``ecs``, or a mapping or ``{field: type}``
JSON file; repeatable); what its header's ``schema`` key names (the same, paths relative to
the rule file); with ``--detection-rules-data``, what Elastic's detection-rules checks it
against, from its ``index`` patterns (:func:`eqlmini.schemas.for_detection_rule`); and its
``required_fields``. A rule that names no schema, when no option gives one, is not checked.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import schemas
from ..errors import EqlError
from ..output import Column, Writer
from ..rule_files import load_rule, place_error, rule_files
from ..rules import NotEqlError, Rule, RuleError
from ..schemas import Schema, UnknownFieldError
from .common import INTERNAL, INVALID, OK, USAGE, Stop, add_output_options, exit_statuses, internal, new_command, \
    open_writer, plural, report_error, say
from .packs import add_pack_options

COLUMNS = (Column("STATUS", 6), Column("FILE", 36, "path"), Column("RULE", 30))


def add(commands: argparse._SubParsersAction) -> None:
    """The ``check`` command and its options."""
    sub = new_command(commands, "check", run, "validate rule files (.eql, detection-rules .toml)",
                      exit_statuses((OK, "every rule is valid (rules in other languages are only counted)"),
                                    (INVALID, "some file is invalid (with --strict: or a rule in another "
                                              "language)")))
    sub.add_argument("paths", nargs="+", metavar="PATH", help="rule files or folders")
    sub.add_argument("--schema", action="append", metavar="SCHEMA",
                     help="check fields against a schema: ecs, or a JSON file holding an Elasticsearch mapping, "
                          "index template or {field: type} object (repeatable: merged)")
    sub.add_argument("--detection-rules-data", metavar="FOLDER",
                     help="detection-rules' detection_rules/etc folder: each rule's index patterns add the fields "
                          "detection-rules knows for them")
    add_pack_options(sub, strict_help="a rule in another language (KQL, ES|QL) is an error too")
    add_output_options(sub)


def run(args: argparse.Namespace) -> int:
    """Check; return the exit status."""
    check = _Check(args, open_writer(args, COLUMNS, None), _Schemas(args.schema or [], args.detection_rules_data))
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
        fields = ""
        if check.schemas.active:
            fields = (f"; {plural(check.outside, 'rule')} with fields outside the schema "
                      f"({plural(len(check.unknown), 'distinct field')})")
        say(f"checked {plural(len(files), 'file')}: {plural(check.valid, 'valid rule')}, "
            f"{plural(check.errors, 'error')}{others}{fields}")
    return check.status()


class _Schemas:
    """The schema each rule is checked against (see the module docstring), built once per
    set of parts: a pack's rules share a few, and a schema remembers its suggestions."""

    def __init__(self, specs: list[str], data: str | None) -> None:
        try:
            self.base = [schemas.load(spec) for spec in specs]
        except (ValueError, OSError) as error:  # a bad --schema: nothing to check against
            say(f"--schema: {error}")
            raise Stop(USAGE) from None
        if data is not None and not Path(data, "non-ecs-schema.json").is_file():
            say(f"--detection-rules-data: {data} is not a detection-rules etc folder (no non-ecs-schema.json)")
            raise Stop(USAGE)
        self.data = data
        self.active = bool(specs or data)
        self._named: dict[Path, Schema] = {}
        self._merged: dict[tuple[int, ...], tuple[list[Schema], Schema]] = {}

    def problems(self, rule: Rule) -> list[EqlError]:
        """What the rule's query breaks in its schema (none when it has none), placed in its file."""
        parts = [*self.base, *self._named_by(rule)]
        if self.data is not None:
            from ..schemas.detection_rules import for_detection_rule  # reads gzip data: only when asked

            parts.append(for_detection_rule(rule.table(), self.data))
        if not parts:
            return []
        required = {item["name"]: item["type"] for item in rule.extra.get("required_fields") or ()
                    if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("type"), str)}
        if required:
            parts.append(schemas.from_fields(required, name="required_fields"))
        found = schemas.check(rule.text, self._merge(parts), event_category_field=rule.query.options.event_category_field)
        return [place_error(rule.path, problem) if rule.path else problem for problem in found]

    def _named_by(self, rule: Rule) -> list[Schema]:
        named = rule.extra.get("schema")
        if named is None:
            return []
        if isinstance(named, str):
            named = [named]
        if not (isinstance(named, list) and all(isinstance(spec, str) for spec in named)):
            raise RuleError("schema must be a schema name (ecs) or file, or a list of them", key="schema")
        found = []
        for spec in named:
            path = Path(spec) if spec.lower() == "ecs" or rule.path is None else rule.path.parent / spec
            if path not in self._named:
                try:
                    self._named[path] = schemas.load(spec if spec.lower() == "ecs" else path)
                except (ValueError, OSError) as error:
                    raise RuleError(f"schema: {error}", key="schema") from None
            found.append(self._named[path])
        return found

    def _merge(self, parts: list[Schema]) -> Schema:
        if len(parts) == 1:
            return parts[0]
        key = tuple(map(id, parts))
        if key not in self._merged:  # the parts are kept with their merge: their ids stay theirs
            self._merged[key] = (parts, schemas.merge(*parts))
        return self._merged[key][1]


class _Check:
    """The files checked so far: counts, the rule_ids seen, the rows written."""

    def __init__(self, args: argparse.Namespace, writer: Writer, schemas: _Schemas) -> None:
        self.args, self.writer, self.schemas = args, writer, schemas
        self.errors = self.skipped = self.valid = 0
        self.outside = 0  # rules with fields outside their schema
        self.unknown: set[str] = set()  # those fields
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
            problems = self.schemas.problems(rule)
        except NotEqlError as error:
            if self.args.strict:
                self.invalid(file, error)
            else:
                self.skip(file, error)
            return
        except RuleError as error:
            self.invalid(file, error if error.line or error.key is None else place_error(file, error))
            return
        except EqlError as error:
            self.invalid(file, error)
            return
        except Exception as error:  # a bug: say which file, and check the others
            self.internal = True
            internal(error, f" while checking {file}")
            return
        if problems:
            self.errors += 1
            unknown = {problem.field for problem in problems if isinstance(problem, UnknownFieldError)}
            self.outside += bool(unknown)
            self.unknown |= unknown
            for problem in problems:
                self.problem(file, problem)
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
        self.problem(path, error)

    def problem(self, path: Any, error: EqlError) -> None:
        """One fault of a file, on stderr (with its line and caret) and as a row."""
        report_error(error)
        if self.writer.json:
            record = {"path": str(path), "ok": False, "error": error.message, "line": error.line,
                      "column": error.column}
            if isinstance(error, UnknownFieldError):
                record.update(field=error.field, suggestions=list(error.suggestions[:5]))
            self.writer.record(record)
        else:
            where = f"line {error.line}, column {error.column}: " if error.line else ""
            self.writer.row(("error", path, where + error.message.removeprefix(f"{path}: ")))

    def skip(self, file: Path, error: NotEqlError) -> None:
        """A rule in another language."""
        self.skipped += 1
        reason = f"not EQL ({error.language})"
        if self.writer.json:
            self.writer.record({"path": str(file), "ok": False, "skipped": reason})
        else:
            self.writer.row(("skip", file, reason))
