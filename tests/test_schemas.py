"""Field checks against a schema: Elasticsearch's messages when a query meets an index mapping.

Expected messages are Elasticsearch's, from x-pack/plugin/eql/src/test/.../analysis/VerifierTests.java
(named per test) and the classes cited beside each case.
"""

from __future__ import annotations

import doctest
import gzip
import json
import random
from pathlib import Path

import pytest
from conftest import CORPUS, PROJECT, SHARED, require
from hypothesis import given, settings
from hypothesis import strategies as st

import eqlmini
from eqlmini import schemas
from eqlmini.parser import parse
from eqlmini.schemas.schema import _edit_distances

# Close to ES's test mappings (mapping-default.json, mapping-multi-field.json, mapping-nested.json, ...).
MAPPING = schemas.Schema({
    "@timestamp": "date", "event.category": "keyword", "pid": "long", "ppid": "long", "md5": "keyword",
    "opcode": "long", "bool": "boolean", "command_line": "keyword", "constant_keyword": "constant_keyword",
    "hostname": "text", "hostname.keyword": "keyword", "user_domain": "keyword", "source_address": "ip",
    "multi_field": "text", "multi_field.raw": "keyword", "multi_field.english": "text",
    "processes": "nested", "processes.pid": "long", "processes.path": "text", "processes.path.keyword": "keyword",
    "location": "geo_point", "endgame.pid": "long", "range": "integer_range", "package.version": "version",
})


def error(text: str, schema: schemas.Schema = MAPPING) -> eqlmini.EqlSemanticError:
    with pytest.raises(eqlmini.EqlSemanticError) as caught:
        eqlmini.compile(text, schema=schema)
    return caught.value


# ------------------------------------------------------------------ unknown fields
@pytest.mark.parametrize(("text", "message", "column"), [
    ("foo where xxx == 100", "Unknown column [xxx]", 11),                                      # testMissingColumn
    ("foo where md4 == 1", "Unknown column [md4], did you mean [md5]?", 11),                   # testMisspelledColumn
    ("foo where pib == 1", "Unknown column [pib], did you mean any of [pid, ppid]?", 11),      # ...WithMultipleOptions
    ("foo where endgame.pi == 0", "Unknown column [endgame.pi], did you mean [endgame.pid]?", 11),  # testObject
    ("foo where processe.pid == 0",                                                            # testNested
     "Unknown column [processe.pid], did you mean any of [processes.pid, processes.path, processes.path.keyword]?", 11),
    ("foo where pid == 1 and\n  procss == 2", "Unknown column [procss]", 3),
])
def test_unknown_field_is_elasticsearchs_error_at_the_field(text: str, message: str, column: int) -> None:
    problem = error(text)
    assert isinstance(problem, schemas.UnknownFieldError)
    assert problem.message == message
    assert (problem.line, problem.column) == (text.count("\n") + 1, column)
    assert str(problem).endswith("^")  # the caret under the field
    eqlmini.compile(text)  # without a schema every field is allowed, as before


def test_suggestions_are_ordered_best_first_then_in_mapping_order() -> None:
    problem = error("any where process.nmae == 1", schemas.ecs())
    assert problem.suggestions[0] == "process.name" and len(problem.suggestions) == 38
    # The message names the first five (ES names all 38), the error keeps them all.
    assert problem.message == ("Unknown column [process.nmae], did you mean any of [process.name, process.start, "
                               "process.title, process.args, process.end, ...]?")
    # Equal scores keep the order of the mapping tree: parents before children, by path component.
    # ("a" sorts before "a-b" at the first level, although "a-b" < "a.b" as whole strings).
    schema = schemas.Schema({"z.b": "long", "a-b": "long", "a.b": "long", "a": "object", "ab": "object"})
    assert schema.suggestions("a+b") == ("a.b", "a-b")  # objects are never suggested
    assert schema.suggestions("x.b") == ("a.b", "z.b")


