"""eqlmini.frames: what filter, search, scan and to_frame give back, and their errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import eqlmini
from eqlmini import frames
from eqlmini.frames.columns import Columns, Leaf, rows_where
from eqlmini.frames.tables import Table

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "xp_cmdshell_events.ndjson"
EVENTS = [json.loads(line) for line in EXAMPLE.read_text(encoding="utf-8").splitlines()]
XP = next(rule for rule in eqlmini.bundled_rules() if "xp_cmdshell" in rule.name)
XP_ROWS = [i for i, event in enumerate(EVENTS) if XP.query(event)]
SEQUENCE = eqlmini.compile("""
    sequence by host.name with maxspan=1m
      [process where process.name : "sqlservr.exe"]
      [process where process.name : "cmd.exe"]""")
MISSING = eqlmini.compile("""
    sequence by host.name with maxspan=5m
      [process where process.name : "sqlservr.exe"]
      ![process where process.name : "no-such.exe"]
      [process where process.name : "cmd.exe"]""")


def frame_of(kind: str, events: list[dict[str, Any]] = EVENTS) -> Any:
    """The example events as a frame: pandas flattened (dotted names), Polars and Arrow nested (structs)."""
    if kind == "pandas":
        return pd.json_normalize(events)
    polars = pl.DataFrame(events, infer_schema_length=None)
    return polars if kind == "polars" else polars.to_arrow()


def to_pandas(frame: Any) -> pd.DataFrame:
    return frame if isinstance(frame, pd.DataFrame) else frame.to_pandas()


def test_xp_cmdshell_has_matches_and_non_matches() -> None:
    assert 0 < len(XP_ROWS) < len(EVENTS)


# ------------------------------------------------------------------------------ filter
def test_filter_pandas_keeps_index_columns_and_types() -> None:
    frame = pd.json_normalize(EVENTS)
    frame.index = [f"event-{i}" for i in range(len(frame))]
    found = XP.query.filter(frame)
    assert isinstance(found, pd.DataFrame)
    assert list(found.index) == [f"event-{i}" for i in XP_ROWS]
    assert list(found.columns) == list(frame.columns)
    assert (found.dtypes == frame.dtypes).all()
    pd.testing.assert_frame_equal(found, frame.iloc[XP_ROWS])


@pytest.mark.parametrize("kind", ["polars", "arrow"])
def test_filter_struct_frames_keep_schema(kind: str) -> None:
    frame = frame_of(kind)
    found = XP.query.filter(frame)
    assert type(found) is type(frame)
    assert found.schema == frame.schema
    assert to_pandas(found)["@timestamp"].tolist() == [EVENTS[i]["@timestamp"] for i in XP_ROWS]


def test_filter_of_an_event_list_is_unchanged() -> None:
    found = XP.query.filter(EVENTS)
    assert not isinstance(found, (list, pd.DataFrame))  # still a lazy iterator
    assert list(found) == [EVENTS[i] for i in XP_ROWS]


def test_filter_rejects_a_sequence_as_the_dict_path_does() -> None:
    with pytest.raises(eqlmini.EqlError, match="use search"):
        SEQUENCE.filter(frame_of("pandas"))


def test_filter_empty_frame_and_no_match() -> None:
    frame = frame_of("pandas")
    assert XP.query.filter(frame.iloc[:0]).empty
    nothing = eqlmini.compile('process where process.name == "no-such.exe"')
    for kind in ("pandas", "polars", "arrow"):
        assert len(nothing.filter(frame_of(kind))) == 0


def spy_on_reads(monkeypatch: pytest.MonkeyPatch, frame: Any) -> list[tuple[str, ...]]:
    """A list that fills with (column, struct path...) for each column the frame path reads."""
    read: list[tuple[str, ...]] = []
    table = type(Table.of(frame))
    for method in ("values", "codes"):
        def spy(self: Table, position: int, path: tuple[str, ...] = (), rows: Any = None,
                original: Any = getattr(table, method)) -> Any:
            read.append((self.names[position], *path))
            return original(self, position, path, rows)
        monkeypatch.setattr(table, method, spy)
    return read


def test_filter_reads_only_the_columns_the_query_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    read = spy_on_reads(monkeypatch, frame := frame_of("pandas"))
    XP.query.filter(frame)
    assert {".".join(names) for names in read} == set(XP.query.fields)


@pytest.mark.parametrize("kind", ["polars", "arrow"])
def test_struct_columns_are_read_field_by_field(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    read = spy_on_reads(monkeypatch, frame := frame_of(kind))
    XP.query.filter(frame)
    assert set(read) == {tuple(field.split(".")) for field in XP.query.fields}


def test_a_leaf_runs_once_per_distinct_value() -> None:
    calls: list[Any] = []

    def match(event: dict[str, Any]) -> bool:
        calls.append(event["a"])
        return event["a"] == "x"
    frame = pd.DataFrame({"a": ["x", "y", "x", "y", "x"] * 200})
    rows = rows_where(Leaf(match, ("a",)), range(len(frame)), Columns(Table.of(frame)))
    assert rows == [i for i in range(1000) if i % 5 in (0, 2, 4)]
    assert sorted(calls) == ["x", "y"]


def test_values_python_treats_as_equal_are_told_apart() -> None:
    # 1 == 1.0 == True and 0.0 == -0.0 in Python, but not to a leaf: each is tested alone.
    values = [1, 1.0, True, "1", 0.0, -0.0, False, 0, math.nan, None, ["1"], [1], [True]]
    frame = pd.DataFrame({"a": values}, dtype=object)
    for text in ('a : "1"', 'a : "1.0"', 'a : "true"', 'a : "-0.0"', 'a : "0.0"', "a == 1", "a == true",
                 'a : "false"', "a == 0"):
        query = eqlmini.compile(f"any where {text}")
        expected = [i for i, value in enumerate(values) if query({"a": value})]
        assert list(query.filter(frame).index) == expected, text


def test_dotted_and_nested_columns_merge_as_in_elasticsearch() -> None:
    # `process.name` in a dotted column of one row and in an object column of another
    frame = pd.DataFrame({"process": [{"name": "cmd.exe"}, None, {"name": "a.exe"}],
                          "process.name": [None, "CMD.EXE", "cmd.exe"]})
    query = eqlmini.compile('any where process.name : "cmd.exe"')
    assert list(query.filter(frame).index) == [0, 1, 2]
    both = eqlmini.compile('any where process.name == "a.exe" and process.name == "cmd.exe"')
    assert list(both.filter(frame).index) == [2]


def test_list_cells_and_numpy_array_cells() -> None:
    frame = pd.DataFrame({"process.args": [["/c", "whoami"], np.array(["/c", "dir"], dtype=object), [], None]})
    query = eqlmini.compile('any where process.args : "whoami"')
    assert list(query.filter(frame).index) == [0]
    assert list(eqlmini.compile('any where process.args : "dir"').filter(frame).index) == [1]
    assert list(eqlmini.compile('any where process.args == null').filter(frame).index) == [2, 3]


def test_missing_values_are_null() -> None:
    frame = pd.json_normalize([{"a": "x"}, {"b": 1}, {"a": None}])
    assert list(eqlmini.compile("any where a == null").filter(frame).index) == [1, 2]
    assert list(eqlmini.compile('any where a : "*"').filter(frame).index) == [0]
    assert list(eqlmini.compile('any where not a : "x"').filter(frame).index) == [1, 2]


def test_duplicate_column_names_are_an_error() -> None:
    frame = pd.DataFrame([["x", "y"]], columns=["a", "a"])
    with pytest.raises(eqlmini.EqlError, match="several columns named 'a'"):
        eqlmini.compile('any where a == "x"').filter(frame)


# ------------------------------------------------------------------------------ search
@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow"])
def test_search_gives_results_as_a_frame(kind: str) -> None:
    found = to_pandas(SEQUENCE.search(frame_of(kind)))
    expected = list(SEQUENCE.search(EVENTS))
    assert found["result"].tolist() == [n for n, result in enumerate(expected) for _ in result.events]
    assert found["stage"].tolist() == [stage for result in expected for stage in range(len(result.events))]
    assert found["join_key_0"].tolist() == [result.join_keys[0] for result in expected for _ in result.events]
    assert found["row"].tolist() == [EVENTS.index(event) for result in expected for event in result.events]
    assert list(found.columns[:5]) == ["result", "stage", "join_key_0", "row", "@timestamp"]
    assert len(found) > 0


def test_search_marks_missing_events_with_null_rows() -> None:
    found = MISSING.search(frame_of("polars"))
    expected = list(MISSING.search(EVENTS))
    assert expected and any(isinstance(event, eqlmini.MissingEvent) for event in expected[0].events)
    rows = found["row"].to_list()
    assert rows == [None if isinstance(event, eqlmini.MissingEvent) else EVENTS.index(event)
                    for result in expected for event in result.events]
    missing = found.filter(pl.col("row").is_null())
    assert missing["@timestamp"].null_count() == len(missing) > 0


def test_search_event_query_applies_pipes() -> None:
    query = eqlmini.compile('process where process.name : "cmd.exe" | tail 2')
    found = query.search(frame_of("pandas"))
    expected = list(query.search(EVENTS))
    assert found["row"].tolist() == [EVENTS.index(result.events[0]) for result in expected]
    assert len(found) == 2


def test_search_reports_rows_with_no_place_in_time() -> None:
    frame = pd.DataFrame({"@timestamp": [1, None, 3], "event.category": ["process"] * 3})
    query = eqlmini.compile("process where true")
    with pytest.raises(eqlmini.EqlEventError):
        query.search(frame)
    heard: list[int] = []
    found = query.search(frame, on_error=lambda position, event, error: heard.append(position))
    assert heard == [1]
    assert found["row"].tolist() == [0, 2]


def test_search_checks_the_time_of_rows_no_stage_matches() -> None:
    # Only rows some stage matches reach the engine, but every row must have a place in time.
    frame = pd.DataFrame({"@timestamp": [1, "soon", 3, 4], "event.category": ["process", "file", "process", "file"]})
    query = eqlmini.compile("sequence [process where true] [process where true]")
    events = frame.to_dict("records")
    with pytest.raises(eqlmini.EqlEventError) as expected:
        list(query.search(events))
    with pytest.raises(eqlmini.EqlEventError) as got:
        query.search(frame)
    assert str(got.value) == str(expected.value)
    heard: list[int] = []
    found = query.search(frame, on_error=lambda position, event, error: heard.append(position))
    assert heard == [1] and found["row"].tolist() == [0, 2]


def test_search_columns_clash_is_an_error() -> None:
    frame = pd.DataFrame({"@timestamp": [1], "stage": ["prod"]})
    with pytest.raises(eqlmini.EqlError, match="stage"):
        eqlmini.compile("any where true").search(frame)


# ------------------------------------------------------------------------------ scan
@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow"])
def test_scan_gives_alerts_as_a_frame(kind: str) -> None:
    rules = eqlmini.RuleSet([XP, eqlmini.Rule("sql then cmd", SEQUENCE.text, severity="low")])
    found = to_pandas(rules.scan(frame_of(kind)))
    expected = list(rules.scan(EVENTS))
    key = lambda alert: (alert.rule.name, tuple(EVENTS.index(event) for event in alert.events))  # noqa: E731
    got = {(name, tuple(group["row"])) for (_, name), group in found.groupby(["alert", "rule_name"])}
    assert got == set(map(key, expected))
    assert found.groupby("alert").ngroups == len(expected)
    xp = found[found["rule_name"] == XP.name]
    assert xp["row"].tolist() == XP_ROWS  # event rules first, in row order
    assert set(xp["severity"]) == {"high"} and set(xp["risk_score"]) == {73} and set(xp["rule_id"]) == {XP.rule_id}


@pytest.mark.parametrize("kind", ["polars", "arrow"])
def test_scan_join_keys_of_several_types_become_text(kind: str) -> None:
    rules = eqlmini.RuleSet([eqlmini.Rule("by host", "sequence by host [any where true] [any where true]"),
                             eqlmini.Rule("by pid", "sequence by pid [any where true] [any where true]")])
    frame = pl.DataFrame({"@timestamp": [1, 2], "host": ["h", "h"], "pid": [7, 7]})
    found = to_pandas(rules.scan(frame if kind == "polars" else frame.to_arrow()))
    assert found.groupby("rule_name")["join_key_0"].first().to_dict() == {"by host": "h", "by pid": "7"}
    assert list(to_pandas(rules.scan(frame.to_pandas()))["join_key_0"]) == ["h", "h", 7, 7]  # pandas keeps types


def test_scan_without_matches_has_the_alert_columns() -> None:
    found = eqlmini.RuleSet([XP]).scan(frame_of("pandas").iloc[:2])
    assert found.empty
    assert list(found.columns[:7]) == ["alert", "rule_name", "rule_id", "severity", "risk_score", "stage", "row"]


# ------------------------------------------------------------------------------ to_frame
@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow"])
def test_to_frame_from_results(kind: str) -> None:
    found = frames.to_frame(SEQUENCE.search(EVENTS), kind=kind)
    assert frames.kind_of(found) == kind
    found = to_pandas(found)
    expected = list(SEQUENCE.search(EVENTS))
    assert found["process.name"].tolist() == [e["process"]["name"] for r in expected for e in r.events]
    assert found["process.parent.name"].tolist() == [e["process"]["parent"]["name"] for r in expected for e in r.events]
    assert "row" not in found.columns


def test_to_frame_from_alerts_and_missing_events() -> None:
    alerts = list(eqlmini.RuleSet([XP]).scan(EVENTS))
    found = frames.to_frame(alerts)
    assert found["rule_name"].tolist() == [XP.name] * len(XP_ROWS)
    assert found["@timestamp"].tolist() == [EVENTS[i]["@timestamp"] for i in XP_ROWS]
    found = frames.to_frame(MISSING.search(EVENTS), kind="polars")
    assert found.filter(pl.col("stage") == 1)["@timestamp"].null_count() == found.filter(pl.col("stage") == 1).height


def test_to_frame_flattens_like_json_normalize() -> None:
    events = [{"a": {"b": 1, "c": {"d": [1, 2]}}, "e": {}}, {"a.b": 2}]
    found = frames.to_frame([eqlmini.Result((event,), ()) for event in events])
    assert found[["a.b", "a.c.d"]].to_dict("list") == {"a.b": [1, 2], "a.c.d": [[1, 2], None]}
    assert "e" not in found.columns
    merged = frames.output.flatten({"a": {"b": 1}, "a.b": 2})
    assert merged == {"a.b": [1, 2]}


def test_to_frame_errors() -> None:
    with pytest.raises(eqlmini.EqlError, match="unknown frame kind"):
        frames.to_frame([], kind="excel")
    with pytest.raises(eqlmini.EqlError, match="results or alerts"):
        frames.to_frame([{"a": 1}])
    with pytest.raises(eqlmini.EqlError, match="Arrow"):
        frames.to_frame([eqlmini.Result(({"a": 1},), ()), eqlmini.Result(({"a": "x"},), ())], kind="arrow")


# ------------------------------------------------------------------------------ imports
def test_the_frames_functions_want_frames() -> None:
    with pytest.raises(eqlmini.EqlError, match="not a frame: list"):
        frames.filter(XP.query, EVENTS)


def test_kind_of_needs_no_import() -> None:
    assert frames.kind_of(pd.DataFrame()) == "pandas"
    assert frames.kind_of(pl.DataFrame()) == "polars"
    assert frames.kind_of(pa.table({})) == "arrow"
    assert frames.kind_of([]) is None and frames.kind_of(pd.Series(dtype=object)) is None


def test_import_eqlmini_imports_no_frame_library() -> None:
    code = ("import sys, eqlmini, eqlmini.frames; "
            "print(sorted(m for m in ('pandas', 'polars', 'pyarrow', 'duckdb', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
