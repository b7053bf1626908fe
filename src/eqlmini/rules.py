"""Detection rules: an EQL query with its metadata, read from and written to rule files.

Two file formats, with the same content:

* ``.eql``: the query as Elasticsearch accepts it, after one leading ``/* ... */`` block
  comment that holds the metadata as TOML: the keys of an Elastic detection-rules
  ``[rule]`` table at the top level, and its ``[metadata]`` (and ``[transform]``) tables.
* ``.toml``: an Elastic detection-rules file: ``[metadata]``, ``[rule]`` with
  ``type = "eql"`` and its ``query``, ``[[rule.threat]]``.

:meth:`Rule.to_eql` and :meth:`Rule.to_toml` write either format back; a rule read from
what they write is equal to the rule written. Files are read by :mod:`eqlmini.rule_files`
(re-exported here); errors name the file and its line.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .attack import AttackItem, Technique, Threat, threats_from_toml, threats_to_toml
from .errors import EqlError, Span
from .query import Query
from .rule_toml import dumps

__all__ = [
    "SEVERITIES",
    "KNOWN_KEYS",
    "AttackItem",
    "NotEqlError",
    "Rule",
    "RuleError",
    "RuleWarning",
    "Technique",
    "Threat",
    "bundled_rules",
    "bundled_rules_folder",
    "load_rule",
    "load_rules",
    "rule_files",
]

SEVERITIES = ("low", "medium", "high", "critical")
# Kibana's default risk score for each severity: a rule that gives a severity but no score.
DEFAULT_RISK_SCORES = MappingProxyType({"low": 21, "medium": 47, "high": 73, "critical": 99})
_FILE_TABLES = ("metadata", "transform")  # top-level tables of a detection-rules file besides [rule]


class RuleError(EqlError):
    """A rule file or a rule's metadata is malformed (``key``: the metadata key at fault)."""

    def __init__(self, message: str, span: Span | None = None, text: str | None = None, *,
                 key: str | None = None) -> None:
        super().__init__(message, span, text)
        self.key = key


class NotEqlError(RuleError):
    """A detection rule in another language (``language``: ``kuery``, ``esql``, ... or the
    rule ``type`` when it has no language): not an error of the rule, but not one eqlmini runs."""

    def __init__(self, message: str, span: Span | None = None, text: str | None = None, *,
                 key: str | None = None, language: str = "") -> None:
        super().__init__(message, span, text, key=key)
        self.language = language


class RuleWarning(UserWarning):
    """Something in a rule file that is probably a mistake but does not stop it loading
    (an unknown header key, such as ``serverity``)."""


# Typed attributes, by kind; their TOML key is the attribute name, but ``from`` for ``from_``.
_TEXTS = ("rule_id", "description", "interval", "from_", "license", "note", "timestamp_override",
          "event_category_override", "tiebreaker_field", "timestamp_field")
_LISTS = ("index", "tags", "references", "author")
_INTS = ("max_signals", "version")
_KEYS = ("name", "severity", "risk_score", "threat", *_TEXTS, *_LISTS, *_INTS)
_ATTRIBUTES = {attribute.rstrip("_"): attribute for attribute in _KEYS}  # TOML key -> attribute
# Every key of a detection-rules [rule] table (Kibana's rule schema), of any rule type: others
# are kept in Rule.extra, but reported as probable typos (RuleWarning, an error in `check`).
KNOWN_KEYS = frozenset({
    *_ATTRIBUTES, "type", "language", "query", "actions", "alert_suppression", "building_block_type",
    "concurrent_searches", "data_view_id", "enabled", "exceptions_list", "false_positives", "filters",
    "history_window_start", "investigation_fields", "items_per_search", "machine_learning_job_id",
    "anomaly_threshold", "meta", "namespace", "new_terms_fields", "new_terms", "output_index",
    "related_integrations", "required_fields", "response_actions", "revision", "risk_score_mapping",
    "rule_name_override", "saved_id", "setup", "severity_mapping", "threat_filters", "threat_index",
    "threat_indicator_path", "threat_language", "threat_mapping", "threat_query", "threshold", "throttle",
    "timeline_id", "timeline_title", "timestamp_override_fallback_disabled", "to",
    "schema"})  # eqlmini's own: the schema `eqlmini check` checks the rule against (docs/rules.md)