def test_a_very_long_unknown_name_is_not_scored(monkeypatch: pytest.MonkeyPatch) -> None:
    # No name can be half similar to one more than twice as long, and scoring a hostile name of
    # megabytes against thousands of fields would take minutes: nothing is scored.
    monkeypatch.setattr("eqlmini.schemas.schema._edit_distances", lambda *args: pytest.fail("scored"))
    problem = error(f"any where {'a' * 200_000} == 1", schemas.ecs().extend({}))
    assert problem.suggestions == () and problem.message == f"Unknown column [{'a' * 200_000}]"


def test_optional_unknown_field_is_allowed() -> None:
    query = eqlmini.compile("foo where ?xxx == null and pid == 1", schema=MAPPING)
    assert query({"event": {"category": "foo"}, "pid": 1})
    eqlmini.compile("file where concat(?foo, \"test\", ?bar) == \"onetest!\"", schema=MAPPING)  # testQueryOk


def test_missing_event_category_field() -> None:  # testMissingEventCategory
    schema = schemas.Schema({"pid": "long"})
    problem = error("foo where true", schema)
    assert (problem.message, problem.line, problem.column) == ("Unknown column [event.category]", 1, 1)
    eqlmini.compile("any where true", schema=schema)  # `any` reads no category
    eqlmini.compile("foo where pid == 1", schema=schema.extend({"event.type": "keyword"}),
                    event_category_field="event.type")


# ------------------------------------------------------------------ what a field may be
@pytest.mark.parametrize(("text", "message"), [
    ("foo where processes == 0",  # testNested
     "Cannot use field [processes] type [nested] due to nested fields not being supported yet"),
    ("foo where processes.pid == 0",
     "Cannot use field [processes.pid] type [long] with unsupported nested type in hierarchy (field [processes])"),
    ("foo where location == 0", "Cannot use field [location] with unsupported type [geo_point]"),  # testGeo
    ("foo where range == \"\"", "Cannot use field [range] with unsupported type [integer_range]"),  # testRange
    ("foo where endgame == 0", "Cannot use field [endgame] type [object] only its subfields"),  # AnalysisUtils
    # testMultiField: a text field is exact only through one keyword multi-field (TextEsField).
    ("foo where multi_field.english == \"bar\"",
     "[multi_field.english == \"bar\"] cannot operate on first argument field of data type [text]: "
     "No keyword/multi-field defined exact matches for [english]; define one or use MATCH/QUERY instead"),
    ("process where string(multi_field.english) == \"foo\"",  # testStringFunctionWithText
     "[string(multi_field.english)] cannot operate on field of data type [text]: No keyword/multi-field defined "
     "exact matches for [english]; define one or use MATCH/QUERY instead"),
])
def test_fields_elasticsearch_cannot_use(text: str, message: str) -> None:
    assert error(text).message == message


def test_exact_fields_are_accepted() -> None:
    for text in ("foo where multi_field.raw == \"bar\"", "foo where multi_field == \"bar\"",
                 "foo where hostname : \"x*\"", "foo where endgame.pid == 0", "any where bool"):
        eqlmini.compile(text, schema=MAPPING)


def test_text_without_exact_field_in_each_operator() -> None:
    reason = "No keyword/multi-field defined exact matches for [english]; define one or use MATCH/QUERY instead"
    assert error('foo where multi_field.english : "a"').message == (  # InsensitiveBinaryComparison
        f"[:] cannot operate on first argument field of data type [text]: {reason}")
    assert error('foo where multi_field.english like "a"').message == (  # RegexMatch: DEFAULT ordinal
        f'[multi_field.english like "a"] cannot operate on field of data type [text]: {reason}')
    assert error('foo where multi_field.english in ("a")').message == (  # In: Function.functionName()
        f"[IN] cannot operate on field of data type [text]: {reason}")
    assert error('foo where startsWith(multi_field.english, "a")').message == (
        f'[startsWith(multi_field.english, "a")] cannot operate on first argument field of data type [text]: {reason}')


