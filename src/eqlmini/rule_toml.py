"""TOML writing for rule files: the small subset of TOML that rules use, written back exactly.

The standard library reads TOML (``tomllib``) but does not write it. :func:`dumps` writes
a table of strings, integers, floats, booleans, dates, arrays and nested tables so that
``tomllib.loads(dumps(table)) == table``. Sub-tables become ``[a.b]`` sections and lists
of tables ``[[a.b]]`` sections, in the order of the mapping, as detection-rules lays out
``[rule]`` and ``[[rule.threat]]``.

The output never contains ``*/`` nor ``/*``, so it can always sit inside the leading
``/* ... */`` block comment of an ``.eql`` rule file: Elasticsearch's lexer nests block
comments, so a ``/*`` in a string would open a comment the header's ``*/`` then closes.
Strings are written ``*\\u002F`` and ``/\\u002A`` there (TOML escapes); literal strings,
which have no escapes, are used only for text without either pair.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

__all__ = ["dumps"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MAX_INLINE = 120  # longer arrays are written one item per line, as detection-rules does


def dumps(table: Mapping[str, Any]) -> str:
    """TOML text for ``table`` (keys are strings; values as listed in the module docstring)."""
    lines: list[str] = []
    _write_table(lines, (), table, None)
    return "\n".join(lines) + "\n" if lines else ""


def _value(value: Any, key_width: int = 0) -> str:
    """One TOML value, as written after ``key = `` (``key_width``: the length of that text)."""
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        items = [_value(item) for item in value]
        inline = "[" + ", ".join(items) + "]"
        if key_width + len(inline) <= _MAX_INLINE or any("\n" in item for item in items):
            return inline
        return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} value {value!r} as TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _write_table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any], header: str | None) -> None:
    """Write ``table``: its plain keys under ``header``, then its sub-tables as sections."""
    if header is not None:
        if lines:
            lines.append("")
        lines.append(header)
    sections = []
    for key, value in table.items():
        if not isinstance(key, str):
            raise TypeError(f"TOML keys are strings, not {key!r}")
        if isinstance(value, Mapping) or _is_table_array(value):
            sections.append((key, value))
        else:
            prefix = f"{_key(key)} = "
            lines.append(prefix + _value(value, len(prefix)))
    for key, value in sections:
        sub = (*path, key)
        dotted = ".".join(map(_key, sub))
        if isinstance(value, Mapping):
            _write_table(lines, sub, value, f"[{dotted}]")
        else:
            for item in value:
                _write_table(lines, sub, item, f"[[{dotted}]]")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _basic(key)


def _string(value: str) -> str:
    if "\n" not in value:
        return _basic(value)
    if _literal_safe(value):
        return "'''\n" + value + "'''"
    # Quotes stay as they are, but for one in each run of three and a last one, which
    # would otherwise close the string.
    last = '\\"' if value.endswith('"') else ""
    body = _escape(value[:-1] if last else value, keep='\n"') + last
    return '"""\n' + body.replace('"""', '""\\"') + '"""'


def _literal_safe(value: str) -> bool:
    """A multi-line literal string (no escapes) is used for text with backslashes, if it can be."""
    return ("\\" in value and "'''" not in value and not value.endswith("'") and "*/" not in value
            and "/*" not in value and not _CONTROL.search(value))


def _basic(value: str) -> str:
    return '"' + _escape(value) + '"'


def _escape(value: str, keep: str = "") -> str:
    out = []
    for char in value:
        if char in keep:
            out.append(char)
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif _CONTROL.match(char):
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out).replace("/*", "/\\u002A").replace("*/", "*\\u002F")
