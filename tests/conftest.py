"""Shared test helpers: where ../shared/ is, and how to read Elasticsearch's QA files."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared"
CONFORMANCE = SHARED / "conformance" / "elasticsearch"
CORPUS = SHARED / "corpus" / "detection-rules-eql.jsonl"


_USER_CACHE = os.environ.get("EQLMINI_CACHE_DIR")


def pytest_configure(config: pytest.Config) -> None:
    """The compiled rule-pack cache of every test (and the commands they run) is a temporary
    folder, from before collection on (test modules load rules when imported): tests never
    write to the user's own cache."""
    os.environ["EQLMINI_CACHE_DIR"] = tempfile.mkdtemp(prefix="eqlmini-pack-cache-")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the tests' cache folder; the variable is as it was."""
    shutil.rmtree(os.environ.pop("EQLMINI_CACHE_DIR"), ignore_errors=True)
    if _USER_CACHE is not None:
        os.environ["EQLMINI_CACHE_DIR"] = _USER_CACHE


def require(path: Path) -> Path:
    """Skip the calling test, with a clear message, when shared material is absent."""
    if not path.exists():
        pytest.skip(f"{path} not found: the shared test material sits beside the project root")
    return path


def load_es_toml(path: Path) -> list[dict[str, Any]]:
    """The [[queries]] of one ES QA file (test_extra.toml has bare `null`s that TOML lacks)."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^(join_keys\s*=.*)$", lambda m: re.sub(r"\bnull\b(?!\")", '"null"', m.group(1)), text,
                  flags=re.MULTILINE)
    return tomllib.loads(text)["queries"]


def load_es_data(name: str) -> list[dict[str, Any]]:
    """One QA data file (a JSON array; missing-events.data has // comment lines)."""
    text = (CONFORMANCE / "data" / f"{name}.data").read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    return json.loads(text)


def boolean_trees(leaves: Any, max_leaves: int) -> Any:
    """A hypothesis strategy: not/and/or trees over ``leaves``."""
    from hypothesis import strategies as st

    from eqlmini import ast

    return st.recursive(leaves, lambda inner: st.one_of(
        st.builds(ast.Not, inner),
        st.lists(inner, min_size=2, max_size=3).map(lambda terms: ast.And(tuple(terms))),
        st.lists(inner, min_size=2, max_size=3).map(lambda terms: ast.Or(tuple(terms))),
    ), max_leaves=max_leaves)


def run_cli(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    """Run the ``eqlmini`` command in this process: its exit status, standard output and error."""
    from eqlmini.cli import main

    status = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def ndjson(text: str) -> list[dict[str, Any]]:
    """The JSON objects of NDJSON text, one per line."""
    return [json.loads(line) for line in text.splitlines()]