def test_multiple_keyword_multi_fields_are_ambiguous() -> None:  # TextEsField.findExact
    schema = schemas.Schema({"event.category": "keyword", "t": "text", "t.a": "keyword", "t.b": "keyword"})
    assert error('foo where t == "x"', schema).message.endswith(
        "Multiple exact keyword candidates available for [t]; specify which one to use")


def test_open_objects_and_multi_fields_of_ecs() -> None:
    ecs = schemas.ecs()
    eqlmini.compile('any where labels.env == "prod" and container.labels.app == "x"', schema=ecs)
    assert error('any where process.command_line.text : "*x*"', ecs).message.startswith(
        "[:] cannot operate on first argument field of data type [text]: No keyword/multi-field defined exact "
        "matches for [text]")
    assert error("any where dll.pe.sections.name == \"x\"", ecs).message == (
        "Cannot use field [dll.pe.sections.name] type [keyword] with unsupported nested type in hierarchy "
        "(field [dll.pe.sections])")
    assert error("any where process == 1", ecs).message == "Cannot use field [process] type [object] only its subfields"


# ------------------------------------------------------------------ types
@pytest.mark.parametrize(("text", "message"), [
    # testIncorrectUsageOfStringEquals (InsensitiveBinaryComparison.resolveInputType)
    ("foo where pid : 123", "first argument of [:] must be [string], found value [pid] type [long]; "
                            "consider using [==] instead"),
    ("foo where pid in~ (1)", "first argument of [:] must be [string], found value [pid] type [long]; "
                              "consider using [in] instead"),
    # CIDRMatch.resolveType: isIPAndExact(input, FIRST)
    ('foo where cidrMatch(command_line, "10.0.0.0/8")',
     'first argument of [cidrMatch(command_line, "10.0.0.0/8")] must be [ip], found value [command_line] '
     'type [keyword]'),
    # Match.resolveType (regex) and RegexMatch (like): isStringAndExact, FIRST and DEFAULT
    ('foo where pid regex "1.*"', 'first argument of [pid regex "1.*"] must be [string], found value [pid] '
                                  'type [long]'),
    ('foo where pid like "1*"', 'argument of [pid like "1*"] must be [string], found value [pid] type [long]'),
    ('foo where startsWith(pid, "1")', 'first argument of [startsWith(pid, "1")] must be [string], found value '
                                       '[pid] type [long]'),
    ("foo where length(@timestamp) > 1", "first argument of [length(@timestamp)] must be [string], found value "
                                         "[@timestamp] type [datetime]"),
    ('foo where pid in (1, "string")',  # testMixedSet
     '2nd argument of [pid in (1, "string")] must be [long], found value ["string"] type [keyword]'),
    ("foo where pid + command_line > 1", "second argument of [pid + command_line] must be [numeric], found value "
                                         "[command_line] type [keyword]"),
    ("foo where bool and command_line", "second argument of [bool and command_line] must be [boolean], found "
                                        "value [command_line] type [keyword]"),
    # testQueryCondition
    ("any where pid", "Condition expression needs to be boolean, found [LONG]"),
    ("any where @timestamp", "Condition expression needs to be boolean, found [DATETIME]"),
    ("any where command_line", "Condition expression needs to be boolean, found [KEYWORD]"),
    ("any where hostname", "Condition expression needs to be boolean, found [TEXT]"),
    ("any where constant_keyword", "Condition expression needs to be boolean, found [KEYWORD]"),
    ("any where source_address", "Condition expression needs to be boolean, found [IP]"),
])
def test_type_errors(text: str, message: str) -> None:
    assert error(text).message == message


def test_type_errors_need_the_schema() -> None:
    for text in ('foo where pid : "1"', "any where pid", 'foo where cidrMatch(command_line, "10.0.0.0/8")'):
        eqlmini.compile(text)  # without a mapping a field's type is unknown: nothing to blame
        with pytest.raises(eqlmini.EqlSemanticError):
            eqlmini.compile(text, schema=MAPPING)


