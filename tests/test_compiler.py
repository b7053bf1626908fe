"""Evaluation semantics: Elasticsearch's null, list, case and coercion rules (spec 4-7)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eqlmini

EXAMPLES = int(os.environ.get("EQLMINI_EXAMPLES", "300"))


def matches(condition: str, event: dict[str, Any]) -> bool:
    return eqlmini.compile(f"any where {condition}")(event)


ARGS = {"args": ["cmd", "/c", "dir"]}

# (condition, event, expected): each row is one rule of the semantics.
SEMANTICS = [
    # A leaf is "some value satisfies it"; absent, null and [] make it false, `not` makes it true.
    ('args : "dir"', ARGS, True),
    ('args == "dir"', ARGS, True),
    ('args in ("dir", "x")', ARGS, True),
    ('not args : ("dir", "*XMLNAMESPACES*")', ARGS, False),
    ('not args : ("dir", "*XMLNAMESPACES*")', {}, True),
    ('not args : "dir"', {"args": []}, True),
    ('not args : "dir"', {"args": None}, True),
    ('args != "dir"', ARGS, False),
    ('args != "dir"', {}, True),
    ('args not in ("dir")', {}, True),
    ('length(args) > 3', ARGS, False),
    ('length(args) > 2', ARGS, True),
    ('not (length(x) > 0)', {}, True),
    # == null / != null test presence.
    ("x == null", {}, True),
    ("x == null", {"x": None}, True),
    ("x == null", {"x": []}, True),
    ("x == null", {"x": 0}, False),
    ("x != null", {"x": ""}, True),
    ("null != x", {}, False),
    ("?x == null", {}, True),
    ("null == (exit_code > -1)", {}, True),
    ("null == (exit_code > -1)", {"exit_code": 0}, False),
    # Case: == in like regex are sensitive; : in~ like~ regex~ f~ are not.
    ('name == "CMD.EXE"', {"name": "cmd.exe"}, False),
    ('name : "CMD.EXE"', {"name": "cmd.exe"}, True),
    ('name in ("CMD.EXE")', {"name": "cmd.exe"}, False),
    ('name in~ ("CMD.EXE")', {"name": "cmd.exe"}, True),
    ('name like "CMD*"', {"name": "cmd.exe"}, False),
    ('name like~ "CMD*"', {"name": "cmd.exe"}, True),
    ('name regex "CMD.*"', {"name": "cmd.exe"}, False),
    ('name regex~ "CMD.*"', {"name": "cmd.exe"}, True),
    ('startsWith(name, "CMD")', {"name": "cmd.exe"}, False),
    ('name : "cid.exe"', {"name": "C\u0130D.EXE"}, True),  # İ folds to i, one character for one
    ('name : "c\u00e9d"', {"name": "C\u00c9D"}, True),
    ('startsWith~(name, "CMD")', {"name": "cmd.exe"}, True),
    ('name > "b"', {"name": "a"}, False),
    # Wildcards: * and ? in : and like only; backslash is ordinary; anchored.
    ('name : "c?d.exe"', {"name": "cmd.exe"}, True),
    ('name : "c?d.exe"', {"name": "cd.exe"}, False),
    ('name == "c*"', {"name": "cmd"}, False),
    ('name == "c*"', {"name": "c*"}, True),
    ('name in~ ("c*")', {"name": "cmd"}, False),
    (r'name : "\\\\*"', {"name": r"\\server"}, True),  # EQL "\\\\*" is the value \\*
    (r'name : "\\\\*"', {"name": r"\server"}, False),
    (r'name : "\\*"', {"name": r"\server"}, True),  # EQL "\\*" is the value \*
    ('name : "%*%"', {"name": "%x%"}, True),
    ('name : "%*%"', {"name": "axa"}, False),
    ('name : "md"', {"name": "cmd"}, False),
    # Regex is Lucene's: anchored, . matches newline.
    ('name regex "a.c"', {"name": "a\nc"}, True),
    ('name regex "b"', {"name": "abc"}, False),
    # Numbers and strings meet through the field's mapping.
    ('code == 4688', {"code": "4688"}, True),
    ('code == "4688"', {"code": 4688}, True),
    ('code : "4688"', {"code": 4688}, True),
    ('code > 10', {"code": "9"}, False),
    ('code > 10', {"code": 11.5}, True),
    ('flag == true', {"flag": True}, True),
    ('flag == 1', {"flag": True}, False),
    ('x == 1', {"x": "abc"}, False),
    # Arithmetic and functions propagate null; int division truncates.
    ("a + 1 == 3", {"a": 2}, True),
    ("a + 1 == 3", {}, False),
    ("a / 2 == 1", {"a": 3}, True),
    ("a / 2.0 == 1.5", {"a": 3}, True),
    ('concat(a, "x") == "1x"', {"a": 1}, True),
    ('concat(a, "x") == null', {}, True),
    # A bare field is a boolean.
    ("flag", {"flag": True}, True),
    ("flag", {"flag": "true"}, False),
    ("?missing", {}, False),
    ("not ?missing", {}, True),
    # Unary minus is numeric only; NaN is unordered; coercion reads ASCII numbers only.
    ("-a < 5", {"a": "x"}, False),
    ("-a < 0", {"a": True}, False),
    ("-a < 0", {"a": 2}, True),
    ("a >= 5 and a <= 5", {"a": float("nan")}, False),
    ("a == 10", {"a": "1_0"}, False),
    ("a == 123", {"a": "\u0661\u0662\u0663"}, False),
    ("a > 0", {"a": "inf"}, False),
    ("a == 1", {"a": "1 "}, False),
    # The timestamp field is a date: ISO strings and epoch ms compare as instants.
    ('@timestamp < "2017-08-30T20:47:32+01:00"', {"@timestamp": "2017-08-30T20:00:00Z"}, False),
    ('@timestamp == "2017-08-30T20:47:32.000Z"', {"@timestamp": "2017-08-30T20:47:32Z"}, True),
    ('"2017-08-30" <= @timestamp', {"@timestamp": 1504051200000}, True),
    # An object where a value is expected holds no value.
    ("a == null", {"a": {"b": 1}}, True),
    ('a : "*"', {"a": {"b": 1}}, False),
    # Constant conditions fold, in three-valued logic.
    ("not null", {}, False),
    ("not (1 < null)", {}, False),
    ("not (null == 1)", {}, True),
    ("true", {}, True),
    ("1 == 1 and \"a\" : \"A\"", {}, True),
    ("null == null", {}, True),
]


@pytest.mark.parametrize(("condition", "event", "expected"), SEMANTICS, ids=[f"{c} | {e}" for c, e, _ in SEMANTICS])
def test_semantics(condition: str, event: dict[str, Any], expected: bool) -> None:
    assert matches(condition, event) is expected


@pytest.mark.parametrize("event", [
    {"process": {"name": "a"}},
    {"process.name": "a"},
    {"process": [{"name": "b"}, {"name": "a"}]},
    {"process": {"name": ["b", ["a"]]}},
    {"process": {"name": "b"}, "process.name": "a"},
])
def test_nested_flat_and_mixed_events(event: dict[str, Any]) -> None:
    assert matches('process.name == "a"', event)
    assert not matches('process.name != "a"', event)


def test_category_test_uses_the_configured_field() -> None:
    event = {"event": {"category": "process"}, "event.type": "start"}
    assert eqlmini.compile("process where true")(event)
    assert not eqlmini.compile("Process where true")(event)  # a case-sensitive term
    by_type = eqlmini.compile("start where true", event_category_field="event.type")
    assert by_type(event)
    assert eqlmini.compile("any where true")({})


def test_query_api() -> None:
    query = eqlmini.compile('process where process.name : "cmd.exe"')
    assert query.kind == "event"
    assert str(query) == 'process where process.name : "cmd.exe"'
    assert query.fields == ("process.name", "event.category")
    event = {"event": {"category": "process"}, "process": {"name": "CMD.exe"}}
    assert query(event) and query.match(event)
    assert list(query.filter([{}, event, {}])) == [event]


def test_sequence_queries_do_not_match_single_events() -> None:
    query = eqlmini.compile("sequence [a where true] [b where true]")
    assert query.kind == "sequence"
    with pytest.raises(eqlmini.EqlError, match="use search"):
        query({})


HOSTILE = ['"); import os; os.system("echo pwned")  #', "__import__('os')", "\\", "'''", '"""', "\n", "{0}", "}}"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_are_only_ever_data(text: str) -> None:
    quoted = eqlmini.ast.quote_string(text)
    name = eqlmini.ast.quote_name(text)
    query = eqlmini.compile(f'any where {name} == {quoted} or {name} : {quoted} or {name} in ({quoted}) '
                            f'or startsWith({name}, {quoted})')
    assert query({text: text}) is True
    assert query({text: "y" + text}) is False


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(), st.text())
def test_any_string_value_round_trips_through_a_query(name: str, value: str) -> None:
    if not name or "." in name:
        return  # dots separate path parts
    quoted_name = eqlmini.ast.quote_name(name)
    query = eqlmini.compile(f"any where {quoted_name} == {eqlmini.ast.quote_string(value)}")
    assert query({name: value}) is True


