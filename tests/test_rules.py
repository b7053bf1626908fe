"""Rule files (.eql and detection-rules TOML), their errors and round trips, and RuleSet.

RuleSet must give exactly the alerts of the naive loop (every rule on every event): it is
checked on generated rules and events (hypothesis) and on the 1024 active corpus rules.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS, PROJECT, SHARED, require
from hypothesis import given, settings
from hypothesis import strategies as st

import eqlmini
from eqlmini import EqlError, EqlEventError, EqlSemanticError, EqlSyntaxError
from eqlmini.attack import AttackItem, Technique, Threat
from eqlmini.rule_toml import dumps
from eqlmini.rules import (
    NotEqlError,
    Rule,
    RuleError,
    RuleWarning,
    bundled_rules,
    load_rule,
    load_rules,
    rule_files,
)
from eqlmini.ruleset import Alert, RuleSet
from eqlmini.sequences import MissingEvent

EXAMPLES = int(os.environ.get("EQLMINI_EXAMPLES", "150"))
XP_CMDSHELL = SHARED / "corpus" / "xp_cmdshell"
BUNDLED = PROJECT / "rules" / "xp_cmdshell.eql"


def _benchmark() -> Any:
    """benchmarks/ruleset.py: its corpus loader and event generator serve the tests too."""
    spec = importlib.util.spec_from_file_location("benchmark_ruleset", PROJECT / "benchmarks" / "ruleset.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- TOML writer
toml_keys = st.text(min_size=1, max_size=8)
toml_scalars = st.one_of(st.text(max_size=30), st.integers(), st.booleans(), st.floats(allow_nan=False),
                         st.sampled_from(["*/", "/*", "/*/", "*/*", 'a"""b"', "x\\\n'''", "\\/*\n", "\n\n", "'"]))
toml_values = st.recursive(
    toml_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(toml_keys, inner, max_size=3)),
    max_leaves=12)


@settings(max_examples=EXAMPLES * 2)
@given(st.dictionaries(toml_keys, toml_values, max_size=5))
def test_toml_writer_round_trips_and_never_opens_or_closes_a_comment(table: dict[str, Any]) -> None:
    text = dumps(table)
    assert tomllib.loads(text) == table
    assert "*/" not in text and "/*" not in text  # block comments nest in EQL: either would break a header


def test_toml_writer_layout() -> None:
    text = dumps({"a": "x", "t": {"b": [1, 2]}, "list": [{"id": "1"}, {"id": "2"}], "q": "C:\\x\nline"})
    assert text == ('a = "x"\nq = \'\'\'\nC:\\x\nline\'\'\'\n\n[t]\nb = [1, 2]\n\n'
                    '[[list]]\nid = "1"\n\n[[list]]\nid = "2"\n')


# ----------------------------------------------------------------------------- the bundled rule
def test_bundled_rule_metadata() -> None:
    (rule,) = bundled_rules()
    assert rule.name == "Execution via MSSQL xp_cmdshell Stored Procedure"
    assert rule.rule_id == "4ed493fc-d637-4a36-80ff-ac84937e5461"
    assert (rule.severity, rule.risk_score, rule.version, rule.max_signals) == ("high", 73, 103, 100)
    assert (rule.interval, rule.from_, rule.license) == ("5m", "now-9m", "Elastic License v2")
    assert rule.index == ("winlogbeat-*", "logs-endpoint.events.*", "logs-windows.*", "endgame-*")
    assert rule.author == ("Elastic",) and "Investigation Guide" in rule.tags
    assert rule.threat == (Threat("MITRE ATT&CK",
                                  AttackItem("TA0002", "Execution", "https://attack.mitre.org/tactics/TA0002/"),
                                  (Technique("T1059", "Command and Scripting Interpreter",
                                             "https://attack.mitre.org/techniques/T1059/"),)),)
    assert rule.note and "False positive analysis" in rule.note
    assert rule.query.kind == "event" and rule.text.startswith("process where event.type")
    assert rule.path is not None and rule.path.name == "xp_cmdshell.eql"


def test_bundled_rule_round_trips(tmp_path: Path) -> None:
    (rule,) = bundled_rules()
    again = load_rule(write(tmp_path, "again.eql", rule.to_eql()))
    assert again == rule and again.to_eql() == rule.to_eql()
    assert load_rule(write(tmp_path, "again.toml", rule.to_toml())) == rule
    # Only the note's first line is placed differently (after a newline) from the hand-written file.
    assert rule.to_eql() == BUNDLED.read_text(encoding="utf-8").replace('note = """##', 'note = """\n##')


TRICKY = ["watch /etc/cron.d/* for changes", "C:\\Windows\\*\n/* not a comment */ */ /*", "a */ b /*/ c",
          "/*", "*/", "ends /", "* starts", "line\n/*\nC:\\x\\/*"]


@pytest.mark.filterwarnings("ignore::eqlmini.rules.RuleWarning")  # the tricky texts are keys too
@pytest.mark.parametrize("text", TRICKY)
def test_to_eql_writes_valid_eql_whatever_the_strings(tmp_path: Path, text: str) -> None:
    """EQL block comments nest (Elasticsearch's BRACKETED_COMMENT): the header escapes `/*` and `*/`."""
    rule = Rule(text.replace("\n", " ").strip() or "n", 'process where process.name : "/*x*/"', description=text,
                note=text, tags=[text], extra={text: text})
    written = rule.to_eql()
    assert eqlmini.parse(written) == rule.query.tree  # the whole file is one EQL query
    assert load_rule(write(tmp_path, "r.eql", written)) == rule


def test_bundled_rule_file_is_valid_eql() -> None:
    (rule,) = bundled_rules()
    assert eqlmini.parse(BUNDLED.read_text(encoding="utf-8")) == rule.query.tree
    assert eqlmini.parse(rule.to_eql()) == rule.query.tree


def test_header_with_a_balanced_comment_in_a_string_loads(tmp_path: Path) -> None:
    text = '/*\nname = "r"\ndescription = "see /* this */ too"\n*/\nany where true\n'
    assert load_rule(write(tmp_path, "r.eql", text)).description == "see /* this */ too"
    eqlmini.parse(text)  # as Elasticsearch reads it: one nested comment


def test_rule_files_with_a_byte_order_mark(tmp_path: Path) -> None:
    (rule,) = bundled_rules()
    for name, text in (("r.eql", rule.to_eql()), ("r.toml", rule.to_toml())):
        path = tmp_path / name
        path.write_text("\ufeff" + text, encoding="utf-8")
        assert load_rule(path) == rule
    only_rule = tmp_path / "folder" / "first-line-rule.toml"  # [rule] on the first line, after the mark
    only_rule.parent.mkdir()
    only_rule.write_text('\ufeff[rule]\nname = "r"\nquery = "any where true"\n', encoding="utf-8")
    assert rule_files(only_rule.parent) == [only_rule] and load_rule(only_rule).name == "r"


@pytest.mark.filterwarnings("ignore::eqlmini.rules.RuleWarning")  # its extra key "custom" is no detection-rules key
def test_rule_built_in_code_round_trips(tmp_path: Path) -> None:
    rule = Rule("odd */ name", "file where file.name == \"a'''b\" and `weird field` : \"*\\\\*\"",
                severity="critical", tags=["x"], extra={"custom": {"nested": [1, 2.5, True]}},
                metadata={"maturity": "production"}, transform={"osquery": [{"label": "q"}]},
                event_category_override="event.type", threat=[Threat("MITRE ATT&CK", AttackItem("TA0001", "I"))])
    assert rule.risk_score == 99 and rule.tags == ("x",)
    assert rule.query.fields[-1] == "event.type"  # the category is tested in the override field
    for name, text in (("r.eql", rule.to_eql()), ("r.toml", rule.to_toml())):
        assert load_rule(write(tmp_path, name, text)) == rule