def test_mixed_type_comparisons_are_accepted() -> None:
    # ES accepts them (testQueryOk "Mismatched type, still ok", testBoolean, testIP, testDate): BinaryComparison
    # only asks for exact operands. A keyword field compared with a number is no error in Elasticsearch.
    for text in ('process where pid == "abcdef"', "process where command_line == 1", 'foo where bool == "bar"',
                 "foo where source_address == 0", 'foo where @timestamp == "2020-02-41"', "foo where pid < 4.5"):
        eqlmini.compile(text, schema=MAPPING)


@pytest.mark.parametrize(("text", "message", "column"), [
    ("sequence [process where true] by pid [process where true] by md5",  # testKeysWithDifferentTypes
     "Sequence key [md5] type [keyword] is incompatible with key [pid] type [long]", 62),
    ("sequence [process where true] by @timestamp [process where true] by opcode",  # ...SimilarYetDifferentTypes
     "Sequence key [opcode] type [long] is incompatible with key [@timestamp] type [date]", 69),
    ("sequence [process where true] by pid [process where true] by pid until [process where true] by md5",
     "Sequence key [md5] type [keyword] is incompatible with key [pid] type [long]", 96),
])
def test_join_keys_of_incompatible_types(text: str, message: str, column: int) -> None:
    problem = error(text)
    assert (problem.message, problem.column) == (message, column)


def test_join_keys_of_compatible_types() -> None:  # testKeysWithDifferentButCompatibleTypes
    eqlmini.compile("sequence [process where true] by hostname [process where true] by user_domain", schema=MAPPING)
    eqlmini.compile("sequence [process where true] by pid [process where true] by opcode", schema=MAPPING)
    eqlmini.compile("sequence [process where true] by pid [process where true] by ?nope", schema=MAPPING)


def test_schema_types_stand_in_for_field_types() -> None:
    event = {"event": {"category": "foo"}, "package": {"version": "1.11.3"}, "@timestamp": "2021-06-01T00:00:00Z"}
    text = 'foo where package.version > "1.5.0"'
    assert not eqlmini.compile(text)(event)  # as strings, "1.11.3" < "1.5.0"
    query = eqlmini.compile(text, schema=MAPPING)
    assert query(event) and query.options.field_types == {"package.version": "version"}
    # field_types wins over the schema, and the schema's types are kept to the fields the query reads
    query = eqlmini.compile(text, schema=MAPPING, field_types={"package.version": "date", "other": "version"})
    assert query.options.field_types == {"package.version": "date", "other": "version"}


def test_ecs_dates_compare_as_instants() -> None:
    event = {"event": {"category": "process", "created": "2021-06-01T00:00:00.000Z"}}
    text = 'process where event.created > "2021-05-31T23:00:00-02:00"'  # 2021-06-01T01:00Z: later than created
    assert eqlmini.compile(text)(event)  # compared as strings
    assert not eqlmini.compile(text, schema="ecs")(event)


# ------------------------------------------------------------------ check()
def test_check_lists_every_field_problem_then_the_first_other_error() -> None:
    text = 'process where proces.name : "a" and\n  process.pid : "1" and foo(procss.pid)'
    found = schemas.check(text, "ecs")
    assert [(type(p).__name__, p.line, p.column) for p in found] == [
        ("UnknownFieldError", 1, 15), ("UnknownFieldError", 2, 29), ("EqlSemanticError", 2, 3)]
    assert found[0].field == "proces.name" and found[0].suggestions[0] == "process.name"
    assert found[2].message.startswith("first argument of [:] must be [string], found value [process.pid]")
    assert "\n  process.pid" in str(found[2]) and str(found[2]).endswith("^")
    assert schemas.check(parse(text), "ecs")[0].message == found[0].message  # a parsed tree works too
    assert schemas.check('process where process.name : "a"', "ecs") == []
    [syntax] = schemas.check("process where (", "ecs")
    assert isinstance(syntax, eqlmini.EqlSyntaxError)
    with pytest.raises(TypeError):
        schemas.check(42, "ecs")


