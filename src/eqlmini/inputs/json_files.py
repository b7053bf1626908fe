"""Read events from JSON text: NDJSON lines, a JSON array, or concatenated objects.

Works on an open binary stream, plain or gzip (the caller detects the magic bytes and
passes a ``gzip.GzipFile``); compressed data that ends early or is damaged is reported
and everything decompressed before the fault is still read. Three layouts:

* ``ndjson``: one JSON value per line (``.ndjson``, ``.jsonl``); a bad line is
  reported with its number and reading goes on with the next line;
* ``json``: one document, read whole: a JSON array of objects, or objects one after
  another (see :mod:`.json_document`);
* ``None`` (auto): ``ndjson`` when the first non-blank line is a whole JSON object,
  else ``json``.

Values are decoded by msgspec, which is exact where it succeeds; whatever it refuses
is decoded again by Python's ``json``, whose answer and message count. So what
Python's ``json`` accepts but JSON does not (``NaN``, ``Infinity``, numbers beyond a
double) and values nested too deeply for it are reported as invalid, like any other
malformed value; integers of any size (up to Python's 4,300 digits) stay exact; of a
duplicated key the last value counts; invalid UTF-8 is replaced and reported. Every
value that is not a JSON object is reported, not yielded.

A line longer than ``max_line`` bytes and a document longer than ``max_document``
bytes are reported and skipped (``eqlmini.limits``). Events come in lists, one per
read of the file, for callers that pay per call, each with the numbers of the lines its
events start on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import BinaryIO

import msgspec

from .json_document import read_document
from .json_values import NOTHING, Convert, exact_value, is_event
from .lines import STREAM_ERRORS, Lines
from .report import ReadReport

__all__ = ["STREAM_ERRORS", "Convert", "read_json"]

_FAST = msgspec.json.Decoder().decode
_FAST_ERRORS = (msgspec.DecodeError, RecursionError)
# An object with this key may be an EVTX record (is_evtx_record): ``convert`` decides.
_EVTX_KEY = "Event"


def read_json(stream: BinaryIO, source: str, report: ReadReport, mode: str | None, *,
              convert: Convert, max_line: int, max_document: int) -> Iterator[tuple[list[dict], Sequence[int]]]:
    """Yield the JSON objects of ``stream`` in lists, each passed through ``convert``, with the
    number of the line each starts on; report the rest."""
    limit = {"ndjson": max_line, "json": None}.get(mode, max_document)   # auto: the first line
    lines = Lines(stream, source, report, limit,
                  "eqlmini.limits." + ("MAX_LINE_BYTES" if mode == "ndjson" else "MAX_DOCUMENT_BYTES"))
    blocks = lines.blocks()
    pending: list[tuple[int, list[bytes]]] = []
    if mode is None:
        for block in blocks:
            pending.append(block)
            first = next((raw for raw in block[1] if raw.strip()), None)
            if first is not None:
                mode = "ndjson" if _is_object_line(first) else "json"
                break
        if mode == "ndjson":
            lines.limit, lines.limit_name = max_line, "eqlmini.limits.MAX_LINE_BYTES"
            pending = [lines.cut(block) for block in pending]
        else:
            lines.limit = None
    if mode == "ndjson":
        yield from _ndjson(_chain(pending, blocks), source, report, convert)
    else:
        yield from read_document(_chain(pending, blocks), source, report, convert, max_document)


def _ndjson(blocks: Iterator[tuple[int, list[bytes]]], source: str, report: ReadReport,
            convert: Convert) -> Iterator[tuple[list[dict], Sequence[int]]]:
    fast = _FAST
    for first, lines in blocks:
        batch: list[dict] = []
        append = batch.append
        dropped: list[int] = []  # the lines that gave no event (their numbers are left out)
        for index, raw in enumerate(lines):
            try:
                value = fast(raw)
            except _FAST_ERRORS:
                value = exact_value(raw, source, f"line {first + index}", report)
                if value is NOTHING:
                    dropped.append(index)
                    continue
            if value.__class__ is not dict or _EVTX_KEY in value:
                value = is_event(value, source, f"line {first + index}", report, convert)
                if value is None:
                    dropped.append(index)
                    continue
            append(value)
        if batch:  # a range costs the same for any number of lines: the common case
            yield batch, range(first, first + len(lines)) if not dropped else _kept(first, len(lines), dropped)


def _kept(first: int, count: int, dropped: list[int]) -> list[int]:
    """The numbers of the lines ``first .. first + count - 1`` but those at the ``dropped`` indexes."""
    left_out = set(dropped)
    return [first + index for index in range(count) if index not in left_out]


def _is_object_line(raw: bytes) -> bool:
    """True when ``raw`` is one whole JSON object (``NaN`` allowed: the line is reported later)."""
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:                     # JSONDecodeError, UnicodeDecodeError, long integers
        return False
    except RecursionError:                 # too deep to parse; decide by its brackets
        text = raw.strip()
        return text.startswith(b"{") and text.endswith(b"}")


def _chain(first: list, rest: Iterator) -> Iterator:
    yield from first
    yield from rest
