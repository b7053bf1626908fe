"""The schema a detection-rules rule is checked against: ECS plus the fields its index patterns bring.

Elastic's detection-rules repository validates a rule's query against ECS extended by data in
``detection_rules/etc/`` (not shipped with eqlmini: it is under the Elastic License 2.0; pass
its folder, or the copy in ``../shared/corpus/detection-rules-data/``):

* ``non-ecs-schema.json``: extra fields per index pattern (``winlogbeat-*``: ``winlog.*``, ...);
  a pattern applies when it and one of the rule's ``index`` patterns match each other;
* ``beats_schemas/v*.json.gz`` (the newest): for ``<beat>-*`` patterns, the beat's own fields,
  plus those of the modules and datasets the query names in ``event.module`` / ``event.dataset``;
* ``endgame_schemas/<v>/endgame_ecs_mapping.json.gz`` for ``endgame-*``, and
  ``endpoint_schemas/*.json.gz`` (Elastic Defend's ``process.Ext.*``) for ``logs-endpoint.*``;
* the rule's ``required_fields`` (``[{name, type}]``) where it has them.

Fleet integration schemas (``integration-schemas.json.gz``: aws, okta, azure, ... fields) are
not used: their data is missing from the copy this was built against, so rules on those
integrations keep their non-ECS fields unknown unless ``non-ecs-schema.json`` lists them.
"""

from __future__ import annotations

import fnmatch
import functools
import gzip
import json
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .. import ast, parser
from ..errors import EqlError
from .schema import OPEN, Schema, merge
from .sources import ecs, from_fields

_BEATS = ("auditbeat", "filebeat", "packetbeat", "winlogbeat", "metricbeat", "heartbeat")


def for_detection_rule(rule: Mapping[str, Any], data: str | Path) -> Schema:
    """ECS extended as detection-rules extends it for ``rule`` (its ``index``, ``query`` and
    ``required_fields``); ``data`` is a ``detection_rules/etc`` folder."""
    folder = Path(data)
    indexes = tuple(rule.get("index") or ())
    beats = tuple(sorted({index.split("-")[0] for index in indexes if index.split("-")[0] in _BEATS}))
    patterns = tuple(pattern for pattern in _json(folder / "non-ecs-schema.json")
                     if any(_overlap(pattern, index) for index in indexes))
    required = tuple((item["name"], item["type"]) for item in rule.get("required_fields") or ()
                     if item.get("name") and item.get("type"))
    modules = frozenset()  # only those the beats have: fewer distinct schemas to build
    if beats:
        known = {module for beat in beats for module in _modules(folder, beat)}
        modules = frozenset(pair for pair in _named_modules(rule.get("query") or "") if pair[0] in known)
    return _schema(folder, beats, modules, patterns,
                   any(_overlap("endgame-*", index) for index in indexes),
                   any(_overlap("logs-endpoint.*", index) for index in indexes), required)


@functools.lru_cache(maxsize=128)  # corpus rules share a few dozen of these: build each schema once
def _schema(folder: Path, beats: tuple[str, ...], modules: frozenset[tuple[str, str]], patterns: tuple[str, ...],
            endgame: bool, endpoint: bool, required: tuple[tuple[str, str], ...]) -> Schema:
    beat_fields: dict[str, str] = {}
    for beat in beats:
        beat_fields.update(_beat_fields(folder, beat, modules))
    extra: dict[str, str] = {}
    non_ecs = _json(folder / "non-ecs-schema.json")
    for pattern in patterns:
        extra.update(from_fields(non_ecs[pattern]))
    if endgame:
        extra.update(from_fields(_newest(folder, "endgame_schemas/*/endgame_ecs_mapping.json.gz")))
    if endpoint:
        for path in sorted(folder.glob("endpoint_schemas/*.json.gz")):
            extra.update(from_fields(_json(path)))
    extra.update(dict(required))
    return merge(beat_fields, ecs(), extra, name="ecs+detection-rules")  # as there, ECS wins over beats


def _overlap(pattern: str, index: str) -> bool:
    """Whether two index patterns can name the same index (each read as a glob over the other)."""
    return fnmatch.fnmatchcase(index, pattern) or fnmatch.fnmatchcase(pattern, index)


