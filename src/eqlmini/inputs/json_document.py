"""A JSON document of events: an array of objects, or objects one after another.

The second layout is that of the Sigma ``.json`` renderings (pretty-printed
``{...}{...}``). The document is read whole, up to ``eqlmini.limits.MAX_DOCUMENT_BYTES``;
a larger one is reported and not read.

After a malformed value the reader resumes at the next value and counts what it lost.
It looks for the first *good place* after the bad value: a ``{`` after a ``,``, ``}``,
``[`` or a line break (blanks between) that starts a whole JSON object sharing a key
with the document's first event and followed by ``,``, ``]``, ``{`` or the end. Then it
counts brackets from the bad value, outside strings: in an array, the next ``,`` at
its top level (or the array's ``]``) ends it; in objects one after
another, the next ``{`` at the top level. When they balance before the good place, the
reader resumes there and counts one lost value, and one more for each *likely place*
(a ``{`` after ``}``, or opening a line at the first value's indentation) before it that
is not JSON (a misread quote can make two bad values balance as one); otherwise (a
bracket or quote went missing) it resumes at the good place and counts one lost value
for the bad one and one for each likely place it passed over.

A ``]`` with more text after it does not end the reading: the text is read on as more
elements (a stray ``]``) or as a second array, reported, with nothing lost.

Places are searched once, forward, and text a parse has read is never searched again,
so a document of any number of malformed values costs time linear in its length.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator

from .json_values import DECODER, Convert, decode_text, is_event, reason
from .report import ReadReport

__all__ = ["read_document"]

_BATCH = 1024
_BLANKS = re.compile(r"[ \t\r\n]*")
# Outside strings, what matters for resynchronisation: brackets, commas and whole strings
# (a string also ends at a line break, which JSON does not allow inside one).
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|[{}\[\],]')
_VALUE_START = frozenset('{["-0123456789tfn')
_CLOSE = {"{": "}", "[": "]"}
# Where an object may start (its "{" ends the match): after "}" and maybe "," (group 1), or
# after ",", "[" or a line break.
_PLACE = re.compile(r"(?:(\})[ \t\r\n]*,?|[,\[\n])[ \t\r\n]*\{")


def read_document(blocks: Iterator[tuple[int, list[bytes]]], source: str, report: ReadReport,
                  convert: Convert, max_document: int) -> Iterator[tuple[list[dict], list[int]]]:
    """Yield the objects of one JSON document in lists, with the line each starts on; report the rest."""
    raw = _whole(blocks, source, report, max_document)
    if raw is None:
        return
    text = decode_text(raw, source, "file", report)
    position = _skip(text, 0)
    in_array = text.startswith("[", position)
    if in_array:
        position = _skip(text, position + 1)
    places = _Places(text, in_array, position - (text.rfind("\n", 0, position) + 1))
    line_of = _LineCounter(text)
    decode = _Window(text).decode
    batch: list[dict] = []
    lines: list[int] = []
    while position < len(text):
        if len(batch) >= _BATCH:
            yield batch, lines
            batch, lines = [], []
        if in_array and text[position] == "]":
            after = _skip(text, position + 1)
            if after == len(text):
                in_array = False
                break
            # More follows: a stray "]" (read on) or a second array (read it too); nothing is lost.
            second = text[after] == "["
            report.add(source, f"line {line_of(position)}", "a second JSON array after the first" if second
                       else "']' before the end of the document: read on as elements of the array",
                       unreadable=False)
            position = _skip(text, after + 1) if second or text[after] == "," else after
            continue
        line = line_of(position)
        location = f"line {line}"
        try:
            value, end = decode(position)
        except (ValueError, RecursionError) as exc:
            position, lost = _resync(text, position, in_array, places)
            rest = " (skipped to the end of the file)" if position == len(text) else ""
            more = f"; {lost} values lost" if lost > 1 else ""
            why = f"{exc.msg} (line {line_of(exc.pos)}, column {exc.pos - text.rfind(chr(10), 0, exc.pos)})" \
                if isinstance(exc, _Malformed) else reason(exc, line=True)
            report.add(source, location, f"invalid JSON: {why}{more}{rest}", unreadable=lost)
            in_array = in_array and not rest     # the "]" was not seen, but not lost either
            continue
        event = is_event(value, source, location, report, convert)
        if event is not None:
            batch.append(event)
            lines.append(line)
        if places.keys is None and isinstance(value, dict):
            places.keys = frozenset(value)
        position = _skip(text, end)
        if position == len(text) or text[position] in ("]" if in_array else "{"):
            continue
        if in_array and text[position] == ",":
            position = _skip(text, position + 1)
        elif not isinstance(value, dict):        # the rest of a value already reported
            position, lost = places.after(position)
            report.unreadable += lost
        elif in_array and text[position] in _VALUE_START:   # nothing is lost: read it as the next element
            report.add(source, f"line {line_of(position)}", "missing ',' between array elements",
                       unreadable=False)
        elif in_array:
            report.add(source, f"line {line_of(position)}", "expected ',' or ']' in the array")
            position, _ = _resync(text, position, in_array, places)
    if batch:
        yield batch, lines
    if in_array:
        report.add(source, "end of file", "the JSON array is not closed (truncated file?)",
                   unreadable=False)


def _whole(blocks: Iterator[tuple[int, list[bytes]]], source: str, report: ReadReport,
           max_document: int) -> bytes | None:
    """The document's bytes (lines joined by LF); None, reported, when it is over the limit."""
    lines: list[bytes] = []
    size = 0
    for _, block in blocks:
        size += sum(map(len, block)) + len(block)
        if size > max_document + 1:
            report.add(source, "file", f"the JSON document is longer than {max_document:,} bytes, the limit "
                       "eqlmini.limits.MAX_DOCUMENT_BYTES: not read (convert it to NDJSON, or raise the limit)")
            return None
        lines.extend(block)
    return b"\n".join(lines)


