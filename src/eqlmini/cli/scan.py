"""``eqlmini scan INPUT...``: rules over events in one pass; the alerts, then a timeline of them on stderr.

The timeline is what Hayabusa prints at the end of a run: the alerts per severity and per
rule, the first and the last alert's time, and the hosts involved with their alerts.
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from ..errors import EqlEventError
from ..ordering import timestamp_millis
from ..output import Column, alert_record, as_text, attack_ids, event_detail, event_host
from ..rules import SEVERITIES, Rule
from ..ruleset import Alert, RuleSet
from ..sequences import MissingEvent
from .common import FOUND, INPUT, INPUT_TROUBLE, INVALID, OK, add_output_options, exit_statuses, new_command, \
    open_writer, plural, settle
from .packs import add_rules_option, add_selection_options, load_pack
from .reading import Reading, add_input_options

COLUMNS = (Column("TIME", 24), Column("SEVERITY", 8), Column("RISK", None), Column("RULE", 32),
           Column("RULE_ID", None), Column("ATT&CK", 12, "ids"), Column("HOST", None), Column("SOURCE", 24, "path"),
           Column("EVENT", 30))
MAX_HOSTS = 10  # hosts named in the timeline; the others are counted


def add(commands: argparse._SubParsersAction) -> None:
    """The ``scan`` command and its options."""
    sub = new_command(commands, "scan", run, "run rules over events and print their alerts",
                      exit_statuses((OK, "done, no alert"), (FOUND, "done, alerts found"),
                                    (INVALID, "a rule is invalid (with --strict: a rule file was skipped)"),
                                    (INPUT, INPUT_TROUBLE)))
    add_input_options(sub)
    add_rules_option(sub)
    add_selection_options(sub)
    add_output_options(sub)


def run(args: argparse.Namespace) -> int:
    """Scan; return the exit status."""
    ruleset = RuleSet(load_pack(args))
    settle()
    reading = Reading(args)
    writer = open_writer(args, COLUMNS, reading.progress)
    timeline = Timeline(len(ruleset))
    args.earned = lambda: reading.status(timeline.total)

    def untimed(position: int, error: EqlEventError) -> None:
        reading.problem(position, error, "only the rules that need no time order ran on it")

    try:
        for alert in ruleset.scan(reading.all() if ruleset.ordered else reading.events(), on_event_error=untimed):
            timeline.add(alert)
            events = [event for event in alert.events if not isinstance(event, MissingEvent)]
            if writer.json:
                writer.record(alert_record(alert, [None if isinstance(event, MissingEvent) else reading.origin(event)
                                                   for event in alert.events]))
            else:
                rule, last = alert.rule, events[-1]
                writer.row((alert.timestamp, alert.severity, alert.risk_score, rule.name, rule.rule_id,
                            attack_ids(rule), event_host(last), ", ".join(map(reading.source, events)),
                            event_detail(last)))
    except EqlEventError as error:
        return reading.stopped(args, error, timeline.found())
    reading.finish(args, timeline.found(), timeline.lines())
    return reading.status(timeline.total)


class Timeline:
    """What a scan found, summed up as it goes."""

    def __init__(self, rules: int) -> None:
        self.rules = rules
        self.per_rule: Counter[Rule] = Counter()
        self.per_host: Counter[str] = Counter()
        self.first: tuple[float, Any] | None = None  # (epoch ms, the timestamp as the event has it)
        self.last: tuple[float, Any] | None = None

    @property
    def total(self) -> int:
        """The alerts so far."""
        return self.per_rule.total()

    def add(self, alert: Alert) -> None:
        """Count one alert."""
        self.per_rule[alert.rule] += 1
        hosts = {event_host(event) for event in alert.events if not isinstance(event, MissingEvent)}
        self.per_host.update(host for host in hosts if host)
        try:
            moment = (timestamp_millis(alert.timestamp), alert.timestamp)
        except EqlEventError:  # a sample's events need no timestamp
            return
        if self.first is None or moment[0] < self.first[0]:
            self.first = moment
        if self.last is None or moment[0] > self.last[0]:
            self.last = moment

    def found(self) -> str:
        """``4 alerts from 1 of 1 rule``."""
        return f"{plural(self.total, 'alert')} from {len(self.per_rule)} of {plural(self.rules, 'rule')}"

    def lines(self) -> list[str]:
        """The timeline, line by line (nothing when nothing was found)."""
        if not self.total:
            return []
        severities = Counter(rule.severity for rule in self.per_rule.elements())
        lines = []
        if self.first is not None and self.last is not None:
            lines += [f"first alert  {as_text(self.first[1])}", f"last alert   {as_text(self.last[1])}"]
        lines.append("severity     " + ", ".join(f"{name} {severities[name]}" for name in reversed(SEVERITIES)))
        hosts = [f"{host} ({count})" for host, count in self.per_host.most_common(MAX_HOSTS)]
        more = len(self.per_host) - MAX_HOSTS
        lines.append(f"hosts ({len(self.per_host)})".ljust(13) + (", ".join(hosts) or "-")
                     + (f", and {more} more" if more > 0 else ""))
        lines.append("  alerts  severity  rule")
        lines += [f"{count:>8}  {rule.severity:<8}  {rule.name}" for rule, count in self.per_rule.most_common()]
        return lines
