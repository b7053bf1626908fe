"""Tests for eqlmini.inputs: JSON/NDJSON/EVTX reading, the report, ECS mapping, command lines.

Sample data is read in place from ``../shared/samples`` (the project root's sibling);
tests that need it, or the optional ``evtx`` package, skip with the reason when absent.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import gzip
import io
import json
import logging
import os
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eqlmini.errors import EqlEventError
from eqlmini.inputs import (
    ReadReport,
    evtx_to_ecs,
    json_files,
    lines,
    read_events,
    read_file,
    reader,
    split_command_line,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLES = SHARED / "samples"
MITRE = SAMPLES / "EVTX-to-MITRE-Attack"
SIGMA = SAMPLES / "sigma-regression-data"
GOLDEN = SAMPLES / "winlogbeat-golden"
MSSQL = MITRE / "ID4688-SQL Server payload injectection for reverse shell (MSF).evtx"
CLEAR_LOG = MITRE / "ID4688-Clear event log attempt (native).evtx"
PRINT_SPOOL = MITRE / "1-Print spool spawned a CMD shell (PrintNightMare).evtx"


@pytest.fixture
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"sample folder {SAMPLES} not found (it is the project root's sibling "
                    "../shared/samples)")
    return SAMPLES


@pytest.fixture
def evtx_samples(samples: Path) -> Path:
    pytest.importorskip("evtx", reason="the optional 'evtx' package is not installed "
                        "(pip install 'eqlmini[evtx]')")
    return samples


def flatten(document: dict, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists stay values."""
    out = {}
    for key, value in document.items():
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def read_all(paths, **kwargs) -> tuple[list[dict], ReadReport]:
    report = ReadReport()
    return list(read_events(paths, report=report, **kwargs)), report


def write_lines(path: Path, lines: list[str], *, compress: bool = False) -> Path:
    data = "\n".join(lines).encode() + b"\n"
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


# ---------------------------------------------------------------- JSON inputs

NDJSON = ['{"id": 1, "process": {"name": "cmd.exe"}}', "", '{"id": 2}', '  {"id": 3}  ']


@pytest.mark.parametrize("name,compress", [
    ("events.ndjson", False), ("events.jsonl", False), ("events.ndjson.gz", True),
    ("events.ndjson", True),          # gzip recognised by its magic bytes, not its name
    ("events.log", False),            # no known extension: sniffed
])
def test_ndjson_plain_and_gzip(tmp_path, name, compress):
    events, report = read_all(write_lines(tmp_path / name, NDJSON, compress=compress))
    assert [e["id"] for e in events] == [1, 2, 3]
    assert events[0]["process"]["name"] == "cmd.exe"
    assert (report.events, report.unreadable, report.problems, report.sources) == (3, 0, [], 1)


def test_json_array(tmp_path):
    path = tmp_path / "events.json"
    path.write_text(json.dumps([{"id": 1}, {"id": 2}, {"id": 3}], indent=2))
    events, report = read_all(path)
    assert [e["id"] for e in events] == [1, 2, 3]
    assert report.ok and report.events == 3


def test_concatenated_pretty_printed_objects(tmp_path):
    path = tmp_path / "events.json"
    path.write_text("\n".join(json.dumps({"id": i, "x": {"y": [i]}}, indent=2) for i in range(3)))
    events, report = read_all(path)
    assert [e["id"] for e in events] == [0, 1, 2]
    assert report.ok


def test_json_file_holding_ndjson_is_read_line_by_line(tmp_path):
    path = write_lines(tmp_path / "events.json", ['{"id": 1}', "{bad", '{"id": 3}'])
    events, report = read_all(path)
    assert [e["id"] for e in events] == [1, 3]
    assert [(p.location, p.message.split(":")[0]) for p in report.problems] == [
        ("line 2", "invalid JSON")]


def test_invalid_json_lines_mid_file(tmp_path):
    path = write_lines(tmp_path / "events.ndjson", [
        '{"id": 1}', '{"id": 2,}', '{"id": 3}', '{"id":', '{"id": 5}'])
    events, report = read_all(path)
    assert [e["id"] for e in events] == [1, 3, 5]
    assert report.events == 3 and report.unreadable == 2
    assert [p.location for p in report.problems] == ["line 2", "line 4"]
    assert all(p.source == str(path) and p.message.startswith("invalid JSON: ")
               for p in report.problems)


def test_non_object_lines_are_reported(tmp_path):
    path = write_lines(tmp_path / "events.ndjson",
                       ['{"id": 1}', "[1, 2]", '"text"', "42", "null", "true", '{"id": 7}'])
    events, report = read_all(path)
    assert [e["id"] for e in events] == [1, 7]
    assert report.unreadable == 5
    assert [(p.location, p.message) for p in report.problems] == [
        (f"line {n}", f"expected a JSON object (an event), found {kind}")
        for n, kind in [(2, "an array"), (3, "a string"), (4, "a number"), (5, "null"),
                        (6, "a boolean")]]


def test_broken_element_inside_an_array_resumes_at_the_next_object(tmp_path):
    path = tmp_path / "events.json"
    path.write_text('[\n  {"id": 1},\n  {"id": 2,, "x": 1},\n  {"id": 3},\n  7\n]\n')
    events, report = read_all(path)
    assert [e["id"] for e in events] == [1, 3]
    assert [p.location for p in report.problems] == ["line 3", "line 5"]
    assert report.unreadable == 2


def test_unclosed_array_keeps_what_was_read(tmp_path):
    path = tmp_path / "events.json"
    path.write_text('[{"id": 1}, {"id": 2}, ')
    events, report = read_all(path)
    assert [e["id"] for e in events] == [1, 2]
    assert report.unreadable == 0
    assert [p.message for p in report.problems] == [
        "the JSON array is not closed (truncated file?)"]


