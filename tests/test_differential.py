"""The compiled predicates against a plain tree-walking reference of the same semantics.

The compiler has fast paths (inlined field reads, frozensets, one-element lists) and a
general three-valued path; the reference below has none of that. It is written straight from
the rules in docs/language.md: a leaf is true when some combination of its fields' values
makes it true (a missing field is tried once as null); and/or/not are Boolean over leaves.
Random conditions over random events (nested, dotted, lists, nulls) must agree.
"""

from __future__ import annotations

import itertools
import os
import re
from typing import Any

from conftest import boolean_trees
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import eqlmini
from eqlmini import ast, patterns

EXAMPLES = int(os.environ.get("EQLMINI_EXAMPLES", "300"))

FIELDS = ["a", "b.c", "b.d", "b.e.f"]
WORDS = ["x", "X", "xy", "", "1"]


# ----------------------------------------------------------------------------- reference
def field_values(event: dict[str, Any], name: str) -> list[Any]:
    """All scalar values of a dotted name in an event, as Elasticsearch indexes them."""
    out: list[Any] = []

    def walk(node: Any, parts: list[str]) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, parts)
        elif not parts:
            if node is not None and node == node and not isinstance(node, dict):  # NaN is null
                out.append(node)
        elif isinstance(node, dict):
            for i in range(1, len(parts) + 1):
                key = ".".join(parts[:i])
                if key in node:
                    walk(node[key], parts[i:])
    walk(event, name.split("."))
    return out


def text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return str(value)
    return None


def number(value: Any) -> Any:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None