def _resync(text: str, position: int, in_array: bool, places: _Places) -> tuple[int, int]:
    """Where to resume after the malformed value at ``position``, and how many values were lost."""
    place, _ = places.after(position)
    end = _balanced_end(text, position, in_array, place)
    if end is None:
        return place, 1 + places.passed(position, place)
    return end, 1 + places.passed(position, end, malformed_only=True)


def _balanced_end(text: str, position: int, in_array: bool, place: int) -> int | None:
    """Where the malformed value at ``position`` ends by its brackets, if before ``place``."""
    open_: list[str] = []                        # the brackets open, innermost last
    for match in _TOKEN.finditer(text, position, place):
        token = match.group()
        if token[0] == '"':
            if match.start() < place < match.end():
                return None                      # the good place is in a "string": quotes misread
            continue
        if token in "{[":
            if not open_ and not in_array and match.start() > position:
                return match.start()             # a new object begins
            open_.append(token)
        elif token in "}]":
            if open_ and _CLOSE[open_[-1]] == token:
                open_.pop()
            elif not open_ and in_array and token == "]":
                return match.start()             # the array's end
        elif not open_ and in_array:             # "," at the top level
            return _skip(text, match.end())
    return None


class _Places:
    """The good places (module docstring), found once, in order.

    ``keys``: the keys of the document's first object; a good place starts an object
    that shares one, so objects nested in events do not qualify. Until they are known
    (the first object is the bad one), the first good place is the first ``{`` after
    ``}`` or opening a line at the first value's ``indent``, or an earlier one whose
    object shares a key with it.
    """

    def __init__(self, text: str, in_array: bool, indent: int) -> None:
        self._text = text
        self._decode = _Window(text).decode
        self._indents = (" " * indent, "\t" * indent)
        self._followers = ",]{" if in_array else "{"
        self.keys: frozenset[str] | None = None
        self._searched = 0          # the last search covered text[_searched:_found] ...
        self._found = 0             # ... and found this place there (len(text): none)
        self._passed: list[int] = []     # likely places passed over: values lost
        self._malformed: list[int] = []  # those of them that are not JSON

    def after(self, position: int) -> tuple[int, int]:
        """The first good place after ``position``, and the likely places passed over before it."""
        if not self._searched <= position < self._found:
            self._found = self._search(position)
            self._searched = position
        return self._found, self.passed(position, self._found)

    def passed(self, start: int, end: int, *, malformed_only: bool = False) -> int:
        """How many likely places between ``start`` and ``end`` were passed over (searched
        before); ``malformed_only``: only those that are not JSON."""
        places = self._malformed if malformed_only else self._passed
        return bisect.bisect_left(places, end) - bisect.bisect_right(places, start)

    def _search(self, position: int) -> int:
        text = self._text
        checked = position           # text a parse has read up to here is not searched again
        unsure: list[tuple[int, dict]] = []   # good but unlikely places, while keys are unknown
        for match in _PLACE.finditer(text, position):
            start = match.end() - 1
            if start <= checked:
                continue
            # After "}" or at the first value's indentation, "{" is likely a value of the document.
            likely = match.group(1) is not None or text[text.rfind("\n", 0, start) + 1:start] in self._indents
            try:
                value, end = self._decode(start)
            except (ValueError, RecursionError) as exc:
                value, checked = None, exc.reach if isinstance(exc, _Malformed) else start
                if likely:
                    self._malformed.append(start)
            else:
                checked = end
                after = _skip(text, end)
                if not (after == len(text) or text[after] in self._followers):
                    value = None
            if value is not None:
                if self.keys is not None:
                    if not self.keys.isdisjoint(value):
                        return start
                elif likely:         # the first that shares a key with it, if any, came before
                    return next((place for place, seen in unsure if not seen.keys().isdisjoint(value)), start)
                else:
                    unsure.append((start, value))
            if likely:
                self._passed.append(start)
        return len(text)