def test_parse_takes_a_schema() -> None:
    with pytest.raises(schemas.UnknownFieldError):
        eqlmini.parse("foo where xxx == 1", schema=MAPPING)
    assert eqlmini.parse("foo where pid == 1", schema=MAPPING) == eqlmini.parse("foo where pid == 1")


# ------------------------------------------------------------------ schema objects and sources
def test_schema_is_immutable_hashable_and_merges() -> None:
    base = schemas.Schema({"a": "keyword"})
    extended = base.extend({"b": "long", "a": "ip"})
    assert dict(base) == {"a": "keyword"} and dict(extended) == {"a": "ip", "b": "long"}
    assert hash(schemas.Schema({"a": "keyword"})) == hash(base) and schemas.Schema({"a": "keyword"}) == base
    assert len({base, schemas.Schema({"a": "keyword"}), extended}) == 2
    merged = schemas.merge(base, {"c": "date"}, extended)
    assert dict(merged) == {"a": "ip", "b": "long", "c": "date"}
    with pytest.raises(TypeError):
        base["a"] = "long"  # type: ignore[index]
    with pytest.raises(ValueError):
        schemas.Schema({"a": 1})  # type: ignore[dict-item]
    assert schemas.ecs() is schemas.ecs()  # read once


def test_ecs_table_is_bundled_with_its_licence_and_version() -> None:
    folder = Path(schemas.__file__).parent
    header = (folder / "ecs_fields.tsv").read_text(encoding="utf-8").splitlines()[0]
    assert "ECS" in header and "9.5.0-dev" in header and "b85f7573" in header
    assert "Apache License" in (folder / "ECS-LICENSE.txt").read_text(encoding="utf-8")
    ecs = schemas.ecs()
    assert (ecs["@timestamp"], ecs["process.pid"], ecs["process.name.text"], ecs["labels.*"]) == (
        "date", "long", "match_only_text", "keyword")
    assert len(ecs) == 2734


def test_ecs_table_matches_its_source() -> None:
    """The committed table is what tools/build_ecs_table.py derives from ../shared/schemas/ecs."""
    yaml = pytest.importorskip("yaml", reason="PyYAML reads ecs_flat.yml (release-time tool only)")
    source = require(SHARED / "schemas" / "ecs" / "ecs_flat.yml.gz")
    import importlib.util
    spec = importlib.util.spec_from_file_location("build_ecs_table", PROJECT / "tools" / "build_ecs_table.py")
    build = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(build)  # type: ignore[union-attr]
    with gzip.open(source, "rt", encoding="utf-8") as stream:
        rendered = build.render(build.table(yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))))
    assert rendered == (Path(schemas.__file__).parent / "ecs_fields.tsv").read_text(encoding="utf-8")


INDEX_TEMPLATE = {"index_templates": [{"name": "t", "index_template": {"index_patterns": ["x-*"], "template": {
    "mappings": {
        "properties": {
            "process": {"properties": {"name": {"type": "keyword", "fields": {"text": {"type": "match_only_text"}}},
                                       "pid": {"type": "long"}}},
            "pid_alias": {"type": "alias", "path": "process.pid"},
            "tags": {"type": "nested", "properties": {"v": {"type": "keyword"}}},
            "meta": {}},
        "runtime": {"day": {"type": "keyword"}}}}}}]}


@pytest.mark.parametrize("wrap", [
    lambda m: m,                                                                 # GET _index_template
    lambda m: m["index_templates"][0]["index_template"],                         # an index template body
    lambda m: m["index_templates"][0]["index_template"]["template"],             # a component template
    lambda m: {"idx": m["index_templates"][0]["index_template"]["template"]},    # GET <index>/_mapping
    lambda m: json.dumps(m["index_templates"][0]["index_template"]["template"]["mappings"]),  # JSON text
])
def test_from_mapping_reads_what_elasticsearch_returns(wrap) -> None:  # noqa: ANN001
    schema = schemas.from_mapping(wrap(INDEX_TEMPLATE))
    assert dict(schema) == {"process": "object", "process.name": "keyword", "process.name.text": "match_only_text",
                            "process.pid": "long", "pid_alias": "long", "tags": "nested", "tags.v": "keyword",
                            "meta": "object", "day": "keyword"}


