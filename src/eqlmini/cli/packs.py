"""Rule packs for the commands: the one function that loads them, and the options that pick rules.

:func:`load_pack` loads ``--rules`` (the bundled rules by default) as far as they load,
says on stderr what it skipped, and keeps the rules that ``--min-severity``,
``--rule-id``, ``--tag``, ``--tactic`` and ``--technique`` select. Values of one option
are alternatives; different options must all hold.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

from ..errors import EqlError
from ..rule_files import Skipped, bundled_rules, load_rules
from ..rules import SEVERITIES, NotEqlError, Rule
from .common import INVALID, USAGE, Stop, plural, report_error, say


def add_pack_options(sub: argparse.ArgumentParser, *, strict_help: str | None = None) -> None:
    """``--strict`` and ``--follow-links``."""
    sub.add_argument("--strict", action="store_true",
                     help=strict_help or "a rule file that cannot be used (not EQL, invalid) is an error (exit 3)")
    sub.add_argument("--follow-links", action="store_true",
                     help="follow links that lead out of a rules folder (default: reported, not followed)")


def add_rules_option(sub: argparse.ArgumentParser) -> None:
    """``--rules PATH``, repeatable, the options of a pack, and ``--no-cache``."""
    sub.add_argument("--rules", action="append", metavar="PATH",
                     help="a rule file or folder (repeatable; default: the bundled rules)")
    add_pack_options(sub)
    sub.add_argument("--no-cache", dest="cache", action="store_false",
                     help="compile the rules even if the compiled pack is cached (see docs/rules.md)")


def add_selection_options(sub: argparse.ArgumentParser) -> None:
    """The options that pick rules from a pack."""
    group = sub.add_argument_group("rule selection", "  repeat an option for alternatives; different options must "
                                                     "all hold")
    group.add_argument("--min-severity", choices=SEVERITIES, help="only rules of this severity or higher")
    group.add_argument("--rule-id", action="append", metavar="ID", help="a rule_id, or its start (4ed493fc)")
    group.add_argument("--tag", action="append", metavar="TAG", help='a tag, in any case ("OS: Windows")')
    group.add_argument("--tactic", action="append", metavar="TACTIC",
                       help="a MITRE ATT&CK tactic, by id or name (TA0002, Execution)")
    group.add_argument("--technique", action="append", metavar="TECHNIQUE",
                       help="a MITRE ATT&CK technique or sub-technique, by id or name (T1059 takes its "
                            "sub-techniques too)")


def load_pack(args: argparse.Namespace) -> list[Rule]:
    """The rules of ``--rules`` (the bundled ones by default) that the selection options pick.

    Each invalid file is reported and a line counts what was skipped; with ``--strict``
    anything skipped stops the command (exit 3). A selection that picks no rule stops it too
    (exit 2).
    """
    rules = _load(args.rules, args.strict, args.follow_links, args.cache)
    chosen = select(rules, args)
    if not chosen and rules and _selecting(args):
        say(f"no rule matches the selection ({plural(len(rules), 'rule')} loaded)")
        raise Stop(USAGE)
    return chosen


def _load(paths: list[str] | None, strict: bool, follow_links: bool, cache: bool) -> list[Rule]:
    if not paths:
        return bundled_rules(cache=cache)
    skipped = Skipped()

    def report(path: Path, error: EqlError) -> None:
        skipped(path, error)
        if not isinstance(error, NotEqlError):
            report_error(error)
    rules = [rule for path in paths for rule in load_rules(path, on_error=report, follow_links=follow_links,
                                                                cache=cache)]
    if skipped:
        say(skipped.summary(len(rules)) + ("; --strict: stopped" if strict else ""))
        if strict:
            raise Stop(INVALID)
    return rules


def _selecting(args: argparse.Namespace) -> bool:
    return any(getattr(args, name, None) for name in ("min_severity", "rule_id", "tag", "tactic", "technique"))


def select(rules: Iterable[Rule], args: argparse.Namespace) -> list[Rule]:
    """The rules that every selection option given picks (see the module docstring)."""
    lowest = SEVERITIES.index(args.min_severity) if getattr(args, "min_severity", None) else 0
    wanted = {name: [value.casefold() for value in getattr(args, name, None) or ()]
              for name in ("rule_id", "tag", "tactic", "technique")}
    chosen = []
    for rule in rules:
        if SEVERITIES.index(rule.severity) < lowest:
            continue
        if wanted["rule_id"] and not any((rule.rule_id or "").casefold().startswith(i) for i in wanted["rule_id"]):
            continue
        if wanted["tag"] and not {tag.casefold() for tag in rule.tags} & set(wanted["tag"]):
            continue
        tactics = {name.casefold() for threat in rule.threat for name in (threat.tactic.id, threat.tactic.name)}
        if wanted["tactic"] and not tactics & set(wanted["tactic"]):
            continue
        if wanted["technique"] and not any(_is_technique(rule, value) for value in wanted["technique"]):
            continue
        chosen.append(rule)
    return chosen


def _is_technique(rule: Rule, wanted: str) -> bool:
    """Whether the rule names technique ``wanted`` (folded), or a sub-technique of it."""
    for threat in rule.threat:
        for technique in threat.techniques:
            for item in (technique, *technique.subtechniques):
                if wanted in (item.id.casefold(), item.name.casefold()) or item.id.casefold().startswith(wanted + "."):
                    return True
    return False
