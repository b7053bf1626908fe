"""Read events from JSON text: NDJSON lines, a JSON array, or concatenated objects.

Works on an open binary stream, plain or gzip (the caller detects the magic bytes and
passes a ``gzip.GzipFile``); compressed data that ends early or is damaged is reported
and everything decompressed before the fault is still read. Three layouts:

* ``ndjson``: one JSON value per line (``.ndjson``, ``.jsonl``); a bad line is
  reported with its number and reading goes on with the next line;
* ``json``: one document: a JSON array of objects, or objects one after another with
  only whitespace between them, as in the Sigma ``.json`` renderings (pretty-printed
  ``{...}{...}``). After a malformed value the reader resumes at the next line that
  opens an object at the indentation of the first one;
* ``None`` (auto): ``ndjson`` when the first non-blank line is a whole JSON object,
  else ``json``.

Every value that is not a JSON object is reported, not yielded. Each event comes with
its location (``line 12``) so later stages can report against it.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from .report import ReadReport

__all__ = ["read_json"]

_CHUNK = 1 << 16
_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\r\n"
_STREAM_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error, OSError)


def read_json(stream: BinaryIO, source: str, report: ReadReport,
              mode: str | None = None) -> Iterator[tuple[str, dict]]:
    """Yield ``(location, object)`` for each JSON object in ``stream``; report the rest."""
    lines = _lines(stream, source, report)
    pending: list[tuple[int, bytes]] = []
    if mode is None:
        for number, raw in lines:
            pending.append((number, raw))
            if raw.strip():
                mode = "ndjson" if _is_object_line(raw) else "json"
                break
    if mode == "ndjson":
        yield from _ndjson(_chain(pending, lines), source, report)
    else:
        yield from _document(_chain(pending, lines), source, report)


def _lines(stream: BinaryIO, source: str, report: ReadReport) -> Iterator[tuple[int, bytes]]:
    """``(number, bytes)`` for each line; a damaged or truncated stream ends with a problem."""
    buffer = b""
    number = 0
    first = True
    while True:
        try:
            chunk = stream.read1(_CHUNK)     # one read: data before a fault is not lost
        except _STREAM_ERRORS as exc:
            if buffer:                       # the part decompressed before the fault
                yield number + 1, buffer
            report.add(source, f"line {number + 1 + bool(buffer)}",
                       f"compressed data is damaged or truncated, the rest is lost ({exc})")
            return
        if first:
            first = False
            if b"\x00" in chunk[:4096]:
                report.add(source, "file", "binary data, not JSON text")
                return
            if chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
        if not chunk:
            break
        if b"\n" not in chunk:                 # a long line: do not split it again and again
            buffer += chunk
            continue
        *complete, buffer = (buffer + chunk).split(b"\n")
        for line in complete:
            number += 1
            yield number, line
    if buffer:
        yield number + 1, buffer


def _ndjson(lines: Iterator[tuple[int, bytes]], source: str,
            report: ReadReport) -> Iterator[tuple[str, dict]]:
    for number, raw in lines:
        text = _decode(raw, source, f"line {number}", report).strip()
        if not text:
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            report.add(source, f"line {number}", f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        if _check_object(value, source, f"line {number}", report):
            yield f"line {number}", value


def _document(lines: Iterator[tuple[int, bytes]], source: str,
              report: ReadReport) -> Iterator[tuple[str, dict]]:
    """An array of objects, or objects one after another, with resynchronisation."""
    text = _decode(b"\n".join(raw for _, raw in lines), source, "file", report)
    position = _skip(text, 0)
    in_array = text.startswith("[", position)
    if in_array:
        position = _skip(text, position + 1)
    indent = position - (text.rfind("\n", 0, position) + 1)
    lines_before = _LineCounter(text)
    while position < len(text):
        if in_array and text[position] == "]":
            in_array = False
            position = _skip(text, position + 1)
            if position < len(text):
                report.add(source, f"line {lines_before(position)}",
                           "text after the end of the JSON array")
            return
        location = f"line {lines_before(position)}"
        try:
            value, end = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            report.add(source, location, f"invalid JSON: {exc.msg} "
                       f"(line {exc.lineno}, column {exc.colno})")
            position = _resync(text, position, indent)
            continue
        if _check_object(value, source, location, report):
            yield location, value
        position = _skip(text, end)
        if in_array and text.startswith(",", position):
            position = _skip(text, position + 1)
        elif in_array and position < len(text) and text[position] != "]":
            report.add(source, f"line {lines_before(position)}", "expected ',' or ']' in the array")
            position = _resync(text, position, indent)
    if in_array:
        report.add(source, "end of file", "the JSON array is not closed (truncated file?)",
                   unreadable=False)


class _LineCounter:
    """Line number of an offset, counting forward from the last offset asked about."""

    def __init__(self, text: str) -> None:
        self.text, self.offset, self.line = text, 0, 1

    def __call__(self, offset: int) -> int:
        if offset < self.offset:
            self.offset, self.line = 0, 1
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


def _resync(text: str, position: int, indent: int) -> int:
    """The next line after ``position`` opening an object at ``indent``; else the end."""
    prefix_ok = (" " * indent, "\t" * indent)
    start = text.find("\n", position)
    while start >= 0:
        start += 1
        line_start = text[start:start + indent + 1]
        if line_start[:indent] in prefix_ok and line_start[indent:] == "{":
            return start + indent
        start = text.find("\n", start)
    return len(text)


def _check_object(value: object, source: str, location: str, report: ReadReport) -> bool:
    if isinstance(value, dict):
        return True
    kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")
    report.add(source, location, f"expected a JSON object (an event), found {kind}")
    return False


def _decode(raw: bytes, source: str, location: str, report: ReadReport) -> str:
    """UTF-8 text; bad bytes become U+FFFD and are reported (no event is lost)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        report.add(source, location, f"invalid UTF-8 replaced with U+FFFD ({exc.reason} "
                   f"at byte {exc.start})", unreadable=False)
        return raw.decode("utf-8", errors="replace")


def _is_object_line(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except (ValueError, UnicodeDecodeError):
        return False


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in _WHITESPACE:
        position += 1
    return position


def _chain(first: list, rest: Iterator) -> Iterator:
    yield from first
    yield from rest
