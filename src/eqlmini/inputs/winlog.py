"""Read one record of the ``evtx`` package's JSON into winlogbeat's ``winlog`` shape.

The ``evtx`` package renders an EVTX record as ``{"Event": {"System": ..., "EventData":
...}}``, keeping XML attributes under ``"#attributes"`` and element text under
``"#text"``. Winlogbeat calls the same information ``winlog.*`` (``channel``,
``event_id``, ``provider_name``, ``record_id``, ``event_data``, ...), which is what ECS
documents and Elastic's rules carry. This module does that one translation and renders
values the way winlogbeat does: every ``event_data`` value a string, GUIDs in braces,
``Keywords`` and ``Opcode`` as names where Windows defines them without a manifest.
Mapping to ECS proper (``process.*``, ``user.*``) is :mod:`eqlmini.inputs.ecs`'s job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import NamedTuple

from ..errors import EqlEventError

__all__ = ["Winlog", "read_winlog", "iso_timestamp", "parse_int", "windows_basename"]


class Winlog(NamedTuple):
    """One record as winlogbeat sees it, before ECS mapping."""

    winlog: dict            # the ``winlog`` object: channel, event_id, event_data, ...
    timestamp: str          # System/TimeCreated as ISO-8601 UTC ending in ``Z``
    level: str | None       # "information", "warning", ... (ECS ``log.level``)


# Standard keyword bits (winmeta.xml) that Windows names the same in every log.
_KEYWORDS = ((0x0010000000000000, "Audit Failure"),
             (0x0020000000000000, "Audit Success"),
             (0x0080000000000000, "Classic"))
_LEVELS = {0: "information", 1: "critical", 2: "error", 3: "warning", 4: "information", 5: "verbose"}
_OPCODES = {0: "Info", 1: "Start", 2: "Stop"}
_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_TIMESTAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?", re.IGNORECASE)


def read_winlog(record: Mapping) -> Winlog:
    """Translate one ``evtx`` JSON record (``{"Event": ...}``) into the winlog shape.

    Also accepts an item of ``PyEvtxParser.records_json()`` as is (its ``"data"`` is the
    JSON text). Raises :class:`EqlEventError` when the record has no ``Event/System``
    or no usable ``TimeCreated``.
    """
    if "Event" not in record and isinstance(record.get("data"), str):
        try:
            record = json.loads(record["data"])
        except json.JSONDecodeError as exc:
            raise EqlEventError(f"record data is not JSON: {exc}") from None
    event = record.get("Event")
    system = event.get("System") if isinstance(event, Mapping) else None
    if not isinstance(system, Mapping):
        raise EqlEventError("not an EVTX record: no Event/System element")
    raw_time = _attribute(system.get("TimeCreated"), "SystemTime")
    timestamp = iso_timestamp(raw_time) if isinstance(raw_time, str) else None
    if timestamp is None:
        raise EqlEventError(f"EVTX record without a usable System/TimeCreated: {raw_time!r}")
    event_id = _text(system.get("EventID"))
    if event_id is None:
        raise EqlEventError("EVTX record without System/EventID")
    if isinstance(event_id, bool) or not isinstance(event_id, (int, str)) or event_id == "":
        raise EqlEventError(f"EVTX record with an unusable System/EventID: {event_id!r}")

    winlog: dict = {}
    _set(winlog, "channel", _text_or_none(system.get("Channel")))
    _set(winlog, "computer_name", _text_or_none(system.get("Computer")))
    winlog["event_id"] = str(event_id)
    _set(winlog, "provider_name", _text_or_none(_attribute(system.get("Provider"), "Name")))
    _set(winlog, "provider_guid", _string(_attribute(system.get("Provider"), "Guid")))
    _set(winlog, "record_id", _text_or_none(system.get("EventRecordID")))
    _set(winlog, "version", parse_int(system.get("Version")))
    _set(winlog, "opcode", _OPCODES.get(parse_int(system.get("Opcode"))))
    _set(winlog, "keywords", _keyword_names(system.get("Keywords")))
    _set(winlog, "activity_id", _string(_attribute(system.get("Correlation"), "ActivityID")))
    pid = _attribute(system.get("Execution"), "ProcessID")
    tid = _attribute(system.get("Execution"), "ThreadID")
    if pid is not None or tid is not None:
        winlog["process"] = {k: v for k, v in (("pid", pid), ("thread", {"id": tid}))
                             if v is not None and v != {"id": None}}
    sid = _text_or_none(_attribute(system.get("Security"), "UserID"))
    if sid:
        winlog["user"] = {"identifier": sid}
    event_data = _event_data(event.get("EventData"))
    if event_data:
        winlog["event_data"] = event_data
    user_data = _user_data(event.get("UserData"))
    if user_data:
        winlog["user_data"] = user_data
    return Winlog(winlog, timestamp, _LEVELS.get(parse_int(system.get("Level"))))


def iso_timestamp(text: str) -> str | None:
    """``2020-10-27 20:00:14.320`` or ``...T...Z`` -> ``2020-10-27T20:00:14.320Z``; else None.

    The fraction keeps its digits (EVTX has 7); a time without a zone is taken as UTC,
    as Sysmon's ``UtcTime`` is; other offsets are converted to UTC.
    """
    match = _TIMESTAMP.fullmatch(text.strip())
    if not match:
        return None
    date, time, fraction, zone = match.groups()
    fraction = fraction or ""
    try:
        moment = datetime.fromisoformat(f"{date}T{time}{fraction[:7]}")
        if zone is None or zone.upper() in ("Z", "UTC") or zone.replace(":", "")[1:] == "0000":
            return f"{date}T{time}{fraction}Z"
        offset = datetime.strptime(zone.replace(":", ""), "%z").tzinfo
        moment = moment.replace(tzinfo=offset).astimezone(timezone.utc)
    except (ValueError, OverflowError):        # no such date, offset or UTC year
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_int(value: object) -> int | None:
    """``4212``, ``"4212"`` or ``"0x11cc"`` -> int; anything else -> None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if text[:2].lower() == "0x":
            return int(text, 16)
        return int(text)
    except ValueError:
        return None


