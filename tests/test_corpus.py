"""All 1081 real detection rules of ../shared/corpus/ parse, verify, compile and print back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import CORPUS

import eqlmini
from eqlmini.parser import parse as parse_only


def _rules() -> list[Any]:
    if not CORPUS.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{CORPUS} not found"))]
    rules = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    return [pytest.param(rule, id=f"{rule['rule_id']}:{rule['name'][:40]}") for rule in rules]


@pytest.mark.parametrize("rule", _rules())
def test_rule_compiles_and_round_trips(rule: dict[str, Any]) -> None:
    options = {}
    if rule["event_category_override"]:
        options["event_category_field"] = rule["event_category_override"]
    query = eqlmini.compile(rule["query"], **options)
    assert query.kind == rule["query_kind"]
    assert parse_only(str(query.tree)) == query.tree
    assert parse_only(rule["query"]) == query.tree  # compile() parses without positions: same tree
    assert query.fields  # every rule reads at least one field


def test_corpus_size() -> None:
    if not CORPUS.exists():
        pytest.skip(f"{CORPUS} not found")
    rules = CORPUS.read_text(encoding="utf-8").splitlines()
    assert len(rules) == 1081
    assert sum(not json.loads(line)["deprecated"] for line in rules) == 1024
