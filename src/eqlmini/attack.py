"""MITRE ATT&CK references of a rule (its ``threat`` list), typed, read from and written to TOML.

The layout is detection-rules': each ``threat`` entry has a ``framework``, a ``tactic``
table and a ``technique`` list whose items may hold a ``subtechnique`` list; each of
these has an ``id``, a ``name`` and an optional ``reference`` (a link)::

    [[rule.threat]]
    framework = "MITRE ATT&CK"
    [rule.threat.tactic]
    id = "TA0002"
    name = "Execution"
    [[rule.threat.technique]]
    id = "T1059"
    name = "Command and Scripting Interpreter"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["AttackItem", "Technique", "Threat", "threats_from_toml", "threats_to_toml"]


@dataclass(frozen=True)
class AttackItem:
    """A MITRE ATT&CK tactic or sub-technique: id (``TA0002``), name, and link."""

    id: str
    name: str
    reference: str | None = None


@dataclass(frozen=True)
class Technique(AttackItem):
    """A MITRE ATT&CK technique (``T1059``) and the sub-techniques the rule names."""

    subtechniques: tuple[AttackItem, ...] = ()


@dataclass(frozen=True)
class Threat:
    """One entry of a rule's ``threat`` list: a tactic and the techniques under it."""

    framework: str
    tactic: AttackItem
    techniques: tuple[Technique, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        """The tactic, technique and sub-technique ids, in that order."""
        return (self.tactic.id, *(t.id for t in self.techniques),
                *(s.id for t in self.techniques for s in t.subtechniques))


def threats_from_toml(value: Any) -> tuple[Threat, ...]:
    """Typed entries from a TOML ``threat`` list; ValueError names what is wrong."""
    threats = []
    for entry in _tables(value, "threat"):
        _known(entry, "threat", ("framework", "tactic", "technique"))
        if not isinstance(entry.get("framework"), str):
            raise ValueError("threat needs a string framework")
        techniques = []
        for technique in _tables(entry.get("technique", []), "threat.technique"):
            subs = _tables(technique.get("subtechnique", []), "threat.technique.subtechnique")
            techniques.append(Technique(
                **_item(technique, "threat.technique", ("subtechnique",)),
                subtechniques=tuple(AttackItem(**_item(sub, "threat.technique.subtechnique")) for sub in subs)))
        tactic = AttackItem(**_item(entry.get("tactic"), "threat.tactic"))
        threats.append(Threat(entry["framework"], tactic, tuple(techniques)))
    return tuple(threats)


def threats_to_toml(threats: tuple[Threat, ...]) -> list[dict[str, Any]]:
    """The TOML ``threat`` list for typed entries (the inverse of :func:`threats_from_toml`)."""
    tables = []
    for threat in threats:
        table: dict[str, Any] = {"framework": threat.framework, "tactic": _item_table(threat.tactic)}
        if threat.techniques:
            table["technique"] = [
                {**_item_table(technique),
                 **({"subtechnique": [_item_table(sub) for sub in technique.subtechniques]}
                    if technique.subtechniques else {})}
                for technique in threat.techniques]
        tables.append(table)
    return tables


def _tables(value: Any, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise ValueError(f"{where} must be a list of tables")
    return value


def _known(table: Mapping[str, Any], where: str, keys: tuple[str, ...]) -> None:
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} in {where}")


def _item(table: Any, where: str, more: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise ValueError(f"{where} must be a table")
    _known(table, where, ("id", "name", "reference", *more))
    for key in ("id", "name"):
        if not isinstance(table.get(key), str):
            raise ValueError(f"{where} needs a string {key}")
    if not isinstance(table.get("reference", ""), str):
        raise ValueError(f"{where}.reference must be a string")
    return {"id": table["id"], "name": table["name"], "reference": table.get("reference")}


def _item_table(item: AttackItem) -> dict[str, Any]:
    table = {"id": item.id, "name": item.name}
    if item.reference is not None:
        table["reference"] = item.reference
    return table
