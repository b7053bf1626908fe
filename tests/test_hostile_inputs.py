"""Hostile event files (issue 8, part 2, items 5, 6 and 8): time linear in the damage, every
lost record counted, and bounds on one line or document that report and carry on."""

from __future__ import annotations

import json
import os
import time
import tracemalloc
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eqlmini import limits
from eqlmini.inputs import ReadReport, json_files, read_events, read_file


def read_all(paths, **options) -> tuple[list[dict], ReadReport]:
    report = ReadReport()
    return list(read_events(paths, report=report, **options)), report


def _seconds(path: Path) -> float:
    started = time.perf_counter()
    read_all(path)
    return time.perf_counter() - started


# ---------------------------------------------------------------- item 5: linear time

@pytest.mark.parametrize("bad", ["x", '{"b": x}', '{"b": "x}'])
def test_many_malformed_elements_cost_linear_time(tmp_path, bad):
    # 16,000 bad elements in a pretty-printed array took 90 s (each resynchronisation
    # scanned the rest of the file). Compared with reading as many good lines, in this run.
    count = 16_000
    damaged = tmp_path / "bad.json"
    damaged.write_text("[\n" + ",\n".join([bad] * count) + "\n]\n")
    good = tmp_path / "good.json"
    good.write_text("[\n" + ",\n".join(['{"b": 1}'] * count) + "\n]\n")
    events, report = read_all(damaged)
    assert events == [] and report.unreadable == count
    assert _seconds(damaged) < 20 * max(_seconds(good), 0.05)


# ---------------------------------------------------------------- item 6: exact counts

@pytest.mark.parametrize("name", ["events.ndjson", "events.json", "events.log"])
def test_a_nul_byte_costs_its_line_not_the_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b'{"id": 1}\n{"id": 2, "x": "a\x00b"}\n{"id": 3}\n')
    events, report = read_all(path)
    assert [e["id"] for e in events] == [1, 3]
    assert [p.location for p in report.problems] == ["line 2"]
    assert report.unreadable == 1


def test_utf16_text_is_named(tmp_path):
    path = tmp_path / "events.ndjson"
    path.write_bytes('{"id": 1}\n'.encode("utf-16-le"))
    events, report = read_all(path)
    assert events == [] and report.unreadable == 1
    assert report.problems[0].message.startswith("UTF-16 text, not UTF-8")


@pytest.mark.parametrize("text,ids,lost", [
    # a string left open: the rest of the line reads "inside out"; the events after it survive
    ('[{"id":1},{"id":2,"s":"x},{"id":3},{"id":4}]', [1, 3, 4], 1),
    ('[{"id":1},{"id":2,"s":"x},{"id":3,"s":"y},{"id":4}]', [1, 4], 2),
    # a closing brace lost: the next event is read all the same
    ('[{"id":1},{"id":2,"s":"x",{"id":3},{"id":4}]', [1, 3, 4], 1),
    ('[\n  {"id": 1},\n  {"id": 2, "x": [1,\n  {"id": 3},\n  {"id": 4}\n]\n', [1, 3, 4], 1),
    # the first event is the bad one: the next is known by its place and its keys
    ('[{"id":1,"s":"x",{"id":2},{"id":3}]', [2, 3], 1),
    # objects one after another
    ('{"id":1}\n{"id":2,"s":"x}\n{"id":3}\n', [1, 3], 1),
    ('{"id":1} {"id":2,"s":"x} {"id":3}', [1, 3], 1),
])
def test_every_lost_record_is_counted(tmp_path, text, ids, lost):
    path = tmp_path / "events.json"
    path.write_text(text)
    events, report = read_all(path)
    assert [e["id"] for e in events] == ids
    assert report.unreadable == lost
    assert report.problems[0].message.startswith("invalid JSON")


def test_an_event_nested_in_a_bad_one_is_not_taken_for_one(tmp_path):
    path = tmp_path / "events.json"
    path.write_text('[{"id":1},{"id":2,"x":[{"k":1},{"k":2}],"y":},{"id":3}]')
    events, report = read_all(path)
    assert [e["id"] for e in events] == [1, 3] and report.unreadable == 1


# ---------------------------------------------------------------- item 8: size limits

def test_the_limits_are_named_defaults():
    assert limits.MAX_LINE_BYTES == 16 << 20
    assert limits.MAX_DOCUMENT_BYTES == 256 << 20


@pytest.mark.parametrize("name", ["events.ndjson", "events.log"])
def test_a_line_over_the_limit_is_reported_and_reading_goes_on(tmp_path, name):
    path = tmp_path / name
    path.write_text('{"id": 1}\n{"id": 2, "pad": "%s"}\n{"id": 3}\n' % ("x" * 500))
    events, report = read_all(path, max_line_bytes=100)
    assert [e["id"] for e in events] == [1, 3]
    assert report.unreadable == 1
    (problem,) = report.problems
    assert problem.location == "line 2"
    assert problem.message == ("the line is longer than 100 bytes, the limit "
                               "eqlmini.limits.MAX_LINE_BYTES: skipped")


