"""A replay written out: aligned tables for people, NDJSON or CSV for programs.

Four sections, each a kind of row: ``executions`` (one per search), ``alerts``, ``missed``
(the whole-history matches no run alerted) and ``summary``. NDJSON writes each row as an
object with a ``record`` key naming its section; CSV holds one section per file.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO

from ..output import event_detail, printable
from ..sequences import MissingEvent
from . import Replay
from .results import REASONS, Execution, Miss, ReplayAlert, iso

__all__ = ["FORMATS", "SECTIONS", "plural", "summary_lines", "write"]

FORMATS = ("table", "json", "csv")
SECTIONS = ("executions", "alerts", "missed", "summary")
EXECUTION_COLUMNS = ("started", "rule", "window_start", "window_end", "events", "results", "matches", "new",
                     "duplicates", "suppressed", "truncated", "catchup", "uncovered_ms")
ALERT_COLUMNS = ("time", "event_time", "delay_ms", "rule", "rule_id", "id", "events", "building_blocks",
                 "suppressed", "detail")
MISSED_COLUMNS = ("event_time", "rule", "reason", "documents", "detail")
MISSES_SHOWN = 5  # missed matches a table lists per rule and reason (NDJSON and CSV list all)
_RECORD = {"executions": "execution", "alerts": "alert", "missed": "missed"}  # an NDJSON row's `record`


def write(replay: Replay, stream: TextIO, format: str, sections: Sequence[str], *, every: bool = False) -> None:
    """Write ``sections`` of ``replay`` to ``stream`` as a ``table``, ``json`` or ``csv``.

    A table lists only the searches that found something or were unusual (truncated, a
    catch-up window, time left unsearched), unless ``every``; NDJSON and CSV list them all.
    """
    if format == "csv":
        if len(sections) != 1 or sections[0] == "summary":
            raise ValueError("CSV holds one section: executions, alerts or missed")
        rows = _rows(replay, sections[0], every=True)
        out = csv.writer(stream, lineterminator="\n")
        out.writerow(_columns(sections[0]))
        out.writerows([_cell(row[name]) for name in _columns(sections[0])] for row in rows)
        return
    for section in sections:
        if format == "json":
            if section == "summary":
                stream.write(json.dumps({"record": "summary", **replay.summary()}, ensure_ascii=True) + "\n")
            for row in _rows(replay, section, every=True):
                stream.write(json.dumps({"record": _RECORD[section], **row}, ensure_ascii=True, default=str) + "\n")
        else:
            _table(replay, section, stream, every)


def _columns(section: str) -> tuple[str, ...]:
    return {"executions": EXECUTION_COLUMNS, "alerts": ALERT_COLUMNS, "missed": MISSED_COLUMNS}[section]


def _rows(replay: Replay, section: str, *, every: bool) -> Iterator[dict[str, Any]]:
    if section == "executions":
        yield from (_execution(e) for e in replay.executions if every or _notable(e))
    elif section == "alerts":
        yield from map(_alert, replay.alerts)
    elif section == "missed":
        yield from map(_miss, replay.missed)


def _notable(execution: Execution) -> bool:
    return bool(execution.results or execution.truncated or execution.catchup or execution.uncovered)


def _execution(e: Execution) -> dict[str, Any]:
    return {"started": iso(e.started), "rule": e.rule.name, "window_start": iso(e.start), "window_end": iso(e.end),
            "events": e.events, "results": e.results, "matches": e.matches, "new": len(e.created),
            "duplicates": e.duplicates, "suppressed": e.suppressed, "truncated": e.truncated,
            "catchup": e.catchup, "uncovered_ms": round(e.uncovered)}


def _alert(a: ReplayAlert) -> dict[str, Any]:
    return {"time": iso(a.time), "event_time": iso(a.event_time), "delay_ms": round(a.delay), "rule": a.rule.name,
            "rule_id": a.rule.rule_id, "id": a.id, "events": list(a.documents), "building_blocks": a.building_blocks,
            "suppressed": a.suppressed, "detail": _detail(a.events)}


def _miss(m: Miss) -> dict[str, Any]:
    return {"event_time": iso(m.event_time), "rule": m.rule.name, "reason": m.reason, "documents": list(m.documents),
            "detail": _detail(m.events)}


def _detail(events: Iterable[Any]) -> str:
    real = [event for event in events if not isinstance(event, MissingEvent)]
    return event_detail(real[-1]) if real else ""


def _cell(value: Any) -> Any:
    return " ".join(map(str, value)) if isinstance(value, list) else value


# ----------------------------------------------------------------------------- tables

def _table(replay: Replay, section: str, stream: TextIO, every: bool) -> None:
    if section == "summary":
        stream.write("\n".join(summary_lines(replay)) + "\n")
        return
    header: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    if section == "executions":
        header = ("STARTED", "RULE", "WINDOW", "EVENTS", "RESULTS", "NEW", "DUP", "SUPP", "NOTE")
        rows = [(iso(e.started), e.rule.name, f"{_clock(e.start)}..{_clock(e.end)}", e.events, e.results,
                 len(e.created), e.duplicates, e.suppressed, _note(e))
                for e in replay.executions if every or _notable(e)]
    elif section == "alerts":
        header = ("ALERTED", "LAST EVENT", "DELAY", "RULE", "SUPP", "EVENT")
        rows = [(iso(a.time), iso(a.event_time), duration(a.delay), a.rule.name, a.suppressed, _detail(a.events))
                for a in replay.alerts]
    else:
        header = ("LAST EVENT", "RULE", "REASON", "EVENT")
        rows = _first_misses(replay.missed)
    stream.write(f"{section}: {len(replay.missed) if section == 'missed' else len(rows)}\n")
    if rows:
        stream.write("\n".join(aligned([header, *rows])) + "\n")
    stream.write("\n")


def _first_misses(missed: Sequence[Miss]) -> list[tuple]:
    """A table's rows of missed matches: the first :data:`MISSES_SHOWN` of each rule and
    reason, then one row saying how many more."""
    shown: Counter[tuple[str, str]] = Counter()
    rows: list[tuple] = []
    for miss in missed:
        group = (miss.rule.name, miss.reason)
        shown[group] += 1
        if shown[group] <= MISSES_SHOWN:
            rows.append((iso(miss.event_time), miss.rule.name, miss.reason, _detail(miss.events)))
    rows += [("", rule, reason, f"... and {count - MISSES_SHOWN} more")
             for (rule, reason), count in shown.items() if count > MISSES_SHOWN]
    return rows


def aligned(rows: Sequence[Sequence[Any]], *, limit: int = 48, last: int = 120) -> list[str]:
    """Rows as lines of columns padded to their widest cell, control characters escaped;
    a cell is cut at ``limit`` characters, the last one at ``last`` (with an ellipsis)."""
    texts = [[printable(" ".join(str("" if cell is None else cell).split())) for cell in row] for row in rows]
    widths = [min(max(len(row[i]) for row in texts), limit) for i in range(len(texts[0]) - 1)]
    return ["  ".join([*(cell[:width].ljust(width) for cell, width in zip(row, widths)), _cut(row[-1], last)]).rstrip()
            for row in texts]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _note(e: Execution) -> str:
    notes = []
    if e.truncated:
        notes.append(f"truncated: {e.matches} matches, {e.results} returned")
    if e.catchup:
        notes.append("catch-up window")
    if e.uncovered:
        notes.append(f"gap: {duration(e.uncovered)} not searched")
    return "; ".join(notes)


def _clock(millis: int | float) -> str:
    return str(iso(millis))[11:19]


def duration(millis: int | float | None) -> str:
    """``4m 12s``, ``1h 02m``, ``0.4s``."""
    if millis is None:
        return "-"
    seconds = millis / 1000
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s" if whole >= 60 else f"{whole}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def plural(number: int, word: str, words: str | None = None) -> str:
    """``1 duplicate``, ``1,204 duplicates``."""
    return f"{number:,} {word if number == 1 else words or word + 's'}"


def summary_lines(replay: Replay) -> list[str]:
    """The summary as text: the span, then per rule, then per day."""
    summary = replay.summary()
    lines = [f"replayed {summary['events']:,} events from {summary['start']} to {summary['end']}"
             + (f" ({summary['unplaced']:,} with no time a window can place them by)" if summary["unplaced"] else "")]
    for rule in summary["rules"]:
        missed = sum(rule["missed"].values())
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(rule["missed"].items()))
        lines += ["", f"{rule['rule']} ({rule['kind']})", f"  schedule   {rule['schedule']}",
                  f"  runs       {rule['runs']:,} ({plural(rule['searches'], 'search', 'searches')}, "
                  f"{plural(rule['catchup'], 'catch-up window')}"
                  + (f", {duration(rule['uncovered_ms'])} never searched" if rule["uncovered_ms"] else "") + ")",
                  f"  alerts     {rule['alerts']:,}"
                  + (f" (+{rule['building_blocks']:,} building blocks)" if rule["building_blocks"] else "")
                  + f", {plural(rule['duplicates'], 'duplicate')} dropped"
                  + (f", {rule['suppressed']:,} suppressed" if rule["suppressed"] else ""),
                  f"  truncated  {plural(rule['truncated'], 'search', 'searches')} hit max_signals",
                  f"  delay      median {duration(rule['delay']['median'])}, max {duration(rule['delay']['max'])}"
                  " (last event to the run that alerted)",
                  f"  full scan  {rule['scanned']:,} matches; missed {missed}" + (f": {reasons}" if reasons else "")
                  + (f"; {rule['unexpected']} alerts it does not find" if rule["unexpected"] else "")]
        lines += [f"  note       {note}" for note in rule["notes"]]
    days = summary["days"]
    if days:
        names = [rule["rule"] for rule in summary["rules"]]
        lines += ["", "alerts per day"]
        lines += ["  " + line for line in aligned([("DAY", "TOTAL", *names)] + [
            (day, sum(counts.values()), *(counts.get(name, 0) for name in names)) for day, counts in days.items()])]
    seen = sorted({reason for rule in summary["rules"] for reason in rule["missed"]})
    if seen:
        lines += ["", "why matches were missed"] + [f"  {reason:<11} {REASONS[reason]}" for reason in seen]
    return lines
