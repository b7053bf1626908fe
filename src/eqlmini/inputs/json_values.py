"""One JSON value, decoded exactly as documented, and what becomes of it: an event or a problem.

Python's ``json`` is the reference: ``NaN``, ``Infinity`` and numbers beyond a double
are not JSON and are reported; invalid UTF-8 is replaced by U+FFFD and reported (the
value is kept). A value that is not a JSON object is reported, not yielded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from .report import ReadReport

__all__ = ["DECODER", "NOTHING", "Convert", "decode_text", "exact_value", "is_event", "reason"]

NOTHING = object()  # what exact_value returns for a blank or reported line (None is JSON's null)

# What the reader does with each object before it is yielded (EVTX-shaped ones are mapped
# to ECS): the event, or None when it was reported instead. Called with (object, location).
Convert = Callable[[dict, str], "dict | None"]


def exact_value(raw: bytes, source: str, location: str, report: ReadReport) -> object:
    """The value of one line as Python's ``json`` reads it; NOTHING for a blank or reported line."""
    text = decode_text(raw, source, location, report).strip()
    if not text:
        return NOTHING
    try:
        return DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        report.add(source, location, f"invalid JSON: {reason(exc, line=False)}")
        return NOTHING


def is_event(value: object, source: str, location: str, report: ReadReport,
             convert: Convert) -> dict | None:
    """``value`` converted when it is a JSON object; else reported (None)."""
    if isinstance(value, dict):
        return convert(value, location)
    kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")
    report.add(source, location, f"expected a JSON object (an event), found {kind}")
    return None


def reason(exc: BaseException, *, line: bool) -> str:
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


DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def decode_text(raw: bytes, source: str, location: str, report: ReadReport) -> str:
    """UTF-8 text; bad bytes become U+FFFD and are reported (no event is lost)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        report.add(source, location, f"invalid UTF-8 replaced with U+FFFD ({exc.reason} "
                   f"at byte {exc.start})", unreadable=False)
        return raw.decode("utf-8", errors="replace")
