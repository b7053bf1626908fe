"""Rule packs as people keep them (issue 10, section 2) and hostile rule files (issue 8, items
10 and 11): load what loads and count the rest, header keys checked, files read within
bounds, links not followed out of a folder, no file text shown that is not a rule's."""

from __future__ import annotations

import inspect
import json
import os
import re
import tomllib
import warnings
from pathlib import Path

import pytest
from conftest import CORPUS, PROJECT, require, run_cli

import eqlmini
from eqlmini import EqlError, limits
from eqlmini.rule_files import Skipped, load_rule, load_rules, rule_files
from eqlmini.rule_toml import dumps
from eqlmini.rules import NotEqlError, RuleError, RuleWarning

BUNDLED = PROJECT / "rules" / "xp_cmdshell.eql"
EXAMPLE = PROJECT / "examples" / "xp_cmdshell_events.ndjson"
KQL = '[metadata]\nmaturity = "production"\n\n[rule]\nname = "A KQL rule"\ntype = "query"\nlanguage = "kuery"\n' \
      'query = "process.name : cmd.exe"\n'
BROKEN = '/*\nname = "Broken"\n*/\nprocess where process.name ==\n'
TYPO = '/*\nname = "Typo"\nserverity = "high"\n*/\nprocess where process.name : "whoami.exe"\n'


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path



@pytest.fixture
def pack(tmp_path: Path) -> Path:
    """The bundled rule, a KQL rule, a broken rule and one with a typo in a header key."""
    folder = tmp_path / "pack"
    write(folder, "xp_cmdshell.eql", BUNDLED.read_text(encoding="utf-8"))
    write(folder, "kql.toml", KQL)
    write(folder, "broken.eql", BROKEN)
    write(folder, "typo.eql", TYPO)
    return folder


# ----------------------------------------------------------------------------- load what loads
def test_load_rules_loads_what_loads_and_hands_over_the_rest(pack: Path) -> None:
    skipped = Skipped()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rules = load_rules(pack, on_error=skipped)
    assert sorted(rule.name for rule in rules) == ["Execution via MSSQL xp_cmdshell Stored Procedure", "Typo"]
    assert sorted(path.name for path, _ in skipped.errors) == ["broken.eql", "kql.toml"]
    assert skipped.summary(len(rules)) == "2 rules loaded, 2 skipped: 1 not EQL (kuery), 1 invalid"
    (warning,) = [w for w in caught if issubclass(w.category, RuleWarning)]
    assert str(warning.message).endswith("typo.eql: unknown key 'serverity' (did you mean 'severity'?) (line 3)")
    with pytest.raises(EqlError, match="broken.eql: unexpected end of query"):  # without on_error, as before
        load_rules(pack)


def test_a_header_warning_points_at_the_line_that_loaded_the_rule(pack: Path) -> None:
    for load in (load_rules, load_rule):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
            load(pack / "typo.eql")
        (warning,) = [w for w in caught if issubclass(w.category, RuleWarning)]
        assert (warning.filename, warning.lineno) == (__file__, line), load.__name__


def test_languages_are_counted_by_name(tmp_path: Path) -> None:
    skipped = Skipped()
    for name, language in (("a.toml", "kuery"), ("b.toml", "kuery"), ("c.toml", "esql")):
        write(tmp_path, name, KQL.replace('"kuery"', f'"{language}"'))
    assert load_rules(tmp_path, on_error=skipped) == []
    assert all(isinstance(error, NotEqlError) for _, error in skipped.errors)
    assert skipped.summary(0) == "0 rules loaded, 3 skipped: 3 not EQL (2 kuery, 1 esql)"


def test_scan_reports_the_count_and_goes_on(capsys: pytest.CaptureFixture[str], pack: Path) -> None:
    status, out, err = run_cli(capsys, "scan", "--rules", pack, "--format", "json", EXAMPLE)
    assert status == 1 and len(out.splitlines()) == 4
    assert "eqlmini: 2 rules loaded, 2 skipped: 1 not EQL (kuery), 1 invalid\n" in err
    assert f"eqlmini: syntax error: {pack / 'broken.eql'}: unexpected end of query" in err
    assert "eqlmini: warning: " in err and "unknown key 'serverity' (did you mean 'severity'?)" in err


