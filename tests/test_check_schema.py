"""``eqlmini check --schema`` (issue 10, section 1): each rule's fields against a schema, as
Elasticsearch checks a query against an index mapping, with the faults placed in the rule file."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import CORPUS, PROJECT, SHARED, ndjson, require, run_cli

from eqlmini.rule_toml import dumps

BUNDLED = PROJECT / "rules" / "xp_cmdshell.eql"
DETECTION_RULES_DATA = SHARED / "corpus" / "detection-rules-data"
PREFIXES = [("winlog", 42), ("file", 36), ("aws", 27), ("process", 20)]  # file.Ext.*, process.Ext.*: Elastic Defend




def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_typo_in_a_copy_of_the_bundled_rule_is_caught_with_a_suggestion(capsys: pytest.CaptureFixture[str],
                                                                          tmp_path: Path) -> None:
    text = BUNDLED.read_text(encoding="utf-8").replace('process.parent.name : "sqlservr.exe"',
                                                       'process.parnet.name : "sqlservr.exe"')
    typo = write(tmp_path / "typo.eql", text)
    line = text[:text.index("process.parnet.name")].count("\n") + 1
    column = text.index("process.parnet.name") - text.rfind("\n", 0, text.index("process.parnet.name"))
    status, out, err = run_cli(capsys, "check", "--schema", "ecs", "--format", "json", typo, BUNDLED)
    assert status == 3
    (problem, ok) = ndjson(out)
    assert problem == {
        "path": str(typo), "ok": False, "line": line, "column": column, "field": "process.parnet.name",
        "error": f"{typo}: Unknown column [process.parnet.name], did you mean any of [process.parent.name, "
                 "process.parent.user.name, process.group.name, process.thread.name, process.user.name, ...]?",
        "suggestions": ["process.parent.name", "process.parent.user.name", "process.group.name",
                        "process.thread.name", "process.user.name"]}
    assert ok == {"path": str(BUNDLED), "ok": True, "rule": "Execution via MSSQL xp_cmdshell Stored Procedure"}
    assert f"(line {line}, column {column})\n" in err and "\n" + " " * (column - 1) + "^\n" in err
    assert err.endswith("checked 2 files: 1 valid rule, 1 error; 1 rule with fields outside the schema "
                        "(1 distinct field)\n")
    assert run_cli(capsys, "check", typo)[0] == 0  # without a schema, any field goes
    status, out, _ = run_cli(capsys, "check", "--schema", "ecs", "--format", "table", typo)
    assert out.splitlines()[1].startswith(f"error   {typo}  line {line}, column {column}: Unknown column "
                                          "[process.parnet.name], did you mean any of [process.parent.name,")


RULE = '/*\nname = "Scored"\n{header}*/\nprocess where custom.score > 5 and process.name : "x.exe"\n'


def test_schemas_from_files_merged(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rule = write(tmp_path / "rules" / "scored.eql", RULE.format(header=""))
    mapping = write(tmp_path / "mapping.json", json.dumps(
        {"mappings": {"properties": {"custom": {"properties": {"score": {"type": "long"}}}}}}))
    fields = write(tmp_path / "fields.json", json.dumps({"custom.score": "long"}))
    status, _, err = run_cli(capsys, "check", "--schema", "ecs", rule)
    assert status == 3 and "Unknown column [custom.score]" in err and "(line 4, column 15)" in err
    assert run_cli(capsys, "check", "--schema", "ecs", "--schema", mapping, rule)[0] == 0
    assert run_cli(capsys, "check", "--schema", fields, "--schema", "ecs", rule)[0] == 0
    status, _, err = run_cli(capsys, "check", "--schema", mapping, rule)  # the mapping alone lacks process.name
    assert status == 3 and "Unknown column [process.name]" in err
    status, _, err = run_cli(capsys, "check", "--schema", tmp_path / "missing.json", rule)
    assert status == 2 and err.startswith("eqlmini: --schema: unknown schema")


def test_a_rule_names_its_schema_and_fields_in_its_header(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path / "rules" / "fields.json", json.dumps({"custom": {"score": "long"}}))
    named = write(tmp_path / "rules" / "named.eql", RULE.format(header='schema = ["ecs", "fields.json"]\n'))
    write(tmp_path / "rules" / "required.eql", RULE.format(
        header='schema = "ecs"\nrequired_fields = [{name = "custom.score", type = "long", ecs = false}]\n'))
    bare = write(tmp_path / "rules" / "bare.eql", RULE.format(header='schema = "ecs"\n'))
    status, out, err = run_cli(capsys, "check", "--format", "json", tmp_path / "rules")  # no --schema: the headers'
    assert status == 3 and {Path(r["path"]).name: r["ok"] for r in ndjson(out)} == {
        "bare.eql": False, "named.eql": True, "required.eql": True}
    assert f"{bare}: Unknown column [custom.score]" in err
    wrong = write(tmp_path / "wrong" / "wrong.eql", RULE.format(header='severity = "low"\nschema = "nothere.json"\n'))
    status, out, err = run_cli(capsys, "check", "--format", "json", wrong)
    assert status == 3 and ndjson(out)[0]["line"] == 4 and "schema: unknown schema" in err
    assert run_cli(capsys, "scan", "--rules", named, "--format", "json", PROJECT / "examples")[0] == 0  # a known key


def test_detection_rules_index_patterns(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    require(DETECTION_RULES_DATA)
    table = {"name": "Computer", "type": "eql", "language": "eql", "index": ["winlogbeat-*"],
             "query": 'process where winlog.computer_name : "sql01*"\n'}
    rule = write(tmp_path / "computer.toml", dumps({"rule": table}))
    status, _, err = run_cli(capsys, "check", "--schema", "ecs", rule)
    assert status == 3 and "Unknown column [winlog.computer_name]" in err and "(line 7, column 15)" in err
    assert run_cli(capsys, "check", "--detection-rules-data", DETECTION_RULES_DATA, rule)[0] == 0
    status, _, err = run_cli(capsys, "check", "--detection-rules-data", tmp_path, rule)
    assert status == 2 and "is not a detection-rules etc folder" in err


def test_the_corpus_against_ecs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The 1024 active corpus rules: how many use fields outside ECS, and which (the counts go in the
    issue's note; docs/schemas.md has the same figures from the library)."""
    require(CORPUS)
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmark_ruleset", PROJECT / "benchmarks" / "ruleset.py")
    bench = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(bench)  # type: ignore[union-attr]
    for i, (table, metadata) in enumerate(bench.corpus_tables(CORPUS)):
        write(tmp_path / "rules" / f"{i:04}.toml", dumps({"metadata": metadata, "rule": table}))
    status, out, err = run_cli(capsys, "check", "--schema", "ecs", "--format", "json", tmp_path / "rules")
    found = ndjson(out)
    unknown = [r for r in found if not r["ok"]]
    assert status == 3 and len(found) - len(unknown) == 827 and all("field" in r for r in unknown)
    rules_outside = {r["path"] for r in unknown}
    assert len(rules_outside) == 197 and len({r["field"] for r in unknown}) == 170
    assert err.endswith("checked 1024 files: 827 valid rules, 197 errors; 197 rules with fields outside the "
                        "schema (170 distinct fields)\n")
    # rules per top-level name of their unknown fields: integration fields, Elastic Defend's *.Ext.*
    prefixes = Counter(prefix for _, prefix in {(r["path"], r["field"].split(".")[0]) for r in unknown})
    assert prefixes.most_common(4) == PREFIXES
    require(DETECTION_RULES_DATA)
    status, out, err = run_cli(capsys, "check", "--detection-rules-data", DETECTION_RULES_DATA, "--format", "json",
                           tmp_path / "rules")
    assert status == 3 and err.endswith("checked 1024 files: 933 valid rules, 91 errors; 91 rules with fields "
                                        "outside the schema (59 distinct fields)\n")
