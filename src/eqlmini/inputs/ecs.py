"""Normalise Windows event log records to Elastic Common Schema (ECS) events.

:func:`evtx_to_ecs` takes one record as the ``evtx`` package renders it and returns the
document winlogbeat and its ingest pipelines would index for it: ``@timestamp``,
``event.*``, ``host.*``, ``log.level``, the ECS fields of the provider (``process.*``,
``user.*``, ... for Sysmon and the Security log) and ``winlog.*`` with the
``event_data`` nobody mapped. Events of other providers keep the generic part, so
nothing is dropped. Winlogbeat's golden test documents are the reference; the
differences are listed in ``docs/inputs.md``.
"""

from __future__ import annotations

from collections.abc import Mapping

from .security import map_security
from .sysmon import map_sysmon
from .winlog import read_winlog

__all__ = ["evtx_to_ecs", "is_evtx_record"]

SYSMON_CHANNEL = "microsoft-windows-sysmon/operational"
SECURITY_PROVIDERS = ("Microsoft-Windows-Security-Auditing", "Microsoft-Windows-Eventlog")
_OUTCOMES = {"Audit Success": "success", "Audit Failure": "failure"}


def evtx_to_ecs(record: Mapping) -> dict:
    """One ``evtx`` JSON record (``{"Event": {...}}``) -> one ECS event as nested dicts.

    Also accepts an item of ``PyEvtxParser.records_json()`` unchanged. Raises
    :class:`~eqlmini.errors.EqlEventError` for a record without ``System`` data or time.
    """
    parsed = read_winlog(record)
    winlog = parsed.winlog
    code = winlog["event_id"]
    event_data = dict(winlog.get("event_data") or {})
    provider = winlog.get("provider_name")
    channel = str(winlog.get("channel", ""))

    fields: dict = {"@timestamp": parsed.timestamp, "event.kind": "event",
                    "event.code": code}
    if provider:
        fields["event.provider"] = provider
    outcomes = {_OUTCOMES[k] for k in winlog.get("keywords", ()) if k in _OUTCOMES}
    if len(outcomes) == 1:
        fields["event.outcome"] = outcomes.pop()
    if winlog.get("computer_name"):
        fields["host.name"] = winlog["computer_name"]
    fields["host.os.type"] = "windows"
    if parsed.level:
        fields["log.level"] = parsed.level

    if channel.lower() == SYSMON_CHANNEL:
        mapped, event_data = map_sysmon(code, event_data, winlog)
        if "@timestamp" in mapped:              # UtcTime; the record's time goes here
            fields["event.created"] = parsed.timestamp
    elif channel.lower() == "security" and provider in SECURITY_PROVIDERS:
        mapped, event_data = map_security(code, event_data, winlog)
    else:
        mapped = {}
    fields.update(mapped)
    return _document(fields, winlog, event_data)


def is_evtx_record(value: object) -> bool:
    """True for a JSON object shaped like the ``evtx`` package's output: ``{"Event": {"System": ...}}``."""
    return (isinstance(value, Mapping) and len(value) == 1
            and isinstance(value.get("Event"), Mapping)
            and isinstance(value["Event"].get("System"), Mapping))


def _document(fields: dict, winlog: dict, event_data: dict) -> dict:
    """Nest the dotted fields; ``winlog`` last, with the unmapped ``event_data``."""
    document: dict = {}
    winlog_fields = {}
    for name, value in fields.items():
        if name.startswith("winlog."):
            winlog_fields[name] = value
        else:
            _put(document, name, value)
    out = {k: v for k, v in winlog.items() if k != "event_data"}
    if event_data:
        out["event_data"] = event_data
    document["winlog"] = out
    for name, value in winlog_fields.items():
        _put(document, name, value)
    return document


def _put(document: dict, dotted: str, value: object) -> None:
    """Set ``a.b.c`` in nested dicts (``@timestamp`` is one name, not a path)."""
    *parents, last = dotted.split(".")
    node = document
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