def _named_modules(query: str) -> frozenset[tuple[str, str]]:
    """(module, dataset) pairs the query compares ``event.module`` / ``event.dataset`` with;
    the dataset is "" where only a module is named. A query that does not parse names none."""
    try:
        tree = parser.parse(query, positions=False)
    except EqlError:
        return frozenset()
    found = set()
    for expr in tree.expressions():
        for node in ast.walk(expr):
            values: Iterable[ast.Expr] = ()
            if isinstance(node, ast.Comparison) and node.op == "==":
                values, field = (node.right,), node.left
            elif isinstance(node, ast.Match) and node.op == ":":
                values, field = node.patterns, node.left
            elif isinstance(node, ast.In):
                values, field = node.items, node.left
            else:
                continue
            if isinstance(field, ast.Field) and field.name in ("event.module", "event.dataset"):
                for value in values:
                    if isinstance(value, ast.Literal) and isinstance(value.value, str):
                        module, _, dataset = value.value.partition(".")
                        found.add((module, dataset if field.name == "event.dataset" else ""))
    return frozenset(found)


def _modules(folder: Path, beat: str) -> dict[str, Any]:
    """The module folders of a beat in the newest beats schema."""
    tree = _newest(folder, "beats_schemas/v*.json.gz").get(beat, {})
    return tree.get("folders", {}).get("module", {}).get("folders", {})


def _beat_fields(folder: Path, beat: str, modules: frozenset[tuple[str, str]]) -> dict[str, str]:
    fields = dict(_meta_fields(_newest(folder, "beats_schemas/v*.json.gz").get(beat, {}), ""))
    module_tree = _modules(folder, beat)
    for module, dataset in sorted(modules):
        node = module_tree.get(module, {})
        fields.update(_meta_fields(node, ""))  # a module's own fields are named from the root
        datasets = [dataset] if dataset else [name for name in node.get("folders", {}) if not name.startswith("_")]
        for name in datasets:
            fields.update(_meta_fields(node.get("folders", {}).get(name, {}), module + "."))
    return _resolve_aliases(fields)


def _meta_fields(node: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    """The fields of a beats folder's ``_meta/fields.yml`` and ``fields.common.yml``."""
    files = node.get("folders", {}).get("_meta", {}).get("files", {})
    for name in ("fields.yml", "fields.common.yml"):
        entries = files.get(name) or []
        # A dataset file that is one group named after its module does not repeat the module.
        if prefix and len(entries) == 1 and entries[0].get("type") == "group" and entries[0].get("name") + "." == prefix:
            yield from _flatten_beat(entries[0].get("fields"), prefix)
        else:
            yield from _flatten_beat(entries, prefix)


def _flatten_beat(entries: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """(field, type or ("alias", path)) from a beats fields.yml tree: groups nest, a field
    without a type is a keyword, multi-fields and open objects (``object_type``) included."""
    for entry in entries or ():
        kind = entry.get("type")
        if kind == "group":
            yield from _flatten_beat(entry.get("fields"), f"{prefix}{entry['name']}.")
        elif "fields" in entry:  # a file's top-level section: its fields keep the prefix
            yield from _flatten_beat(entry["fields"], prefix)
        elif "name" in entry and kind != "array":  # `array` has no mapping of its own
            name = prefix + entry["name"]
            yield name, ("alias", entry["path"]) if kind == "alias" else kind or "keyword"
            for sub in entry.get("multi_fields") or ():
                yield f"{name}.{sub['name']}", sub.get("type", "keyword")
            if kind == "object" and entry.get("object_type"):
                yield name + OPEN, entry["object_type"]


def _resolve_aliases(fields: dict[str, Any]) -> dict[str, str]:
    """An alias has its target's type (as field capabilities report it); ECS supplies most targets."""
    resolved = {}
    for name, kind in fields.items():
        if isinstance(kind, tuple):
            target = kind[1]
            kind = fields.get(target) if isinstance(fields.get(target), str) else ecs().get(target, "alias")
        resolved[name] = kind
    return resolved


@functools.lru_cache(maxsize=32)
def _json(path: Path) -> Any:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as stream:  # type: ignore[operator]
        return json.load(stream)


def _newest(folder: Path, pattern: str) -> Any:
    """The JSON of the file matching ``pattern`` with the highest version in its path."""
    def version(path: Path) -> tuple[int, ...]:
        digits = "".join(c if c.isdigit() else " " for c in str(path.relative_to(folder)))
        return tuple(int(part) for part in digits.split())
    paths = sorted(folder.glob(pattern), key=version)
    return _json(paths[-1]) if paths else {}
