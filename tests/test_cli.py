"""The eqlmini command line, end to end on the sample data, in-process and once as ``python -m eqlmini``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT, SHARED, ndjson, require, run_cli

import eqlmini
from eqlmini import output
from eqlmini.cli import main

EXAMPLE = PROJECT / "examples" / "xp_cmdshell_events.ndjson"
MSF = SHARED / "samples" / "EVTX-to-MITRE-Attack" / "ID4688-SQL Server payload injectection for reverse shell (MSF).evtx"
RULE = "Execution via MSSQL xp_cmdshell Stored Procedure"
# The example's cmd.exe children of sqlservr.exe that the rule must report; its other five
# (dir, \\server\share, bcp, the backup job script, mkdir K:\MSSQL\Backup\Logins) are the
# rule's documented exclusions, and the rest is unrelated noise.
ATTACKS = ["/c whoami /priv", "/c certutil -urlcache", "/c powershell -nop -w hidden -enc", "/c net user sqlbackup"]




def test_scan_example_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "scan", "--format", "json", EXAMPLE)
    alerts = ndjson(out)
    assert status == 1  # alerts found
    assert [alert["rule"] for alert in alerts] == [RULE] * 4
    assert {(a["severity"], a["risk_score"], a["rule_id"]) for a in alerts} == {
        ("high", 73, "4ed493fc-d637-4a36-80ff-ac84937e5461")}
    for alert, attack in zip(alerts, ATTACKS):
        (event,) = alert["events"]
        assert attack in event["process"]["command_line"] and alert["timestamp"] == event["@timestamp"]
        assert event["process"]["parent"]["name"] == "sqlservr.exe" and alert["threat"] == [["TA0002", "T1059"]]
    # where each came from: the line of the file (the events stay as read)
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for alert in alerts:
        (source,) = alert["sources"]
        assert source["file"] == str(EXAMPLE) and json.loads(lines[source["line"] - 1]) == alert["events"][0]
    assert [alert["sources"][0]["line"] for alert in alerts] == [11, 12, 14, 16]
    assert err.splitlines() == [
        "eqlmini: 16 events from 1 file; 4 alerts from 1 of 1 rule",
        "first alert  2024-05-14T09:02:01.117Z",
        "last alert   2024-05-14T09:02:40.240Z",
        "severity     critical 0, high 4, medium 0, low 0",
        "hosts (1)    sql01.corp.example (4)",
        "  alerts  severity  rule",
        f"       4  high      {RULE}"]


def test_scan_example_table(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "scan", "--format", "table", "--quiet", EXAMPLE)
    header, *rows = out.splitlines()
    assert status == 1 and header.split() == ["TIME", "SEVERITY", "RULE", "ATT&CK", "SOURCE", "EVENT"]
    assert len(rows) == 4 and all(f"high      {RULE}  TA0002 T1059  {EXAMPLE}:" in row for row in rows)
    # not a terminal: nothing is cut, not even the longest command line
    assert rows[0].endswith(f"{EXAMPLE}:11  sql01.corp.example: \"C:\\Windows\\system32\\cmd.exe\" /c whoami /priv")
    assert rows[3].endswith("/c net user sqlbackup Winter2024! /add && net localgroup administrators sqlbackup /add")


def test_scan_with_a_rule_folder_and_a_sequence(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "seq.eql").write_text(
        '/*\nname = "Dropped file after cmd"\nseverity = "low"\n*/\n'
        'sequence by host.name with maxspan=1m\n  [process where process.name : "cmd.exe"]\n  [file where true]\n')
    status, out, err = run_cli(capsys, "scan", "--rules", tmp_path, "--rules", PROJECT / "rules", "--format", "json", EXAMPLE)
    names = [alert["rule"] for alert in ndjson(out)]
    assert status == 1 and names.count(RULE) == 4 and names.count("Dropped file after cmd") == 1
    assert "5 alerts from 2 of 2 rules" in err


def test_unreadable_input_is_reported_and_the_scan_goes_on(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.ndjson"
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    damaged.write_text("\n".join([lines[0], "{not json", *lines[1:]]) + "\n", encoding="utf-8")
    status, out, err = run_cli(capsys, "scan", "--format", "json", damaged, tmp_path / "missing.ndjson")
    assert status == 4 and len(ndjson(out)) == 4  # input trouble wins, the alerts are still there
    assert f"eqlmini: {damaged}: line 2:" in err and "missing.ndjson: file: cannot open" in err
    assert "16 events from 2 files; 2 unreadable" in err


def test_search(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "search", 'process where process.parent.name : "sqlservr.exe" and '
                                             'process.args : "whoami"', "--format", "json", EXAMPLE)
    # The attack's `whoami /priv`, and the end of the earlier `whoami` (event.type "end").
    assert status == 1 and [e["process"]["args"][-1] for e in ndjson(out)] == ["whoami", "/priv"]
    assert err.strip() == "eqlmini: 16 events from 1 file; 2 matches"
    status, out, _ = run_cli(capsys, "search", 'sequence by host.name [process where true] [file where true]',
                         "--format", "json", "-q", EXAMPLE)
    (match,) = ndjson(out)
    assert status == 1 and [e["event"]["category"] for e in match["events"]] == [["process"], ["file"]]
    assert run_cli(capsys, "search", 'network where destination.port == 22', EXAMPLE)[0] == 0


@pytest.mark.parametrize(("query", "message", "column"), [
    ('process where a === "x"', "eqlmini: syntax error: unexpected '='", 19),
    ("process where nosuch(a)", "eqlmini: invalid query: Unknown function [nosuch]", 15),
])
def test_bad_query(capsys: pytest.CaptureFixture[str], query: str, message: str, column: int) -> None:
    status, out, err = run_cli(capsys, "search", query, EXAMPLE)
    first, *shown = err.splitlines()
    assert status == 3 and out == "" and first.startswith(message) and first.endswith(f"(line 1, column {column})")
    assert shown == [query, " " * (column - 1) + "^"]


def test_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run_cli(capsys, "check", PROJECT / "rules")[0] == 0
    broken = tmp_path / "broken.eql"
    broken.write_text('/*\nname = "Broken"\n*/\nprocess where\n  process.name ==\n', encoding="utf-8")
    status, out, err = run_cli(capsys, "check", "--format", "json", PROJECT / "rules", broken)
    assert status == 3
    assert ndjson(out)[-1] == {"path": str(broken), "ok": False, "line": 5, "column": 18,
                                "error": f"{broken}: unexpected end of query"}
    assert f"eqlmini: syntax error: {broken}: unexpected end of query (line 5, column 18)\n" in err
    assert err.endswith("eqlmini: checked 2 files: 1 valid rule, 1 error\n")


def test_rules(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "rules", "--format", "json")
    (listed,) = ndjson(out)
    assert status == 0 and listed.pop("path").endswith("xp_cmdshell.eql") and listed == {
        "name": RULE, "rule_id": "4ed493fc-d637-4a36-80ff-ac84937e5461", "severity": "high", "risk_score": 73,
        "kind": "event", "threat": [["TA0002", "T1059"]]}
    _, out, _ = run_cli(capsys, "rules", "--format", "table", "--rules", PROJECT / "rules")
    assert out.splitlines()[1].split()[:5] == ["high", "73", "event", "TA0002", "T1059"]


def test_usage_errors_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "scan")[0] == 2
    status, out, _ = run_cli(capsys, "--help")
    assert status == 0 and "exit status (each command's --help lists its own):" in out and "input trouble" in out
    assert "``" not in out and ":func:" not in out and "The eqlmini command: search events" in out
    assert run_cli(capsys, "--version")[:2] == (0, f"eqlmini {eqlmini.__version__}\n")


@pytest.mark.parametrize(("command", "statuses"), [
    ("search", [0, 1, 2, 3, 4, 70, 130]), ("scan", [0, 1, 2, 3, 4, 70, 130]), ("check", [0, 2, 3, 70, 130]),
    ("rules", [0, 2, 3, 70, 130]), ("show", [0, 2, 3, 70, 130]), ("convert", [0, 2, 3, 70, 130])])
def test_each_command_lists_its_own_exit_statuses(capsys: pytest.CaptureFixture[str], command: str,
                                                   statuses: list[int]) -> None:
    status, out, _ = run_cli(capsys, command, "--help")
    listed = out[out.index("exit status:"):].splitlines()[1:]
    assert status == 0 and [int(line.split()[0]) for line in listed if line[2:3].isdigit()] == statuses


def test_progress_line_on_a_terminal(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(output, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["scan", "--format", "json", str(EXAMPLE)]) == 1
    shown = terminal.getvalue()
    assert "\r[" in shown and "%  16 events" in shown and "events/s" in shown and "\r\x1b[K" in shown


def test_python_dash_m(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src")}
    done = subprocess.run([sys.executable, "-m", "eqlmini", "scan", str(EXAMPLE)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60, check=False)
    assert done.returncode == 1  # not a terminal: NDJSON
    assert [json.loads(line)["rule"] for line in done.stdout.splitlines()] == [RULE] * 4
    assert "16 events from 1 file; 4 alerts" in done.stderr


def test_scan_msf_reverse_shell_evtx(capsys: pytest.CaptureFixture[str]) -> None:
    """The 140 Security 4688 records of a Metasploit MSSQL payload give 69 alerts.

    The records are 69 cmd.exe started by sqlservr.exe (xp_cmdshell), 69 conhost.exe
    started by those cmd.exe, one cscript.exe started by the last cmd.exe and the payload
    TVupu.exe started by cscript.exe. Only the 69 cmd.exe are children of sqlservr.exe,
    and none of them is excluded: Metasploit's command stager runs
    ``cmd.exe /c echo <base64 chunk>>>%TEMP%\\feyQV.b64`` 66 times, then three longer
    ``echo ... >>%TEMP%\\UbdXv.vbs & ...`` lines that write a VBScript decoder (the last
    one ending ``& cscript //nologo %TEMP%\\UbdXv.vbs``). The exclusions compare whole
    arguments: no argument is dir, del, mkdir, rmdir, rename, diskfree or bcp, none starts
    with ``\\\\``, none contains XMLNAMESPACES, none is a backup-job path. So every one
    of the 69 alerts, and nothing else does.
    """
    require(MSF)
    pytest.importorskip("evtx", reason="the evtx extra is not installed (pip install eqlmini[evtx])")
    status, out, err = run_cli(capsys, "scan", "--format", "json", MSF)
    alerts = ndjson(out)
    assert status == 1 and len(alerts) == 69
    assert {alert["events"][0]["process"]["parent"]["name"] for alert in alerts} == {"sqlservr.exe"}
    assert sum("cscript //nologo" in a["events"][0]["process"]["command_line"] for a in alerts) == 1
    assert "140 events from 1 file; 69 alerts from 1 of 1 rule" in err


# ----------------------------------------------------------------------------- what must never crash
def test_output_never_fails_on_encoding(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    odd = tmp_path / "odd.ndjson"
    odd.write_text('{"@timestamp": 1, "event": {"category": "process"}, "message": "\\ud800 caf\\u00e9 \\u2192"}\n',
                   encoding="ascii")
    status, out, _ = run_cli(capsys, "search", "process where true", "--format", "json", odd)
    assert status == 1 and out.isascii() and ndjson(out)[0]["message"] == "\ud800 caf\u00e9 \u2192"
    status, out, _ = run_cli(capsys, "search", "process where true", "--format", "table", odd)
    assert status == 1 and out.splitlines()[1].endswith("\\ud800 caf\u00e9 \u2192")
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src"), "PYTHONIOENCODING": "cp1252"}
    for format, shown in (("table", "\\ud800 caf\xe9 \\u2192"), ("json", '"\\ud800 caf\\u00e9 \\u2192"')):
        done = subprocess.run([sys.executable, "-m", "eqlmini", "search", "process where true", "--format", format,
                               str(odd)], capture_output=True, env=env, timeout=60, check=False)
        assert done.returncode == 1 and shown in done.stdout.decode("cp1252"), done.stderr


@pytest.mark.parametrize("size", ["-1", "x", "1.5"])
def test_size_must_be_a_whole_number_from_0(capsys: pytest.CaptureFixture[str], size: str) -> None:
    status, _, err = run_cli(capsys, "search", "--size", size, "any where true", EXAMPLE)
    assert status == 2 and "argument --size:" in err and "Traceback" not in err


def test_search_size_streams_an_event_query_in_input_order(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    untimed = tmp_path / "untimed.ndjson"  # no timestamps, not in time order: an event query needs neither
    events = [json.loads(line) for line in EXAMPLE.read_text(encoding="utf-8").splitlines()][::-1]
    untimed.write_text("".join(json.dumps({k: v for k, v in e.items() if k != "@timestamp"}) + "\n" for e in events),
                       encoding="utf-8")
    _, every, _ = run_cli(capsys, "search", "process where true", "--format", "json", untimed)
    status, out, err = run_cli(capsys, "search", "--size", "3", "process where true", "--format", "json", untimed)
    assert status == 1 and ndjson(out) == ndjson(every)[:3] and err.endswith("; 3 matches\n")
    assert run_cli(capsys, "search", "--size", "0", "process where true", untimed)[0] == 0


def test_unexpected_errors_exit_70(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from eqlmini.cli import scan as cli

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "RuleSet", broken)
    status, _, err = run_cli(capsys, "scan", EXAMPLE)
    assert status == 70 and "Traceback" in err and err.endswith(
        "eqlmini: internal error: RuntimeError: boom (a bug in eqlmini: please report it with the traceback above)\n")

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli, "RuleSet", full)
    status, _, err = run_cli(capsys, "scan", EXAMPLE)
    assert status == 70 and err == "eqlmini: error: [Errno 28] No space left on device\n"


def test_events_without_a_place_in_time_are_problems_and_the_scan_goes_on(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    first_attack = next(i for i, line in enumerate(lines) if ATTACKS[0] in line)
    untimed = json.loads(lines[first_attack])
    del untimed["@timestamp"]
    mixed = tmp_path / "mixed.ndjson"
    mixed.write_text("\n".join(["{not json", *lines[:first_attack], json.dumps(untimed),
                                *lines[first_attack + 1:]]) + "\n", encoding="utf-8")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "seq.eql").write_text('/*\nname = "Dropped file after cmd"\nseverity = "low"\n*/\n'
                                   'sequence by host.name [process where process.name : "cmd.exe"] [file where true]\n')
    status, out, err = run_cli(capsys, "scan", "--rules", rules, "--rules", PROJECT / "rules", "--format", "json", mixed)
    names = [alert["rule"] for alert in ndjson(out)]
    assert status == 4 and names.count(RULE) == 4 and names.count("Dropped file after cmd") == 1
    assert err.splitlines()[:3] == [
        f"eqlmini: {mixed}: line 1: invalid JSON: Expecting property name enclosed in double quotes (column 2)",
        f"eqlmini: {mixed}: line {first_attack + 2}: event has no timestamp; only the rules that need no time order "
        "ran on it",
        "eqlmini: 16 events from 1 file; 1 unreadable; 2 problems; 5 alerts from 2 of 2 rules"]
    # search: a sequence query leaves it out, and says so; a bad tiebreaker, in every event, too
    status, out, err = run_cli(capsys, "search", "sequence [process where true] [file where true]", "-q", mixed, EXAMPLE)
    assert status == 4 and len(ndjson(out)) == 1
    assert f"eqlmini: {mixed}: line {first_attack + 2}: event has no timestamp; left out: the query needs " \
           "events in time order" in err
    status, out, err = run_cli(capsys, "search", "--tiebreaker-field", "event.type", "sequence [process where true] "
                           "[file where true]", EXAMPLE)
    assert status == 4 and out == "" and "16 events from 1 file; 0 unreadable; 16 problems; 0 matches" in err
    assert f"eqlmini: {EXAMPLE}: line 16: tiebreaker ['start'] is not a single number or string; left out" in err


def test_an_event_that_stops_the_run_still_gets_the_summary(capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from eqlmini import EqlEventError
    from eqlmini.cli import scan as cli

    class Stopping(cli.RuleSet):  # type: ignore[misc, name-defined]
        def scan(self, events: Any, **options: Any) -> Any:
            yield from list(super().scan(events, **options))[:1]
            raise EqlEventError("event 7 (counting from 0) is out of order")

    monkeypatch.setattr(cli, "RuleSet", Stopping)
    damaged = tmp_path / "damaged.ndjson"
    damaged.write_text("{not json\n" + EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    status, out, err = run_cli(capsys, "scan", "--format", "json", damaged)
    assert status == 4 and len(ndjson(out)) == 1 and err.splitlines() == [
        f"eqlmini: {damaged}: line 1: invalid JSON: Expecting property name enclosed in double quotes (column 2)",
        "eqlmini: 16 events from 1 file; 1 unreadable; 1 problem; 1 alert from 1 of 1 rule before it stopped",
        "eqlmini: event error: event 7 (counting from 0) is out of order"]


def test_a_closed_pipe_ends_the_run_quietly_with_the_status_earned(tmp_path: Path) -> None:
    many = tmp_path / "many.ndjson"
    many.write_text(EXAMPLE.read_text(encoding="utf-8") * 200, encoding="utf-8")  # 800 alerts: more than a pipe holds
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src")}
    for buffered in ("1", ""):
        with subprocess.Popen([sys.executable, "-m", "eqlmini", "scan", str(many)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env={**env, "PYTHONUNBUFFERED": buffered}) as child:
            assert child.stdout is not None and child.stderr is not None
            assert json.loads(child.stdout.readline())["rule"] == RULE  # then go away, as `| head -1` does
            child.stdout.close()
            err = child.stderr.read()
            assert child.wait(timeout=60) == 1 and err == b""


# ----------------------------------------------------------------------------- hostile input
def test_control_characters_from_events_are_escaped_in_tables(capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.ndjson"
    line = "evil\x1b]0;owned\x07\x1b[2J\x9b31m\u202egnp.exe"
    hostile.write_text(json.dumps({"@timestamp": "t\x1b[1m", "event": {"category": "process"},
                                   "process": {"name": "cmd.exe", "command_line": line}}) + "\n")
    status, out, _ = run_cli(capsys, "search", "process where true", "--format", "table", hostile)
    assert status == 1
    row = out.splitlines()[1]
    assert not any(char in row for char in "\x1b\x07\x9b\u202e")
    assert "evil\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202egnp.exe" in row and row.startswith("t\\x1b[1m")
    assert output.printable("a\tb\nc\x00", lines=True) == "a\tb\nc\\x00"


def test_control_characters_in_rule_files_are_escaped_on_stderr(capsys: pytest.CaptureFixture[str],
                                                                tmp_path: Path) -> None:
    rule = tmp_path / "bad.eql"
    rule.write_text('process where process.name == "\x1b[2J" and\n', encoding="utf-8")
    status, _, err = run_cli(capsys, "check", rule)
    assert status == 3 and "\x1b" not in err and '"\\x1b[2J" and' in err


def test_input_limits_on_the_command_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join([EXAMPLE.read_text(encoding="utf-8").splitlines()[0]] * 2
                              + ['{"pad": "%s"}' % ("x" * 5000)]) + "\n")
    status, _, err = run_cli(capsys, "scan", "--format", "json", "--max-line-bytes", 4000, path)
    assert status == 4
    assert f"eqlmini: {path}: line 3: the line is longer than 4,000 bytes, the limit " \
           "eqlmini.limits.MAX_LINE_BYTES: skipped" in err
    assert run_cli(capsys, "scan", "--format", "json", path)[0] == 0


def test_a_limit_hit_in_the_engine_is_a_problem(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from eqlmini import limits
    from eqlmini.cli import scan as cli

    scan = cli.RuleSet.scan

    def cut_short(self: Any, events: Any, **options: Any) -> Any:
        limits.skipped("combinations per event (eqlmini.limits.X): 3 skipped")
        return scan(self, events, **options)
    monkeypatch.setattr(cli.RuleSet, "scan", cut_short)
    status, out, err = run_cli(capsys, "scan", "--format", "json", EXAMPLE)
    assert status == 4 and len(ndjson(out)) == 4
    assert "eqlmini: limit: combinations per event (eqlmini.limits.X): 3 skipped\n" in err


def test_main_puts_the_garbage_collector_back(capsys: pytest.CaptureFixture[str]) -> None:
    import gc

    before = gc.get_threshold()
    assert run_cli(capsys, "scan", "--format", "json", EXAMPLE)[0] == 1
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
