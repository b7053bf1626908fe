"""Read events from files: pick the format, open plain or gzip, normalise EVTX to ECS.

:func:`read_events` reads paths one after another and yields events (``dict``) lazily;
:func:`read_file` reads one. The format is the ``format`` argument, else the file
extension (``.json``, ``.ndjson``/``.jsonl``, ``.evtx``, any of them with ``.gz``;
``.parquet``), else the first bytes (``ElfFile`` for EVTX, ``PAR1`` for Parquet, ``[`` or
``{`` for JSON). Gzip is recognised by its magic bytes whatever the name. ``-`` reads
standard input. :func:`read_batches` yields the same events in lists, one per read of a
file, for callers that pay per call; :func:`read_placed_batches` adds where each event came
from (its file, and its line, its EVTX record's ``EventRecordID`` or its Parquet row),
without touching the events.

``max_line_bytes`` bounds one NDJSON line and ``max_document_bytes`` one JSON document
(defaults: ``eqlmini.limits.MAX_LINE_BYTES`` and ``MAX_DOCUMENT_BYTES``, read when the
call is made): a record over its limit is reported and reading goes on.

Records of EVTX files, and JSON objects shaped like them (the Sigma renderings), are
normalised to ECS by :func:`eqlmini.inputs.ecs.evtx_to_ecs`; other JSON objects are
yielded as they are. Nothing bad in the input raises: see :mod:`.report`.
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import BinaryIO, NamedTuple

from .. import limits
from ..errors import EqlEventError
from .ecs import evtx_to_ecs, is_evtx_record
from .evtx_files import EVTX_MAGIC, read_evtx
from .json_files import STREAM_ERRORS, Convert, read_json
from .parquet_files import PARQUET_EXTENSIONS, PARQUET_MAGIC, read_parquet
from .report import ReadReport

__all__ = ["FORMATS", "PlacedBatch", "read_batches", "read_events", "read_file", "read_placed_batches"]

FORMATS = ("ndjson", "json", "evtx", "parquet")
# "auto-json": NDJSON, an array or concatenated objects, decided by json_files.
_EXTENSIONS = {".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "auto-json", ".evtx": "evtx",
               **{extension: "parquet" for extension in PARQUET_EXTENSIONS}}
_GZIP_MAGIC = b"\x1f\x8b"

Source = str | os.PathLike


def read_events(sources: Source | Iterable[Source], *, report: ReadReport | None = None,
                format: str | None = None, max_line_bytes: int | None = None,
                max_document_bytes: int | None = None) -> Iterator[dict]:
    """Yield the events of each source in turn; problems go to ``report``."""
    return itertools.chain.from_iterable(read_batches(
        sources, report=report, format=format, max_line_bytes=max_line_bytes,
        max_document_bytes=max_document_bytes))


def read_file(path: Source, *, report: ReadReport | None = None, format: str | None = None,
              max_line_bytes: int | None = None, max_document_bytes: int | None = None) -> Iterator[dict]:
    """Yield the events of one file (``format``: ``ndjson``, ``json``, ``evtx`` or None: auto)."""
    return read_events([path], report=report, format=format, max_line_bytes=max_line_bytes,
                       max_document_bytes=max_document_bytes)


class PlacedBatch(NamedTuple):
    """Events read together, and where each came from: ``numbers[i]`` is the ``unit``
    (``"line"``, or ``"record"``: the EVTX ``EventRecordID``) of ``events[i]`` in ``source``."""

    events: list[dict]
    source: str            # the path as given, or "<stdin>"
    unit: str
    numbers: Sequence[int]


def read_batches(sources: Source | Iterable[Source], *, report: ReadReport | None = None,
                 format: str | None = None, max_line_bytes: int | None = None,
                 max_document_bytes: int | None = None) -> Iterator[list[dict]]:
    """The events of :func:`read_events`, in lists (one per read; never an empty one)."""
    return (batch.events for batch in read_placed_batches(
        sources, report=report, format=format, max_line_bytes=max_line_bytes,
        max_document_bytes=max_document_bytes))


def read_placed_batches(sources: Source | Iterable[Source], *, report: ReadReport | None = None,
                        format: str | None = None, max_line_bytes: int | None = None,
                        max_document_bytes: int | None = None) -> Iterator[PlacedBatch]:
    """The batches of :func:`read_batches`, each with its file and the place of each event."""
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown input format {format!r}; expected one of {', '.join(FORMATS)}")
    if isinstance(sources, (str, bytes, os.PathLike)):
        sources = [sources]
    report = report if report is not None else ReadReport(log=True)
    bounds = (limits.MAX_LINE_BYTES if max_line_bytes is None else max_line_bytes,
              limits.MAX_DOCUMENT_BYTES if max_document_bytes is None else max_document_bytes)
    return _read_all(sources, report, format, bounds)


def _read_all(sources: Iterable[Source], report: ReadReport, format: str | None,
              bounds: tuple[int, int]) -> Iterator[PlacedBatch]:
    for source in sources:
        name = "<stdin>" if source == "-" else os.fsdecode(source)
        for events, unit, numbers in _read_one(source, name, report, format, bounds):
            report.events += len(events)
            yield PlacedBatch(events, name, unit, numbers)


def _read_one(path: Source, name: str, report: ReadReport, format: str | None,
              bounds: tuple[int, int]) -> Iterator[tuple[list[dict], str, Sequence[int]]]:
    report.sources += 1
    if (format or _format_from_name(name)) == "parquet" and path != "-":  # DuckDB opens the file
        for events, rows in read_parquet(os.fsdecode(path), name, report):
            yield events, "row", rows
        return
    try:
        raw = sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as exc:
        report.add(name, "file", f"cannot open: {exc.strerror or exc}")
        return
    try:
        stream, head = _open_stream(raw, name, report)
        if stream is None:
            return
        fmt = format or _format_from_name(name) or _format_from_bytes(head)
        if not head:
            if fmt == "evtx":  # even a log with no record has a header and a chunk
                report.add(name, "file", "empty file: not an EVTX file (an EVTX file starts with a 4 KiB header)")
            return                                     # an empty JSON file holds no events
        if fmt is None:
            report.add(name, "file", "not a JSON, NDJSON or EVTX file"
                       + (" (binary data)" if b"\x00" in head else ""))
            return
        if fmt == "parquet":  # named otherwise, or standard input
            if path == "-" or stream is not raw:
                report.add(name, "file", "a Parquet file is read from a file on disk, not compressed nor "
                           "from standard input")
                return
            for events, rows in read_parquet(os.fsdecode(path), name, report):
                yield events, "row", rows
            return
        convert = _converter(name, report, always=fmt == "evtx")
        if fmt != "evtx":
            for events, lines in read_json(stream, name, report, None if fmt == "auto-json" else fmt,
                                           convert=convert, max_line=bounds[0], max_document=bounds[1]):
                yield events, "line", lines
            return
        try:
            records = read_evtx(_evtx_input(path, raw, stream), name, report)
        except STREAM_ERRORS as exc:
            report.add(name, "file", f"compressed data is damaged or truncated ({exc})")
            return
        while chunk := list(itertools.islice(records, _EVTX_BATCH)):
            placed = [(event, location) for location, record in chunk
                      if (event := convert(record, location)) is not None]
            if placed:
                yield [event for event, _ in placed], "record", [_record_id(*pair) for pair in placed]
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


_EVTX_BATCH = 256


def _record_id(event: dict, location: str) -> int:
    """The record's ``System/EventRecordID``, as Event Viewer shows it (``winlog.record_id``),
    else the parser's number for it (``location`` is ``record N``)."""
    winlog = event.get("winlog")
    number = winlog.get("record_id") if isinstance(winlog, dict) else None
    return int(number) if isinstance(number, str) and number.isdigit() else int(location.split()[-1])