def equal(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if isinstance(a, bool) or isinstance(b, bool):
        return text(a) == text(b) if isinstance(a, str) or isinstance(b, str) else a is b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    x, y = number(a), number(b)
    return x is not None and y is not None and x == y


def wildcard(pattern: str, value: str, insensitive: bool) -> bool:
    if insensitive:
        pattern, value = patterns.fold(pattern), patterns.fold(value)
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def scalar(node: ast.Expr, env: dict[str, Any]) -> Any:
    """Three-valued value of an expression with one value per field."""
    if isinstance(node, ast.Literal):
        return node.value
    if isinstance(node, ast.Field):
        return env[node.name]
    if isinstance(node, ast.Comparison):
        if node.op in ("==", "!=") and (ast_is_null(node.left) or ast_is_null(node.right)):
            other = node.right if ast_is_null(node.left) else node.left
            missing = scalar(other, env) is None
            return missing if node.op == "==" else not missing
        result = equal(scalar(node.left, env), scalar(node.right, env))
        return result if node.op == "==" else (None if result is None else not result)
    if isinstance(node, ast.Match):
        value = text(scalar(node.left, env))
        if value is None:
            return None
        return any(wildcard(p.value, value, node.insensitive) for p in node.patterns)  # type: ignore[arg-type]
    if isinstance(node, ast.In):
        value = scalar(node.left, env)
        if value is None:
            return None
        if node.insensitive and isinstance(value, str):
            hits = [equal(patterns.fold(value), patterns.fold(i.value) if isinstance(i.value, str) else i.value)
                    for i in node.items]  # type: ignore[union-attr]
        else:
            hits = [equal(value, item.value) for item in node.items]  # type: ignore[union-attr]
        result = True if True in hits else (None if None in hits else False)
        return (None if result is None else not result) if node.negated else result
    raise AssertionError(node)


def ast_is_null(node: ast.Expr) -> bool:
    return isinstance(node, ast.Literal) and node.value is None


def condition(node: ast.Expr, event: dict[str, Any]) -> bool:
    if isinstance(node, ast.And):
        return all(condition(term, event) for term in node.terms)
    if isinstance(node, ast.Or):
        return any(condition(term, event) for term in node.terms)
    if isinstance(node, ast.Not):
        return not condition(node.operand, event)
    names = list(dict.fromkeys(n.name for n in ast.walk(node) if isinstance(n, ast.Field)))
    if isinstance(node, ast.Comparison) and node.op == "!=" and not (ast_is_null(node.left) or ast_is_null(node.right)):
        return not condition(ast.Comparison("==", node.left, node.right), event)
    if isinstance(node, ast.In) and node.negated:
        return not condition(ast.In(node.left, node.items, node.insensitive), event)
    choices = [field_values(event, name) or [None] for name in names]
    return any(scalar(node, dict(zip(names, combo))) is True for combo in itertools.product(*choices))


# ----------------------------------------------------------------------------- generators
scalars = st.one_of(st.sampled_from(WORDS), st.integers(0, 2), st.booleans(), st.none(), st.just(float("nan")))
leaf_values = st.one_of(scalars, st.lists(st.one_of(scalars, st.lists(scalars, max_size=2)), max_size=3))


@st.composite
def events(draw: Any) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for name in FIELDS:
        if draw(st.booleans()):
            value = draw(leaf_values)
            parts = name.split(".")
            split = draw(st.integers(1, len(parts)))  # `b.e.f`, `b: {e.f}`, `b: {e: {f}}`, ...
            keys = [".".join(parts[:split]), *parts[split:]]
            node = event
            for key in keys[:-1]:
                node = node.setdefault(key, {})
                if not isinstance(node, dict):
                    break
            else:
                node[keys[-1]] = value  # possibly beside another spelling of the same name
    if draw(st.booleans()):
        event["b"] = [event.get("b", {}), {"c": draw(scalars)}]  # a list of objects
    return event


class Text(str):
    """A str subclass (as StrEnum and numpy.str_ are)."""


class Number(int):
    """An int subclass (as IntEnum is)."""


@st.composite
def twin(draw: Any, value: Any) -> Any:
    """``value`` with each part in another Python type that stands for the same JSON."""
    np = _optional("numpy")
    pd = _optional("pandas")
    if isinstance(value, dict):
        return {key: draw(twin(item)) for key, item in value.items()}
    if isinstance(value, list):
        items = [draw(twin(item)) for item in value]
        kinds = [list, tuple] + ([_object_array] if np else [])
        return draw(st.sampled_from(kinds))(items)
    if value is None or value != value:
        return draw(st.sampled_from([None, float("nan")] + ([pd.NA, pd.NaT] if pd else []) + ([np.nan] if np else [])))
    if isinstance(value, bool):
        return draw(st.sampled_from([value] + ([np.bool_(value)] if np else [])))
    if isinstance(value, int):
        return draw(st.sampled_from([value, Number(value)] + ([np.int64(value), np.uint16(value)] if np else [])))
    if isinstance(value, str):
        return draw(st.sampled_from([value, Text(value)] + ([np.str_(value)] if np else [])))
    return value


def _optional(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        return None


def _object_array(items: list[Any]) -> Any:
    import numpy as np

    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


fields = st.sampled_from(FIELDS).map(ast.Field)
literals = st.one_of(st.sampled_from(WORDS), st.integers(0, 2), st.booleans()).map(ast.Literal)
leaves = st.one_of(
    st.builds(ast.Comparison, st.sampled_from(["==", "!="]), fields, st.one_of(literals, st.just(ast.Literal(None)))),
    st.builds(lambda op, f, ps: ast.Match(op, f, tuple(ast.Literal(p) for p in ps), listed=True),
              st.sampled_from([":", "like", "like~"]), fields,
              st.lists(st.sampled_from(["x*", "*y", "?", "*", "x?", "X", "1*"]), min_size=1, max_size=3)),
    st.builds(lambda f, items, ci, neg: ast.In(f, tuple(items), ci, neg), fields,
              st.lists(st.sampled_from(WORDS).map(ast.Literal), min_size=1, max_size=3), st.booleans(), st.booleans()),
)
conditions = boolean_trees(leaves, max_leaves=5)


@settings(max_examples=EXAMPLES, deadline=None)
@given(conditions, st.lists(events(), min_size=1, max_size=5))
def test_compiled_predicate_agrees_with_reference(cond: ast.Expr, sample: list[dict[str, Any]]) -> None:
    query = eqlmini.compile(f"any where {cond}")
    for event in sample:
        assert query(event) is condition(cond, event), (str(cond), event)


@settings(max_examples=EXAMPLES, deadline=None)
@given(conditions, st.lists(events(), min_size=1, max_size=3), st.data())
def test_python_typed_twins_give_the_same_answers(cond: ast.Expr, sample: list[dict[str, Any]], data: Any) -> None:
    """An event with str/int subclasses, tuples, numpy and pandas values answers as its JSON twin."""
    query = eqlmini.compile(f"any where {cond}")
    for event in sample:
        other = data.draw(twin(event))
        assert query(other) is condition(cond, event), (str(cond), event, other)


SHAPES = [
    {}, {"a": None}, {"a": []}, {"a": "x"}, {"a": "X"}, {"a": 1}, {"a": True}, {"a": "1"},
    {"a": ["x"]}, {"a": ["y", "x"]}, {"a": ["y", ["x"]]}, {"a": [["x"]]}, {"a": [None, "x"]}, {"a": [None]},
    {"a": [{"x": 1}]}, {"a": {"x": 1}}, {"a": [1, "xy"]},
    {"b": {"c": "x"}}, {"b.c": "x"}, {"b": {"c": "y"}, "b.c": "x"}, {"b": [{"c": "y"}, {"c": "x"}]},
    {"b": {"c": ["y", ["X"]]}}, {"b": {"c": None}, "b.c": ["x"]}, {"b": "x"}, {"b": {"c": {"d": "x"}}},
    {"a": float("nan")}, {"a": ["y", float("nan")]}, {"b": {"e": {"f": "y"}}, "b.e.f": "x"}, {"b.e": {"f": ["x"]}},
    {"b": {"e.f": "x", "e": {"f": 1}}}, {"b": [{"e": {"f": "y"}}, {"e.f": "X"}]}, {"b": {"e": "x"}},
]
EVERY_LEAF = [
    *(ast.Comparison(op, ast.Field(f), ast.Literal(v)) for op in ("==", "!=") for f in ("a", "b.c", "b.e.f")
      for v in ("x", "X", "1", 1, True, None)),
    *(ast.Match(op, ast.Field(f), (ast.Literal(p),)) for op in (":", "like") for f in ("a", "b.c", "b.e.f")
      for p in ("x", "X*", "?", "*y")),
    *(ast.In(ast.Field(f), (ast.Literal("x"), ast.Literal("xy")), ci, neg) for f in ("a", "b.c", "b.e.f")
      for ci in (False, True) for neg in (False, True)),
]


def test_every_leaf_on_every_event_shape() -> None:
    for leaf in EVERY_LEAF:
        query = eqlmini.compile(f"any where {leaf}")
        for event in SHAPES:
            assert query(event) is condition(leaf, event), (str(leaf), event)


def _flat_keys(event: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in event.items():
        name = prefix + key
        keys.extend(_flat_keys(value, name + ".") if isinstance(value, dict) and value else [name])
    return keys


@settings(max_examples=max(EXAMPLES // 3, 20), deadline=None)
@given(conditions, st.lists(events(), min_size=1, max_size=4))
def test_rows_of_a_json_normalized_frame_give_the_events_answers(cond: ast.Expr, sample: list[dict[str, Any]]) -> None:
    """``pandas.json_normalize`` flattens events into dotted columns; with pandas' nullable
    types (``convert_dtypes``: a missing value is ``pandas.NA``, an integer column stays one)
    each row, a Series, answers as its event does."""
    pd = pytest.importorskip("pandas")
    keys = [_flat_keys(event) for event in sample]
    assume(all(len(set(names)) == len(names) for names in keys))  # no name spelled two ways
    frame = pd.json_normalize(sample).convert_dtypes()
    query = eqlmini.compile(f"any where {cond}")
    assert frame.apply(query, axis=1).tolist() == [condition(cond, event) for event in sample], str(cond)
