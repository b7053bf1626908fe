"""Detection rules: an EQL query with its metadata, read from and written to rule files.

Two file formats, with the same content:

* ``.eql``: the query as Elasticsearch accepts it, after one leading ``/* ... */`` block
  comment that holds the metadata as TOML: the keys of an Elastic detection-rules
  ``[rule]`` table at the top level, and its ``[metadata]`` (and ``[transform]``) tables.
* ``.toml``: an Elastic detection-rules file: ``[metadata]``, ``[rule]`` with
  ``type = "eql"`` and its ``query``, ``[[rule.threat]]``.

:meth:`Rule.to_eql` and :meth:`Rule.to_toml` write either format back; a rule read from
what they write is equal to the rule written. Errors name the file and its line.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .attack import AttackItem, Technique, Threat, threats_from_toml, threats_to_toml
from .errors import EqlError, Span
from .parser import comment_end
from .query import Query
from .rule_toml import dumps

__all__ = [
    "SEVERITIES",
    "AttackItem",
    "Rule",
    "RuleError",
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


# Typed attributes, by kind; their TOML key is the attribute name, but ``from`` for ``from_``.
_TEXTS = ("rule_id", "description", "interval", "from_", "license", "note", "timestamp_override",
          "event_category_override", "tiebreaker_field", "timestamp_field")
_LISTS = ("index", "tags", "references", "author")
_INTS = ("max_signals", "version")
_KEYS = ("name", "severity", "risk_score", "threat", *_TEXTS, *_LISTS, *_INTS)
_ATTRIBUTES = {attribute.rstrip("_"): attribute for attribute in _KEYS}  # TOML key -> attribute
_HEADER_ORDER = ("name", "rule_id", "type", "version", "author", "license", "description", "severity",
                 "risk_score", "index", "interval", "from", "max_signals", "timestamp_override",
                 "event_category_override", "tiebreaker_field", "timestamp_field", "references",
                 "tags", "note")


@dataclass(frozen=True)
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
        from . import compile as compile_query  # the package imports this module

        overrides = {"event_category_field": self.event_category_override,
                     "tiebreaker_field": self.tiebreaker_field, "timestamp_field": self.timestamp_field}
        set_(self, "query", compile_query(self.text, **{k: v for k, v in overrides.items() if v}))

    @classmethod
    def from_table(cls, table: Mapping[str, Any], *, metadata: Mapping[str, Any] | None = None,
                   transform: Mapping[str, Any] | None = None, path: Path | None = None) -> Rule:
        """A rule from a detection-rules ``[rule]`` table, its ``query`` included."""
        fields: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in table.items():
            if key in ("type", "language"):
                if value != "eql":
                    raise RuleError(f"{key} = {value!r}: eqlmini runs EQL rules only", key=key)
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
        return cls(text=query.strip(), extra=extra, metadata=metadata or {}, transform=transform or {},
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



# ----------------------------------------------------------------------------- files
def load_rule(path: str | Path) -> Rule:
    """Load one rule file: detection-rules TOML if the name ends in ``.toml``, else ``.eql``.

    Raises RuleError for an unreadable file or bad metadata, and the query's own error
    (EqlSyntaxError, EqlSemanticError, ...) for a bad query; both name the file and line.
    """
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RuleError(f"{path}: cannot read rule file: {getattr(error, 'strerror', None) or error}") from None
    read = _read_toml if path.suffix.lower() == ".toml" else _read_eql
    table, tables, metadata_at, query_at = read(source, path)
    try:
        for name, value in tables.items():
            if not isinstance(value, dict):
                raise RuleError(f"{name} must be a table", key=name)
        return Rule.from_table(table, path=path, **tables)
    except RuleError as error:
        raise _at_key(error, path, source, metadata_at) from None
    except EqlError as error:  # the query's own error: place it in the file
        raise _moved(error, path, source, query_at) from None


def rule_files(path: str | Path) -> list[Path]:
    """The rule files at ``path``: the file itself, or under a folder (recursively, sorted)
    every ``.eql`` file and every ``.toml`` file with a ``[rule]`` table."""
    path = Path(path)
    if not path.is_dir():
        if not path.exists():
            raise RuleError(f"{path}: no such file or folder")
        return [path]
    return [file for file in sorted(path.rglob("*")) if file.is_file() and (
        file.suffix.lower() == ".eql" or file.suffix.lower() == ".toml" and _has_rule_table(file))]


def load_rules(path: str | Path) -> list[Rule]:
    """Load a rule file, or every rule file under a folder (see :func:`rule_files`)."""
    return [load_rule(file) for file in rule_files(path)]


def bundled_rules_folder() -> Path:
    """Where the bundled ``.eql`` files are: the installed ``eqlmini/bundled`` folder, or
    the ``rules/`` folder of a source checkout run without installing."""
    installed = Path(__file__).resolve().parent / "bundled"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[2] / "rules"


def bundled_rules() -> list[Rule]:
    """The rules shipped with eqlmini (the ``rules/`` folder of the project), loaded now."""
    return load_rules(bundled_rules_folder())


_RULE_TABLE = re.compile(r"^[ \t]*\[[ \t]*rule[ \t]*\]", re.MULTILINE)
_TOML_POSITION = re.compile(r"(.*) \(at line (\d+), column (\d+)\)\Z", re.DOTALL)
_TOML_QUERY = re.compile(r"^[ \t]*query[ \t]*=[ \t]*(?:'''|\"\"\"|'|\")(?:\r?\n)?", re.MULTILINE)

# A reader returns: the [rule] table (query included), the file's other tables, where to
# search for a metadata key, and where the query text starts (None: unknown).
_Read = tuple[dict[str, Any], dict[str, Any], int, int | None]


def _read_toml(source: str, path: Path) -> _Read:
    data = _parse_toml(source, 0, len(source), path, "TOML")
    if not isinstance(data.get("rule"), dict):
        raise RuleError(f"{path}: not a detection rule: no [rule] table")
    unknown = sorted(set(data) - {"rule", *_FILE_TABLES})
    if unknown:
        raise _at_key(RuleError(f"unsupported top-level table [{unknown[0]}]", key=unknown[0]), path, source, 0)
    found = _TOML_QUERY.search(source)
    query_at = None if found is None else _skip_space(source, found.end())
    return data["rule"], {name: data[name] for name in _FILE_TABLES if name in data}, 0, query_at


def _read_eql(source: str, path: Path) -> _Read:
    start = _skip_space(source, 0)
    table: dict[str, Any] = {}
    header_at = query_at = start
    if source.startswith("/*", start):
        header_at = start + 2
        end = _header_end(source, start, path)
        table = _parse_toml(source, header_at, end, path, "rule header")
        query_at = _skip_space(source, end + 2)
    if query_at >= len(source):
        raise RuleError(f"{path}: no query after the rule header",
                        Span.at(source, len(source)), source)
    if "query" in table:
        raise _at_key(RuleError("the query follows the header: remove `query` from it", key="query"),
                      path, source, header_at)
    tables = {name: table.pop(name) for name in _FILE_TABLES if name in table}
    table.setdefault("name", path.stem)
    table["query"] = source[query_at:]
    return table, tables, header_at, query_at


def _header_end(source: str, start: int, path: Path) -> int:
    """Where the header comment opened at ``start`` ends (its closing ``*/``).

    Block comments nest in EQL, as in Elasticsearch's lexer: a ``/*`` inside the header,
    even in a TOML string, opens a comment of its own that the next ``*/`` closes.
    """
    end = comment_end(source, start)
    if end is not None:
        return end - 2
    nested = source.find("/*", start + 2)
    if nested >= 0:
        raise RuleError(f"{path}: unterminated rule header: this /* opens a nested comment (EQL block comments "
                        "nest), which the header's */ closes; in a TOML string write it /\\u002A",
                        Span.at(source, nested), source)
    raise RuleError(f"{path}: unterminated rule header: no closing */", Span.at(source, start), source)


def _has_rule_table(file: Path) -> bool:
    try:
        return bool(_RULE_TABLE.search(file.read_text(encoding="utf-8-sig")))
    except (OSError, UnicodeDecodeError):
        return True  # let load_rule report it


def _parse_toml(source: str, start: int, end: int, path: Path, what: str) -> dict[str, Any]:
    """TOML ``source[start:end]``; a decoding error points at its place in the file."""
    try:
        return tomllib.loads(source[start:end])
    except tomllib.TOMLDecodeError as error:
        found = _TOML_POSITION.match(str(error))
        if found is None:  # "... (at end of document)"
            message = str(error).removesuffix(" (at end of document)")
            raise RuleError(f"{path}: malformed {what}: {message}",
                            Span.at(source, end), source) from None
        problem = RuleError(f"malformed {what}: {found.group(1)}", Span.point(int(found.group(2)), int(found.group(3))))
        raise _moved(problem, path, source, start) from None


def _skip_space(source: str, index: int) -> int:
    while index < len(source) and source[index].isspace():
        index += 1
    return index


def _moved(error: EqlError, path: Path, source: str, offset: int | None) -> EqlError:
    """The same error about ``path``, its span (relative to ``source[offset:]``) made absolute;
    ``offset`` None: the place is unknown."""
    span = None
    if error.span is not None and offset is not None:
        at = Span.at(source, offset)
        line, column = at.line, at.column

        def shift(at_line: int | None, at_column: int | None) -> tuple[int | None, int | None]:
            if at_line is None or at_column is None:
                return at_line, at_column
            return at_line + line - 1, at_column + (column - 1 if at_line == 1 else 0)

        span = Span(*shift(error.span.line, error.span.column), *shift(error.span.end_line, error.span.end_column))
    moved = type(error)(f"{path}: {error.message}", span, source if span else None)
    if isinstance(error, RuleError) and isinstance(moved, RuleError):
        moved.key = error.key
    return moved


def _at_key(error: RuleError, path: Path, source: str, start: int) -> EqlError:
    """A metadata error placed on the first line from ``start`` that sets its key."""
    found = None
    if error.key is not None:
        key = re.escape(error.key)
        pattern = re.compile(rf"^[ \t]*(?:\[\[?[ \t]*(?:rule\.)?{key}\b|{key}[ \t]*=)", re.MULTILINE)
        found = pattern.search(source, start)
    if found is None:
        return _moved(error, path, source, None)
    error.span = Span.at(source, _skip_space(source, found.start()))
    return _moved(error, path, source, 0)