def _converter(name: str, report: ReadReport, *, always: bool) -> Convert:
    """What becomes of a JSON object or EVTX record: mapped to ECS when it is an EVTX
    record (``always`` for records of EVTX files), else itself; None when reported."""
    def convert(record: dict, location: str) -> dict | None:
        if not (always or is_evtx_record(record)):
            return record
        try:
            return evtx_to_ecs(record)
        except EqlEventError as exc:
            report.add(name, location, exc.message)
        except Exception as exc:  # noqa: BLE001 (a mapping bug must not end the scan)
            report.add(name, location, f"cannot map the EVTX record to ECS: {type(exc).__name__}: {exc}")
        return None
    return convert


def _open_stream(raw: BinaryIO, name: str,
                 report: ReadReport) -> tuple[BinaryIO | None, bytes]:
    """The (decompressed) stream and its first bytes; ``None`` when it cannot be read."""
    buffered = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
    try:
        head = buffered.peek(16)[:16]
        if not head.startswith(_GZIP_MAGIC):
            return buffered, head
        stream = gzip.GzipFile(fileobj=buffered, mode="rb")     # has peek() and read1()
        return stream, stream.peek(16)[:16]
    except STREAM_ERRORS as exc:
        report.add(name, "file", f"cannot read: {exc}")
        return None, b""


def _format_from_name(name: str) -> str | None:
    return _EXTENSIONS.get(os.path.splitext(name.lower().removesuffix(".gz"))[1])


def _format_from_bytes(head: bytes) -> str | None:
    if head.startswith(EVTX_MAGIC):
        return "evtx"
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    text = head.lstrip(b" \t\r\n").removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if text[:1] in (b"[", b"{"):
        return "auto-json"
    return None


def _evtx_input(path: Source, raw: BinaryIO, stream: BinaryIO) -> str | BinaryIO:
    """A path for a plain file on disk; decompressed bytes in memory otherwise."""
    if stream is raw and path != "-":
        return os.fsdecode(path)
    return io.BytesIO(stream.read())