@pytest.mark.parametrize(("arguments", "key"), [
    ({"severity": "severe"}, "severity"),
    ({"risk_score": 101}, "risk_score"),
    ({"risk_score": True}, "risk_score"),
    ({"tags": "Windows"}, "tags"),
    ({"version": "1"}, "version"),
    ({"from_": 9}, "from"),
    ({"extra": {"query": "x"}}, "query"),
    ({"name": " "}, "name"),
])
def test_rule_validation_names_the_key(arguments: dict[str, Any], key: str) -> None:
    arguments = {"name": "r", "text": "any where true", **arguments}
    with pytest.raises(RuleError) as caught:
        Rule(**arguments)
    assert caught.value.key == key


# ----------------------------------------------------------------------------- errors: file and line
HEADER = '/*\nname = "r"\nseverity = "low"\n*/\n'
ERRORS = [
    # (file name, content, error class, line, column, message part)
    ("toml-syntax.eql", '/*\nname = "r"\nseverity = = 1\n*/\nany where true\n', RuleError, 3, 12, "Invalid value"),
    ("bad-value.eql", '/*\nname = "r"\n\n  risk_score = 500\n*/\nany where true\n', RuleError, 4, 3, "risk_score"),
    ("bad-threat.eql", '/*\nname = "r"\n[[threat]]\nframework = "x"\n*/\nany where true\n', RuleError, 3, 1, "tactic"),
    ("bad-query.eql", HEADER + "\nprocess where\n  a === 1\n", EqlSyntaxError, 7, 7, "unexpected '='"),
    ("same-line.eql", '/* name = "r" */ process where foo(a)\n', EqlSemanticError, 1, 32, "foo"),
    ("no-header.eql", "\n\nprocess where a ==\n", EqlSyntaxError, 3, 19, "end of query"),
    ("unterminated.eql", '\n/*\nname = "r"\nany where true\n', RuleError, 2, 1, "no closing */"),
    # an unclosed /* inside the header is plain comment text (ANTLR's rule): only the */ is missing
    ("lone-open.eql", '/*\nname = "r"\ndescription = "watch /etc/cron.d/* now"\nany where true\n',
     RuleError, 1, 1, "no closing */"),
    ("no-query.eql", HEADER + "\n", RuleError, 6, 1, "no query"),
    ("query-in-header.eql", '/*\nname = "r"\nquery = "x"\n*/\nany where true\n', RuleError, 3, 1, "remove `query`"),
    ("not-eql.toml", '[metadata]\nmaturity = "x"\n\n[rule]\nname = "r"\ntype = "query"\nquery = "a:b"\n',
     NotEqlError, 6, 1, "EQL rules only"),
    ("bad-query.toml", "[rule]\nname = \"r\"\nseverity = \"low\"\nquery = '''\nany where\n  true and\n'''\n",
     EqlSyntaxError, 6, 11, "end of query"),
    ("no-rule.toml", '[metadata]\nmaturity = "x"\n', RuleError, None, None, "no [rule] table"),
    ("unknown-table.toml", '[rule]\nname = "r"\nquery = "any where true"\n[hunt]\nx = 1\n', RuleError, 4, 1, "[hunt]"),
]