def test_from_mapping_rejects_what_is_not_a_mapping() -> None:
    for data in ({"a": 1}, "[1, 2]", 42):
        with pytest.raises(ValueError):
            schemas.from_mapping(data)  # type: ignore[arg-type]


def test_from_fields_and_load(tmp_path: Path) -> None:
    nested = {"winlog": {"event_data": {"TargetUserName": "keyword"}, "record_id": "long"}}
    assert dict(schemas.from_fields(nested)) == {"winlog.event_data.TargetUserName": "keyword",
                                                 "winlog.record_id": "long"}
    (tmp_path / "fields.json").write_text(json.dumps(nested), encoding="utf-8")
    (tmp_path / "mapping.json").write_text(json.dumps(INDEX_TEMPLATE), encoding="utf-8")
    assert schemas.load(tmp_path / "fields.json")["winlog.record_id"] == "long"
    assert schemas.load(str(tmp_path / "mapping.json"))["pid_alias"] == "long"
    assert schemas.load("ECS") is schemas.ecs()
    with pytest.raises(ValueError, match="unknown schema"):
        schemas.load(tmp_path / "missing.json")
    extended = schemas.merge(schemas.ecs(), schemas.load(tmp_path / "fields.json"))
    eqlmini.compile('any where winlog.event_data.TargetUserName == "x" and process.pid == 1', schema=extended)


@settings(max_examples=200, deadline=None)
@given(st.text("ab.c", max_size=12), st.lists(st.text("abcd.", max_size=14), max_size=8))
def test_edit_distance_is_levenshtein(pattern: str, names: list[str]) -> None:
    names.sort()
    shared = [0] + [len(_common_prefix(a, b)) for a, b in zip(names, names[1:])]
    assert list(_edit_distances(pattern, tuple(names), tuple(shared))) == [_levenshtein(pattern, n) for n in names]


def test_edit_distance_of_long_names() -> None:  # wider than a machine word
    rng = random.Random(7)
    pattern = "".join(rng.choice("abc.") for _ in range(90))
    names = sorted("".join(rng.choice("abcd.") for _ in range(rng.randint(60, 120))) for _ in range(5))
    shared = [0] + [len(_common_prefix(a, b)) for a, b in zip(names, names[1:])]
    assert list(_edit_distances(pattern, tuple(names), tuple(shared))) == [_levenshtein(pattern, n) for n in names]


def _common_prefix(a: str, b: str) -> str:
    size = 0
    while size < min(len(a), len(b)) and a[size] == b[size]:
        size += 1
    return a[:size]


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


# ------------------------------------------------------------------ detection rules and the corpus
DATA = SHARED / "corpus" / "detection-rules-data"


def test_typo_in_a_copy_of_the_bundled_rule_is_caught(tmp_path: Path) -> None:
    source = PROJECT / "rules" / "xp_cmdshell.eql"
    copy = tmp_path / "xp_cmdshell.eql"
    copy.write_text(source.read_text(encoding="utf-8").replace("process.parent.name", "process.parnet.name"),
                    encoding="utf-8")
    assert schemas.check(eqlmini.load_rule(source).text, "ecs") == []
    rule = eqlmini.load_rule(copy)
    [problem] = schemas.check(rule.text, "ecs")
    assert problem.field == "process.parnet.name" and problem.suggestions[0] == "process.parent.name"
    assert problem.message.startswith("Unknown column [process.parnet.name], did you mean any of "
                                      "[process.parent.name, ")
    assert rule.text.splitlines()[problem.line - 1][problem.column - 1:].startswith("process.parnet.name")


