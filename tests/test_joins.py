"""Join keys: Elasticsearch's join-key constraint propagation, and the bound on key combinations.

Elasticsearch's optimizer (``Optimizer.PropagateJoinKeyConstraints``, a rule on
``AbstractJoin``: sequences and samples) copies the conditions a stage puts on its join keys
to the other stages (ES OptimizerTests ``testQueryLevelTwoKeyConstraints``,
``testSkipKeySameWithDisjunctionConstraints``); since ES PR #133134 not a condition that
also reads other fields, since ES PR #145813 not the conditions of ``![...]`` stages. With
multi-valued keys that decides results (spec §10 item 6).
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

import eqlmini
from eqlmini import limits
from eqlmini.limits import EqlLimitWarning


def ev(i: int, category: str, **fields: Any) -> dict[str, Any]:
    return {"@timestamp": i, "id": i, "event": {"category": category}, **fields}


def found(text: str, events: list[dict[str, Any]]) -> list[tuple[list[int], tuple]]:
    return [([e.get("id", -1) for e in r.events], r.join_keys) for r in eqlmini.compile(text).search(events)]


MULTI = [ev(1, "process", user=["a", "b"]), ev(2, "file", user="b")]


def test_a_key_pinned_by_one_stage_is_pinned_in_the_others() -> None:
    # The case: the file stage becomes `file where true and user == "a"`, so the
    # file event (user "b") is no partner; plain key matching would join them on "b".
    assert found('sequence by user [process where user == "a"] [file where true]', MULTI) == []
    assert found('sequence by user [process where true] [file where true]', MULTI) == [([1, 2], ("b",))]
    # The pinned value does not choose the key: a file event with both users joins on both.
    both = [MULTI[0], ev(2, "file", user=["a", "b"])]
    assert found('sequence by user [process where user == "a"] [file where true]', both) == [
        ([1, 2], ("a",)), ([1, 2], ("b",))]


def test_samples_get_the_rule_too() -> None:
    assert found('sample by user [process where user == "a"] [file where true]', MULTI) == []
    assert found('sample by user [process where true] [file where true]', MULTI) == [([1, 2], ("b",))]


def test_the_constraint_follows_the_key_position_across_field_names() -> None:
    events = [ev(1, "process", user=["a", "b"]), ev(2, "file", owner="b")]
    assert found('sequence [process where user == "a"] by user [file where true] by owner', events) == []
    assert found('sequence [process where true] by user [file where true] by owner', events) == [([1, 2], ("b",))]
    # ... and the other way round: the file stage's condition on `owner` pins `user`.
    events = [ev(1, "process", user="b"), ev(2, "file", owner=["a", "b"])]
    assert found('sequence [process where true] by user [file where owner : "a"] by owner', events) == []


@pytest.mark.parametrize(("condition", "first", "second"), [
    ('user == "a" or user == "z"', ["a", "b"], "b"),  # CombineDisjunctionsToIn: `user in ("a", "z")`
    ('user in ("a", "z")', ["a", "b"], "b"),
    ('user : "A"', ["a", "b"], "b"),
    ('startsWith(user, "a")', ["a", "b"], "b"),
    ('user != "b"', ["a", "c"], ["b", "c"]),
    ('not user in ("b")', ["a", "c"], ["b", "c"]),
])
def test_key_only_conditions_are_copied(condition: str, first: Any, second: Any) -> None:
    # Without the copy, the events join on a key value they share; with it, the second
    # event fails the first stage's condition.
    events = [ev(1, "process", user=first), ev(2, "file", user=second)]
    assert found("sequence by user [process where true] [file where true]", events)
    assert found(f"sequence by user [process where {condition}] [file where true]", events) == []


@pytest.mark.parametrize("condition", [
    'user == "a" or x == 1',            # an `or` of different tests stays a disjunction
    'user : ("a", "z")',                # `:` with a list is built as an `or`
    'user like~ ("a", "z")',
    'user in~ ("a", "z")',
    'startsWith(user, x)',              # reads a field that is no key (ES PR #133134)
])
def test_conditions_with_a_disjunction_or_another_field_are_not_copied(condition: str) -> None:
    events = [ev(1, "process", user=["a", "b"], x="a"), ev(2, "file", user="b")]
    assert found(f"sequence by user [process where {condition}] [file where true]", events) == [([1, 2], ("b",))]


def test_the_category_test_is_a_condition_when_the_category_is_a_key() -> None:
    events = [ev(1, "process"), ev(2, "file")]
    events[0]["event"]["category"] = ["process", "file"]
    # The `any` stage takes `event.category == "process"` from the first stage.
    assert found("sequence by event.category [process where true] [any where true]", events) == []
    assert found("sequence by event.category [any where true] [any where true]", events) == [([1, 2], ("file",))]


def test_until_neither_gives_nor_takes() -> None:
    # An until event for user "b" ends the "b" partial; were it to take `user == "a"`, it
    # would not match and both keys would complete.
    events = [ev(1, "process", user=["a", "b"]), ev(2, "network", user="b"), ev(3, "file", user=["a", "b"])]
    text = 'sequence by user [process where user == "a"] [file where true] until [network where true]'
    assert found(text, events) == [([1, 3], ("a",))]


def test_missing_stages_take_conditions_but_give_none() -> None:
    # ES PR #145813: the ![...] stage's `user == "a"` does not restrict the positive stages.
    events = [ev(1, "process", user="b"), ev(2, "network", user="b")]
    text = 'sequence by user with maxspan=1h [process where true] ![file where user == "a"] [network where true]'
    assert found(text, events) == [([1, -1, 2], ("b",))]
    # The positive stage's `user == "a"` does restrict the ![...] stage: the file event
    # for "b" is no missing event for key "b" then.
    events = [ev(1, "process", user=["a", "b"]), ev(2, "file", user="b"), ev(3, "network", user=["a", "b"])]
    text = 'sequence by user with maxspan=1h [process where user == "a"] ![file where true] [network where true]'
    assert found(text, events) == [([1, -1, 3], ("a",)), ([1, -1, 3], ("b",))]


def test_the_tree_stays_as_written() -> None:
    text = 'sequence by user [process where user == "a"] [file where true]'
    query = eqlmini.compile(text)
    assert query.tree == eqlmini.parse(text)
    assert "user ==" not in str(query.tree.body.stages[1])  # type: ignore[union-attr]


# --------------------------------------------------------------------------- key combinations
def test_key_combinations_per_event_are_bounded_and_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_JOIN_KEY_COMBINATIONS", 50)
    events = [ev(1, "process", a=list(range(10)), b=list(range(10))),
              ev(2, "file", a=list(range(10)), b=list(range(10)))]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = found("sequence by a, b [process where true] [file where true]", events)
    # 100 combinations each; the first 50 (a in 0..4) take part, and the cut is reported.
    assert len(results) == 50 and results[-1][1] == (4, 9)
    assert any(issubclass(w.category, EqlLimitWarning) and "MAX_JOIN_KEY_COMBINATIONS" in str(w.message)
               for w in caught)


def test_the_default_bound_stops_a_cartesian_blow_up() -> None:
    values = [f"v{i}" for i in range(1000)]
    events = [ev(1, "process", a=values, b=values), ev(2, "file", a=values, b=values)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = found("sequence by a, b [process where true] [file where true]", events)
    assert len(results) == limits.MAX_JOIN_KEY_COMBINATIONS < 1_000_000
    assert caught and all(issubclass(w.category, EqlLimitWarning) for w in caught)