@pytest.mark.parametrize(("name", "content", "kind", "line", "column", "part"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_file_and_line(tmp_path: Path, name: str, content: str, kind: type, line: int | None,
                                   column: int | None, part: str) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(EqlError) as caught:
        load_rule(path)
    error = caught.value
    assert type(error) is kind and (error.line, error.column) == (line, column)
    text = str(error)
    assert text.startswith(f"{path}: ") and part in text
    if line is not None:  # the line of the file, and a caret under the column
        shown = text.split("\n")
        assert shown[1] == content.split("\n")[line - 1] and shown[2] == " " * (column - 1) + "^"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="/*ab\n", max_size=30))
def test_a_header_is_unterminated_exactly_when_no_star_slash_follows(text: str) -> None:
    # why the header error says "no closing */": a nested /* never keeps the header open
    from eqlmini.comments import comment_end

    assert (comment_end("/*" + text, 0) is None) == ("*/" not in text)


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="no such file"):
        rule_files(tmp_path / "missing")
    with pytest.raises(RuleError, match="cannot read"):
        load_rule(tmp_path / "absent.eql")
    binary = tmp_path / "binary.eql"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(RuleError, match="cannot read"):
        load_rule(binary)


# ----------------------------------------------------------------------------- detection-rules TOML
def test_detection_rules_toml_import() -> None:
    path = require(XP_CMDSHELL / "9981cca2-2023-01-09-execution_via_xp_cmdshell_mssql_stored_procedure.toml")
    rule = load_rule(path)
    (bundled,) = bundled_rules()
    assert rule.query.tree == bundled.query.tree and rule.rule_id == bundled.rule_id
    assert (rule.severity, rule.risk_score, rule.index, rule.from_) == ("high", 73, bundled.index, "now-9m")
    assert rule.metadata["min_stack_version"] == "8.3.0" and rule.threat == bundled.threat
    # Written back, it is the same TOML document (keys, values, tables), not only the same Rule.
    assert tomllib.loads(rule.to_toml()) == tomllib.loads(path.read_text(encoding="utf-8"))