def windows_basename(path: str) -> str | None:
    """The last component of a Windows path (``C:\\x\\cmd.exe`` -> ``cmd.exe``), or None."""
    name = path[max(path.rfind("\\"), path.rfind("/")) + 1:]
    return name or None


def _event_data(node: object) -> dict:
    """``EventData`` as a flat dict of strings; unnamed ``Data`` become ``param1``, ... ."""
    if node is None:
        return {}
    if not isinstance(node, Mapping):
        return {"param1": _string(node)}
    data: dict = {}
    for key, value in node.items():
        if key == "#attributes":
            continue
        if key == "Data":                        # positional values: {"#text": [...]}
            values = _text(value)
            if values is None:
                continue
            for i, item in enumerate(values if isinstance(values, list) else [values], 1):
                data[f"param{i}"] = _string(item)
            continue
        text = _string(_text(value))
        if text is not None:
            data[key] = text
    return data


def _user_data(node: object) -> dict:
    """``UserData`` (one provider-defined element) flattened, with its name as ``xml_name``."""
    if not isinstance(node, Mapping):
        return {}
    for name, child in node.items():
        if name == "#attributes" or not isinstance(child, Mapping):
            continue
        data = {key: _string(_text(value)) for key, value in child.items()
                if key != "#attributes" and _text(value) is not None}
        data["xml_name"] = name
        return data
    return {}


def _string(value: object) -> str | list | None:
    """Render a value as winlogbeat does: strings, ``true``/``false``, GUIDs in braces."""
    if value is None or isinstance(value, str):
        if value is not None and _GUID.fullmatch(value):
            return "{" + value + "}"
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [_string(_text(item)) for item in value]
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _text(node: object) -> object:
    """An element's text: the node itself, or its ``"#text"`` when it has attributes."""
    if isinstance(node, Mapping):
        return node.get("#text")
    return node


def _text_or_none(value: object) -> str | None:
    """A value that must be text (a channel, a name, a SID): numbers as digits, else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _attribute(node: object, name: str) -> object:
    if isinstance(node, Mapping) and isinstance(node.get("#attributes"), Mapping):
        return node["#attributes"].get(name)
    return None


def _keyword_names(keywords: object) -> list[str] | None:
    bits = parse_int(keywords)
    if bits is None:
        return None
    return [name for bit, name in _KEYWORDS if bits & bit] or None


def _set(target: dict, key: str, value: object) -> None:
    if value is not None and value != "":
        target[key] = value
