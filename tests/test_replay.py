"""Replay: Kibana's scheduled runs over hand-made timelines whose answer is known."""

from __future__ import annotations

import csv
import doctest
import importlib
import io
import json
from datetime import datetime, timedelta, timezone

import pytest

import eqlmini
import eqlmini.inputs
from eqlmini.cli import main
from eqlmini import Rule, RuleError
from eqlmini.replay import Schedule, changed, iso
from eqlmini.replay.output import summary_lines, write
from eqlmini.replay.timing import duration_millis, offset_millis

from conftest import SHARED, require

NOON = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
MSSQL = SHARED / "samples" / "EVTX-to-MITRE-Attack" / "ID4688-SQL Server payload injectection for reverse shell (MSF).evtx"


def at(minutes: float) -> str:
    """12:00 UTC plus ``minutes``, as ISO text."""
    return (NOON + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ms(minutes: float) -> int:
    return round((NOON + timedelta(minutes=minutes)).timestamp() * 1000)


def event(minutes: float, name: str = "cmd.exe", host: str | None = "a", ingested: float | None = None) -> dict:
    found: dict = {"@timestamp": at(minutes), "event": {"category": "process"}, "process": {"name": name}}
    if host is not None:
        found["host"] = {"name": host, "id": host}
    if ingested is not None:
        found["event"]["ingested"] = at(ingested)
    return found


def rule(query: str = 'process where process.name == "cmd.exe"', **metadata) -> Rule:
    metadata.setdefault("interval", "5m")
    metadata.setdefault("from_", "now-9m")
    return Rule(metadata.pop("name", "test rule"), query, **metadata)


def runs(result) -> list[tuple]:
    """(minutes after noon, results, new, duplicates) for each search."""
    return [((e.started - ms(0)) / 60_000, e.results, len(e.created), e.duplicates) for e in result.executions]


def test_overlapping_runs_raise_one_alert_per_event():
    result = eqlmini.replay(rule(), [event(1), event(6)], start=at(0))
    assert runs(result) == [(0, 0, 0, 0), (5, 1, 1, 0), (10, 2, 1, 1), (15, 1, 0, 1)]
    assert [(iso(a.time), a.delay) for a in result.alerts] == [(at(5)[:23] + "Z", 4 * 60_000),
                                                              (at(10)[:23] + "Z", 4 * 60_000)]
    assert result.missed == [] and result.rules[0].unexpected == []
    summary = result.summary()["rules"][0]
    assert (summary["alerts"], summary["duplicates"], summary["scanned"]) == (2, 2, 2)


def test_a_burst_over_max_signals_is_cut_and_the_rest_is_missed():
    burst = [event(1 + i / 60) for i in range(5)]           # 12:01:00 .. 12:01:04
    result = eqlmini.replay(rule(max_signals=3), burst, start=at(0))
    assert runs(result) == [(0, 0, 0, 0), (5, 3, 3, 0), (10, 3, 0, 3)]
    assert [e.matches for e in result.executions] == [0, 5, 5]
    assert [e.truncated for e in result.executions] == [False, True, True]
    assert [a.documents for a in result.alerts] == [(0,), (1,), (2,)]  # the first three, in time order
    assert [(m.documents, m.reason) for m in result.missed] == [((3,), "truncated"), ((4,), "truncated")]


def test_a_truncated_run_only_delays_matches_a_later_window_holds_alone():
    events = [event(1), event(1.1), event(1.2), event(9), event(9.1)]
    result = eqlmini.replay(rule(max_signals=3), events, start=at(0))
    assert runs(result) == [(0, 0, 0, 0), (5, 3, 3, 0), (10, 3, 0, 3), (15, 2, 2, 0)]
    assert result.executions[2].matches == 5
    assert result.missed == []
    assert [a.delay for a in result.alerts][-2:] == [6 * 60_000, 5.9 * 60_000]


SEQUENCE = """sequence by host.id with maxspan=15m
  [process where process.name == "sqlservr.exe"]
  [process where process.name == "cmd.exe"]"""


def test_a_sequence_longer_than_a_window_is_missed_and_one_that_fits_is_alerted_once():
    events = [event(0.5, "sqlservr.exe"), event(9.75),             # 9m15s apart: no 9-minute window holds both
              event(21.5, "sqlservr.exe", host="b"), event(22, host="b")]
    result = eqlmini.replay(rule(SEQUENCE), events, start=at(0))
    full = list(eqlmini.compile(SEQUENCE).search(events))
    assert len(full) == 2
    assert [(m.documents, m.reason) for m in result.missed] == [((0, 1), "split")]
    [alert] = result.alerts
    assert (alert.documents, alert.building_blocks, iso(alert.time)) == ((2, 3), 2, "2024-05-01T12:25:00.000Z")
    assert sum(e.duplicates for e in result.executions) == 1    # the 12:30 run finds it again: a duplicate


def test_timestamp_override_places_late_events_by_their_arrival():
    late = event(4, ingested=12)              # happened at 12:04, arrived at 12:12
    plain = event(2)                          # no event.ingested: arrives and is placed at @timestamp
    with_override = eqlmini.replay(rule(timestamp_override="event.ingested"), [late, plain], start=at(0))
    assert [(a.documents, iso(a.time), a.delay) for a in with_override.alerts] == [
        ((1,), "2024-05-01T12:05:00.000Z", 3 * 60_000), ((0,), "2024-05-01T12:15:00.000Z", 11 * 60_000)]
    assert with_override.missed == []
    without = eqlmini.replay(rule(), [late, plain], start=at(0))
    assert [a.documents for a in without.alerts] == [(1,)]
    assert [(m.documents, m.reason) for m in without.missed] == [((0,), "late")]


def test_without_fallback_an_event_lacking_the_override_field_is_never_searched():
    strict = rule(timestamp_override="event.ingested", extra={"timestamp_override_fallback_disabled": True})
    result = eqlmini.replay(strict, [event(4, ingested=5), event(2)], start=at(0))
    assert [a.documents for a in result.alerts] == [(0,)]
    assert [(m.documents, m.reason) for m in result.missed] == [((1,), "no time")]
    assert result.unplaced == 1


def test_a_simulated_delay_shows_what_late_data_does():
    events = [event(4)]
    without_override = eqlmini.replay(rule(), events, start=at(0), delay="7m")
    assert without_override.alerts == [] and [m.reason for m in without_override.missed] == ["late"]
    with_override = eqlmini.replay(rule(timestamp_override="event.ingested"), events, start=at(0), delay="7m")
    assert [iso(a.time) for a in with_override.alerts] == ["2024-05-01T12:15:00.000Z"]
    # A range is drawn per event, the same for the same seed.
    spread = [event(m) for m in range(1, 60, 3)]
    first = eqlmini.replay(rule(), spread, start=at(0), delay="1m..8m", seed=7)
    again = eqlmini.replay(rule(), spread, start=at(0), delay=("1m", "8m"), seed=7)
    assert [m.documents for m in first.missed] == [m.documents for m in again.missed] != []
    assert {m.reason for m in first.missed} == {"late"}


def suppressed(duration: dict | None = None, **more) -> Rule:
    table = {"group_by": ["host.name"], **({"duration": duration} if duration else {}), **more}
    return rule(extra={"alert_suppression": table})


BURSTS = [event(1), event(2), event(3, host="b"), event(7), event(38)]


def test_suppression_for_a_duration_counts_a_group_into_its_first_alert():
    result = eqlmini.replay(suppressed({"value": 30, "unit": "m"}), BURSTS, start=at(0))
    assert [(a.documents, iso(a.time), a.suppressed) for a in result.alerts] == [
        ((0,), "2024-05-01T12:05:00.000Z", 2), ((2,), "2024-05-01T12:05:00.000Z", 0),
        ((4,), "2024-05-01T12:40:00.000Z", 0)]     # 12:40 - 30m is after the first alert: a new one
    assert [e.suppressed for e in result.executions if e.suppressed] == [1, 1]  # 12:02 at 12:05, 12:07 at 12:10
    assert result.missed == []
    assert result.summary()["rules"][0]["suppressed"] == 2


def test_suppression_without_a_duration_works_within_each_run():
    result = eqlmini.replay(suppressed(), BURSTS, start=at(0))
    assert [(a.documents, iso(a.time), a.suppressed) for a in result.alerts] == [
        ((0,), "2024-05-01T12:05:00.000Z", 1), ((2,), "2024-05-01T12:05:00.000Z", 0),
        ((3,), "2024-05-01T12:10:00.000Z", 0), ((4,), "2024-05-01T12:40:00.000Z", 0)]


def test_suppression_leaves_matches_without_the_field_alone_when_asked():
    events = [event(1, host=None), event(2, host=None), event(3)]
    default = eqlmini.replay(suppressed({"value": 1, "unit": "h"}), events, start=at(0))
    assert [(a.documents, a.suppressed) for a in default.alerts] == [((0,), 1), ((2,), 0)]
    apart = eqlmini.replay(suppressed({"value": 1, "unit": "h"}, missing_fields_strategy="doNotSuppress"),
                           events, start=at(0))
    assert [(a.documents, a.suppressed) for a in apart.alerts] == [((0,), 0), ((1,), 0), ((2,), 0)]


def test_suppression_of_a_sequence_rule_is_not_applied_and_says_so():
    result = eqlmini.replay(rule(SEQUENCE, extra={"alert_suppression": {"group_by": ["host.id"]}}),
                            [event(1, "sqlservr.exe"), event(2)], start=at(0))
    assert len(result.alerts) == 1
    assert "experimental" in result.rules[0].notes[0]


def test_a_lookback_shorter_than_the_interval_leaves_gaps_catch_up_windows_do_not_fill():
    # Kibana shifts each catch-up window back by one interval: with from = now-1m and a 5m
    # interval that is the previous run's window again, and 12:05..12:09 is never searched.
    result = eqlmini.replay(rule(from_="now-1m"), [event(7)], start=at(0), end=at(20))
    catchups = [(iso(e.start), iso(e.end)) for e in result.executions if e.catchup]
    assert catchups[:2] == [("2024-05-01T11:59:00.000Z", "2024-05-01T12:00:00.000Z"),   # the 12:05 run's
                            ("2024-05-01T12:04:00.000Z", "2024-05-01T12:05:00.000Z")]   # the 12:10 run's
    assert all(e.uncovered == 0 for e in result.executions)  # Kibana reports no remaining gap
    assert [m.reason for m in result.missed] == ["gap"]


def test_an_outage_is_caught_up_up_to_four_intervals():
    short = eqlmini.replay(rule(from_="now-6m"), [event(12)], start=at(0), end=at(40), outages=[(at(8), at(22))])
    [alert] = short.alerts
    assert iso(alert.time) == "2024-05-01T12:25:00.000Z"
    run = [e for e in short.executions if e.run == alert.run]
    assert [(e.catchup, iso(e.start)) for e in run] == [
        (True, "2024-05-01T12:04:00.000Z"), (True, "2024-05-01T12:09:00.000Z"), (True, "2024-05-01T12:14:00.000Z"),
        (False, "2024-05-01T12:19:00.000Z")]
    long = eqlmini.replay(rule(from_="now-6m"), [event(12)], start=at(0), end=at(60), outages=[(at(8), at(42))])
    assert [m.reason for m in long.missed] == ["gap"]
    # The 12:45 run comes 40m after the last: 40m - 6m window = 34m gap, 4 x 5m caught up.
    assert sum(e.uncovered for e in long.executions) == 14 * 60_000


def test_catch_up_with_times_finer_than_a_millisecond():
    start = "2024-05-01T12:00:00.000250Z"    # epoch ms with a fraction: every run time is a float
    result = eqlmini.replay(rule(from_="now-6m"), [event(12)], start=start, end=at(40), outages=[(at(8), at(22))])
    assert [e.catchup for e in result.executions if e.run == result.alerts[0].run] == [True, True, True, False]


def test_a_window_can_find_what_the_whole_history_does_not():
    # A sample takes the first pair per key over all history; a later window sees a later pair.
    sample = rule('sample by host.id [process where process.name == "sqlservr.exe"] [process where true]')
    events = [event(1, "sqlservr.exe"), event(2), event(30, "sqlservr.exe"), event(31)]
    result = eqlmini.replay(sample, events, start=at(0))
    assert [alert.documents for alert in result.rules[0].unexpected] == [(2, 3)]


def test_the_schedule_is_read_from_the_rule_with_kibana_defaults():
    assert Schedule.of(Rule("r", "process where true")).describe() == \
        "every 5m, window now-6m..now, max_signals 100, on @timestamp"
    bundled = Schedule.of(eqlmini.bundled_rules()[0])
    assert (bundled.interval, bundled.from_offset, bundled.max_signals) == (300_000, -540_000, 100)
    assert Schedule.of(rule(max_signals=5000)).max_signals == 1000
    assert "asked 5000" in Schedule.of(rule(max_signals=5000)).describe()
    assert (duration_millis("90s"), offset_millis("now-1h+5m", "from")) == (90_000, -3_300_000)


@pytest.mark.parametrize("metadata, key", [
    ({"interval": "5 minutes"}, "interval"),
    ({"from_": "now/d"}, "from"),
    ({"from_": "now"}, "from"),
    ({"extra": {"alert_suppression": {"group_by": ["a", "b", "c", "d"]}}}, "alert_suppression"),
    ({"extra": {"alert_suppression": {"group_by": ["a"], "duration": {"value": 5, "unit": "d"}}}}, "alert_suppression"),
])
def test_bad_schedule_metadata_is_a_rule_error(metadata, key):
    with pytest.raises(RuleError) as caught:
        eqlmini.replay(rule(**metadata), [event(1)])
    assert caught.value.key == key


def test_suppression_reads_kibanas_newer_group_by_v2():
    table = {"group_by": ["user.name"], "group_by_v2": [{"field": "host.name"}]}
    result = eqlmini.replay(rule(extra={"alert_suppression": table}), BURSTS[:3], start=at(0))
    assert [(a.documents, a.suppressed) for a in result.alerts] == [((0,), 1), ((2,), 0)]


def test_a_replay_makes_at_most_max_replay_searches(monkeypatch):
    monkeypatch.setattr(eqlmini.limits, "MAX_REPLAY_SEARCHES", 3)
    with pytest.warns(eqlmini.limits.EqlLimitWarning, match="stopped by limits.MAX_REPLAY_SEARCHES after 3 "):
        result = eqlmini.replay(rule(), [event(1), event(30)], start=at(0))
    assert [e.started for e in result.executions] == [ms(0), ms(5), ms(10)]
    assert [m.reason for m in result.missed] == ["outside"]


def test_a_replay_reads_at_most_max_replay_documents(monkeypatch):
    monkeypatch.setattr(eqlmini.limits, "MAX_REPLAY_DOCUMENTS", 5)
    events = [event(m / 10) for m in range(20)]             # 12:00 .. 12:01:54, all in every window
    with pytest.warns(eqlmini.limits.EqlLimitWarning, match="MAX_REPLAY_DOCUMENTS after 1 searches that read 20"):
        result = eqlmini.replay(rule(from_="now-1w"), events, start=at(2))
    assert len(result.executions) == 1 and len(result.alerts) == 20


def test_the_real_mssql_sample_matches_a_scan():
    events = list(eqlmini.inputs.read_events([require(MSSQL)]))
    bundled = eqlmini.bundled_rules()
    result = eqlmini.replay(bundled, events)
    assert len(result.alerts) == len(list(eqlmini.RuleSet(bundled).scan(events))) == 69
    assert result.missed == [] and max(a.delay for a in result.alerts) <= 300_000


def test_outputs():
    result = eqlmini.replay(rule(max_signals=3), [event(1 + i / 60) for i in range(5)], start=at(0))
    out = io.StringIO()
    write(result, out, "json", ["executions", "missed", "summary"])
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["record"] for r in records] == ["execution"] * 3 + ["missed"] * 2 + ["summary"]
    assert records[-1]["rules"][0]["missed"] == {"truncated": 2}
    out = io.StringIO()
    write(result, out, "csv", ["alerts"])
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [row["events"] for row in rows] == ["0", "1", "2"] and rows[0]["delay_ms"] == "240000"
    with pytest.raises(ValueError):
        write(result, io.StringIO(), "csv", ["alerts", "missed"])
    out = io.StringIO()
    write(result, out, "table", ["executions"])
    assert out.getvalue().splitlines()[0] == "executions: 2"      # the empty 12:00 run is left out
    assert "truncated: 5 matches, 3 returned" in out.getvalue()
    assert any(line.startswith("  full scan  5 matches; missed 2: 2 truncated") for line in summary_lines(result))


