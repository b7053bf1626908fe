"""Rule packs as people keep them (issue 10, section 2) and hostile rule files (issue 8, items
10 and 11): load what loads and count the rest, header keys checked, files read within
bounds, links not followed out of a folder, no file text shown that is not a rule's."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT

from eqlmini import EqlError, limits
from eqlmini.cli import main
from eqlmini.rule_files import Skipped, load_rule, load_rules, rule_files
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


def run(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    status = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


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


def test_languages_are_counted_by_name(tmp_path: Path) -> None:
    skipped = Skipped()
    for name, language in (("a.toml", "kuery"), ("b.toml", "kuery"), ("c.toml", "esql")):
        write(tmp_path, name, KQL.replace('"kuery"', f'"{language}"'))
    assert load_rules(tmp_path, on_error=skipped) == []
    assert all(isinstance(error, NotEqlError) for _, error in skipped.errors)
    assert skipped.summary(0) == "0 rules loaded, 3 skipped: 3 not EQL (2 kuery, 1 esql)"


def test_scan_reports_the_count_and_goes_on(capsys: pytest.CaptureFixture[str], pack: Path) -> None:
    status, out, err = run(capsys, "scan", "--rules", pack, "--format", "json", EXAMPLE)
    assert status == 1 and len(out.splitlines()) == 4
    assert "eqlmini: 2 rules loaded, 2 skipped: 1 not EQL (kuery), 1 invalid\n" in err
    assert f"eqlmini: syntax error: {pack / 'broken.eql'}: unexpected end of query" in err
    assert "eqlmini: warning: " in err and "unknown key 'serverity' (did you mean 'severity'?)" in err


def test_strict_makes_a_skipped_rule_an_error(capsys: pytest.CaptureFixture[str], pack: Path) -> None:
    status, out, err = run(capsys, "scan", "--strict", "--rules", pack, "--format", "json", EXAMPLE)
    assert status == 3 and out == ""
    assert "2 skipped: 1 not EQL (kuery), 1 invalid; --strict: stopped" in err
    assert run(capsys, "rules", "--strict", "--rules", pack)[0] == 3
    assert run(capsys, "rules", "--rules", pack, "--format", "json")[0] == 0


def test_check_an_unknown_key_is_an_error_with_a_suggestion(capsys: pytest.CaptureFixture[str], pack: Path) -> None:
    status, out, err = run(capsys, "check", "--format", "json", pack)
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
    assert run(capsys, "check", tmp_path)[0] == 0
    status, _, err = run(capsys, "check", "--strict", tmp_path)
    assert status == 3 and "rule error:" in err and "eqlmini runs EQL rules only" in err


def test_check_a_duplicated_rule_id_is_an_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path, "a.eql", BUNDLED.read_text(encoding="utf-8"))
    write(tmp_path, "b.eql", BUNDLED.read_text(encoding="utf-8"))
    status, _, err = run(capsys, "check", tmp_path)
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
    status, _, err = run(capsys, "check", tmp_path)
    assert status == 3 and "nested too deeply" in err
    assert err.endswith("checked 2 files: 1 valid rule, 1 error\n")


def test_a_device_is_not_a_rule_file(capsys: pytest.CaptureFixture[str]) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    status, _, err = run(capsys, "check", "/dev/zero", BUNDLED)
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
    status, out, err = run(capsys, "check", "--follow-links", "--format", "json", folder)
    assert status == 3 and "SECRET" not in out + err
    assert "not an EQL rule file" in err


def test_a_rule_with_a_syntax_error_still_shows_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "r.eql", "process where process.name ==\n")
    with pytest.raises(Exception) as caught:
        load_rule(path)
    assert "process where process.name ==" in str(caught.value)