def test_pattern_blow_up_stays_linear() -> None:
    query = eqlmini.compile('any where x : "*a*a*a*a*a*a*b" or x regex "([^ ]+[ ]{3,}[^ ]*){3,}.*"')
    assert query({"x": "a" * 50_000}) is False


@pytest.mark.parametrize(("text", "message"), [
    ("any where 1 / 0 == 1", "/ by zero"),
    ('any where number("x") == 1', "Unable to convert"),
    ("any where " + "not (a == 1 and (" * 150 + "a == 1" + "))" * 150, "nested too deeply"),
])
def test_constant_and_structural_errors_surface_at_compile_time(text: str, message: str) -> None:
    with pytest.raises(eqlmini.EqlError, match=message):
        eqlmini.compile(text)


@pytest.mark.parametrize("event", [None, ["a"], "process", 3])
def test_an_event_that_is_not_a_mapping_is_a_clear_error(event: Any) -> None:
    query = eqlmini.compile('process where process.name : "cmd.exe"')
    with pytest.raises(eqlmini.EqlEventError, match="must be a mapping"):
        query(event)


@pytest.mark.parametrize(("condition", "value", "expected"), [
    ('version > "1.5.0"', "1.11.3", True),
    ('version > "1.5.0"', "1.5.0", False),
    ('version < "1.5.0"', "1.2.4-SNAPSHOT", True),
    ('version < "1.2.4"', "1.2.4-SNAPSHOT", True),
    ('version < "1.5.0"', "bad", False),  # text that is no version sorts after every version
    ('version == "1.2.4"', "1.2.4", True),
    ('created < "2020-01-01T00:00:00+01:00"', "2019-12-31T23:30:00Z", False),
    ('created < "2020-01-01T00:00:00+01:00"', "2019-12-31T22:30:00Z", True),
    ('created >= "2020-01-01"', 1577836800000, True),
])
def test_field_types_stand_in_for_the_mapping(condition: str, value: Any, expected: bool) -> None:
    query = eqlmini.compile(f"any where {condition}", field_types={"version": "version", "created": "date"})
    assert query({"version": value, "created": value}) is expected


def test_an_unknown_field_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown type"):
        eqlmini.compile("any where true", field_types={"source.ip": "ip"})