_HEADER_ORDER = ("name", "rule_id", "type", "version", "author", "license", "description", "severity",
                 "risk_score", "index", "interval", "from", "max_signals", "timestamp_override",
                 "event_category_override", "tiebreaker_field", "timestamp_field", "references",
                 "tags", "note")


@dataclass(frozen=True, repr=False)
class Rule:
    """A detection rule: metadata as typed attributes, and ``query``, compiled from ``text``.

    Build one from a file (:func:`load_rule`), from a detection-rules ``[rule]`` table
    (:meth:`from_table`), or directly: ``Rule("name", "process where true", severity="low")``.
    The query is compiled with the rule's EQL options (``event_category_override``,
    ``tiebreaker_field``, ``timestamp_field``). ``risk_score`` defaults to Kibana's score for
    the severity. ``extra`` keeps the other ``[rule]`` keys as read; ``metadata`` and
    ``transform`` the file's tables of those names. ``path`` is not part of equality.
    """

    name: str
    text: str
    severity: str = "medium"
    risk_score: int | None = None
    rule_id: str | None = None
    description: str | None = None
    index: tuple[str, ...] = ()
    interval: str | None = None
    from_: str | None = None
    max_signals: int | None = None
    tags: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    author: tuple[str, ...] = ()
    license: str | None = None
    version: int | None = None
    threat: tuple[Threat, ...] = ()
    note: str | None = None
    timestamp_override: str | None = None
    event_category_override: str | None = None
    tiebreaker_field: str | None = None
    timestamp_field: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)
    transform: Mapping[str, Any] = field(default_factory=dict, hash=False)
    path: Path | None = field(default=None, compare=False)
    query: Query = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.name, str) or not self.name.strip():
            raise RuleError("name must be a non-empty string", key="name")
        if self.severity not in SEVERITIES:
            raise RuleError(f"severity must be one of {', '.join(SEVERITIES)}, not {self.severity!r}",
                            key="severity")
        if self.risk_score is None:
            set_(self, "risk_score", DEFAULT_RISK_SCORES[self.severity])
        elif not _is_int(self.risk_score) or not 0 <= self.risk_score <= 100:
            raise RuleError(f"risk_score must be an integer from 0 to 100, not {self.risk_score!r}",
                            key="risk_score")
        for name in _TEXTS:
            if not isinstance(getattr(self, name), (str, type(None))):
                key = name.rstrip("_")
                raise RuleError(f"{key} must be a string", key=key)
        for name in _INTS:
            value = getattr(self, name)
            if value is not None and not _is_int(value):
                raise RuleError(f"{name} must be an integer", key=name)
        for name in _LISTS:
            items = getattr(self, name)
            if isinstance(items, str) or not all(isinstance(item, str) for item in items):
                raise RuleError(f"{name} must be a list of strings", key=name)
            set_(self, name, tuple(items))
        set_(self, "threat", tuple(self.threat))
        if not all(isinstance(entry, Threat) for entry in self.threat):
            raise RuleError("threat must be a list of Threat entries", key="threat")
        clash = sorted(set(self.extra) & {*_ATTRIBUTES, *_FILE_TABLES, "query", "type", "language"})
        if clash:
            raise RuleError(f"extra may not hold the typed key {clash[0]!r}", key=clash[0])
        for name in ("extra", "metadata", "transform"):
            set_(self, name, MappingProxyType(dict(getattr(self, name))))
        overrides = {"event_category_field": self.event_category_override,
                     "tiebreaker_field": self.tiebreaker_field, "timestamp_field": self.timestamp_field}
        set_(self, "query", _compiled(self.text, {k: v for k, v in overrides.items() if v}))

    def __reduce__(self) -> tuple:
        # Rebuilt from its text and metadata (the compiled query does not pickle).
        state = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        for name in ("extra", "metadata", "transform"):
            state[name] = dict(state[name])
        return (_rule_from_state, (state,))

    def __repr__(self) -> str:
        text = " ".join(self.text.split())
        text = text if len(text) <= 60 else text[:59] + "…"
        rule_id = f", rule_id={self.rule_id!r}" if self.rule_id else ""
        return f"Rule({self.name!r}{rule_id}, severity={self.severity!r}, query={text!r})"

    def _repr_html_(self) -> str:
        """The rule in a notebook: name, severity, ATT&CK ids and its query (escaped)."""
        ids = " ".join(dict.fromkeys(i for threat in self.threat for i in threat.ids))
        rows = [("rule", self.name), ("severity", f"{self.severity} ({self.risk_score})"),
                *((("rule_id", self.rule_id),) if self.rule_id else ()), *((("ATT&CK", ids),) if ids else ())]
        cells = "".join(f"<tr><th style='text-align:left'>{html.escape(name)}</th>"
                        f"<td style='text-align:left'>{html.escape(str(value))}</td></tr>" for name, value in rows)
        return f"<table>{cells}</table><pre>{html.escape(self.text)}</pre>"

    @classmethod
    def from_table(cls, table: Mapping[str, Any], *, metadata: Mapping[str, Any] | None = None,
                   transform: Mapping[str, Any] | None = None, path: Path | None = None) -> Rule:
        """A rule from a detection-rules ``[rule]`` table, its ``query`` included."""
        fields: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in table.items():
            if key in ("type", "language"):
                if value != "eql":
                    language = table.get("language") or table.get("type")
                    raise NotEqlError(f"{key} = {value!r}: eqlmini runs EQL rules only", key=key,
                                      language=str(language))
            elif key == "threat":
                try:
                    fields["threat"] = threats_from_toml(value)
                except ValueError as error:
                    raise RuleError(str(error), key="threat") from None
            elif key in _ATTRIBUTES:
                fields[_ATTRIBUTES[key]] = value
            elif key != "query":
                extra[key] = value
        query = table.get("query")
        if not isinstance(query, str) or not query.strip():
            raise RuleError("the rule has no query", key="query")
        if "name" not in fields:
            raise RuleError("the rule has no name", key="name")
        # The query as written, less blanks before it and its final line break: written back
        # (+ "\n") it is the same text, trailing blanks on its last line included.
        text = query.lstrip().removesuffix("\n").removesuffix("\r")
        return cls(text=text, extra=extra, metadata=metadata or {}, transform=transform or {},
                   path=path, **fields)

    def table(self) -> dict[str, Any]:
        """The rule as a detection-rules ``[rule]`` table (``query`` included, defaults left out)."""
        out: dict[str, Any] = {"type": "eql", "language": "eql"}
        for name in ("name", "severity", "risk_score", *_TEXTS, *_INTS, *_LISTS):
            value = getattr(self, name)
            if value is not None and value != ():
                out[name.rstrip("_")] = list(value) if isinstance(value, tuple) else value
        out.update(self.extra)
        out["query"] = self.text + "\n"
        if self.threat:
            out["threat"] = threats_to_toml(self.threat)
        return out

    def to_eql(self) -> str:
        """The rule as an ``.eql`` file: the TOML header in a block comment, then the query."""
        table = self.table()
        del table["language"], table["query"]
        ordered = {key: table.pop(key) for key in _HEADER_ORDER if key in table}
        threat = table.pop("threat", None)
        header = {**ordered, **dict(sorted(table.items())), **self._file_tables()}
        if threat:
            header["threat"] = threat
        return f"/*\n{dumps(header)}*/\n{self.text}\n"

    def to_toml(self) -> str:
        """The rule as an Elastic detection-rules TOML file (``[metadata]``, ``[rule]``, ...)."""
        table = self.table()
        query, threat = table.pop("query"), table.pop("threat", None)
        rule = {**dict(sorted(table.items())), "query": query}
        if threat:
            rule["threat"] = threat
        tables = self._file_tables()
        return dumps({**({"metadata": tables.pop("metadata")} if "metadata" in tables else {}),
                      "rule": rule, **tables})

    def _file_tables(self) -> dict[str, Any]:
        return {name: dict(getattr(self, name)) for name in _FILE_TABLES if getattr(self, name)}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _rule_from_state(state: dict[str, Any]) -> Rule:
    """A pickled rule, rebuilt."""
    return Rule(**state)


def _compiled(text: str, options: dict[str, Any]) -> Query:
    """The query of a rule, compiled with its EQL options."""
    from . import compile as compile_query  # the package imports this module

    return compile_query(text, **options)


# The file functions live in rule_files; eqlmini.rules names them too, as it always has.
from .rule_files import (  # noqa: E402 (rule_files needs Rule and RuleError, defined above)
    bundled_rules,
    bundled_rules_folder,
    load_rule,
    load_rules,
    rule_files,
)
