"""Where schemas come from: the bundled ECS table, Elasticsearch mappings and templates, plain field lists."""

from __future__ import annotations

import functools
import json
import os
from typing import Any, Iterator, Mapping, Union

from .schema import Schema

JsonInput = Union[Mapping[str, Any], str, bytes]  # a JSON object, or its text


@functools.cache
def ecs() -> Schema:
    """The Elastic Common Schema, read once from the bundled table (see ``ecs_fields.tsv``'s header).

    ``ecs().extend({"custom.field": "keyword"})`` adds fields of your own.
    """
    from importlib import resources  # here: importing it costs more than the rest of this module

    text = resources.files(__package__).joinpath("ecs_fields.tsv").read_text(encoding="utf-8")
    rows = (line.split("\t") for line in text.splitlines() if line and not line.startswith("#"))
    return Schema(dict(rows), name="ecs")  # type: ignore[arg-type]


def from_fields(data: JsonInput, *, name: str = "custom") -> Schema:
    """A schema from ``{field: type}``, flat (``{"a.b": "long"}``) or nested (``{"a": {"b": "long"}}``).

    ``data`` is a mapping or its JSON text. This is the format of detection-rules'
    ``non-ecs-schema.json`` and of an Endgame or Endpoint field list.
    """
    return Schema(dict(_flatten(_json(data))), name=name)


def from_mapping(data: JsonInput, *, name: str = "mapping") -> Schema:
    """A schema from an Elasticsearch mapping, as ES returns or takes it (a mapping or its JSON text).

    Accepted: a mapping (``{"properties": ...}``), ``{"mappings": ...}``, the ``GET <index>/_mapping``
    response (several indices are merged), an index or component template (``{"template":
    {"mappings": ...}}``) and the ``GET _index_template`` / ``_component_template`` responses.
    Multi-fields (``fields``) and runtime fields are included; an ``alias`` takes its target's
    type, as the field capabilities API reports it.
    """
    types: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for mapping in _mappings(_json(data)):
        _walk_properties(mapping.get("properties") or {}, "", types, aliases)
        for field, spec in (mapping.get("runtime") or {}).items():
            types[field] = spec.get("type", "keyword")
    for field, target in aliases.items():
        types[field] = types.get(target, "alias")  # an alias to nothing stays unsupported, as in ES
    if not types:
        raise ValueError("no mapping found: expected properties, mappings, template or index_templates")
    return Schema(types, name=name)


def load(spec: str | os.PathLike[str]) -> Schema:
    """A schema by name or file: ``"ecs"``, or a JSON file holding a mapping or template
    (:func:`from_mapping`) or a ``{field: type}`` object (:func:`from_fields`)."""
    if isinstance(spec, str) and spec.lower() == "ecs":
        return ecs()
    path = os.fspath(spec)
    if not os.path.isfile(path):
        raise ValueError(f"unknown schema {path!r}: give 'ecs' or a JSON file")
    with open(path, encoding="utf-8") as stream:
        data = json.load(stream)
    label = os.path.basename(path)
    if isinstance(data, dict) and any(True for _ in _mappings(data)):
        return from_mapping(data, name=label)
    return from_fields(data, name=label)


# --------------------------------------------------------------------------- helpers
def _json(data: Any) -> Any:
    if isinstance(data, (str, bytes, bytearray)):
        return json.loads(data)
    if not isinstance(data, Mapping):
        raise ValueError(f"expected a JSON object or its text, not {type(data).__name__}")
    return data


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in data.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _mappings(data: Any) -> Iterator[Mapping[str, Any]]:
    """Every mapping in a mapping, a GET _mapping response or a template (response)."""
    if not isinstance(data, Mapping):
        return
    if "properties" in data or "runtime" in data:
        yield data
    elif "mappings" in data:
        yield from _mappings(data["mappings"])
    elif "template" in data:
        yield from _mappings(data["template"])
    elif "index_templates" in data or "component_templates" in data:
        for entry in data.get("index_templates") or data.get("component_templates") or ():
            yield from _mappings(entry.get("index_template") or entry.get("component_template") or {})
    else:  # {index name: {"mappings": ...}}, as GET <index>/_mapping answers
        for value in data.values():
            if isinstance(value, Mapping) and "mappings" in value:
                yield from _mappings(value["mappings"])


def _walk_properties(properties: Mapping[str, Any], prefix: str, types: dict[str, str],
                     aliases: dict[str, str]) -> None:
    for key, spec in properties.items():
        field = prefix + key
        kind = spec.get("type", "object")  # a property without a type is an object
        if kind == "alias" and "path" in spec:
            aliases[field] = spec["path"]
        else:
            types[field] = kind
        for sub, sub_spec in (spec.get("fields") or {}).items():  # multi-fields: process.name.text
            types[f"{field}.{sub}"] = sub_spec.get("type", "keyword")
        if "properties" in spec:
            _walk_properties(spec["properties"], field + ".", types, aliases)
