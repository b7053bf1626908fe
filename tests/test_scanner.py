"""The scanner command line as Chainsaw and Hayabusa users expect it (issue 10, section 3): folders and
globs of mixed inputs, time window and rule selection, table, NDJSON and CSV output to a file, the
source of every alert's events, tables cut only on a terminal, and the timeline at the end."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT, SHARED, ndjson, require, run_cli

from eqlmini import output
from eqlmini.cli import main
from eqlmini.cli.reading import time_bound
from eqlmini.ordering import timestamp_millis

EXAMPLE = PROJECT / "examples" / "xp_cmdshell_events.ndjson"
MSF = SHARED / "samples" / "EVTX-to-MITRE-Attack" / "ID4688-SQL Server payload injectection for reverse shell (MSF).evtx"
RULE = "Execution via MSSQL xp_cmdshell Stored Procedure"
RULE_ID = "4ed493fc-d637-4a36-80ff-ac84937e5461"
EXAMPLE_LINES = EXAMPLE.read_text(encoding="utf-8").splitlines()




def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


# ----------------------------------------------------------------------------- inputs
def test_a_folder_of_mixed_inputs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    require(MSF)
    pytest.importorskip("evtx", reason="the evtx extra is not installed (pip install eqlmini[evtx])")
    logs = tmp_path / "logs"
    (logs / "windows").mkdir(parents=True)
    (logs / "deep" / "er").mkdir(parents=True)
    shutil.copy(MSF, logs / "windows" / "msf.evtx")
    shutil.copy(EXAMPLE, logs / "a.ndjson")
    with gzip.open(logs / "deep" / "er" / "b.jsonl.gz", "wt", encoding="utf-8") as packed:
        packed.write(EXAMPLE.read_text(encoding="utf-8"))
    array = "[\n" + ",\n".join(EXAMPLE_LINES) + "\n]\n"  # one event per line, after a "[" line
    write(logs / "c.JSON", array)
    write(logs / "notes.txt", "not an event file: left alone\n")
    status, out, err = run_cli(capsys, "scan", "--format", "json", logs)
    alerts = ndjson(out)
    assert status == 1 and len(alerts) == 69 + 3 * 4, err
    assert f"{140 + 3 * 16} events from 4 files; 81 alerts" in err
    by_file: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts:
        ((event,), (source,)) = alert["events"], alert["sources"]
        by_file.setdefault(Path(source["file"]).name, []).append(source)
        if source["file"].endswith(".evtx"):  # the EVTX record's EventRecordID
            assert source["record"] == int(event["winlog"]["record_id"])
        else:  # the line the event is on (in c.JSON, after the "[" line): the event as read, unchanged
            index = source["line"] - (2 if source["file"].endswith(".JSON") else 1)
            assert json.loads(EXAMPLE_LINES[index]) == event
    assert sorted(by_file) == ["a.ndjson", "b.jsonl.gz", "c.JSON", "msf.evtx"]
    assert [s["line"] for s in by_file["c.JSON"]] == [12, 13, 15, 17]


def test_glob_patterns_and_what_they_miss(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "one" / "a.log")  # a pattern takes any name it matches
    shutil.copy(EXAMPLE, tmp_path / "one" / "b.ndjson")
    status, out, err = run_cli(capsys, "scan", "--format", "json", tmp_path / "**" / "*.log")
    assert status == 1 and len(ndjson(out)) == 4 and "16 events from 1 file" in err
    status, out, err = run_cli(capsys, "scan", "--format", "json", tmp_path / "**" / "*.nothing", tmp_path / "one")
    assert status == 4 and len(ndjson(out)) == 4  # the folder takes b.ndjson, not a.log
    assert f"eqlmini: {tmp_path / '**' / '*.nothing'}: pattern: no file matches" in err
    (tmp_path / "empty").mkdir()
    status, _, err = run_cli(capsys, "scan", tmp_path / "empty")
    assert status == 4 and f"{tmp_path / 'empty'}: folder: no event files in it" in err


def test_an_empty_evtx_file_is_input_trouble(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    empty = write(tmp_path / "Security.evtx", "")
    status, out, err = run_cli(capsys, "scan", "--format", "json", empty, EXAMPLE)
    assert status == 4 and len(ndjson(out)) == 4
    assert f"eqlmini: {empty}: file: empty file: not an EVTX file" in err and "1 unreadable" in err
    empty_json = write(tmp_path / "events.ndjson", "")  # an empty log of JSON lines holds no events: fine
    assert run_cli(capsys, "scan", empty_json)[0] == 0


def parquet_of_the_example(path: Path) -> Path:
    duckdb = pytest.importorskip("duckdb", reason="the duckdb extra is not installed (pip install eqlmini[duckdb])")
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as connection:
        connection.execute(f"COPY (SELECT * FROM read_json('{EXAMPLE}', format = 'newline_delimited')) "
                           f"TO '{path}' (FORMAT parquet)")
    return path


def test_parquet_through_duckdb(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    parquet = parquet_of_the_example(tmp_path / "logs" / "events.parquet")
    shutil.copy(EXAMPLE, tmp_path / "logs" / "events.ndjson")
    status, out, err = run_cli(capsys, "scan", "--format", "json", tmp_path / "logs")  # a folder: both files
    alerts = ndjson(out)
    assert status == 1 and len(alerts) == 8 and "32 events from 2 files; 8 alerts" in err
    rows = [alert["sources"][0]["row"] for alert in alerts if "row" in alert["sources"][0]]
    assert rows == [11, 12, 14, 16] and alerts[4]["sources"] == [{"file": str(parquet), "row": 11}]
    assert timestamp_millis(alerts[4]["timestamp"]) == 1_715_677_321_117  # a Parquet timestamp, in ISO-8601
    status, out, _ = run_cli(capsys, "scan", "--format", "csv", parquet)
    row = list(csv.reader(io.StringIO(out)))[1]
    assert timestamp_millis(row[0]) == 1_715_677_321_117 and row[7] == f"{parquet}#11"
    status, out, _ = run_cli(capsys, "search", "--format", "json", "--input-format", "parquet",
                             'process where process.name : "certutil.exe"', shutil.copy(parquet, tmp_path / "x"))
    assert status == 1 and len(ndjson(out)) == 1  # named otherwise: its format given


def test_parquet_troubles(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                          tmp_path: Path) -> None:
    parquet = parquet_of_the_example(tmp_path / "events.parquet")
    broken = write(tmp_path / "broken.parquet", "PAR1 and nothing more")
    status, out, err = run_cli(capsys, "scan", "--format", "json", broken, parquet)
    assert status == 4 and len(ndjson(out)) == 4  # reported, and the next file read
    assert f"eqlmini: {broken}: file: not a readable Parquet file:" in err and "1 unreadable" in err
    monkeypatch.setitem(sys.modules, "duckdb", None)  # as if the extra were not installed
    status, _, err = run_cli(capsys, "scan", parquet)
    assert status == 4 and err.endswith("eqlmini: event error: reading .parquet files needs the optional 'duckdb' "
                                        "package: pip install 'eqlmini[duckdb]'\n")


# ----------------------------------------------------------------------------- time window
def test_time_bounds() -> None:
    now = 1_715_680_000.0  # 2024-05-14T09:46:40Z
    assert time_bound("2024-05-14T09:02:05Z") == 1_715_677_325_000
    assert time_bound("2024-05-14 11:02:05+02:00") == 1_715_677_325_000
    assert time_bound("2024-05-14") == 1_715_644_800_000
    assert time_bound("-7d", now=lambda: now) == 1_715_680_000_000 - 7 * 86_400_000
    assert time_bound("-90m", now=lambda: now) == 1_715_680_000_000 - 90 * 60_000
    assert time_bound("+1h", now=lambda: now) == 1_715_680_000_000 + 3_600_000


@pytest.mark.parametrize("text", ["yesterday", "1715677325000", "-7y", "2024-13-01"])
def test_a_bad_time_is_a_usage_error(capsys: pytest.CaptureFixture[str], text: str) -> None:
    status, _, err = run_cli(capsys, "scan", "--from", text, EXAMPLE)
    assert status == 2 and f"argument --from: not a time: {text!r}" in err


def test_from_and_to(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = run_cli(capsys, "scan", "--format", "json", "--from", "2024-05-14T09:02:05Z",
                           "--to", "2024-05-14T09:02:35Z", EXAMPLE)
    assert status == 1 and [a["timestamp"] for a in ndjson(out)] == ["2024-05-14T09:02:09.402Z",
                                                                      "2024-05-14T09:02:31.688Z"]
    assert "16 events from 1 file (12 outside --from/--to); 2 alerts" in err
    status, out, err = run_cli(capsys, "scan", "--from", "-7d", EXAMPLE)  # the example is from 2024
    assert status == 0 and out == "" and "(16 outside --from/--to); 0 alerts" in err
    assert run_cli(capsys, "scan", "--to", "-1d", "--format", "json", EXAMPLE)[0] == 1
    untimed = write(tmp_path / "untimed.ndjson", '{"event": {"category": "process"}}\n' + EXAMPLE_LINES[10] + "\n")
    status, out, err = run_cli(capsys, "search", "process where true", "--from", "2024-01-01", untimed)
    assert status == 1 and len(ndjson(out)) == 1 and "1 without a timestamp, left out by --from/--to" in err


# ----------------------------------------------------------------------------- rule selection
PACK = {
    "low.eql": '/*\nname = "Any cmd"\nseverity = "low"\ntags = ["OS: Windows"]\n*/\n'
               'process where process.name : "cmd.exe"\n',
    "critical.eql": '/*\nname = "Scheduled file"\nseverity = "critical"\nrule_id = "aaaa-1"\n\n[[threat]]\n'
                    'framework = "MITRE ATT&CK"\n[threat.tactic]\nid = "TA0003"\nname = "Persistence"\n'
                    '[[threat.technique]]\nid = "T1053"\nname = "Scheduled Task/Job"\n'
                    '[[threat.technique.subtechnique]]\nid = "T1053.005"\nname = "Scheduled Task"\n*/\n'
                    'file where true\n',
}


@pytest.mark.parametrize(("options", "names"), [
    ([], ["Scheduled file", "Any cmd", RULE]),
    (["--min-severity", "high"], ["Scheduled file", RULE]),
    (["--rule-id", "4ED493FC"], [RULE]),
    (["--rule-id", "aaaa-1", "--rule-id", RULE_ID], ["Scheduled file", RULE]),
    (["--tag", "os: windows"], ["Any cmd"]),
    (["--tactic", "execution"], [RULE]),
    (["--tactic", "TA0003", "--tactic", "TA0002"], ["Scheduled file", RULE]),
    (["--technique", "T1053"], ["Scheduled file"]),  # its sub-technique T1053.005
    (["--technique", "t1053.005"], ["Scheduled file"]),
    (["--technique", "Command and Scripting Interpreter"], [RULE]),
    (["--tactic", "TA0003", "--min-severity", "critical"], ["Scheduled file"]),
])
def test_rule_selection(capsys: pytest.CaptureFixture[str], tmp_path: Path, options: list[str],
                        names: list[str]) -> None:
    for name, text in PACK.items():
        write(tmp_path / name, text)
    status, out, _ = run_cli(capsys, "rules", "--format", "json", "--rules", tmp_path, "--rules", PROJECT / "rules",
                         *options)
    assert status == 0 and [rule["name"] for rule in ndjson(out)] == names


def test_selection_applies_to_scan_and_may_select_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for name, text in PACK.items():
        write(tmp_path / name, text)
    status, out, err = run_cli(capsys, "scan", "--format", "json", "--rules", tmp_path, "--rules", PROJECT / "rules",
                           "--min-severity", "high", EXAMPLE)
    assert status == 1 and {a["rule"] for a in ndjson(out)} == {RULE, "Scheduled file"}
    assert "from 2 of 2 rules" in err
    status, out, err = run_cli(capsys, "scan", "--rules", tmp_path, "--tactic", "TA0040", EXAMPLE)
    assert status == 2 and out == "" and err == "eqlmini: no rule matches the selection (2 rules loaded)\n"


# ----------------------------------------------------------------------------- output
def test_csv_to_a_file_read_back(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "alerts.csv"
    status, out, err = run_cli(capsys, "scan", "-o", target, EXAMPLE)
    assert status == 1 and out == "" and "4 alerts" in err
    with target.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == ["TIME", "SEVERITY", "RISK", "RULE", "RULE_ID", "ATT&CK", "HOST", "SOURCE", "EVENT"]
    assert [row["SOURCE"] for row in rows] == [f"{EXAMPLE}:{n}" for n in (11, 12, 14, 16)]
    assert {(row["SEVERITY"], row["RISK"], row["RULE"], row["RULE_ID"], row["ATT&CK"], row["HOST"])
            for row in rows} == {("high", "73", RULE, RULE_ID, "TA0002 T1059", "sql01.corp.example")}
    assert rows[3]["EVENT"].endswith("/add && net localgroup administrators sqlbackup /add")  # never cut
    assert rows[0]["TIME"] == "2024-05-14T09:02:01.117Z"


@pytest.mark.parametrize(("name", "format"), [("alerts.ndjson", "json"), ("alerts.txt", "table"),
                                              ("alerts.out", "json")])
def test_output_file_format_from_its_extension(capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str,
                                               format: str) -> None:
    target = tmp_path / name
    assert run_cli(capsys, "scan", "-q", "-o", target, EXAMPLE)[:2] == (1, "")
    text = target.read_text(encoding="utf-8")
    assert (text.startswith("TIME ") if format == "table" else len(ndjson(text)) == 4)
    assert run_cli(capsys, "rules", "--format", "csv", "-o", target)[0] == 0  # --format wins over the name
    assert target.read_text(encoding="utf-8").startswith("SEVERITY,RISK,KIND,ATT&CK,RULE_ID,PATH,NAME\n")


def test_search_names_the_sources_of_a_sequence(capsys: pytest.CaptureFixture[str]) -> None:
    query = ('sequence with maxspan=1m [process where process.parent.name : "sqlservr.exe"] by process.pid '
             '[process where process.name : "certutil.exe"] by process.parent.pid')
    status, out, _ = run_cli(capsys, "search", "--format", "json", query, EXAMPLE)
    (result,) = ndjson(out)
    assert status == 1 and result["join_keys"] == [4132]
    assert result["sources"] == [{"file": str(EXAMPLE), "line": 12}, {"file": str(EXAMPLE), "line": 13}]
    assert [json.loads(EXAMPLE_LINES[12 - 1]), json.loads(EXAMPLE_LINES[13 - 1])] == result["events"]
    status, out, _ = run_cli(capsys, "search", "--format", "table", query, EXAMPLE)
    assert [row.split()[2] for row in out.splitlines()[1:]] == [f"{EXAMPLE}:12", f"{EXAMPLE}:13"]


def test_an_output_file_that_cannot_be_written(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = run_cli(capsys, "scan", "-o", tmp_path / "no" / "such" / "folder.csv", EXAMPLE)
    assert status == 2 and out == "" and err.startswith(f"eqlmini: -o: cannot write {tmp_path / 'no'}")


def test_csv_of_search_and_check(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "search", "--format", "csv", 'process where process.args : "whoami"', EXAMPLE)
    rows = list(csv.reader(io.StringIO(out)))
    assert status == 1 and rows[0] == ["TIME", "CATEGORY", "SOURCE", "EVENT"] and len(rows) == 4
    assert rows[1][1:3] == ["process", f"{EXAMPLE}:7"] and rows[3][1:3] == ["process", f"{EXAMPLE}:11"]
    status, out, _ = run_cli(capsys, "check", "--format", "csv", PROJECT / "rules")
    assert status == 0 and list(csv.reader(io.StringIO(out)))[1] == ["ok", str(PROJECT / "rules" / "xp_cmdshell.eql"),
                                                                    RULE]


def test_tables_cut_text_only_on_a_terminal(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    rule = write(tmp_path / "many.eql", '/*\nname = "' + "A rule with a rather long name " * 2 + '"\n'
                 + "".join(f'\n[[threat]]\nframework = "MITRE ATT&CK"\n[threat.tactic]\nid = "TA000{n}"\n'
                           f'name = "Tactic {n}"\n' for n in range(2, 6)) + '*/\nprocess where process.name : "cmd.exe"\n')
    _, piped, _ = run_cli(capsys, "scan", "--format", "table", "-q", "--rules", rule, EXAMPLE)
    assert "…" not in piped and "A rule with a rather long name A rule with a rather long name" in piped
    assert "TA0002 TA0003 TA0004 TA0005" in piped
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("COLUMNS", "150")
    assert main(["scan", "-q", "--rules", str(rule), str(EXAMPLE)]) == 1  # a table: the default on a terminal
    header, *rows = terminal.getvalue().splitlines()
    assert header.split() == ["TIME", "SEVERITY", "RULE", "ATT&CK", "SOURCE", "EVENT"]
    for row in rows:
        assert len(row) <= 150 and row[26:].startswith("medium    A rule with a rather long name…   TA0002 …      …")
    assert any(row.endswith("…") for row in rows)  # the last column, at the edge of the screen
    assert re.split(" {2,}", rows[0])[4] == "…mdshell_events.ndjson:2"  # a file name keeps its end


@pytest.mark.parametrize(("text", "width", "kind", "cut"), [
    ("abcdef", 6, "text", "abcdef"), ("abcdefg", 6, "text", "abcde…"), ("abcd fg", 6, "text", "abcd…"),
    ("TA0002 T1059 T1059.001", 22, "ids", "TA0002 T1059 T1059.001"),
    ("TA0002 T1059 T1059.001", 21, "ids", "TA0002 T1059 …"),
    ("TA0002 T1059 T1059.001", 14, "ids", "TA0002 T1059 …"),
    ("TA0002 T1059 T1059.001", 13, "ids", "TA0002 …"),
    ("TA0002 T1059", 5, "ids", "…"),
    ("logs/a/b.ndjson:12", 10, "path", "…ndjson:12"),
])
def test_cut(text: str, width: int, kind: str, cut: str) -> None:
    assert output.cut(text, width, kind) == cut and len(cut) <= width


# ----------------------------------------------------------------------------- the timeline
def test_timeline(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    other = json.loads(EXAMPLE_LINES[10])
    other["host"]["name"], other["@timestamp"] = "sql02.corp.example", "2024-05-14T10:00:00Z"
    events = write(tmp_path / "events.ndjson", "\n".join([*EXAMPLE_LINES, json.dumps(other)]) + "\n")
    write(tmp_path / "rules" / "any.eql", '/*\nname = "Any cmd"\nseverity = "low"\n*/\nprocess where '
                                          'process.name : "cmd.exe" and event.type == "start"\n')
    status, _, err = run_cli(capsys, "scan", "--format", "json", "--rules", tmp_path / "rules", "--rules", PROJECT / "rules",
                         events)
    assert status == 1 and err.splitlines() == [
        "eqlmini: 17 events from 1 file; 16 alerts from 2 of 2 rules",
        "first alert  2024-05-14T09:00:02.501Z",
        "last alert   2024-05-14T10:00:00Z",
        "severity     critical 0, high 5, medium 0, low 11",
        "hosts (2)    sql01.corp.example (14), sql02.corp.example (2)",
        "  alerts  severity  rule",
        "      11  low       Any cmd",
        f"       5  high      {RULE}"]


# ----------------------------------------------------------------------------- messages
@pytest.mark.parametrize("query", ["process where (a", "process where a ==", "process where a b", "sequence [",
                                   "process where foo(", "process where a in (1,", 'process where a == "x'])
def test_syntax_errors_speak_eql(capsys: pytest.CaptureFixture[str], query: str) -> None:
    status, _, err = run_cli(capsys, "search", query, EXAMPLE)
    assert status == 3 and err.startswith("eqlmini: syntax error: ")
    for internals in ("__ANON", "__anon", "$END", "$end", "Token(", "a name, a name", "RPAR", "LPAR"):
        assert internals not in err