def test_a_long_line_is_never_held_whole(tmp_path):
    # 8 MB in one line, read in 1 MiB chunks, with a 1 MB limit: memory stays near the limit
    path = tmp_path / "big.ndjson"
    with path.open("w") as out:
        out.write('{"id": 1}\n{"pad": "')
        for _ in range(8):
            out.write("y" * 1_000_000)
        out.write('"}\n{"id": 3}\n')
    tracemalloc.start()
    try:
        events, report = read_all(path, max_line_bytes=1_000_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [e["id"] for e in events] == [1, 3] and report.unreadable == 1
    assert report.problems[0].location == "line 2"
    assert peak < 6_000_000


def test_the_module_default_is_read_when_reading_starts(tmp_path, monkeypatch):
    path = tmp_path / "events.ndjson"
    path.write_text('{"id": 1, "pad": "%s"}\n{"id": 2}\n' % ("x" * 200))
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 100)
    events, report = read_all(path)
    assert [e["id"] for e in events] == [2] and report.unreadable == 1


def test_a_document_over_the_limit_is_reported_and_the_next_file_read(tmp_path):
    big = tmp_path / "big.json"
    big.write_text(json.dumps([{"id": n} for n in range(100)], indent=1))
    small = tmp_path / "small.json"
    small.write_text('[{"id": 7}]')
    events, report = read_all([big, small], max_document_bytes=500)
    assert events == [{"id": 7}]
    assert report.unreadable == 1
    (problem,) = report.problems
    assert (problem.source, problem.location) == (str(big), "file")
    assert "longer than 500 bytes, the limit eqlmini.limits.MAX_DOCUMENT_BYTES: not read" in problem.message


def test_a_one_line_document_over_the_limit(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps([{"id": n} for n in range(100)]))
    events, report = read_all(path, max_document_bytes=500)
    assert events == [] and report.unreadable == 1
    assert report.problems[0].message == ("the line is longer than 500 bytes, the limit "
                                          "eqlmini.limits.MAX_DOCUMENT_BYTES: skipped")


def test_a_json_file_of_ndjson_lines_takes_the_line_limit(tmp_path):
    path = tmp_path / "events.json"            # first line an object: read as NDJSON
    path.write_text('{"id": 1}\n{"id": 2, "pad": "%s"}\n{"id": 3}\n' % ("x" * 500))
    events, report = read_all(path, max_line_bytes=100)
    assert [e["id"] for e in events] == [1, 3]
    assert [p.location for p in report.problems] == ["line 2"]


def test_read_file_takes_the_limits_too(tmp_path):
    path = tmp_path / "events.ndjson"
    path.write_text('{"id": 1, "pad": "%s"}\n' % ("x" * 200))
    report = ReadReport()
    assert list(read_file(path, report=report, max_line_bytes=100)) == []
    assert report.unreadable == 1


# ---------------------------------------------------------------- the fast decoder changes nothing

SPECIAL_LINES = [b'{"a": NaN}', b'{"a": -Infinity}', b'{"a": 1e999}', b'{"a": 1E400, "b": 1}',
                 b'{"a": ' + b"9" * 5000 + b"}", b'{"a": ' + b"9" * 300 + b"}", b'{"a": -0.0, "b": 0.1e-400}',
                 b'{"a": 1, "b": 2, "a": 3}', b'{"a": "\xff\xfe"}', b'{"a": "\xed\xa0\x80"}', b'{"a": "\\ud800"}',
                 b'{"a": "\\udc00\\ud800x"}', b'\xef\xbb\xbf{"a": 1}', b'{"a": 1} x', b"\x0c{\"a\": 1}",
                 "\u00a0{\"a\": 1}".encode(), b'{"Event": {"System": 1}}', b"[1, 2]", b'"x"', b"  ", b"",
                 b"\x0cnull", b"\x0c7", b'{"a": "\x00"}', b"{" * 3000 + b"}" * 3000, b'{"a": 12345678901234567890123}',
                 b'{"a": 1.7976931348623157e308, "b": 5e-324, "c": 2.2250738585072011e-308}']
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8)
lines = st.one_of(
    st.sampled_from(SPECIAL_LINES),
    st.builds(lambda value, ascii: json.dumps({"v": value}, ensure_ascii=ascii).encode(), json_values,
              st.booleans()),
    json_values.map(lambda value: json.dumps(value).encode()))


@settings(max_examples=int(os.environ.get("EQLMINI_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(lines, max_size=8))
def test_msgspec_decodes_exactly_as_pythons_json(tmp_path, monkeypatch, drawn):
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join(drawn) + b"\n")
    fast = read_all(path)
    with monkeypatch.context() as patch:
        patch.setattr(json_files, "_FAST", _refuse)          # every line through Python's json
        exact = read_all(path)
    assert repr(fast[0]) == repr(exact[0])                  # repr: -0.0, NaN-free floats, key order
    assert fast[1] == exact[1]


def _refuse(raw: bytes) -> object:
    raise msgspec.DecodeError("refused")


def test_records_after_a_run_of_unusable_ones_are_read(tmp_path, monkeypatch):
    # more unusable EVTX records in a row than one batch holds: the good one after them counts
    from eqlmini.inputs import reader

    path = tmp_path / "x.evtx"
    path.write_bytes(b"ElfFile\x00" + b"\x00" * 100)
    good = {"Event": {"System": {"EventID": 1, "TimeCreated": {"#attributes": {"SystemTime": "2024-01-01T00:00:00Z"}},
                                 "Channel": "Application", "Computer": "h", "Provider": {"#attributes": {"Name": "p"}}}}}
    records = [(f"record {n}", {"Event": {"System": {}}}) for n in range(600)] + [("record 600", good)]
    monkeypatch.setattr(reader, "read_evtx", lambda *_: iter(records))
    events, report = read_all(path)
    assert len(events) == 1 and report.unreadable == 600