class _Malformed(ValueError):
    """Python's JSONDecodeError without its cost: ``msg``, ``pos`` and ``reach`` (how far
    the parse read) in the whole text. (JSONDecodeError counts the lines before its
    place, which makes many errors in one long text cost quadratic time.)"""

    def __init__(self, msg: str, pos: int, reach: int) -> None:
        super().__init__(msg)
        self.msg, self.pos, self.reach = msg, pos, reach


class _Window:
    """``raw_decode`` at increasing places of a long text, through a copy of the part
    around them, so that an error costs time in proportion to the value, not its place."""

    SIZE = 1 << 16

    def __init__(self, text: str) -> None:
        self._text = text
        self._start = 0
        self._window = text[:self.SIZE]

    def decode(self, position: int) -> tuple[object, int]:
        """The value at ``position`` and where it ends; _Malformed (or ValueError,
        RecursionError as Python's ``json`` raises them) when there is none."""
        text = self._text
        if not self._start <= position <= self._start + self.SIZE // 2:
            self._start, self._window = position, text[position:position + self.SIZE]
        start, window = self._start, self._window
        while True:
            try:
                value, end = DECODER.raw_decode(window, position - start)
                return value, start + end
            except json.JSONDecodeError as exc:
                reach = exc.pos
                if exc.msg.startswith("Unterminated string"):   # it reads to its line's end
                    reach = window.find("\n", exc.pos)
                    reach = len(window) if reach < 0 else reach
                if reach < len(window) - 1 or start + len(window) >= len(text):
                    raise _Malformed(exc.msg, start + exc.pos, start + reach) from None
            start, window = position, text[position:position + 2 * len(window)]   # it may go on


class _LineCounter:
    """Line number of an offset, counting from the last offset asked about."""

    def __init__(self, text: str) -> None:
        self.text, self.offset, self.line = text, 0, 1

    def __call__(self, offset: int) -> int:
        if offset < self.offset:
            self.line -= self.text.count("\n", offset, self.offset)
        else:
            self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


def _skip(text: str, position: int) -> int:
    return _BLANKS.match(text, position).end()  # type: ignore[union-attr]  # always matches
