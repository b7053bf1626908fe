"""Rules as files: an EQL query with its metadata, loaded at run time."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import EqlError
from .query import Query

_HEADER_START, _HEADER_END = "/*", "*/"


@dataclass(frozen=True)
class Rule:
    """A detection rule: its name, query text, compiled query and metadata."""

    name: str
    text: str
    query: Query
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
    path: Path | None = None


def _split_header(source: str) -> tuple[dict[str, Any], str]:
    stripped = source.lstrip()
    if not stripped.startswith(_HEADER_START):
        return {}, source
    end = stripped.find(_HEADER_END)
    if end < 0:
        raise EqlError("unterminated rule header: no closing */")
    header = stripped[len(_HEADER_START):end]
    try:
        return tomllib.loads(header), stripped[end + len(_HEADER_END):].strip()
    except tomllib.TOMLDecodeError as error:
        raise EqlError(f"malformed rule header: {error}") from None


def load_rule(path: str | Path) -> Rule:
    """Load one ``.eql`` rule file (a TOML header in a leading block comment, then EQL)."""
    from . import compile as compile_query

    path = Path(path)
    source = path.read_text(encoding="utf-8")
    metadata, text = _split_header(source)
    return Rule(metadata.get("name", path.stem), text, compile_query(text), metadata, path)


def bundled_rules_folder() -> Path:
    """Where the bundled ``.eql`` files are: the installed ``eqlmini.bundled`` package, or
    the ``rules/`` folder of a source checkout run without installing."""
    try:
        return Path(str(resources.files("eqlmini.bundled")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "rules"


def bundled_rules() -> list[Rule]:
    """The rules shipped with eqlmini (the ``rules/`` folder of the project), loaded now."""
    return [load_rule(path) for path in sorted(bundled_rules_folder().glob("*.eql"))]
