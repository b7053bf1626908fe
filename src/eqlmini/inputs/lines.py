"""Split a byte stream into numbered lines, a block per read, with a bound on one line's size.

:class:`Lines` reads large chunks (one ``read1`` each, so that the data a damaged gzip
stream gave before its fault is not lost) and yields each chunk's complete lines as one
block: ``(number of its first line, [line, ...])``. Lines end with LF, CRLF or CR; a
CRLF line keeps its CR (JSON whitespace) unless the chunk also holds a lone CR. A UTF-8
byte order mark at the start is dropped.

A line longer than :attr:`Lines.limit` bytes is never held whole: its bytes are dropped
as they come, the line is reported (counted as unreadable) and yielded as ``b""``, so
line numbers stay right. A stream that is binary data, not text, yields nothing and is
reported once.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from .report import ReadReport

__all__ = ["STREAM_ERRORS", "Lines"]

# What a damaged or truncated stream raises while it is read (gzip.BadGzipFile is an OSError).
STREAM_ERRORS = (EOFError, OSError, zlib.error)

CHUNK = 1 << 16               # smaller reads keep a batch of events in the CPU caches
_NEWLINE = re.compile(rb"\r\n?|\n")
_HEAD = 4096                       # the bytes looked at to tell text from binary data


class Lines:
    """The lines of ``stream`` in blocks (see the module docstring).

    ``limit`` (bytes, None: no limit) may change between blocks; ``limit_name`` is the
    name of the limit in messages, e.g. ``eqlmini.limits.MAX_LINE_BYTES``.
    """

    def __init__(self, stream: BinaryIO, source: str, report: ReadReport, limit: int | None,
                 limit_name: str) -> None:
        self._stream, self._source, self._report = stream, source, report
        self.limit, self.limit_name = limit, limit_name

    def blocks(self) -> Iterator[tuple[int, list[bytes]]]:
        """``(number of the first line, lines)`` per read; a damaged stream ends with a problem."""
        pieces: list[bytes] = []   # the unfinished line, joined once when it ends
        size = 0                   # its length so far; past the limit its bytes are dropped
        too_long = False
        carry = b""                # a chunk's final CR: its LF may start the next chunk
        number = 1                 # the number of the next line to end
        first = True
        while True:
            try:
                chunk = self._stream.read1(CHUNK)
            except STREAM_ERRORS as exc:
                if carry or size:  # the part decompressed before the fault
                    yield number, [self._finish(pieces, too_long, number)]
                    number += 1
                self._report.add(self._source, f"line {number}",
                                 f"compressed data is damaged or truncated, the rest is lost ({exc})")
                return
            if first:
                first = False
                if _is_binary(chunk[:_HEAD]):
                    self._report.add(self._source, "file", _binary_reason(chunk[:_HEAD]))
                    return
                chunk = chunk.removeprefix(b"\xef\xbb\xbf")
            if not chunk:
                break
            if carry:
                chunk, carry = carry + chunk, b""
            if chunk.endswith(b"\r"):
                chunk, carry = chunk[:-1], b"\r"
            if b"\r" in chunk and chunk.count(b"\r") != chunk.count(b"\r\n"):
                lines = _NEWLINE.split(chunk)
            else:
                lines = chunk.split(b"\n")
            rest = lines.pop()
            if lines:
                pieces.append(lines[0])
                lines[0] = self._finish(pieces, too_long or size + len(lines[0]) > self._cap, number)
                if self.limit is not None and self.limit < len(chunk):
                    self._cut(lines, number)
                yield number, lines
                number += len(lines)
                pieces, size, too_long = [], 0, False
            size += len(rest)
            if too_long or size > self._cap:
                pieces, too_long = [], True
            else:
                pieces.append(rest)
        if carry or size:
            yield number, [self._finish(pieces, too_long or size > self._cap, number)]

    @property
    def _cap(self) -> float:
        return float("inf") if self.limit is None else self.limit

    def _finish(self, pieces: list[bytes], too_long: bool, number: int) -> bytes:
        """The whole line, or ``b""`` (reported) when it is over the limit."""
        if too_long:
            self._too_long(number)
            return b""
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _cut(self, lines: list[bytes], first: int) -> None:
        """Replace the lines of a block that are over the limit by ``b""``, reporting each."""
        for index, line in enumerate(lines):
            if len(line) > self._cap:
                self._too_long(first + index)
                lines[index] = b""

    def cut(self, block: tuple[int, list[bytes]]) -> tuple[int, list[bytes]]:
        """``block`` with its lines over the (new) limit reported and emptied."""
        first, lines = block
        lines = list(lines)
        self._cut(lines, first)
        return first, lines

    def _too_long(self, number: int) -> None:
        self._report.add(self._source, f"line {number}", f"the line is longer than {self.limit:,} bytes, "
                         f"the limit {self.limit_name}: skipped")


def _is_binary(head: bytes) -> bool:
    """Binary data, not JSON text: a NUL byte in the first bytes where text cannot start so.

    JSON text starts with ``{`` or ``[`` (after blanks and a byte order mark); a NUL
    inside such a file is a fault of its line, reported there, not of the whole file.
    UTF-16 text (NULs between ASCII characters) is binary for a UTF-8 reader.
    """
    if b"\x00" not in head:
        return False
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    return text[:1] not in (b"{", b"[") or text[1:2] == b"\x00"


def _binary_reason(head: bytes) -> str:
    ascii_around = all(byte in b"\t\r\n" or 32 <= byte < 127 for byte in head[:8].replace(b"\x00", b""))
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (b"\x00" in head[:2] and ascii_around):
        return "UTF-16 text, not UTF-8: convert it (iconv -f UTF-16 -t UTF-8)"
    return "binary data, not JSON text"
