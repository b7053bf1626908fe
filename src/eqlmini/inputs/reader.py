"""Read events from files: pick the format, open plain or gzip, normalise EVTX to ECS.

:func:`read_events` reads paths one after another and yields events (``dict``) lazily;
:func:`read_file` reads one. The format is the ``format`` argument, else the file
extension (``.json``, ``.ndjson``/``.jsonl``, ``.evtx``, any of them with ``.gz``), else
the first bytes (``ElfFile`` for EVTX, ``[`` or ``{`` for JSON). Gzip is recognised by
its magic bytes whatever the name. ``-`` reads standard input.

Records of EVTX files, and JSON objects shaped like them (the Sigma renderings), are
normalised to ECS by :func:`eqlmini.inputs.ecs.evtx_to_ecs`; other JSON objects are
yielded as they are. Nothing bad in the input raises: see :mod:`.report`.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from ..errors import EqlEventError
from .ecs import evtx_to_ecs, is_evtx_record
from .evtx_files import EVTX_MAGIC, read_evtx
from .json_files import STREAM_ERRORS, read_json
from .report import ReadReport

__all__ = ["FORMATS", "read_events", "read_file"]

FORMATS = ("ndjson", "json", "evtx")
# "auto-json": NDJSON, an array or concatenated objects, decided by json_files.
_EXTENSIONS = {".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "auto-json", ".evtx": "evtx"}
_GZIP_MAGIC = b"\x1f\x8b"

Source = str | os.PathLike


def read_events(sources: Source | Iterable[Source], *, report: ReadReport | None = None,
                format: str | None = None) -> Iterator[dict]:
    """Yield the events of each source in turn; problems go to ``report``."""
    _check_format(format)
    if isinstance(sources, (str, bytes, os.PathLike)):
        sources = [sources]
    report = report if report is not None else ReadReport(log=True)
    return _read_all(sources, report, format)


def read_file(path: Source, *, report: ReadReport | None = None,
              format: str | None = None) -> Iterator[dict]:
    """Yield the events of one file (``format``: ``ndjson``, ``json``, ``evtx`` or None: auto)."""
    _check_format(format)
    report = report if report is not None else ReadReport(log=True)
    return _read_one(path, report, format)


def _check_format(format: str | None) -> None:
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown input format {format!r}; expected one of {', '.join(FORMATS)}")


def _read_all(sources: Iterable[Source], report: ReadReport, format: str | None) -> Iterator[dict]:
    for source in sources:
        yield from _read_one(source, report, format)


def _read_one(path: Source, report: ReadReport, format: str | None) -> Iterator[dict]:
    name = "<stdin>" if path == "-" else os.fsdecode(path)
    report.sources += 1
    try:
        raw = sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as exc:
        report.add(name, "file", f"cannot open: {exc.strerror or exc}")
        return
    try:
        stream, head = _open_stream(raw, name, report)
        if stream is None:
            return
        if not head:
            return                                     # an empty file holds no events
        fmt = format or _format_from_name(name) or _format_from_bytes(head)
        if fmt is None:
            report.add(name, "file", "not a JSON, NDJSON or EVTX file"
                       + (" (binary data)" if b"\x00" in head else ""))
            return
        if fmt == "evtx":
            try:
                records = read_evtx(_evtx_input(path, raw, stream), name, report)
            except STREAM_ERRORS as exc:
                report.add(name, "file", f"compressed data is damaged or truncated ({exc})")
                return
        else:
            records = read_json(stream, name, report, None if fmt == "auto-json" else fmt)
        for location, event in records:
            if is_evtx_record(event) or fmt == "evtx":
                try:
                    event = evtx_to_ecs(event)
                except EqlEventError as exc:
                    report.add(name, location, exc.message)
                    continue
                except Exception as exc:  # noqa: BLE001 (a mapping bug must not end the scan)
                    report.add(name, location, "cannot map the EVTX record to ECS: "
                               f"{type(exc).__name__}: {exc}")
                    continue
            report.events += 1
            yield event
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


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
    text = head.lstrip(b" \t\r\n").removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if text[:1] in (b"[", b"{"):
        return "auto-json"
    return None


def _evtx_input(path: Source, raw: BinaryIO, stream: BinaryIO) -> str | BinaryIO:
    """A path for a plain file on disk; decompressed bytes in memory otherwise."""
    if stream is raw and path != "-":
        return os.fsdecode(path)
    return io.BytesIO(stream.read())