def test_plot(tmp_path):
    pytest.importorskip("matplotlib")
    from eqlmini.replay.plot import plot
    result = eqlmini.replay(rule(max_signals=3), [event(1 + i / 60) for i in range(5)], start=at(0))
    path = plot(result, tmp_path / "replay.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_what_if_changes_a_rules_schedule():
    base = rule(timestamp_override="event.ingested", extra={"alert_suppression": {"group_by": ["host.name"]}})
    what_if = changed(base, max_signals=500, timestamp_override=None, alert_suppression=None, **{"from": "now-2m"})
    assert (what_if.max_signals, what_if.timestamp_override, what_if.from_, dict(what_if.extra)) == \
        (500, None, "now-2m", {})
    assert Schedule.of(what_if).describe() == "every 5m, window now-2m..now, max_signals 500, on @timestamp"
    with pytest.raises(ValueError, match="cannot change severity"):
        changed(base, severity="low")


def test_module_examples_run():
    for name in ("eqlmini.replay", "eqlmini.replay.timing"):
        assert doctest.testmod(importlib.import_module(name)).failed == 0


# ----------------------------------------------------------------------------- the command
def replay_command(capsys, *args) -> tuple[int, str, str]:
    status = main(["replay", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def burst_file(tmp_path):
    path = tmp_path / "burst.ndjson"
    path.write_text("".join(json.dumps(e) + "\n" for e in [event(1 + i / 60) for i in range(5)]))
    rules = tmp_path / "rule.eql"
    rules.write_text('/*\nname = "cmd"\ninterval = "5m"\nfrom = "now-9m"\nmax_signals = 3\n*/\n'
                     'process where process.name == "cmd.exe"\n')
    return path, rules


def test_the_command_writes_ndjson_and_a_summary_line(capsys, burst_file):
    events, rules = burst_file
    status, out, err = replay_command(capsys, "--rules", rules, "--start", at(0), events)
    assert status == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["record"] for r in records] == ["execution"] * 3 + ["missed"] * 2 + ["summary"]
    assert err.strip() == ("eqlmini: 5 events from 1 file; 3 alerts from 1 rule in 3 searches; "
                           "2 of 5 whole-history matches missed")


def test_the_command_changes_the_schedule_and_writes_csv(capsys, burst_file, tmp_path):
    events, rules = burst_file
    target = tmp_path / "alerts.csv"
    status, out, _ = replay_command(capsys, "--rules", rules, "--start", at(0), "--set", "max_signals=10",
                                    "--show", "alerts", "-o", target, events)
    assert (status, out) == (1, "")
    assert len(list(csv.DictReader(io.StringIO(target.read_text())))) == 5
    status, out, _ = replay_command(capsys, "--format", "table", "--rules", rules, "--start", at(0),
                                    "--set", "from=now-1m", "--show", "summary", events)
    assert "window now-1m..now, max_signals 3" in out and "missed 5: 5 gap" in out


@pytest.mark.parametrize("args, status", [
    (["--set", "severity=low"], 2),                 # not a schedule key
    (["--delay", "soon"], 2),
    (["--outage", "2024-05-01T12:00:00Z"], 2),      # no ..
    (["--format", "csv", "--show", "alerts,missed"], 2),
    (["--set", "interval=5 minutes"], 3),           # the rule's schedule is invalid
])
def test_the_command_refuses_bad_options(capsys, burst_file, args, status):
    events, rules = burst_file
    assert replay_command(capsys, "--rules", rules, *args, events)[0] == status


def test_the_command_draws_a_plot(capsys, burst_file, tmp_path):
    pytest.importorskip("matplotlib")
    events, rules = burst_file
    status, _, err = replay_command(capsys, "--rules", rules, "--plot", tmp_path / "r.svg", "-q", events)
    assert status == 1 and (tmp_path / "r.svg").read_text().lstrip().startswith("<?xml")
    assert err.strip() == f"eqlmini: plot: {tmp_path / 'r.svg'}"