def test_truncated_gzip_yields_everything_before_the_cut(tmp_path):
    lines = [json.dumps({"id": i, "pad": "x" * 50}) for i in range(3000)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "cut.ndjson.gz"
    path.write_bytes(whole[: len(whole) // 2])
    events, report = read_all(path)
    assert 0 < len(events) < 3000
    assert [e["id"] for e in events] == list(range(len(events)))
    last = report.problems[-1]
    assert last.message.startswith("compressed data is damaged or truncated, the rest is lost")
    assert last.location.startswith("line ")
    assert int(last.location.split()[1]) > len(events)
    # at most the half-decompressed last line besides the truncation itself
    assert report.unreadable == len(report.problems) <= 2
    assert report.events == len(events)


def test_gzip_followed_by_garbage(tmp_path):
    path = tmp_path / "events.ndjson.gz"
    path.write_bytes(gzip.compress(b'{"id": 1}\n{"id": 2}\n') + b"this is not gzip")
    events, report = read_all(path)
    assert [e["id"] for e in events] == [1, 2]
    assert report.unreadable == 1
    assert "damaged or truncated" in report.problems[0].message


@pytest.mark.parametrize("name,message", [
    ("blob.bin", "not a JSON, NDJSON or EVTX file (binary data)"),
    ("blob.json", "binary data, not JSON text"),
])
def test_binary_file(tmp_path, name, message):
    path = tmp_path / name
    path.write_bytes(bytes(range(256)) * 8)
    good = write_lines(tmp_path / "good.ndjson", ['{"id": 1}'])
    events, report = read_all([path, good])
    assert [e["id"] for e in events] == [1]
    assert [(p.source, p.location, p.message) for p in report.problems] == [
        (str(path), "file", message)]
    assert report.unreadable == 1 and report.sources == 2


def test_missing_file_is_reported_and_the_others_are_read(tmp_path):
    first = write_lines(tmp_path / "a.ndjson", ['{"id": 1}'])
    missing = tmp_path / "nope.ndjson"
    last = write_lines(tmp_path / "b.ndjson", ['{"id": 2}'])
    events, report = read_all([first, missing, last])
    assert [e["id"] for e in events] == [1, 2]
    assert [(p.source, p.location) for p in report.problems] == [(str(missing), "file")]
    assert report.problems[0].message.startswith("cannot open: ")
    assert (report.events, report.unreadable, report.sources) == (2, 1, 3)


def test_invalid_utf8_is_replaced_and_reported(tmp_path):
    path = tmp_path / "events.ndjson"
    path.write_bytes(b'{"id": 1, "s": "a\xffb"}\n')
    events, report = read_all(path)
    assert events == [{"id": 1, "s": "a\ufffdb"}]
    assert report.unreadable == 0 and report.problems[0].location == "line 1"


def test_problems_are_capped_but_counted(tmp_path):
    path = write_lines(tmp_path / "bad.ndjson", ["{"] * 150 + ['{"id": 1}'])
    events, report = read_all(path)
    assert len(events) == 1
    assert (len(report.problems), report.problems_omitted, report.unreadable) == (100, 50, 150)
    assert not report.ok
    assert report.summary() == "1 event from 1 file; 150 unreadable; 150 problems"


def test_without_a_report_problems_are_logged(tmp_path, caplog):
    path = write_lines(tmp_path / "bad.ndjson", ["{", '{"id": 1}'])
    with caplog.at_level(logging.WARNING, logger="eqlmini.inputs"):
        events = list(read_file(path))
    assert events == [{"id": 1}]
    assert f"{path}: line 1: invalid JSON" in caplog.text


def test_explicit_format_and_unknown_format(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text('{"id": 1}\n{"id": 2}\n')
    events, report = read_all(path, format="ndjson")
    assert [e["id"] for e in events] == [1, 2] and report.ok
    with pytest.raises(ValueError, match="unknown input format 'xml'"):
        read_events(path, format="xml")


def test_empty_file_has_no_events_and_no_problems(tmp_path):
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    events, report = read_all(path)
    assert events == [] and report.ok and report.sources == 1


def test_standard_input(monkeypatch):
    stdin = type("Stdin", (), {"buffer": io.BufferedReader(io.BytesIO(b'{"id": 1}\n'))})()
    monkeypatch.setattr(sys, "stdin", stdin)
    events, report = read_all("-")
    assert events == [{"id": 1}] and report.ok


def test_reading_is_lazy(tmp_path):
    path = write_lines(tmp_path / "a.ndjson", ['{"id": 1}', '{"id": 2}'])
    report = ReadReport()
    events = read_events([path, tmp_path / "missing.json"], report=report)
    assert report.sources == 0
    assert next(events) == {"id": 1}
    # one read of the first file: its events are counted together; the second is not opened
    assert (report.events, report.sources, report.unreadable) == (2, 1, 0)


# ---------------------------------------------------------------- hostile JSON

def test_single_line_array_resumes_after_a_bad_element(tmp_path):
    path = tmp_path / "events.json"
    path.write_text('[{"a":1},{"b":},{"c":3},{"d":4}]')
    events, report = read_all(path)
    assert events == [{"a": 1}, {"c": 3}, {"d": 4}]
    assert report.unreadable == 1
    assert [p.message for p in report.problems] == [
        "invalid JSON: Expecting value (line 1, column 15)"]


@pytest.mark.parametrize("text,kept,unreadable", [
    ('[{"a":1},{"b":{"x":[1,{"y":2}]},, "z":1},{"c":3}]', ["a", "c"], 1),  # nested, balanced
    ('[{"a":1},{"b":"x,{\\"q\\":1}",},{"c":3}]', ["a", "c"], 1),       # brackets in a string
    ('[{"a":1},,{"c":3}]', ["a", "c"], 1),                             # an empty element
    ('[{"a":1} x, {"c":3}]', ["a", "c"], 1),                           # garbage after a value
    ('{"a":1}{"b":}{"c":3}', ["a", "c"], 1),                           # objects, one line
    ('{"a":1} }{"c":3}', ["a", "c"], 1),                               # a stray brace
])
def test_resync_counts_brackets_outside_strings(tmp_path, text, kept, unreadable):
    path = tmp_path / "events.json"
    path.write_text(text)
    events, report = read_all(path)
    assert [next(iter(e)) for e in events] == kept
    assert report.unreadable == unreadable
    assert not any("not closed" in p.message for p in report.problems)


def test_missing_comma_in_an_array_loses_nothing(tmp_path):
    path = tmp_path / "events.json"
    path.write_text('[{"a":1} {"b":2}, {"c":3}]')
    events, report = read_all(path)
    assert events == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert report.unreadable == 0
    assert [p.message for p in report.problems] == ["missing ',' between array elements"]


@pytest.mark.parametrize(("document", "message"), [
    ('[]{"a":1}, {"b":2}]', "']' before the end of the document: read on as elements of the array"),
    ('[{"a":1},\n]{"b":2}]', "']' before the end of the document: read on as elements of the array"),
    ('[{"a":1}]\n[{"b":2}]', "a second JSON array after the first"),
])
def test_text_after_an_early_closing_bracket_is_read_not_dropped(tmp_path, document, message):
    path = tmp_path / "events.json"
    path.write_text(document)
    events, report = read_all(path)
    assert events == [{"a": 1}, {"b": 2}]
    assert [p.message for p in report.problems] == [message] and report.unreadable == 0


def test_garbage_after_the_array_is_reported_as_lost(tmp_path):
    path = tmp_path / "events.json"
    path.write_text('[{"a":1}] xyz')
    events, report = read_all(path)
    assert events == [{"a": 1}] and report.unreadable == 1
    assert [p.message for p in report.problems] == [
        "']' before the end of the document: read on as elements of the array",
        "invalid JSON: Expecting value (line 1, column 11) (skipped to the end of the file)"]


def test_unbalanced_element_falls_back_to_the_next_object_line(tmp_path):
    path = tmp_path / "events.json"
    path.write_text('[\n  {"id": 1},\n  {"id": 2, "x": [1,\n  {"id": 3},\n  {"id": 4}\n]\n')
    events, report = read_all(path)
    assert [e["id"] for e in events] == [1, 3, 4]
    assert [p.location for p in report.problems] == ["line 3"] and report.unreadable == 1


def test_what_cannot_be_resynchronised_is_said_to_be_skipped(tmp_path):
    path = tmp_path / "events.json"
    path.write_text('[{"a":1},{"b":"x, "c": 3]')
    events, report = read_all(path)
    assert events == [{"a": 1}]
    assert [p.message.endswith("(skipped to the end of the file)") for p in report.problems] == [
        True]
    assert report.unreadable == 1


def test_values_passed_over_are_counted(tmp_path):
    # no value shares a key with the first event: none is taken for one, each is counted
    path = tmp_path / "events.json"
    path.write_text('[{"a":1},{"b":"x},{"c":3}]')
    events, report = read_all(path)
    assert events == [{"a": 1}]
    assert report.unreadable == 2
    assert report.problems[0].message.endswith("; 2 values lost (skipped to the end of the file)")


@pytest.mark.parametrize("name", ["deep.json", "deep.ndjson", "deep.log"])
@pytest.mark.parametrize("body", [pytest.param("[" * 200_000, id="arrays"),
                                  pytest.param('{"a": ' + "[" * 200_000, id="in-an-object")])
def test_nesting_too_deep_for_python_is_reported(tmp_path, name, body):
    path = write_lines(tmp_path / name, [body, '{"id": 2}'])
    events, report = read_all(path)
    assert report.unreadable >= 1
    assert "nested too deeply" in report.problems[0].message
    assert report.events == len(events)
    if name.endswith(".ndjson"):
        assert events == [{"id": 2}] and report.unreadable == 1


@pytest.mark.parametrize("value,message", [
    ("NaN", "NaN is not a JSON value"),
    ("Infinity", "Infinity is not a JSON value"),
    ("-Infinity", "-Infinity is not a JSON value"),
    ("1e999", "the number 1e999 is too large for a double"),
    pytest.param("1" * 5000, "Exceeds the limit", id="5000-digits"),
])
def test_python_only_numbers_are_not_json(tmp_path, value, message):
    ndjson = write_lines(tmp_path / "events.ndjson",
                         ['{"id": 1}', f'{{"x": {value}}}', '{"id": 3}'])
    array = tmp_path / "events.json"
    array.write_text(f'[{{"id": 1}}, {{"x": [{value}]}}, {{"id": 3}}]')
    for path, location in ((ndjson, "line 2"), (array, "line 1")):
        events, report = read_all(path)
        assert events == [{"id": 1}, {"id": 3}]
        assert report.unreadable == 1
        assert report.problems[0].location == location
        assert report.problems[0].message.startswith(f"invalid JSON: {message}")
        json.dumps(events, allow_nan=False)


@pytest.mark.parametrize("name,text", [
    ("long.ndjson", '{"id": 1}\n{"big": "%s"}\n{"id": 3}\n'),
    ("long.json", '[{"id": 1},\n{"big": "%s"},\n{"id": 3}]'),
])
def test_a_line_of_several_megabytes(tmp_path, name, text):
    big = "0123456789abcdef" * (5 << 16)                 # 5 MB, many read chunks
    path = tmp_path / name
    path.write_text(text % big)
    events, report = read_all(path)
    assert [e.get("id") for e in events] == [1, None, 3] and report.ok
    assert events[1]["big"] == big


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(tmp_path, newline):
    # a CRLF split across two reads (the CR ends one chunk) still ends one line
    first = '{"pad": "%s"}' % ("x" * (lines.CHUNK - 12))
    path = tmp_path / "events.ndjson"
    path.write_bytes(newline.join([first, "{bad", '{"id": 3}', "", '{"id": 5}', ""]).encode())
    events, report = read_all(path)
    assert [e.get("id") for e in events] == [None, 3, 5]
    assert [p.location for p in report.problems] == ["line 2"]


@pytest.mark.parametrize("name", ["e.json", "e.ndjson", "e.log"])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_bom_and_line_endings_in_every_layout(tmp_path, name, newline):
    path = tmp_path / name
    text = newline.join(['', '{"id": 1}', '', '  {"id": 2}  ', ""])
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    events, report = read_all(path)
    assert [e["id"] for e in events] == [1, 2] and report.ok


@pytest.mark.parametrize("name", ["blank.json", "blank.ndjson", "blank.jsonl"])
@pytest.mark.parametrize("content", [b" ", b"\n\n\n", b" \t\r\n \r", b"\xef\xbb\xbf\n"])
def test_whitespace_only_files_hold_no_events(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    events, report = read_all(path)
    assert events == [] and report.ok


@pytest.mark.parametrize("text,kind", [
    ("42", "a number"), ('"x"', "a string"), ("null", "null"), ("true", "a boolean"),
    ("[1, 2]", "a number"), ("3.5", "a number"),
])
def test_top_level_scalars_in_a_json_file(tmp_path, text, kind):
    path = tmp_path / "events.json"
    path.write_text(text)
    events, report = read_all(path)
    assert events == [] and report.unreadable == len(report.problems) >= 1
    assert report.problems[0].message == f"expected a JSON object (an event), found {kind}"


def test_invalid_utf8_mid_document(tmp_path):
    path = tmp_path / "events.json"
    path.write_bytes(b'[\n{"id": 1},\n{"id": 2, "s": "a\xff\xfeb"},\n{"id": 3}\n]\n')
    events, report = read_all(path)
    assert [e["id"] for e in events] == [1, 2, 3] and events[1]["s"] == "a\ufffd\ufffdb"
    assert report.unreadable == 0 and "invalid UTF-8" in report.problems[0].message


@pytest.mark.parametrize("name", ["dir.ndjson", "dir.json", "dir.evtx", "dir"])
def test_a_directory_given_as_a_file(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    good = write_lines(tmp_path / "good.ndjson", ['{"id": 1}'])
    events, report = read_all([folder, good])
    assert events == [{"id": 1}]
    assert [(p.source, p.location) for p in report.problems] == [(str(folder), "file")]
    assert report.problems[0].message.startswith("cannot open: ")


@pytest.mark.parametrize("name", ["z.ndjson.gz", "z.evtx.gz", "z.log"])
def test_damaged_deflate_data_at_the_start(tmp_path, name):
    whole = gzip.compress(b'{"id": 1}\n' * 1000)
    path = tmp_path / name                   # the header is fine; inflating fails (zlib.error)
    path.write_bytes(whole[:10] + bytes(b ^ 0x55 for b in whole[10:30]) + whole[30:])
    good = write_lines(tmp_path / "good.ndjson", ['{"id": 2}'])
    events, report = read_all([path, good])
    assert events == [{"id": 2}]
    assert [(p.source, p.location) for p in report.problems] == [(str(path), "file")]


# ---------------------------------------------------------------- EVTX inputs

# README table: file -> (records, process creations, event IDs).
EVTX_TABLE = {
    "EVTX-to-MITRE-Attack/ID4688-SQL Server payload injectection for reverse shell (MSF).evtx":
        (140, 140, {"4688": 140}),
    "EVTX-to-MITRE-Attack/ID15457-SQL Server CMDshell enabled.evtx":
        (2, 0, {"15457": 1, "33205": 1}),
    "EVTX-to-MITRE-Attack/1-Print spool spawned a CMD shell (PrintNightMare).evtx":
        (1, 1, {"1": 1}),
    "EVTX-to-MITRE-Attack/ID1-CrackMapExec payload execution.evtx": (2, 2, {"1": 2}),
    "EVTX-to-MITRE-Attack/ID1-LSASS dump with LSASSY (SYSMON).evtx":
        (14, 2, {"1": 2, "7": 1, "10": 1, "11": 1, "18": 9}),
    "EVTX-to-MITRE-Attack/ID4688,4697,5140-5145 PSexec remote execution + admin share.evtx":
        (30, 11, {"4624": 5, "4674": 2, "4688": 11, "4697": 1, "5140": 2, "5145": 9}),
    "EVTX-to-MITRE-Attack/ID4688-Clear event log attempt (native).evtx": (28, 28, {"4688": 28}),
    "sigma-regression-data/proc_creation_win_exploit_cve_2025_55182_susp_nodejs_server_child"
    "_process/271de298-cc0e-4842-acd8-079a0a99ea65.evtx": (1, 1, {"1": 1}),
    "sigma-regression-data/proc_creation_win_findstr_security_keyword_lookup/"
    "4fe074b4-b833-4081-8f24-7dcfeca72b42.evtx": (3, 3, {"1": 3}),
    "sigma-regression-data/proc_creation_win_certutil_download/"
    "19b08b1c-861d-4e75-a1ef-ea0c1baf202b.evtx": (1, 1, {"1": 1}),
}


def is_process_start(event: dict) -> bool:
    return (event["event"]["code"] in ("1", "4688") and event["event"]["category"] == ["process"]
            and event["event"]["type"] == ["start"])


def test_every_sample_evtx_file_is_in_the_table(samples):
    found = {p.relative_to(samples).as_posix() for p in samples.rglob("*.evtx")}
    assert found == set(EVTX_TABLE)


@pytest.mark.parametrize("relative", sorted(EVTX_TABLE))
def test_evtx_sample_counts(evtx_samples, relative):
    records, starts, ids = EVTX_TABLE[relative]
    events, report = read_all(evtx_samples / relative)
    assert report.ok, report.problems
    assert report.events == len(events) == records
    assert sum(map(is_process_start, events)) == starts
    assert collections.Counter(e["event"]["code"] for e in events) == ids
    for event in events:
        assert event["@timestamp"].endswith("Z")
        assert event["host"]["os"]["type"] == "windows"
        assert event["winlog"]["event_id"] == event["event"]["code"]
        if is_process_start(event):
            process = event["process"]
            assert isinstance(process["pid"], int)
            assert process["name"] == process["executable"].rsplit("\\", 1)[1]
            assert process["args_count"] == len(process["args"]) > 0


def test_mssql_reverse_shell_sqlservr_spawns_cmd_69_times(evtx_samples):
    events, report = read_all(MSSQL)
    assert report.ok
    by_pair = collections.Counter((e["process"].get("parent", {}).get("name"),
                                   e["process"]["name"]) for e in events)
    assert by_pair == {("sqlservr.exe", "cmd.exe"): 69, ("cmd.exe", "conhost.exe"): 69,
                       ("cmd.exe", "cscript.exe"): 1, ("cscript.exe", "TVupu.exe"): 1}
    shells = [e for e in events if e["process"].get("parent", {}).get("name") == "sqlservr.exe"]
    assert {e["process"]["parent"]["executable"] for e in shells} == {
        "C:\\Program Files\\Microsoft SQL Server\\MSSQL12.RADAR\\MSSQL\\Binn\\sqlservr.exe"}
    assert {e["process"]["parent"]["pid"] for e in shells} == {0x1050}    # one sqlservr
    assert {e["user"]["name"] for e in shells} == {"Svc-SQL-DB01"}
    # 4688: the quoted program name keeps its quotes in args[0], as winlogbeat does
    assert {tuple(e["process"]["args"][:3]) for e in shells} == {
        ('"C:\\Windows\\system32\\cmd.exe"', "/c", "echo")}
    # cmd's ">>" redirection is glued to the payload: it is no argument of its own
    b64 = [e for e in shells if e["process"]["args_count"] == 4]
    assert len(b64) == 66
    assert all(e["process"]["args"][3].endswith(">>%TEMP%\\feyQV.b64") for e in b64)
    assert shells[-1]["process"]["command_line"].endswith("& cscript //nologo %TEMP%\\UbdXv.vbs")


def test_4688_without_parent_process_name(evtx_samples):
    events, report = read_all(CLEAR_LOG)
    assert report.ok and len(events) == 28
    for event in events:
        parent = event["process"]["parent"]
        assert set(parent) == {"pid"}            # no ParentProcessName in these records
        assert "ParentProcessName" not in event["winlog"]["event_data"]
    wevtutil = [e for e in events if e["process"]["name"] == "wevtutil.exe"]
    assert len(wevtutil) == 14
    assert all(e["process"]["args"][1] == "cl" for e in wevtutil)


def test_positional_event_data_and_eventid_with_qualifiers(evtx_samples):
    events, _ = read_all(MITRE / "ID15457-SQL Server CMDshell enabled.evtx")
    enabled = events[0]
    assert enabled["event"]["code"] == "15457" and enabled["event"]["provider"] == "MSSQL$RADAR"
    assert enabled["winlog"]["event_data"]["param1"] == "xp_cmdshell"
    assert [enabled["winlog"]["event_data"][f"param{i}"] for i in (2, 3)] == ["0", "1"]
    assert "category" not in enabled["event"]


def test_damaged_evtx_chunk_is_reported(evtx_samples, tmp_path):
    data = bytearray(CLEAR_LOG.read_bytes())
    second = data.index(b"**\x00\x00", 0x1000 + 0x200 + 4)  # the second record's magic
    data[second:second + 4] = b"\x00" * 4
    path = tmp_path / "damaged.evtx"
    path.write_bytes(bytes(data))
    events, report = read_all(path)
    assert len(events) == 1                      # the parser stops silently at record 2
    assert report.unreadable == 27
    assert [p.location for p in report.problems] == ["records 2-28"]


def test_not_an_evtx_file(evtx_samples, tmp_path):
    path = tmp_path / "fake.evtx"
    path.write_text("hello")
    events, report = read_all(path)
    assert events == [] and report.unreadable == 1
    assert report.problems[0].message.startswith("not a readable EVTX file: ")


def test_gzipped_evtx(evtx_samples, tmp_path):
    path = tmp_path / "spool.evtx.gz"
    path.write_bytes(gzip.compress(PRINT_SPOOL.read_bytes()))
    events, report = read_all(path)
    assert report.ok and [e["process"]["name"] for e in events] == ["cmd.exe"]


def test_missing_evtx_package_names_the_extra(samples, tmp_path, monkeypatch):
    path = tmp_path / "x.evtx"
    shutil.copy(PRINT_SPOOL, path)
    monkeypatch.setitem(sys.modules, "evtx", None)   # makes "import evtx" fail
    with pytest.raises(EqlEventError, match=r"pip install 'eqlmini\[evtx\]'"):
        list(read_file(path))


def test_evtx_record_without_time_is_reported_not_raised(tmp_path):
    record = {"Event": {"System": {"EventID": 1, "Channel": "x"}}}
    path = write_lines(tmp_path / "r.ndjson", [json.dumps(record), '{"id": 2}'])
    events, report = read_all(path)
    assert events == [{"id": 2}]
    assert [p.location for p in report.problems] == ["line 1"]
    assert "TimeCreated" in report.problems[0].message


# ---------------------------------------------------------------- Sigma JSON vs EVTX

# The Sigma renderings trimmed trailing spaces (README); nothing else may differ.
SIGMA_TRIMMED = {
    "proc_creation_win_certutil_download": {(0, "process.parent.command_line")},
    "proc_creation_win_exploit_cve_2025_55182_susp_nodejs_server_child_process": set(),
    "proc_creation_win_findstr_security_keyword_lookup": {
        (0, "process.parent.command_line"), (1, "process.command_line")},
}


@pytest.mark.parametrize("folder", sorted(SIGMA_TRIMMED))
def test_sigma_json_agrees_with_evtx(evtx_samples, folder):
    (json_path,) = (SIGMA / folder).glob("*.json")
    (evtx_path,) = (SIGMA / folder).glob("*.evtx")
    from_json, json_report = read_all(json_path)
    from_evtx, evtx_report = read_all(evtx_path)
    assert json_report.ok and evtx_report.ok
    assert len(from_json) == len(from_evtx) > 0
    differences = set()
    for i, (a, b) in enumerate(zip(map(flatten, from_json), map(flatten, from_evtx))):
        assert a.keys() == b.keys()
        for key in a:
            if a[key] != b[key]:
                differences.add((i, key))
                assert a[key] == b[key].rstrip(" "), key
    assert differences == SIGMA_TRIMMED[folder]


# ---------------------------------------------------------------- winlogbeat golden pairs

_KEYWORD_BITS = {"Audit Success": 0x0020000000000000, "Audit Failure": 0x0010000000000000}
_LEVELS = {"critical": 1, "error": 2, "warning": 3, "information": 4, "verbose": 5}


def collection_to_evtx(document: dict) -> dict:
    """A winlogbeat collection document back into the ``evtx`` package's record shape.

    Uses only what an EVTX file holds: the rendered names winlogbeat adds (task, the
    user's name) are left out; keywords, level and opcode go back to their numbers.
    """
    winlog = document["winlog"]
    keywords = 0x8000000000000000
    for name in winlog.get("keywords", []):
        keywords |= _KEYWORD_BITS[name]
    system = {
        "Provider": {"#attributes": {"Name": winlog["provider_name"],
                                     "Guid": winlog["provider_guid"]}},
        "EventID": int(winlog["event_id"]),
        "Version": winlog.get("version"),
        "Level": _LEVELS[document["log"]["level"]],
        "Opcode": {"Info": 0}[winlog["opcode"]],
        "Keywords": hex(keywords),
        "TimeCreated": {"#attributes": {"SystemTime": document["@timestamp"]}},
        "EventRecordID": winlog["record_id"],
        "Execution": {"#attributes": {"ProcessID": winlog["process"]["pid"],
                                      "ThreadID": winlog["process"]["thread"]["id"]}},
        "Channel": winlog["channel"],
        "Computer": winlog["computer_name"],
        "Security": ({"#attributes": {"UserID": winlog["user"]["identifier"]}}
                     if "user" in winlog else None),
    }
    return {"Event": {"System": system, "EventData": dict(winlog["event_data"])}}


# Golden fields evtx_to_ecs deliberately does not produce, and why.
NOT_PRODUCED = {
    "message": "rendered from the provider's message template on the collecting host; "
               "an EVTX file holds only the event data",
    "ecs.version": "eqlmini does not claim an ECS version",
    "winlog.task": "task names come from the provider manifest; EVTX holds the number",
    "winlog.user.name": "SID lookup on the collecting host",
    "winlog.user.domain": "SID lookup on the collecting host",
    "winlog.user.type": "SID lookup on the collecting host",
    "event.ingested": "time of the ingest run",
    "winlog.api": "the collector's API (wineventlog), not a property of the record",
}
# Fields evtx_to_ecs produces that some golden document lacks, and why.
EXTRA = {
    "host.os.type": "winlogbeat adds host.os from the collecting host, not the record; "
                    "every EVTX record is from Windows",
    "process.args_count": "the security pipeline omits it for 4688 (the sysmon one sets it); "
                          "ECS defines it as len(process.args)",
    "event.created": "Sysmon: the record's TimeCreated, which winlogbeat's sysmon pipeline "
                     "puts there from winlog.time_created, absent from this collection golden",
}
# Golden values that differ, and why (compared case-insensitively instead).
CASE_ONLY = {
    "winlog.provider_guid": "the ECS 1.12 pipeline of the 4689 golden lower-cased GUIDs; "
                            "the collection and the 8.x goldens keep upper case",
}


def golden_pairs() -> list:
    if not (GOLDEN / "collection").is_dir():
        return [pytest.param(None, None, marks=pytest.mark.skip(
            reason=f"{GOLDEN} not found (the project root's sibling ../shared/samples)"))]
    pairs = []
    for path in sorted((GOLDEN / "collection").glob("*.evtx.golden.json")):
        ingest = GOLDEN / "ingest" / path.name.replace(".evtx.golden.json", ".golden.json")
        collected, expected = json.loads(path.read_text()), json.loads(ingest.read_text())
        assert len(collected) == len(expected)
        pairs += [pytest.param(c, e, id=f"{path.name.split('.')[0]}-{i}")
                  for i, (c, e) in enumerate(zip(collected, expected))]
    return pairs


@pytest.mark.parametrize("collected,expected", golden_pairs())
def test_winlogbeat_golden_field_by_field(collected, expected):
    ours = flatten(evtx_to_ecs(collection_to_evtx(collected)))
    golden = flatten(expected)
    for field, value in ours.items():
        if field not in golden:
            assert field in EXTRA, f"{field}={value!r} is not in the golden document"
        elif field in CASE_ONLY:
            assert str(value).lower() == str(golden[field]).lower(), field
        else:
            assert value == golden[field], field
    missing = set(golden) - set(ours)
    assert missing <= set(NOT_PRODUCED), missing - set(NOT_PRODUCED)


def test_golden_process_starts_are_mapped(samples):
    sysmon = json.loads((GOLDEN / "collection" / "sysmon-12-processcreate.evtx.golden.json")
                        .read_text())[0]
    event = evtx_to_ecs(collection_to_evtx(sysmon))
    assert event["@timestamp"] == "2020-10-27T20:00:14.320Z"        # Sysmon UtcTime
    assert event["event"]["created"] == "2020-10-27T20:00:14.3242341Z"   # TimeCreated
    assert event["process"]["args"] == ["C:\\Windows\\system32\\notepad.exe"]
    assert event["process"]["hash"] == {"sha1": "b6d237154f2e528f0b503b58b025862d66b02b73"}
    security = json.loads((GOLDEN / "collection" /
                           "security-windows2019_4688_Process_Created.evtx.golden.json")
                          .read_text())[0]
    event = evtx_to_ecs(collection_to_evtx(security))
    assert (event["process"]["pid"], event["process"]["parent"]["pid"]) == (4556, 4652)
    assert event["process"]["args"] == ['"C:\\Windows\\system32\\wevtutil.exe"', "cl", "Security"]


def test_evtx_to_ecs_accepts_a_records_json_item():
    data = {"Event": {"System": {
        "EventID": 4688, "Channel": "Security", "Computer": "h",
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
        "TimeCreated": {"#attributes": {"SystemTime": "2020-01-02T03:04:05.123456Z"}}},
        "EventData": {"NewProcessId": "0x10", "NewProcessName": "C:\\x\\a b.exe",
                      "CommandLine": '"C:\\x\\a b.exe" /c "echo a >> b & c"'}}}
    event = evtx_to_ecs({"event_record_id": 1, "timestamp": "x", "data": json.dumps(data)})
    assert event["process"]["args"] == ['"C:\\x\\a b.exe"', "/c", "echo a >> b & c"]
    assert event["process"]["pid"] == 16 and "parent" not in event["process"]
    with pytest.raises(EqlEventError):
        evtx_to_ecs({"Event": {}})


# ---------------------------------------------------------------- odd EVTX-shaped records

def _system(event_id: object, channel: str, provider: str) -> dict:
    return {"EventID": event_id, "Channel": channel, "Computer": "host", "Version": 5,
            "Level": 4, "Opcode": 0, "Keywords": "0x8020000000000000", "EventRecordID": 7,
            "Provider": {"#attributes": {"Name": provider,
                                         "Guid": "54849625-5478-4994-A5BA-3E3B0328C30D"}},
            "TimeCreated": {"#attributes": {"SystemTime": "2020-01-01T00:00:00.1234567Z"}},
            "Execution": {"#attributes": {"ProcessID": 4, "ThreadID": 8}},
            "Security": {"#attributes": {"UserID": "S-1-5-18"}},
            "Correlation": {"#attributes": {"ActivityID": "54849625-5478-4994-A5BA-3E3B0328C30D"}}}


SECURITY = ("Security", "Microsoft-Windows-Security-Auditing")
SYSMON = ("Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon")
# Records of each mapped shape: the base of the mutation test below.
EVTX_SHAPED = [
    {"Event": {"System": _system(4624, *SECURITY), "EventData": {
        "TargetUserName": "bob@corp", "TargetDomainName": "CORP", "TargetUserSid": "S-1-5-21-1",
        "TargetLogonId": "0x3e7", "LogonType": "3", "IpAddress": "::ffff:10.0.0.1",
        "IpPort": "445", "WorkstationName": "WS1", "ProcessId": "0x1f4",
        "ProcessName": "C:\\Windows\\System32\\lsass.exe"}}},
    {"Event": {"System": _system({"#text": 4688, "#attributes": {"Qualifiers": 0}}, *SECURITY),
               "EventData": {"NewProcessId": "0x11cc", "NewProcessName": "C:\\x\\a.exe",
                             "ProcessId": "0x122c", "ParentProcessName": "C:\\x\\p.exe",
                             "CommandLine": '"C:\\x\\a.exe" /c b', "SubjectUserName": "u",
                             "SubjectLogonId": "0x1", "TargetUserName": "-"}}},
    {"Event": {"System": _system(1, *SYSMON), "EventData": {
        "UtcTime": "2020-01-01 00:00:00.123",
        "ProcessGuid": "{11111111-2222-3333-4444-555555555555}",
        "ProcessId": "42", "Image": "C:\\x\\cmd.exe", "CommandLine": "cmd /c x",
        "ParentImage": "C:\\x\\p.exe", "ParentCommandLine": "p", "User": "CORP\\bob",
        "Hashes": "SHA1=AB,MD5=CD,IMPHASH=EF", "RuleName": "-", "OriginalFileName": "Cmd.Exe"}}},
    {"Event": {"System": _system(3, *SYSMON), "EventData": {
        "SourceIp": "10.0.0.1", "DestinationIp": "10.0.0.2", "SourcePort": "1",
        "DestinationPort": "2", "Initiated": "true", "SourceIsIpv6": "false",
        "DestinationPortName": "http"}}},
    {"Event": {"System": _system(13, *SYSMON), "EventData": {
        "TargetObject": "HKLM\\x\\y", "Details": "DWORD (0x00000001)"}}},
    {"Event": {"System": _system(7045, "System", "Service Control Manager"),
               "EventData": {"Data": {"#text": ["a", 1, None]}},
               "UserData": {"Thing": {"#attributes": {}, "A": 1, "B": {"#text": "b"}}}}},
]
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "-", "x", "0x", "2020-01-01T00:00:00+99:99", "0001-01-01T00:00:00+01:00"]),
    st.lists(st.one_of(st.integers(), st.text(max_size=3), st.none()), max_size=3),
    st.dictionaries(st.sampled_from(["#text", "#attributes", "x"]),
                    st.one_of(st.integers(), st.text(max_size=3), st.none(), st.lists(st.none())),
                    max_size=2))


def _paths(node: object, prefix: tuple = ()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))


@st.composite
def mutated_records(draw) -> dict:
    """A record of EVTX_SHAPED with a few values anywhere replaced by odd ones."""
    record = copy.deepcopy(draw(st.sampled_from(EVTX_SHAPED)))
    for path in draw(st.lists(st.sampled_from(list(_paths(record))), min_size=1, max_size=4)):
        node = record
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node[path[-1]] = draw(ODD_VALUES)
    return record


@pytest.mark.parametrize("record", EVTX_SHAPED, ids=lambda r: r["Event"]["System"]["Channel"])
def test_the_mutation_bases_map_cleanly(record):
    event = evtx_to_ecs(record)
    assert event["@timestamp"] == "2020-01-01T00:00:00.1234567Z" or event["event"]["created"]
    json.dumps(event, allow_nan=False)


@pytest.mark.parametrize("system,event_data", [
    ({}, {"TargetUserName": ["a"]}),                              # the reviewer's record
    ({"Opcode": {"#text": 1}}, {}), ({"Level": {"x": 1}}, {}), ({"Level": [4]}, {}),
    ({}, {"LogonType": ["3"]}), ({}, {"IpAddress": ["10.0.0.1"]}),
    ({}, {"TargetDomainName": {"a": 1}, "TargetUserSid": [1], "WorkstationName": [None]}),
    ({"Computer": ["h"], "Channel": {"#text": "Security"}, "EventRecordID": [1]}, {}),
    ({"Security": {"#attributes": {"UserID": ["S-1"]}}}, {}),
])
def test_odd_values_in_evtx_shaped_json_are_mapped_not_raised(tmp_path, system, event_data):
    record = copy.deepcopy(EVTX_SHAPED[0])
    record["Event"]["System"].update(system)
    record["Event"]["EventData"].update(event_data)
    event = evtx_to_ecs(record)
    json.dumps(event, allow_nan=False)
    path = write_lines(tmp_path / "r.ndjson", [json.dumps(record), '{"id": 2}'])
    events, report = read_all(path)
    assert len(events) == 2 and report.ok


@pytest.mark.parametrize("system,message", [
    ({"EventID": {"#text": [4624]}}, "unusable System/EventID"),
    ({"TimeCreated": {"#attributes": {"SystemTime": "0001-01-01T00:30:00+01:00"}}},
     "TimeCreated"),
    ({"TimeCreated": {"#attributes": {"SystemTime": "2020-01-01T00:00:00+99:99"}}},
     "TimeCreated"),
])
def test_unusable_system_values_are_event_errors(system, message):
    record = copy.deepcopy(EVTX_SHAPED[0])
    record["Event"]["System"].update(system)
    with pytest.raises(EqlEventError, match=message):
        evtx_to_ecs(record)


def test_a_mapping_bug_is_reported_and_the_scan_goes_on(tmp_path, monkeypatch):
    def broken(record):
        raise KeyError("Opcode")
    monkeypatch.setattr(reader, "evtx_to_ecs", broken)
    path = write_lines(tmp_path / "r.ndjson", [json.dumps(EVTX_SHAPED[0]), '{"id": 2}'])
    events, report = read_all(path)
    assert events == [{"id": 2}]
    assert [(p.location, p.message) for p in report.problems] == [
        ("line 1", "cannot map the EVTX record to ECS: KeyError: 'Opcode'")]
    assert report.unreadable == 1


@settings(max_examples=int(os.environ.get("EQLMINI_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(mutated_records(), min_size=1, max_size=4))
def test_mutated_evtx_records_never_escape_the_reader(tmp_path, records):
    for record in records:
        with contextlib.suppress(EqlEventError):      # any other exception fails the test
            json.dumps(evtx_to_ecs(record), allow_nan=False)
    path = write_lines(tmp_path / "mutated.ndjson", [json.dumps(r) for r in records])
    events, report = read_all(path)
    assert report.events + report.unreadable == len(records) == len(events) + report.unreadable
    json.dumps(events, allow_nan=False)


# ---------------------------------------------------------------- command lines

@pytest.mark.parametrize("text,expected", [
    ('cmd.exe /c "echo a >> b & c"', ["cmd.exe", "/c", "echo a >> b & c"]),
    ("cmd.exe /c echo a >> b & c | d", ["cmd.exe", "/c", "echo", "a", ">>", "b", "&", "c", "|", "d"]),
    ("", []),
    (" ", [""]),                                      # leading blank: empty program name
    ("a", ["a"]),
    ("a  \t b ", ["a", "b"]),
    ('"C:\\Program Files\\x.exe" -p', ["C:\\Program Files\\x.exe", "-p"]),
    ('"C:\\dir\\" arg', ["C:\\dir\\", "arg"]),        # program name: backslashes literal
    ('"a b"c d', ["a b", "c", "d"]),                  # program name ends at its quote
    ('C:\\a"b c', ['C:\\a"b', "c"]),                  # unquoted program name keeps quotes
    ('x "a b" c', ["x", "a b", "c"]),
    ('x a"b c"d', ["x", "ab cd"]),
    ('x a\\\\"b c" d', ["x", "a\\b c", "d"]),          # 2n backslashes + quote
    ('x a\\"b c', ["x", 'a"b', "c"]),                 # 2n+1 backslashes + quote
    ('x a\\\\\\"b', ["x", 'a\\"b']),                  # 3 backslashes + quote
    ('x a\\\\b c\\', ["x", "a\\\\b", "c\\"]),          # backslashes without quote: literal
    ('x "a""b c"', ["x", 'a"b', "c"]),                # "" in quotes: quote, and quotes end
    ('x """a"""', ["x", '"a"']),
    ('x ""', ["x", ""]),                              # empty argument
    ('x "" y', ["x", "", "y"]),
    ('x "unbalanced quote', ["x", "unbalanced quote"]),
    ('"unbalanced program', ["unbalanced program"]),
    ('x a"', ["x", "a"]),
    ("x ^& %PATH% ; 'a b'", ["x", "^&", "%PATH%", ";", "'a", "b'"]),
])
def test_split_command_line(text, expected):
    assert split_command_line(text) == expected


@pytest.mark.parametrize("text,expected", [
    ('"C:\\Windows\\system32\\wevtutil.exe" cl Security',
     ['"C:\\Windows\\system32\\wevtutil.exe"', "cl", "Security"]),
    ("C:\\x.exe a", ["C:\\x.exe", "a"]),
    ('"C:\\x y.exe"z "a b"', ['"C:\\x y.exe"', "z", "a b"]),
    ('"unbalanced', ['"unbalanced']),
])
def test_split_command_line_keeping_program_quotes(text, expected):
    assert split_command_line(text, keep_program_quotes=True) == expected