def test_detection_rules_toml_with_subtechniques(tmp_path: Path) -> None:
    rule = load_rule(require(XP_CMDSHELL / "e8c54169-2025-03-26-last-eql-persistence_via_xp_cmdshell_mssql_stored_procedure.toml"))
    assert [threat.ids for threat in rule.threat] == [("TA0003", "T1505", "T1505.001"), ("TA0002", "T1059", "T1059.003")]
    assert rule.threat[0].techniques[0].subtechniques[0].reference == "https://attack.mitre.org/techniques/T1505/001/"
    assert load_rule(write(tmp_path, "x.eql", rule.to_eql())) == rule
    assert load_rule(write(tmp_path, "x.toml", rule.to_toml())) == rule


def test_new_terms_rule_is_refused() -> None:
    path = require(XP_CMDSHELL / "HEAD-14cf530f-persistence_via_xp_cmdshell_mssql_stored_procedure.toml")
    with pytest.raises(RuleError, match="EQL rules only") as caught:
        load_rule(path)
    assert caught.value.line == 25  # language = "kuery"


def test_load_rules_walks_folders(tmp_path: Path) -> None:
    (rule,) = bundled_rules()
    write(tmp_path, "b/one.eql", rule.to_eql())
    write(tmp_path, "a/deep/two.toml", rule.to_toml())
    write(tmp_path, "a/pyproject.toml", '[project]\nname = "not a rule"\n')
    write(tmp_path, "notes.md", "# not a rule")
    assert [p.relative_to(tmp_path).as_posix() for p in rule_files(tmp_path)] == ["a/deep/two.toml", "b/one.eql"]
    assert load_rules(tmp_path) == [rule, rule]
    assert load_rules(tmp_path / "b" / "one.eql") == [rule]


# ----------------------------------------------------------------------------- the corpus
def test_corpus_rules_load_round_trip_and_match_as_the_naive_loop(tmp_path: Path) -> None:
    """All 1024 active rules: to .eql and TOML files, loaded back equal, run as one RuleSet."""
    require(CORPUS)
    bench = _benchmark()
    rules = bench.corpus_rules(CORPUS)
    assert len(rules) == 1024
    for i, rule in enumerate(rules):
        write(tmp_path, f"eql/{i:04}.eql", rule.to_eql())
        write(tmp_path, f"toml/{i:04}.toml", rule.to_toml())
    assert load_rules(tmp_path / "eql") == rules
    assert load_rules(tmp_path / "toml") == rules
    ruleset = RuleSet(rules)
    events = bench.generate_events(rules, 1500, seed=7, hot=0.2)
    alerts = list(ruleset.scan(events, indexed=True))
    assert_same_alerts(alerts, list(ruleset.scan(events, indexed=False)))
    assert len({alert.rule.rule_id for alert in alerts}) > 100  # the generated events do fire rules