def test_strict_makes_a_skipped_rule_an_error(capsys: pytest.CaptureFixture[str], pack: Path) -> None:
    status, out, err = run_cli(capsys, "scan", "--strict", "--rules", pack, "--format", "json", EXAMPLE)
    assert status == 3 and out == ""
    assert "2 skipped: 1 not EQL (kuery), 1 invalid; --strict: stopped" in err
    assert run_cli(capsys, "rules", "--strict", "--rules", pack)[0] == 3
    assert run_cli(capsys, "rules", "--rules", pack, "--format", "json")[0] == 0


def test_check_an_unknown_key_is_an_error_with_a_suggestion(capsys: pytest.CaptureFixture[str], pack: Path) -> None:
    status, out, err = run_cli(capsys, "check", "--format", "json", pack)
    assert status == 3
    by_file = {Path(record["path"]).name: record for record in map(json.loads, out.splitlines())}
    assert by_file["typo.eql"]["ok"] is False and by_file["typo.eql"]["line"] == 3
    assert by_file["typo.eql"]["error"].endswith("unknown key 'serverity' (did you mean 'severity'?)")
    assert by_file["kql.toml"] == {"path": str(pack / "kql.toml"), "ok": False, "skipped": "not EQL (kuery)"}
    assert by_file["xp_cmdshell.eql"]["ok"] is True
    assert err.endswith("checked 4 files: 1 valid rule, 2 errors, 1 skipped (not EQL)\n")


def test_check_skips_other_languages_unless_strict(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path, "xp.eql", BUNDLED.read_text(encoding="utf-8"))
    write(tmp_path, "kql.toml", KQL)
    assert run_cli(capsys, "check", tmp_path)[0] == 0
    status, _, err = run_cli(capsys, "check", "--strict", tmp_path)
    assert status == 3 and "rule error:" in err and "eqlmini runs EQL rules only" in err


def test_check_a_duplicated_rule_id_is_an_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path, "a.eql", BUNDLED.read_text(encoding="utf-8"))
    write(tmp_path, "b.eql", BUNDLED.read_text(encoding="utf-8"))
    status, _, err = run_cli(capsys, "check", tmp_path)
    assert status == 3
    assert f"{tmp_path / 'b.eql'}: rule_id 4ed493fc-d637-4a36-80ff-ac84937e5461 is also the rule_id of " \
           f"{tmp_path / 'a.eql'}" in err


def test_load_rule_strict_places_an_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, "typo.toml", '[rule]\nname = "r"\nseverty = "low"\nquery = "any where true"\n')
    with pytest.raises(RuleError) as caught:
        load_rule(path, strict=True)
    assert (caught.value.line, caught.value.column) == (3, 1)
    assert caught.value.message.endswith("unknown key 'severty' (did you mean 'severity'?)")
    with pytest.warns(RuleWarning, match="unknown key 'severty'"):
        assert load_rule(path).extra == {"severty": "low"}


def test_known_keys_of_detection_rules_raise_no_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "r.toml", '[rule]\nname = "r"\nquery = "any where true"\nsetup = "x"\n'
                 'false_positives = ["y"]\nbuilding_block_type = "default"\nrelated_integrations = []\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_rule(path)


# ----------------------------------------------------------------------------- hostile rule files (item 10)
def test_deeply_nested_toml_is_an_error_and_check_goes_on(capsys: pytest.CaptureFixture[str],
                                                           tmp_path: Path) -> None:
    write(tmp_path, "deep.toml", "[rule]\nname = 'r'\nquery = 'any where true'\nx = " + "[" * 5000 + "]" * 5000 + "\n")
    write(tmp_path, "good.eql", BUNDLED.read_text(encoding="utf-8"))
    status, _, err = run_cli(capsys, "check", tmp_path)
    assert status == 3 and "nested too deeply" in err
    assert err.endswith("checked 2 files: 1 valid rule, 1 error\n")


def test_a_device_is_not_a_rule_file(capsys: pytest.CaptureFixture[str]) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    status, _, err = run_cli(capsys, "check", "/dev/zero", BUNDLED)
    assert status == 3 and "eqlmini: rule error: /dev/zero: not a regular file" in err
    assert err.endswith("checked 2 files: 1 valid rule, 1 error\n")


def test_a_rule_file_over_the_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert limits.MAX_RULE_FILE_BYTES == 1 << 20
    monkeypatch.setattr(limits, "MAX_RULE_FILE_BYTES", 100)
    path = write(tmp_path, "long.eql", "process where process.name : " + '"x", ' * 40 + '"y"\n')
    with pytest.raises(RuleError, match="longer than 100 bytes, the limit eqlmini.limits.MAX_RULE_FILE_BYTES"):
        load_rule(path)


