"""Read events from JSON text: NDJSON lines, a JSON array, or concatenated objects.

Works on an open binary stream, plain or gzip (the caller detects the magic bytes and
passes a ``gzip.GzipFile``); compressed data that ends early or is damaged is reported
and everything decompressed before the fault is still read. Three layouts:

* ``ndjson``: one JSON value per line (``.ndjson``, ``.jsonl``); a bad line is
  reported with its number and reading goes on with the next line;
* ``json``: one document: a JSON array of objects, or objects one after another with
  only whitespace between them, as in the Sigma ``.json`` renderings (pretty-printed
  ``{...}{...}``). After a malformed value the reader resumes at the next value: after
  the next ``,`` at the array's top level (or after the bad object's closing brace),
  found by counting brackets outside strings; when the brackets do not balance, at the
  next line that opens an object at the indentation of the first one;
* ``None`` (auto): ``ndjson`` when the first non-blank line is a whole JSON object,
  else ``json``.

Lines end with LF, CRLF or CR. What Python's ``json`` accepts but JSON does not
(``NaN``, ``Infinity``, numbers beyond a double) and values nested too deeply for it
are reported as invalid, like any other malformed value. Every value that is not a
JSON object is reported, not yielded. Each event comes with its location (``line 12``)
so later stages can report against it.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from .report import ReadReport

# What a damaged or truncated stream raises while it is read (gzip.BadGzipFile is an OSError).
STREAM_ERRORS = (EOFError, OSError, zlib.error)

__all__ = ["read_json"]

_CHUNK = 1 << 16
_WHITESPACE = " \t\r\n"
_NEWLINE = re.compile(rb"\r\n?|\n")
# Outside strings, what matters for resynchronisation: brackets, commas and whole strings
# (a string also ends at a line break, which JSON does not allow inside one).
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|[{}\[\],]')
_VALUE_START = frozenset('{["-0123456789tfn')


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
    pieces: list[bytes] = []         # the unfinished line, joined once when it ends
    carry = b""                      # a chunk's final CR: its LF may start the next chunk
    number = 0
    first = True
    while True:
        try:
            chunk = stream.read1(_CHUNK)     # one read: data before a fault is not lost
        except STREAM_ERRORS as exc:
            if carry or any(pieces):         # the part decompressed before the fault
                number += 1
                yield number, b"".join(pieces)
            report.add(source, f"line {number + 1}",
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
        chunk, carry = carry + chunk, b""
        if chunk.endswith(b"\r"):
            chunk, carry = chunk[:-1], b"\r"
        parts = _NEWLINE.split(chunk) if b"\r" in chunk else chunk.split(b"\n")
        if len(parts) == 1:                  # no line end yet: keep the piece, copy nothing
            pieces.append(chunk)
            continue
        pieces.append(parts[0])
        number += 1
        yield number, b"".join(pieces)
        for line in parts[1:-1]:
            number += 1
            yield number, line
        pieces = [parts[-1]]
    if carry or any(pieces):
        yield number + 1, b"".join(pieces)


def _ndjson(lines: Iterator[tuple[int, bytes]], source: str,
            report: ReadReport) -> Iterator[tuple[str, dict]]:
    for number, raw in lines:
        text = _decode(raw, source, f"line {number}", report).strip()
        if not text:
            continue
        try:
            value = _DECODER.decode(text)
        except (ValueError, RecursionError) as exc:
            report.add(source, f"line {number}", f"invalid JSON: {_reason(exc, line=False)}")
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
        except (ValueError, RecursionError) as exc:
            position = _resync(text, position, indent, in_array)
            rest = " (skipped to the end of the file)" if position == len(text) else ""
            report.add(source, location, f"invalid JSON: {_reason(exc, line=True)}{rest}")
            in_array = in_array and not rest     # the "]" was not seen, but not lost either
            continue
        if _check_object(value, source, location, report):
            yield location, value
        position = _skip(text, end)
        if not in_array or position == len(text) or text[position] == "]":
            continue
        if text[position] == ",":
            position = _skip(text, position + 1)
        elif text[position] in _VALUE_START:     # nothing is lost: read it as the next element
            report.add(source, f"line {lines_before(position)}",
                       "missing ',' between array elements", unreadable=False)
        else:
            report.add(source, f"line {lines_before(position)}", "expected ',' or ']' in the array")
            position = _resync(text, position, indent, in_array)
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


def _resync(text: str, position: int, indent: int, in_array: bool) -> int:
    """Where the value after the malformed one at ``position`` starts (or the array's ``]``).

    Brackets are counted outside strings: in an array, the next ``,`` at its top level;
    otherwise the end of the object begun at ``position``, or the next ``{``. When they
    do not balance before it, the next line opening an object at ``indent``.
    """
    line = _next_object_line(text, position, indent)
    depth = 0
    for match in _TOKEN.finditer(text, position, line):
        token = match.group()
        if token[0] == '"':
            continue
        if token in "{[":
            if depth == 0 and not in_array and match.start() > position:
                return match.start()             # a new object begins
            depth += 1
        elif token in "}]":
            if depth == 0:                       # a stray closer, or the array's end
                if in_array and token == "]":
                    return match.start()
                continue
            depth -= 1
            if depth == 0 and not in_array:
                return _skip(text, match.end())
        elif depth == 0 and in_array:            # ","
            return _skip(text, match.end())
    return line


def _next_object_line(text: str, position: int, indent: int) -> int:
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


def _reason(exc: BaseException, *, line: bool) -> str:
    """Why a value is not JSON, with its place when ``json`` knows it."""
    if isinstance(exc, RecursionError):
        return "values nested too deeply"
    if isinstance(exc, json.JSONDecodeError):
        where = f"line {exc.lineno}, column {exc.colno}" if line else f"column {exc.colno}"
        return f"{exc.msg} ({where})"
    return str(exc)       # NaN, Infinity, 1e999, an integer of too many digits


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is too large for a double")
    return value


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


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
    """True when ``raw`` is one whole JSON object (``NaN`` allowed: the line is reported later)."""
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:                     # JSONDecodeError, UnicodeDecodeError, long integers
        return False
    except RecursionError:                 # too deep to parse; decide by its brackets
        text = raw.strip()
        return text.startswith(b"{") and text.endswith(b"}")


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in _WHITESPACE:
        position += 1
    return position


def _chain(first: list, rest: Iterator) -> Iterator:
    yield from first
    yield from rest
