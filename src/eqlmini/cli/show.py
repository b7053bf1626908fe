"""``eqlmini rules`` lists rules, a line each; ``eqlmini show RULE...`` shows rules whole.

``show`` takes a rule file, or a ``rule_id`` (or its start) or part of a name, looked up in
``--rules`` (the bundled rules by default): its metadata, its MITRE ATT&CK tactics and
techniques with their links, its description, and its query laid out for reading.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from ..output import Column, attack_ids, printable, rule_record
from ..rule_files import load_rule
from ..rules import Rule
from .common import INVALID, OK, USAGE, Stop, add_output_options, exit_statuses, new_command, open_writer, plural, \
    say
from .packs import add_rules_option, add_selection_options, load_pack
from .pretty import pretty

COLUMNS = (Column("SEVERITY", 8), Column("RISK", 4), Column("KIND", 8), Column("ATT&CK", 28, "ids"),
           Column("RULE_ID", None), Column("PATH", None), Column("NAME", 30))
_LABEL = 12  # the width of the labels of `show`


def add(commands: argparse._SubParsersAction) -> None:
    """The ``rules`` and ``show`` commands and their options."""
    listing = new_command(commands, "rules", list_rules, "list rules with severity, risk score and ATT&CK ids",
                          exit_statuses((OK, "done"), (INVALID, "with --strict: a rule file was skipped")))
    add_rules_option(listing)
    add_selection_options(listing)
    add_output_options(listing)
    show = new_command(commands, "show", show_rules, "show rules whole: metadata, ATT&CK, description, query",
                       exit_statuses((OK, "done"), (INVALID, "a rule file is invalid")))
    show.add_argument("names", nargs="+", metavar="RULE",
                      help="a rule file, or a rule_id (or its start) or part of a name, found in --rules")
    add_rules_option(show)
    show.add_argument("--note", action="store_true", help="show the investigation guide too")
    show.add_argument("--format", choices=("text", "json"), default="text",
                      help="text (default), or json: the rule's detection-rules [rule] table, one per line")


def list_rules(args: argparse.Namespace) -> int:
    """List; return the exit status."""
    rules = load_pack(args)
    writer = open_writer(args, COLUMNS, None)
    for rule in rules:
        if writer.json:
            writer.record(rule_record(rule))
        else:
            writer.row((rule.severity, rule.risk_score, rule.query.kind, attack_ids(rule), rule.rule_id,
                        rule.path, rule.name))
    return OK


def show_rules(args: argparse.Namespace) -> int:
    """Show; return the exit status."""
    pack: list[Rule] | None = None
    shown: list[Rule] = []
    for name in args.names:
        if Path(name).is_file():
            shown.append(load_rule(name))
            continue
        if pack is None:
            pack = load_pack(args)
        found = _find(pack, name)
        if not found:
            say(f"no rule file or rule named {name!r} ({plural(len(pack), 'rule')} in the pack; `eqlmini rules` "
                "lists them)")
            raise Stop(USAGE)
        shown.extend(found)
    for number, rule in enumerate(shown):
        if args.format == "json":
            print(json.dumps({**rule.table(), "path": str(rule.path) if rule.path else None}, default=str))
        else:
            print(("\n" if number else "") + printable(describe(rule, note=args.note), lines=True))
    sys.stdout.flush()
    return OK


def _find(rules: list[Rule], name: str) -> list[Rule]:
    """The rules ``name`` means: its rule_id, the rules whose rule_id starts so, or whose name holds it."""
    folded = name.casefold()
    for test in (lambda rule: (rule.rule_id or "").casefold() == folded,
                 lambda rule: (rule.rule_id or "").casefold().startswith(folded),
                 lambda rule: folded in rule.name.casefold()):
        found = [rule for rule in rules if test(rule)]
        if found:
            return found
    return []


def describe(rule: Rule, *, note: bool = False) -> str:
    """The rule as ``show`` writes it."""
    def row(label: str, value: object) -> None:
        if value not in (None, "", ()):
            text = ", ".join(value) if isinstance(value, tuple) else str(value)
            lines.append(label.ljust(_LABEL) + text)

    lines = [rule.name]
    row("rule_id", rule.rule_id)
    row("severity", f"{rule.severity} (risk score {rule.risk_score})")
    row("kind", f"{rule.query.kind} query")
    row("file", rule.path)
    row("version", rule.version)
    row("author", rule.author)
    row("license", rule.license)
    row("index", rule.index)
    row("schedule", ", ".join(part for part in (rule.interval and f"every {rule.interval}",
                                                rule.from_ and f"from {rule.from_}") if part))
    row("tags", rule.tags)
    row("references", rule.references)
    if rule.threat:
        lines += ["", "MITRE ATT&CK"]
        for threat in rule.threat:
            lines.append(_attack(threat.tactic, 1))
            for technique in threat.techniques:
                lines.append(_attack(technique, 2))
                lines += [_attack(sub, 3) for sub in technique.subtechniques]
    if rule.description:
        lines += ["", "Description", textwrap.indent(textwrap.fill(" ".join(rule.description.split()), 98), "  ")]
    lines += ["", "Query", textwrap.indent(pretty(rule.query.tree), "  ")]
    if rule.note:
        lines += ["", "Investigation guide", textwrap.indent(rule.note.strip(), "  ")] if note else \
                 ["", f"Investigation guide: {plural(len(rule.note.strip().splitlines()), 'line')} (--note shows it)"]
    return "\n".join(lines)


def _attack(item: object, depth: int) -> str:
    text = "  " * depth + f"{item.id} {item.name}"  # type: ignore[attr-defined]
    reference = getattr(item, "reference", None)
    return f"{text.ljust(56)}  {reference}" if reference else text