# ----------------------------------------------------------------------------- links and file text (item 11)
@pytest.fixture
def linked(tmp_path: Path) -> tuple[Path, Path]:
    """A rules folder whose x.eql links to a secret file outside it, and whose other.eql
    links to a rule outside it."""
    secret = write(tmp_path, "secret.txt", "root:$6$SECRETHASH:19000:0:99999:7:::\n")
    outside = write(tmp_path, "elsewhere/rule.eql", BUNDLED.read_text(encoding="utf-8"))
    folder = tmp_path / "rules"
    write(folder, "own.eql", TYPO.replace("serverity", "severity"))
    (folder / "x.eql").symlink_to(secret)
    (folder / "other.eql").symlink_to(outside)
    (folder / "sub").symlink_to(outside.parent, target_is_directory=True)
    return folder, secret


def test_links_out_of_a_folder_are_reported_not_followed(linked: tuple[Path, Path]) -> None:
    folder, _ = linked
    skipped = Skipped()
    assert [rule.name for rule in load_rules(folder, on_error=skipped)] == ["Typo"]
    assert sorted(path.name for path, _ in skipped.errors) == ["other.eql", "sub", "x.eql"]
    assert all("a link out of the rules folder, not followed" in error.message for _, error in skipped.errors)
    with pytest.raises(RuleError, match="not followed"):
        rule_files(folder)


def test_links_are_followed_when_asked_and_file_text_never_shown(linked: tuple[Path, Path]) -> None:
    folder, secret = linked
    skipped = Skipped()
    rules = load_rules(folder, on_error=skipped, follow_links=True)
    assert sorted(rule.name for rule in rules) == ["Execution via MSSQL xp_cmdshell Stored Procedure"] * 2 + ["Typo"]
    ((path, error),) = skipped.errors
    assert path.name == "x.eql" and "not an EQL rule file" in str(error)
    assert "SECRET" not in str(error) and error.text is None
    with pytest.raises(RuleError) as caught:  # named on its own
        load_rule(secret)
    assert "SECRET" not in str(caught.value)


def test_check_never_echoes_a_file_that_is_not_a_rule(capsys: pytest.CaptureFixture[str],
                                                       linked: tuple[Path, Path]) -> None:
    folder, _ = linked
    status, out, err = run_cli(capsys, "check", "--follow-links", "--format", "json", folder)
    assert status == 3 and "SECRET" not in out + err
    assert "not an EQL rule file" in err


def test_a_rule_with_a_syntax_error_still_shows_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "r.eql", "process where process.name ==\n")
    with pytest.raises(Exception) as caught:
        load_rule(path)
    assert "process where process.name ==" in str(caught.value)


# ----------------------------------------------------------------------------- convert
def test_convert_one_file_both_ways(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, toml, err = run_cli(capsys, "convert", BUNDLED)  # .eql -> .toml, on standard output
    assert status == 0 and toml.startswith("[rule]\n") and err == "eqlmini: converted 1 rule file\n"
    toml_file = write(tmp_path, "x.toml", toml)
    assert load_rule(toml_file) == load_rule(BUNDLED)
    status, _, _ = run_cli(capsys, "convert", toml_file, "-o", tmp_path / "back.eql")  # -o names the file
    assert status == 0 and load_rule(tmp_path / "back.eql") == load_rule(BUNDLED)
    status, _, err = run_cli(capsys, "convert", toml_file, "-o", tmp_path / "back.eql")
    assert status == 3 and "back.eql exists (--force overwrites it)" in err
    assert run_cli(capsys, "convert", "--force", "--to", "eql", BUNDLED, "-o", tmp_path / "back.eql")[0] == 0


def test_convert_a_pack_into_a_folder(capsys: pytest.CaptureFixture[str], pack: Path, tmp_path: Path) -> None:
    write(pack, "windows/deeper.toml", load_rule(BUNDLED).to_toml().replace("MSSQL", "Deeper MSSQL"))
    status, out, err = run_cli(capsys, "convert", pack, "-o", tmp_path / "out")
    assert status == 3 and out == ""  # broken.eql is invalid: reported, the others converted
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*")) == [
        "typo.toml", "windows", "windows/deeper.eql", "xp_cmdshell.toml"]
    assert f"eqlmini: syntax error: {pack / 'broken.eql'}: unexpected end of query" in err
    assert err.endswith("eqlmini: converted 3 rule files, 2 skipped: 1 not EQL (kuery), 1 invalid\n")
    with pytest.warns(RuleWarning, match="unknown key 'serverity'"):  # the typo'd key is kept, and warned about
        assert load_rule(tmp_path / "out" / "typo.toml").extra == {"serverity": "high"}
    assert run_cli(capsys, "convert", pack)[0] == 2  # a folder needs -o


