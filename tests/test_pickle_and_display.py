"""Rule, RuleSet and Alert pickle into objects that behave the same (issue 7, item 2), a
RuleSet runs in a spawn process pool, and all three show briefly (repr, notebook HTML)."""

from __future__ import annotations

import multiprocessing
import pickle
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT

from eqlmini.rules import AttackItem, Rule, Threat, load_rule
from eqlmini.ruleset import Alert, RuleSet
from eqlmini.sequences import MissingEvent

BUNDLED = PROJECT / "rules" / "xp_cmdshell.eql"
RULES = [
    Rule("cmd", 'process where process.name : "cmd.exe"', severity="high", rule_id="r-1",
         extra={"setup": "x"}, metadata={"maturity": "production"},
         threat=[Threat("MITRE ATT&CK", AttackItem("TA0002", "Execution"))]),
    Rule("pair", "sequence by host.name [process where true] [file where true]", tiebreaker_field="n"),
    Rule("missing", "sequence by host.name with maxspan=10ms [process where true] ![file where true]",
         tiebreaker_field="n"),
    Rule("sample", "sample by host.name [process where true] [file where true]"),
    Rule("head", "any where true | head 2", event_category_override="event.type", tiebreaker_field="n"),
]


def events(count: int, host: str = "h") -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        category = ("process", "file")[i % 2]
        out.append({"@timestamp": 1000 + i * 7, "n": i, "host": {"name": f"{host}{i % 3}"},
                    "event": {"category": category, "type": "start"},
                    "process": {"name": ("cmd.exe", "CMD.EXE", "sh")[i % 3]}})
    return out


def identity(alert: Alert) -> tuple:
    return (alert.rule.name, tuple("missing" if isinstance(e, MissingEvent) else e["n"] for e in alert.events),
            alert.join_keys, alert.timestamp)


def test_a_rule_pickles_into_an_equal_rule_that_matches_alike() -> None:
    for rule in [*RULES, load_rule(BUNDLED)]:
        copy = pickle.loads(pickle.dumps(rule))
        assert copy == rule and copy.path == rule.path and copy.query.text == rule.query.text
        assert copy.query.options == rule.query.options
        assert copy.extra == rule.extra and copy.metadata == rule.metadata
    stream = events(30)
    cmd = pickle.loads(pickle.dumps(RULES[0]))
    assert [cmd.query(e) for e in stream] == [RULES[0].query(e) for e in stream]


def test_a_ruleset_and_its_alerts_pickle() -> None:
    ruleset = RuleSet(RULES)
    copy = pickle.loads(pickle.dumps(ruleset))
    stream = events(40)
    alerts = list(ruleset.scan(stream))
    assert sorted(map(identity, copy.scan(stream))) == sorted(map(identity, alerts))
    assert {alert.rule.name for alert in alerts} == {"cmd", "pair", "missing", "sample", "head"}
    back = pickle.loads(pickle.dumps(alerts))
    assert list(map(identity, back)) == list(map(identity, alerts))
    assert [a.rule for a in back] == [a.rule for a in alerts] and [a.severity for a in back] == [a.severity for a in alerts]


def _scan_chunk(ruleset: RuleSet, chunk: list[dict[str, Any]]) -> list[Alert]:
    return list(ruleset.scan(chunk))


def test_a_spawn_pool_scanning_chunks_gives_the_alerts_of_one_process() -> None:
    # Event rules only: a sequence across chunk borders is not what chunking can give.
    ruleset = RuleSet([load_rule(BUNDLED), RULES[0], RULES[4]])
    chunks = [events(50, host=f"c{n}-") for n in range(4)]
    for chunk in chunks:
        chunk[3]["process"].update({"parent": {"name": "sqlservr.exe"}, "args": ["cmd.exe", "/c", "whoami"]})
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        parallel = pool.starmap(_scan_chunk, [(ruleset, chunk) for chunk in chunks])
    alone = [_scan_chunk(ruleset, chunk) for chunk in chunks]
    assert [list(map(identity, alerts)) for alerts in parallel] == [list(map(identity, alerts)) for alerts in alone]
    assert sum(len(alerts) for alerts in alone) > 4
    assert all(alert.rule in ruleset.rules for alerts in parallel for alert in alerts)


def test_reprs_are_short() -> None:
    rule = load_rule(BUNDLED)
    text = repr(rule)
    assert text.startswith("Rule('Execution via MSSQL xp_cmdshell Stored Procedure', "
                           "rule_id='4ed493fc-d637-4a36-80ff-ac84937e5461', severity='high', query='process where")
    assert len(text) < 220 and text.endswith("…')")
    (alert,) = RuleSet([RULES[0]]).scan(events(1))
    assert repr(alert) == "Alert(rule='cmd', severity='high', timestamp=1000, events=1)"
    assert repr(RuleSet(RULES)) == "RuleSet(['cmd', 'pair', 'missing', ... (5 rules)])"


def test_html_views_escape_everything() -> None:
    rule = Rule("<script>alert(1)</script>", 'process where process.name == "<b>&amp;"')
    shown = rule._repr_html_()
    assert "<script>" not in shown and "&lt;script&gt;" in shown and "&quot;&lt;b&gt;&amp;amp;&quot;" in shown
    (alert,) = RuleSet([rule]).scan([{"event": {"category": "process"}, "process": {"name": "<b>&amp;"},
                                      "@timestamp": "<i>"}])
    shown = alert._repr_html_()
    assert "<b>" not in shown and "<i>" not in shown and "&lt;i&gt;" in shown and "<script>" not in shown


def test_rules_loaded_from_a_pickled_path_keep_it(tmp_path: Path) -> None:
    path = tmp_path / "r.eql"
    path.write_text(BUNDLED.read_text(encoding="utf-8"), encoding="utf-8")
    rule = load_rule(path)
    assert pickle.loads(pickle.dumps(rule)).path == path