def test_detection_rule_schema_adds_index_fields() -> None:
    require(DATA)
    query = 'process where winlog.event_data.CallTrace : "*x*" and process.name == "a"'
    assert [p.field for p in schemas.check(query, "ecs")] == ["winlog.event_data.CallTrace"]
    rule = {"index": ["winlogbeat-*"], "query": query}
    assert schemas.check(query, schemas.for_detection_rule(rule, DATA)) == []
    assert schemas.check(query, schemas.for_detection_rule({"index": ["logs-endpoint.events.*"], "query": query},
                                                           DATA))  # not for another index
    # beats modules the query names: filebeat's okta module and its dataset
    okta = 'any where event.dataset == "okta.system" and okta.actor.id == "x"'
    assert schemas.check(okta, schemas.for_detection_rule({"index": ["filebeat-*"], "query": okta}, DATA)) == []
    # Elastic Defend's process.Ext.* for logs-endpoint.*, Endgame's fields for endgame-*
    defend = 'process where process.Ext.token.integrity_level_name == "x"'
    assert schemas.check(defend, schemas.for_detection_rule({"index": ["logs-endpoint.events.process-*"],
                                                             "query": defend}, DATA)) == []
    required = {"index": [], "query": "any where custom.x == 1", "required_fields": [{"name": "custom.x",
                                                                                       "type": "long"}]}
    assert schemas.check(required["query"], schemas.for_detection_rule(required, DATA)) == []


@pytest.fixture(scope="module")
def corpus_problems() -> dict[str, list[tuple[dict, list]]]:
    """Every active corpus rule checked against ECS alone and against its detection-rules schema."""
    require(CORPUS)
    require(DATA)
    rules = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    active = [rule for rule in rules if not rule["deprecated"]]
    found: dict[str, list[tuple[dict, list]]] = {"ecs": [], "rule": []}
    for rule in active:
        tree = parse(rule["query"], positions=False)  # counts only: no positions needed
        category = rule["event_category_override"] or "event.category"
        found["ecs"].append((rule, schemas.check(tree, "ecs", event_category_field=category)))
        schema = schemas.for_detection_rule(rule, DATA)
        found["rule"].append((rule, schemas.check(tree, schema, event_category_field=category)))
    return found


def _unknown(results: list[tuple[dict, list]]) -> dict[str, set[str]]:
    return {rule["rule_id"]: {p.field for p in problems} for rule, problems in results if problems}


def test_corpus_against_ecs(corpus_problems) -> None:  # noqa: ANN001
    results = corpus_problems["ecs"]
    assert len(results) == 1024
    # Only unknown fields: no production rule breaks a type rule (`:` on numbers, cidrMatch on keywords, ...).
    assert all(isinstance(p, schemas.UnknownFieldError) for _, problems in results for p in problems)
    unknown = _unknown(results)
    assert len(unknown) == 197  # recorded in docs/schemas.md
    by_top = {}
    for fields in unknown.values():
        for top in {field.split(".")[0] for field in fields}:
            by_top[top] = by_top.get(top, 0) + 1
    assert (by_top["winlog"], by_top["file"], by_top["aws"], by_top["process"]) == (42, 36, 27, 20)
    assert len({field for fields in unknown.values() for field in fields}) == 170


def test_corpus_against_detection_rules_schemas(corpus_problems) -> None:  # noqa: ANN001
    results = corpus_problems["rule"]
    assert all(isinstance(p, schemas.UnknownFieldError) for _, problems in results for p in problems)
    unknown = _unknown(results)
    assert len(unknown) == 91  # the rest need Fleet integration schemas (aws, okta, ...) missing from the data
    assert not any(field.startswith("winlog.") for fields in unknown.values() for field in fields)
    assert set(unknown) <= set(_unknown(corpus_problems["ecs"]))


def test_docs_examples_run() -> None:
    failures, tried = doctest.testfile(str(PROJECT / "docs" / "schemas.md"), module_relative=False,
                                       optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0