def test_convert_round_trips_the_corpus(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Each of the 1024 corpus rules as a detection-rules file, to .eql and back: the same TOML document."""
    require(CORPUS)
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmark_ruleset", PROJECT / "benchmarks" / "ruleset.py")
    bench = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(bench)  # type: ignore[union-attr]
    tables = bench.corpus_tables(CORPUS)
    for i, (table, metadata) in enumerate(tables):
        write(tmp_path / "toml", f"{i // 100}/{i:04}.toml", dumps({"metadata": metadata, "rule": table}))
    assert run_cli(capsys, "convert", tmp_path / "toml", "-o", tmp_path / "eql")[0] == 0
    assert run_cli(capsys, "convert", tmp_path / "eql", "-o", tmp_path / "back")[0] == 0
    originals = sorted((tmp_path / "toml").rglob("*.toml"))
    assert len(originals) == 1024
    for original in originals:
        relative = original.relative_to(tmp_path / "toml")
        assert tomllib.loads((tmp_path / "back" / relative).read_text(encoding="utf-8")) == \
               tomllib.loads(original.read_text(encoding="utf-8")), relative
        assert (tmp_path / "eql" / relative).with_suffix(".eql").is_file()


# ----------------------------------------------------------------------------- show
def test_show_a_rule(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "show", "4ed493fc")  # the start of a rule_id, in the bundled rules
    assert status == 0
    assert out.startswith("Execution via MSSQL xp_cmdshell Stored Procedure\n"
                          "rule_id     4ed493fc-d637-4a36-80ff-ac84937e5461\n"
                          "severity    high (risk score 73)\n"
                          "kind        event query\n")
    assert "MITRE ATT&CK\n  TA0002 Execution" in out and "https://attack.mitre.org/tactics/TA0002/" in out
    assert "\n    T1059 Command and Scripting Interpreter" in out
    query = out[out.index("\nQuery\n") + 7:out.index("\n\nInvestigation guide")]
    assert query.splitlines()[:2] == ['  process where event.type == "start" and', '    process.name : "cmd.exe" and']
    assert all(len(line) <= 102 for line in query.splitlines())
    assert eqlmini.parse(query) == load_rule(BUNDLED).query.tree  # laid out, the same query
    assert out.rstrip().endswith("Investigation guide: 38 lines (--note shows it)")
    assert run_cli(capsys, "show", "--note", "xp_cmdshell")[1].count("### Investigating") == 1  # part of a name
    assert run_cli(capsys, "show", BUNDLED)[1] == out  # a file
    status, out, _ = run_cli(capsys, "show", "--format", "json", BUNDLED)
    assert status == 0 and json.loads(out)["risk_score"] == 73 and json.loads(out)["path"] == str(BUNDLED)


def test_show_what_is_not_there(capsys: pytest.CaptureFixture[str], pack: Path) -> None:
    status, out, err = run_cli(capsys, "show", "nothing like it")
    assert status == 2 and out == "" and "no rule file or rule named 'nothing like it' (1 rule in the pack" in err
    assert run_cli(capsys, "show", pack / "broken.eql")[0] == 3


def test_every_corpus_query_laid_out_parses_back_the_same() -> None:
    require(CORPUS)
    from eqlmini import parser
    from eqlmini.cli.pretty import WIDTH, pretty

    unexplained = []  # lines longer than WIDTH that hold no long string, which nothing could cut
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        tree = parser.parse(json.loads(line)["query"], positions=False)
        text = pretty(tree)
        assert parser.parse(text, positions=False) == tree, text
        unexplained += [row for row in text.splitlines()
                        if len(row) > WIDTH and not re.search(r'"(?:[^"\\]|\\.){40,}"', row)]
    assert len(unexplained) < 10, unexplained  # 7: field names of 80 characters, nested calls
