"""What the command line writes: NDJSON and CSV for programs, aligned rows for people, progress on stderr.

Rows are written as they come (a scan can run for minutes), so columns have fixed widths.
Off a terminal (a file, a pipe) a table never cuts text: a longer cell pushes the rest of
its row to the right. On a terminal a longer cell is cut and ends with ``…``; a column of
ATT&CK ids is cut between ids, never inside one; a file name keeps its end (the line or
record number) and loses its start; the last column is cut at the edge of the screen. The
progress line lives on stderr, only when stderr is a terminal; it is cleared before each
row so the two never mix.

Output never fails on encoding: NDJSON is ASCII (other characters, lone surrogates too,
are ``\\u`` escapes), and a table row's characters that the stream cannot encode are
written as backslash escapes (``\\u2192`` on a cp1252 console). CSV is written as
:mod:`csv` writes it (every field as it is, quoted where needed).

Text from events and files never reaches a terminal raw: control characters (C0, DEL,
C1 such as the CSI that starts terminal escape sequences) and the bidirectional
overrides are written as ``\\x1b`` / ``\\u202e`` escapes (:func:`printable`).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, TextIO

from .fields import getter
from .rules import Rule
from .ruleset import Alert

__all__ = ["FORMATS", "Column", "Progress", "Writer", "alert_record", "as_text", "attack_ids", "cut", "event_detail", "event_host",
           "printable", "rule_record"]

FORMATS = ("table", "json", "csv")
ELLIPSIS = "…"

# Fields that say what an event was about, best first; the first present one is shown.
DETAIL_FIELDS = ("process.command_line", "file.path", "registry.path", "dns.question.name", "url.full",
                 "destination.ip", "process.name", "event.action", "message")
_DETAIL_READERS = tuple(getter(name) for name in DETAIL_FIELDS)
_HOST = getter("host.name")
PROGRESS_DELAY = 1.0  # seconds before a progress line appears: short runs show none
# What a terminal may act on: C0 and C1 controls, DEL, bidirectional embeddings and overrides.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` with every control character escaped (``\\x1b``, ``\\u202e``); ``lines``
    keeps line feeds and tabs (a message that shows a line of a file and a caret under it)."""
    return (_CONTROL_BUT_LINES if lines else _CONTROL).sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def event_detail(event: Mapping[str, Any]) -> str:
    """``host: what`` for one event, e.g. ``mssql01: cmd.exe /c whoami``."""
    what = next((value for value in (read(event) for read in _DETAIL_READERS) if value is not None), "")
    host = _HOST(event)
    text = _one_line(what)
    return f"{_one_line(host)}: {text}" if host is not None else text


def event_host(event: Mapping[str, Any]) -> str | None:
    """The event's ``host.name``, on one line, or None."""
    host = _HOST(event)
    return None if host is None else _one_line(host)


def alert_record(alert: Alert, sources: Sequence[Mapping[str, Any] | None] = ()) -> dict[str, Any]:
    """An alert as one JSON object; ``sources``: where each of its events came from."""
    rule = alert.rule
    record = {"rule": rule.name, "rule_id": rule.rule_id, "severity": alert.severity,
              "risk_score": alert.risk_score, "timestamp": alert.timestamp,
              "threat": [list(threat.ids) for threat in rule.threat], "join_keys": list(alert.join_keys),
              "events": list(alert.events)}
    if sources:
        record["sources"] = list(sources)
    return record


def attack_ids(rule: Rule) -> str:
    """The rule's MITRE ATT&CK ids, tactics first, each once: ``TA0002 T1059``."""
    return " ".join(dict.fromkeys(i for threat in rule.threat for i in threat.ids))


def rule_record(rule: Rule) -> dict[str, Any]:
    """A rule's summary as one JSON object."""
    return {"name": rule.name, "rule_id": rule.rule_id, "severity": rule.severity, "risk_score": rule.risk_score,
            "kind": rule.query.kind, "threat": [list(threat.ids) for threat in rule.threat],
            "path": str(rule.path) if rule.path else None}


