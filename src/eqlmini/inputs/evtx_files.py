"""Read the records of a Windows ``.evtx`` file with the optional ``evtx`` package.

``evtx`` (``pip install eqlmini[evtx]``) is imported on first use only, so JSON users
never need it; without it, reading an EVTX file raises :class:`EqlEventError` naming
the extra. Records are yielded as the package renders them (``{"Event": ...}``);
:func:`eqlmini.inputs.ecs.evtx_to_ecs` turns them into ECS events.

A record the parser cannot read is reported and the next one is tried. The ``evtx``
parser can also stop early *without* an error, for instance at a record whose header
was overwritten, so after the last record this module compares the record numbers it
got with the ranges announced by each chunk header and reports the missing ones.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import BinaryIO

from ..errors import EqlEventError
from .report import ReadReport

__all__ = ["EVTX_MAGIC", "read_evtx"]

EVTX_MAGIC = b"ElfFile\x00"
_CHUNK_MAGIC = b"ElfChnk\x00"
_HEADER_SIZE = 0x1000
_CHUNK_SIZE = 0x10000
_MAX_ERRORS_IN_A_ROW = 1000       # a parser that fails without advancing must not loop forever


def read_evtx(file: str | BinaryIO, source: str,
              report: ReadReport) -> Iterator[tuple[str, dict]]:
    """Yield ``(location, record)`` for each readable record; report the others."""
    parser_class = _parser_class()
    try:
        records = parser_class(file).records_json()
    except (RuntimeError, OSError, ValueError) as exc:
        report.add(source, "file", f"not a readable EVTX file: {_reason(exc)}")
        return
    seen: set[int] = set()
    errors = in_a_row = 0
    position = 0
    while True:
        position += 1
        try:
            item = next(records)
        except StopIteration:
            break
        except (RuntimeError, OSError, ValueError) as exc:
            errors += 1
            in_a_row += 1
            report.add(source, f"record {position}", f"unreadable EVTX record: {_reason(exc)}")
            if in_a_row >= _MAX_ERRORS_IN_A_ROW:
                report.add(source, f"record {position}", "too many errors in a row, "
                           "the rest of the file is skipped")
                break
            continue
        in_a_row = 0
        number = item.get("event_record_id")
        if isinstance(number, int):
            seen.add(number)
            location = f"record {number}"
        else:
            location = f"record {position}"
        try:
            record = json.loads(item["data"])
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            report.add(source, location, f"EVTX record data is not JSON: {exc}")
            continue
        yield location, record
    _report_missing(file, source, report, seen, errors)


def _parser_class():
    try:
        from evtx import PyEvtxParser
    except ImportError as exc:
        raise EqlEventError("reading .evtx files needs the optional 'evtx' package: "
                            "pip install 'eqlmini[evtx]'") from exc
    return PyEvtxParser


def _report_missing(file: str | BinaryIO, source: str, report: ReadReport,
                    seen: set[int], errors: int) -> None:
    """Report record numbers that chunk headers announce but the parser did not return."""
    missing = [n for first, last in _chunk_ranges(file) for n in range(first, last + 1)
               if n not in seen]
    extra = len(missing) - errors            # parser errors were already counted
    if extra <= 0:
        return
    report.add(source, f"records {_ranges(missing)}",
               f"{len(missing)} record(s) listed in the chunk headers were not returned "
               f"by the EVTX parser (damaged chunk?)", unreadable=False)
    report.unreadable += extra


def _chunk_ranges(file: str | BinaryIO) -> list[tuple[int, int]]:
    """``(first, last)`` record identifiers of each chunk with a valid header."""
    ranges = []
    try:
        handle = open(file, "rb") if isinstance(file, str) else file
        try:
            handle.seek(_HEADER_SIZE)
            while True:
                header = handle.read(40)
                if len(header) < 40:
                    break
                if header.startswith(_CHUNK_MAGIC):
                    first, last = struct.unpack_from("<QQ", header, 24)
                    if 1 <= first <= last and last - first < _CHUNK_SIZE:
                        ranges.append((first, last))
                handle.seek(_CHUNK_SIZE - 40, 1)
        finally:
            if handle is not file:
                handle.close()
    except OSError:
        return []
    return ranges


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``1-3, 7`` (at most five ranges shown)."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    text = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in spans[:5])
    return text + (", ..." if len(spans) > 5 else "")


def _reason(exc: BaseException) -> str:
    """The ``evtx`` package's message without its generic prefix."""
    text = str(exc).strip()
    prefix = "An error occurred while trying to deserialize evtx stream.:"
    return text.removeprefix(prefix).strip() or type(exc).__name__