# ----------------------------------------------------------------------------- RuleSet
def _identity(alert: Alert) -> tuple:
    return (alert.rule.name, tuple(None if isinstance(e, MissingEvent) else id(e) for e in alert.events),
            repr(alert.join_keys), repr(alert.timestamp))


def assert_same_alerts(indexed: list[Alert], naive: list[Alert]) -> None:
    """Same alerts; per rule in the same order (a sequence may finish at another event)."""
    assert sorted(map(_identity, indexed)) == sorted(map(_identity, naive))
    by_rule = lambda alerts, rule: [_identity(a) for a in alerts if a.rule is rule]
    for rule in {alert.rule.name: alert.rule for alert in naive}.values():
        assert by_rule(indexed, rule) == by_rule(naive, rule)


FIELDS = ("a", "b", "c.d")
WORDS = ('"x"', '"X"', '"y"', '"1"', '"true"')
leaves = st.one_of(
    st.builds("{} == {}".format, st.sampled_from(FIELDS), st.sampled_from((*WORDS, "1", "true"))),
    st.builds("{} == {}".format, st.sampled_from(WORDS), st.sampled_from(FIELDS)),
    st.builds("{} != {}".format, st.sampled_from(FIELDS), st.sampled_from(WORDS)),
    st.builds("{} {} {}".format, st.sampled_from(FIELDS), st.sampled_from((":", "like", "like~")),
              st.sampled_from((*WORDS, '"x*"', '"?"', '("x", "Y")', '("*", "y")'))),
    st.builds("{} {} ({})".format, st.sampled_from(FIELDS), st.sampled_from(("in", "in~", "not in")),
              st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(", ".join)),
    st.builds("{} regex {}".format, st.sampled_from(FIELDS), st.just('"x.*"')),
    st.sampled_from(("true", "a == null", "startsWith~(b, \"x\")")),
)


