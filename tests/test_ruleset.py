"""The RuleSet's generated index (eqlmini.packgen): what it reaches, and that it never changes an alert.

The index must reach every rule an event can match (the naive loop is the reference,
tests/test_rules.py holds the first property test and the corpus check); here, random rule
packs over the leaves the index reads in more ways (wildcard prefixes and suffixes, texts
that read as numbers, a date field, dotted keys, objects that are not dicts), and the
cases where it now leaves rules out.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_rules import EXAMPLES, assert_same_alerts, conditions_of

from eqlmini import codegen
from eqlmini.rules import Rule
from eqlmini.ruleset import RuleSet

FIELDS = ("a", "b", "c.d")
PATTERNS = ('"abcd*"', '"*wxyz"', '"ab?def*"', '"ABCDE"', '"*"', '"ab*"', '("abcd*", "*wxyz")', '("q", "*xyz")',
            '"4662"', '"4662*"')
leaves = st.one_of(
    st.builds("{} {} {}".format, st.sampled_from(FIELDS), st.sampled_from((":", "like", "like~")),
              st.sampled_from(PATTERNS)),
    st.builds("{} == {}".format, st.sampled_from(FIELDS),
              st.sampled_from(('"4662"', '"4662.0"', '"true"', '"abcdef"'))),
    st.builds("{} in ({})".format, st.sampled_from(FIELDS), st.sampled_from(('"4662", "x"', '"1", "abcdef"'))),
    st.builds("{} != {}".format, st.sampled_from(FIELDS), st.just('"4662"')),
    st.builds("{} == {}".format, st.sampled_from(FIELDS), st.sampled_from(("4662", "0", "1.0", "-0.0"))),
    st.builds("{} in ({})".format, st.sampled_from(FIELDS), st.just("1, 4662.0")),
    st.sampled_from(('@timestamp == "1970-01-01T00:00:00.002Z"', "@timestamp >= 3", "true")),
)
conditions = conditions_of(leaves)
event_queries = st.builds("{} where {}".format, st.sampled_from(("any", "process", "file")), conditions)
queries = st.one_of(
    event_queries,
    event_queries.map("{} | head 2".format),
    st.builds("sequence by a with maxspan=3ms\n[{}]\n{}[{}]".format, event_queries, st.sampled_from(("", "!")),
              event_queries),
    st.builds("sample by b\n[{}]\n[{}]".format, event_queries, event_queries),
)
field_values = st.sampled_from(["abcdefg", "ABCDXY", "qqwxyz", "ab-def", "ABCDE", "ab", "4662", "04662", 4662,
                                4662.0, True, "true", ["x", "abcdx"], [["4662"]], 0, -0.0, "0", "1.0", [False, "1"],
                                None])
shapes = st.sampled_from(("nested", "dotted", "proxy"))
events = st.lists(st.tuples(st.fixed_dictionaries({
    "category": st.sampled_from(["process", "file", ["FILE"], None]),
    "a": field_values, "b": field_values, "d": field_values}), st.integers(0, 2), shapes), max_size=20)


def _event(fields: dict[str, Any], timestamp: int, shape: str) -> Any:
    event: dict[str, Any] = {"@timestamp": timestamp, "event": {"category": fields["category"]}}
    for name in ("a", "b"):
        if fields[name] is not None:
            event[name] = fields[name]
    if fields["d"] is not None:
        if shape == "dotted":
            event["c.d"] = fields["d"]  # Elasticsearch reads it as c.d too
        else:
            event["c"] = {"d": fields["d"]}
    return MappingProxyType(event) if shape == "proxy" else event  # a mapping that is not a dict


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(queries, min_size=1, max_size=6), events)
def test_indexed_alerts_are_the_naive_loops(texts: list[str], drawn: list[tuple[dict[str, Any], int, str]]) -> None:
    rules = [Rule(f"r{i}", text) for i, text in enumerate(texts)]
    timestamps = [sum(gap for _, gap, _ in drawn[:i + 1]) for i in range(len(drawn))]
    stream = [_event(fields, ts, shape) for (fields, _, shape), ts in zip(drawn, timestamps)]
    ruleset = RuleSet(rules)
    naive = list(ruleset.scan(stream, indexed=False))
    assert_same_alerts(list(ruleset.scan(stream, indexed=True)), naive)
    for event in stream:  # every rule an event matches alone is among its candidates
        assert {r.name for r in rules if r.query.kind == "event" and r.query(event)} <= {
            r.name for r in ruleset.candidates(event)}


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.builds("{} where {}".format, st.sampled_from(("any", "process")), leaves), min_size=1, max_size=8),
       st.lists(st.tuples(st.fixed_dictionaries({"category": st.just("process"), "a": field_values,
                                                  "b": field_values, "d": field_values}), shapes,
                          st.sampled_from((1, 2, "1970-01-01T00:00:00.002+00:00"))),
                min_size=1, max_size=20))
def test_every_rule_an_event_matches_is_a_candidate(texts: list[str],
                                                    drawn: list[tuple[dict[str, Any], str, Any]]) -> None:
    """The index alone, leaf by leaf: many rule-event pairs per example."""
    rules = [Rule(f"r{i}", text) for i, text in enumerate(texts)]
    ruleset = RuleSet(rules)
    for fields, shape, timestamp in drawn:
        event = _event(fields, timestamp, shape)
        assert {r.name for r in rules if r.query(event)} <= {r.name for r in ruleset.candidates(event)}


def _names(ruleset: RuleSet, **fields: Any) -> list[str]:
    return [rule.name for rule in ruleset.candidates(fields)]


def test_wildcard_patterns_are_looked_up_by_their_literal_beginning_or_end() -> None:
    ruleset = RuleSet([Rule("python", 'process where process.name : "python*"'),
                       Rule("exe", 'process where process.executable like~ ("*\\\\cmd.exe", "C:\\\\Temp\\\\*")'),
                       Rule("short", 'process where process.name : "py*"')])
    process = {"category": "process"}
    assert _names(ruleset, event=process, process={"name": "bash"}) == ["short"]
    assert _names(ruleset, event=process, process={"name": "Python3.12"}) == ["python", "short"]
    assert _names(ruleset, event=process, process={"executable": "D:\\x\\CMD.EXE"}) == ["exe", "short"]
    assert _names(ruleset, event=process, process={"executable": "c:\\temp\\a.exe"}) == ["exe", "short"]
    assert _names(ruleset, event=process, process={"executable": "c:\\windows\\a.dll"}) == ["short"]


def test_a_text_that_reads_as_a_number_is_looked_up_and_any_number_reaches_it() -> None:
    ruleset = RuleSet([Rule("code", 'any where event.code in ("4662", "4624")')])
    assert _names(ruleset, event={"code": "4688"}) == []
    assert _names(ruleset, event={"code": "4662"}) == ["code"]
    assert _names(ruleset, event={"code": 4662.0}) == ["code"]  # equal as numbers: the rule decides
    assert Rule("code", 'any where event.code == "4662"').query({"event": {"code": 4662.0}})


def test_a_matcher_reaches_only_events_one_of_its_stages_matches() -> None:
    ruleset = RuleSet([Rule("seq", 'sequence [process where process.name == "a" and process.args : "*x*"] '
                                   '[file where file.name == "b"]'),
                       Rule("head", 'process where process.name == "a" and process.args : "*y*" | head 1')])
    process = {"category": "process"}
    assert _names(ruleset, event=process, process={"name": "a", "args": "z"}) == []
    assert _names(ruleset, event=process, process={"name": "a", "args": "x"}) == ["seq"]
    assert _names(ruleset, event=process, process={"name": "a", "args": ["y", "x"]}) == ["seq", "head"]


def test_numbers_are_looked_up_as_numbers() -> None:
    ruleset = RuleSet([Rule("rdp", "network where destination.port in (3389, 3390)"),
                       Rule("event", "any where winlog.event_id == 4688")])
    network = {"category": "network"}
    assert _names(ruleset, event=network, destination={"port": 22}) == []
    assert _names(ruleset, event=network, destination={"port": "3389.0"}) == ["rdp"]  # a numeric text equals
    assert _names(ruleset, event=network, destination={"port": [22, 3390.0]}) == ["rdp"]
    assert _names(ruleset, winlog={"event_id": "4688"}) == ["event"]
    assert _names(ruleset, winlog={"event_id": True}) == []


def test_generated_index_holds_no_rule_text(monkeypatch: Any) -> None:
    """Field names and literals reach the index's source only as placeholders (codegen.Source)."""
    sources: list[str] = []
    build = codegen.Source.build

    def record(self: codegen.Source, source: str, name: str) -> Any:
        sources.append(source)
        return build(self, source, name)
    rules = [Rule(f"r{i}", f'process where `x\'"); import os; ("{i}` : ("\'); os.system(\'{i}*", "*\\n__import__")')
             for i in range(3)]
    monkeypatch.setattr(codegen.Source, "build", record)
    ruleset = RuleSet(rules)
    assert [source for source in sources if "def collect" in source]
    for source in sources:
        assert "import" not in source and "system" not in source and "x'" not in source
    event = {"event": {"category": "process"}, "x'\"); import os; (\"1": "'); os.system('1 and more"}
    assert [alert.rule.name for alert in ruleset.scan([event], indexed=True)] == ["r1"]