class Progress:
    """``[#####.....]  42%  18,230 events  9,120 events/s`` on stderr, redrawn a few times a second.

    ``total`` is the size in bytes of the input when known; the position is the bytes the
    process has read (Linux ``/proc/self/io``), else the size of the files finished.
    """

    def __init__(self, stream: TextIO, total: int | None) -> None:
        self._stream = stream
        self._total = total or None
        self._start = time.monotonic()
        self._base = _bytes_read()
        self._finished = 0   # bytes of the files read to the end
        self._shown = False
        self._next = self._start + PROGRESS_DELAY

    def update(self, events: int, *, file_done: int = 0) -> None:
        """Note progress (``events`` so far; ``file_done``: size of a file just finished)."""
        self._finished += file_done
        now = time.monotonic()
        if now < self._next and not (file_done and now >= self._start + PROGRESS_DELAY):  # a file's end shows
            return
        self._next = now + 0.2
        rate = events / max(now - self._start, 1e-9)
        line = f"{events:,} events  {rate:,.0f} events/s"
        if self._total:
            read = _bytes_read()
            done = read - self._base if read is not None and self._base is not None else self._finished
            fraction = min(max(done, self._finished) / self._total, 0.99)
            bar = "#" * int(fraction * 20)
            line = f"[{bar:.<20}] {fraction:4.0%}  {line}"
        self._stream.write("\r" + line[: shutil.get_terminal_size().columns - 1] + "\x1b[K")
        self._stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the progress line (before other output, and at the end)."""
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False


def _bytes_read() -> int | None:
    try:
        with open("/proc/self/io", encoding="ascii") as io:
            return next(int(line.split()[1]) for line in io if line.startswith("rchar:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return None


class Column(NamedTuple):
    """A column of a table and of CSV: its title, its width in a table (None: CSV only), and
    how a terminal cuts it: ``text`` keeps the start, ``ids`` keeps whole ids (separated by
    blanks), ``path`` keeps the end."""

    title: str
    width: int | None
    kind: str = "text"


class Writer:
    """Rows to ``stream``: NDJSON objects, CSV rows, or fixed-width columns under a header."""

    def __init__(self, stream: TextIO, format: str, columns: Sequence[Column],
                 progress: Progress | None = None) -> None:
        self._stream = stream
        self._format = format
        self._columns = columns
        self._shown = [i for i, column in enumerate(columns) if column.width is not None]
        self._progress = progress
        self._header = False
        self._terminal = stream.isatty()
        self._csv = csv.writer(stream, lineterminator="\n") if format == "csv" else None

    def record(self, record: Mapping[str, Any]) -> None:
        """One JSON object per line (json format only), in ASCII."""
        self._write(json.dumps(record, ensure_ascii=True, default=as_text))

    def row(self, cells: Sequence[Any]) -> None:
        """One row (table or csv format), a cell per column."""
        if not self._header:
            self._header = True
            titles = [column.title for column in self._columns]
            if self._csv is None:
                self._table_row(titles)
            else:
                self._csv_row(titles)
        if self._csv is None:
            self._table_row(cells)
        else:
            self._csv_row(cells)

    def _csv_row(self, cells: Sequence[Any]) -> None:
        if self._progress is not None:
            self._progress.clear()
        assert self._csv is not None
        self._csv.writerow([as_text(cell) for cell in cells])

    def _table_row(self, cells: Sequence[Any]) -> None:
        texts = [_one_line(cells[i]) for i in self._shown]
        columns = [self._columns[i] for i in self._shown]
        parts = []
        for text, column in zip(texts[:-1], columns):
            assert column.width is not None
            parts.append((cut(text, column.width, column.kind) if self._terminal else text).ljust(column.width))
        last = texts[-1]
        if self._terminal:  # the last column ends at the edge of the terminal
            used = sum(len(part) + 2 for part in parts)
            last = cut(last, max(shutil.get_terminal_size().columns - used, columns[-1].width or 0), columns[-1].kind)
        line = "  ".join([*parts, last]).rstrip()
        encoding = getattr(self._stream, "encoding", None) or "utf-8"
        self._write(line.encode(encoding, "backslashreplace").decode(encoding))

    @property
    def json(self) -> bool:
        """Whether the output is NDJSON (else rows: a table or CSV)."""
        return self._format == "json"

    def _write(self, line: str) -> None:
        if self._progress is not None:
            self._progress.clear()
        self._stream.write(line + "\n")


def cut(text: str, width: int, kind: str = "text") -> str:
    """``text`` in at most ``width`` characters; what is cut is marked with ``…`` (see :class:`Column`)."""
    if len(text) <= width:
        return text
    if kind == "path":
        return ELLIPSIS + text[len(text) - width + 1:]
    if kind == "ids":  # whole ids, then the ellipsis: never half an id
        kept = ""
        for item in text.split():
            if len(kept) + len(item) + (3 if kept else 2) > width:
                break
            kept = f"{kept} {item}" if kept else item
        return f"{kept} {ELLIPSIS}" if kept else ELLIPSIS
    return text[:width - 1].rstrip() + ELLIPSIS


def as_text(value: Any) -> str:
    """A value as output shows it: a date and time in ISO-8601 (``2024-05-14T09:02:01.117Z``, as
    a Parquet timestamp reads), a list's items joined by ``, ``, None as nothing, else ``str``."""
    if isinstance(value, datetime):
        text = value.isoformat(timespec="milliseconds" if value.microsecond % 1000 == 0 else "microseconds")
        return text.removesuffix("+00:00") + "Z" if value.utcoffset() == timedelta(0) else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(map(as_text, value))
    return "" if value is None else str(value)


def _one_line(value: Any) -> str:
    return printable(" ".join(as_text(value).split()))