def conditions_of(leaves: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Conditions of up to four leaves, joined by and, or, not."""
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda parts: "(" + " and ".join(parts) + ")"),
        st.lists(inner, min_size=2, max_size=3).map(lambda parts: "(" + " or ".join(parts) + ")"),
        inner.map("not {}".format)), max_leaves=4)


conditions = conditions_of(leaves)
event_queries = st.builds("{} where {}".format, st.sampled_from(("any", "process", "file", '"Process"')), conditions)


def _sequence(by: str, maxspan: bool, stages: list[str], until: str) -> str:
    maxspan = maxspan or any(stage.startswith("!") for stage in stages)  # ![...] needs a maxspan
    return f"sequence{by}{' with maxspan=5ms' if maxspan else ''}\n" + "\n".join(stages) + until


stages = st.builds("{}[{}]".format, st.sampled_from(("", "", "!")), event_queries)
queries = st.one_of(
    event_queries,
    st.builds(_sequence, st.sampled_from(("", " by a")), st.booleans(),
              st.lists(stages, min_size=2, max_size=3).filter(lambda s: not all(x.startswith("!") for x in s)),
              st.sampled_from(("", "\nuntil [any where b == \"y\"]"))),
    st.builds("sample by a\n{}".format, st.lists(event_queries.map("[{}]".format), min_size=2, max_size=2)
              .map("\n".join)),
)
field_values = st.sampled_from(["x", "X", "y", "1", 1, True, ["x", "y"], None])
events = st.lists(st.fixed_dictionaries({
    "category": st.sampled_from(["process", "file", "PROCESS", ["process", "file"], None]),
    "a": field_values, "b": field_values, "d": field_values, "gap": st.integers(0, 3)}), max_size=25)


def _event(fields: dict[str, Any], timestamp: int) -> dict[str, Any]:
    event: dict[str, Any] = {"@timestamp": timestamp, "event": {"category": fields["category"]}}
    for name, value in (("a", fields["a"]), ("b", fields["b"])):
        if value is not None:
            event[name] = value
    if fields["d"] is not None:
        event["c"] = {"d": fields["d"]}
    return event


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(queries, min_size=1, max_size=6), events)
def test_ruleset_gives_the_alerts_of_the_naive_loop(texts: list[str], drawn: list[dict[str, Any]]) -> None:
    rules = [Rule(f"r{i}", text) for i, text in enumerate(texts)]
    timestamps = [sum(e["gap"] for e in drawn[:i + 1]) for i in range(len(drawn))]
    stream = [_event(fields, ts) for fields, ts in zip(drawn, timestamps)]
    ruleset = RuleSet(rules)
    assert_same_alerts(list(ruleset.scan(stream, indexed=True)), list(ruleset.scan(stream, indexed=False)))
    assert_same_alerts(list(ruleset.scan(stream)), list(ruleset.scan(stream, indexed=False)))
    for event in stream:  # every rule an event matches alone is among its candidates
        assert {r.name for r in rules if r.query.kind == "event" and r.query(event)} <= {
            r.name for r in ruleset.candidates(event)}


def test_alerts_carry_rule_severity_and_timestamp() -> None:
    rules = [Rule("one", 'process where process.name : "cmd.exe"', severity="high"),
             Rule("two", 'sequence by host.id [process where true] [file where true]', risk_score=5),
             Rule("head", 'any where true | head 1', severity="low")]
    stream = [{"@timestamp": "2024-01-01T00:00:01Z", "event": {"category": "process"},
               "process": {"name": "CMD.EXE"}, "host": {"id": "h"}},
              {"@timestamp": "2024-01-01T00:00:02Z", "event": {"category": "file"}, "host": {"id": "h"}}]
    alerts = list(RuleSet(rules).scan(iter(stream)))
    assert [(a.rule.name, a.severity, a.risk_score, a.timestamp, a.join_keys) for a in alerts] == [
        ("one", "high", 73, "2024-01-01T00:00:01Z", ()),
        ("head", "low", 21, "2024-01-01T00:00:01Z", ()),
        ("two", "medium", 5, "2024-01-01T00:00:02Z", ("h",))]
    assert alerts[2].events == tuple(stream)


@pytest.mark.parametrize("as_list", [True, False], ids=["list", "stream"])
def test_an_event_without_a_place_in_time_is_reported_and_the_scan_goes_on(
        as_list: bool, caplog: pytest.LogCaptureFixture) -> None:
    rules = [Rule("one", 'process where process.name : "cmd.exe"'),
             Rule("two", "sequence by host.id [process where true] [file where true]"),
             Rule("head", "any where true | head 5")]
    stream = [{"id": 0, "@timestamp": 1, "event": {"category": "process"}, "process": {"name": "cmd.exe"},
               "host": {"id": "h"}},
              {"id": 1, "event": {"category": "process"}, "process": {"name": "cmd.exe"}, "host": {"id": "h"}},
              {"id": 2, "@timestamp": "yesterday", "event": {"category": "file"}, "host": {"id": "h"}},
              {"id": 3, "@timestamp": 3, "event": {"category": "file"}, "host": {"id": "h"}}]
    problems: list[tuple[int, str]] = []
    alerts = list(RuleSet(rules).scan(stream if as_list else iter(stream),
                                      on_event_error=lambda at, error: problems.append((at, error.message))))
    assert problems == [(1, "event has no timestamp"), (2, "timestamp 'yesterday' is neither epoch milliseconds "
                                                           "nor a valid ISO-8601 date")]
    # Both cmd.exe reach the event rule; the sequence and the pipe see only the events in time.
    assert sorted((a.rule.name, tuple(e["id"] for e in a.events)) for a in alerts) == [
        ("head", (0,)), ("head", (3,)), ("one", (0,)), ("one", (1,)), ("two", (0, 3))]
    with caplog.at_level(logging.WARNING, logger="eqlmini.ruleset"):  # by default: a warning each
        assert len(list(RuleSet(rules).scan(stream))) == 5
    assert [r.getMessage() for r in caplog.records][0].startswith("event 1 (counting from 0): event has no timestamp")


def test_a_stream_out_of_order_still_stops_the_scan() -> None:
    stream = iter([{"@timestamp": 2}, {"@timestamp": 1}])
    with pytest.raises(EqlEventError, match="event 1 \\(counting from 0\\) is out of order"):
        list(RuleSet([Rule("s", "sequence [any where true] [any where true]")]).scan(stream))


def test_index_skips_rules_that_cannot_match() -> None:
    rules = [Rule("cmd", 'process where process.name : "cmd.exe" and process.args : "*x*"'),
             Rule("override", 'start where process.name in ("a", "b")', event_category_override="event.type"),
             Rule("either", 'file where file.name == "a" or file.path : ("b", "c")'),
             Rule("wild", 'process where process.name : "*"')]
    ruleset = RuleSet(rules)

    def names(**fields: Any) -> list[str]:
        return [rule.name for rule in ruleset.candidates(fields)]

    assert names(event={"category": "process"}, process={"name": "Cmd.exe"}) == ["cmd", "wild"]
    assert names(event={"category": "process"}, process={"name": "ssh"}) == ["wild"]
    assert names(event={"category": "process", "type": ["start"]}, process={"name": "A"}) == ["override", "wild"]
    assert names(event={"category": "file"}, file={"path": "C"}) == ["either"]
    assert names(event={"category": "file"}, file={"name": "c"}) == []


def test_sequence_rules_must_share_the_timestamp_field() -> None:
    rules = [Rule("a", "sequence [any where true] [any where true]"),
             Rule("b", "sequence [any where true] [any where true]", timestamp_field="event.created")]
    with pytest.raises(EqlError, match="timestamp_field"):
        RuleSet(rules)


@pytest.mark.parametrize("rules", [
    [Rule("one", 'process where process.name : "cmd.exe"')],                      # the plain loop
    [Rule("one", 'process where process.name : "cmd.exe"'), Rule("head", "any where true | head 5")],
    [Rule("one", 'process where process.name : "cmd.exe"'),
     Rule("two", "sequence [process where true] [file where true]")],             # in time order
], ids=["plain", "matchers", "ordered"])
@pytest.mark.parametrize("as_list", [True, False], ids=["list", "stream"])
def test_an_event_that_is_not_a_mapping_is_reported_and_the_scan_goes_on(rules: list[Rule], as_list: bool) -> None:
    stream = [None, {"@timestamp": 1, "event": {"category": "process"}, "process": {"name": "cmd.exe"}}, "text",
              ["a", "list"], {"@timestamp": 2, "event": {"category": "file"}}, 7]
    for indexed in (None, True, False):
        problems: list[tuple[int, str]] = []
        alerts = list(RuleSet(rules).scan(stream if as_list else iter(stream), indexed=indexed,
                                          on_event_error=lambda at, error: problems.append((at, error.message))))
        assert [(at, message.split(",")[0]) for at, message in problems] == [
            (0, "not an event: a NoneType"), (2, "not an event: a str"), (3, "not an event: a list"),
            (5, "not an event: a int")]
        assert ("one", (1,)) in [(a.rule.name, tuple(e["@timestamp"] for e in a.events)) for a in alerts]
        if len(rules) > 1 and rules[1].name == "two":
            assert [a.rule.name for a in alerts].count("two") == 1
