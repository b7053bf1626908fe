"""Stages of a sequence or sample, compiled: filters with Elasticsearch's join-key constraints,
and the key tuples each event takes part under.

Elasticsearch's optimizer (``Optimizer.PropagateJoinKeyConstraints``, a rule on
``AbstractJoin``, so on sequences and samples alike) copies the conditions a stage puts on
its join keys to the same key positions of every other stage: in
``sequence by user [process where user == "a"] [file where true]`` the file stage becomes
``file where true and user == "a"``. With multi-valued keys that changes results (spec §10
item 6), so eqlmini does the same here, on the compiled filters only: the query's tree stays
as the user wrote it.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any, Callable, Mapping, Sequence

from . import ast, compiler, limits
from .fields import getter
from .options import SearchOptions
from .stages import StageSpec
from .values import parse_number

Event = Mapping[str, Any]
KeyTuples = Callable[[Event], list[tuple]]

__all__ = ["key_tuples", "stage_specs"]


def stage_specs(body: ast.Sequence | ast.Sample,
                options: SearchOptions) -> tuple[tuple[StageSpec, ...], StageSpec | None]:
    """The compiled stages (a stage ``with runs=N`` repeated N times) and the ``until`` stage.

    Stages with the same join keys share one key function, so that a matcher reads an
    event's keys once however many stages it meets.
    """
    keys = [(*body.by, *stage.by) for stage in body.stages]
    functions: dict[str, KeyTuples] = {}

    def spec(stage: ast.Stage, stage_keys: tuple[ast.Expr, ...], constraints: Sequence[ast.Expr]) -> StageSpec:
        query = stage.query
        if constraints:
            query = ast.EventQuery(query.category, ast.And((query.where, *constraints)))
        spelled = ", ".join(map(str, stage_keys))
        if spelled not in functions:
            functions[spelled] = key_tuples(stage_keys)
        return StageSpec(compiler.compile_event_query(query, options), functions[spelled], stage.missing,
                         _category(stage.query, options))

    specs: list[StageSpec] = []
    for stage, stage_keys, constraints in zip(body.stages, keys, _propagated(body.stages, keys, options)):
        specs.extend([spec(stage, stage_keys, constraints)] * (stage.runs or 1))
    until = None
    if isinstance(body, ast.Sequence) and body.until is not None:
        # `until` is not one of the join's queries in Elasticsearch: it neither gives nor
        # takes key constraints.
        until = spec(body.until, (*body.by, *body.until.by), ())
    return tuple(specs), until


def _category(query: ast.EventQuery, options: SearchOptions) -> tuple[str, str] | None:
    """``(field, value)`` when the filter tests its category as plain text, for dispatch."""
    field = options.event_category_field
    if query.category is None or parse_number(query.category) is not None:
        return None  # a number-like category may equal other spellings of the number
    if field in options.field_types or field == options.timestamp_field:
        return None  # a typed category field does not compare as plain text
    return field, query.category


# --------------------------------------------------------------------------- key constraints
def _propagated(stages: Sequence[ast.Stage], keys: Sequence[tuple[ast.Expr, ...]],
                options: SearchOptions) -> list[list[ast.Expr]]:
    """Per stage, the conditions the other stages put on their join keys, rewritten for it.

    As ``PropagateJoinKeyConstraints`` does in Elasticsearch 8.19 and 9.x: every conjunct
    of a stage's condition (the category test included) that contains no ``or`` and reads
    join keys and nothing else is copied to every other stage, each key renamed to the
    other stage's key at the same position. A conjunct that also reads another field is
    not copied (ES PR #133134: it would read that field on the other stage's event), nor
    is any condition of a ``![...]`` stage (ES PR #145813: it says what must be absent);
    ``![...]`` stages do take the others' conditions. Elasticsearch also adds
    ``key != null`` for every non-optional key first; copying that changes nothing, since
    key tuples must be equal to join, so it is left out.
    ES tests: OptimizerTests.testQueryLevelTwoKeyConstraints,
    testSkipKeySameWithDisjunctionConstraints.
    """
    out: list[list[ast.Expr]] = [[] for _ in stages]
    for i, stage in enumerate(stages):
        if stage.missing:
            continue
        names = [key.name for key in keys[i]]  # type: ignore[union-attr]
        for conjunct in _conjuncts(stage.query, options):
            read = {field.name for field in ast.fields_of(conjunct)}
            if not read or not read <= set(names) or _has_or(conjunct):
                continue
            for target, target_keys in enumerate(keys):
                if target != i:
                    out[target].append(_renamed(conjunct, names, target_keys))
    return out


def _conjuncts(query: ast.EventQuery, options: SearchOptions) -> list[ast.Expr]:
    """The parts of the stage's whole condition joined by ``and``, as Elasticsearch splits it."""
    parts: list[ast.Expr] = []
    if query.category is not None:
        parts.append(ast.Comparison("==", ast.Field(options.event_category_field), ast.Literal(query.category)))
    pending = [query.where]
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.And):
            pending[:0] = node.terms
        else:
            parts.append(node)
    return parts


def _has_or(node: ast.Expr) -> bool:
    """Whether the expression holds a disjunction once Elasticsearch has built and optimised it.

    ``:``, ``like`` and ``in~`` with several values are built as an ``or`` of single tests;
    ``regex`` joins its patterns into one and ``in`` is one test. The optimizer's
    ``CombineDisjunctionsToIn`` merges an ``or`` of ``==``/``in`` tests of one expression
    against constants into one ``in``, which is no disjunction. (Its other Boolean
    rewrites, such as taking a common conjunct out of an ``or``, are not modelled.)
    """
    if isinstance(node, ast.Or) and not _one_in(node):
        return True
    if isinstance(node, ast.Match) and node.op in (":", "like", "like~") and len(node.patterns) > 1:
        return True
    if isinstance(node, ast.In) and node.insensitive and len(node.items) > 1:
        return True
    return any(_has_or(child) for child in ast.children(node))


def _one_in(node: ast.Or) -> bool:
    """Whether every part of the ``or`` is ``x == constant`` or ``x in (...)`` for one ``x``."""
    tested = set()
    pending = list(node.terms)
    while pending:
        term = pending.pop()
        if isinstance(term, ast.Or):
            pending.extend(term.terms)
        elif isinstance(term, ast.Comparison) and term.op == "==":
            left, right = term.left, term.right
            if isinstance(left, ast.Literal):  # LiteralsOnTheRight
                left, right = right, left
            if not isinstance(right, ast.Literal) or right.value is None or isinstance(left, ast.Literal):
                return False  # `x == null` is rewritten to IsNull first
            tested.add(str(left))
        elif isinstance(term, ast.In) and not term.insensitive and not term.negated:
            tested.add(str(term.left))
        else:
            return False
    return len(tested) == 1


def _renamed(node: ast.Expr, names: list[str], keys: tuple[ast.Expr, ...]) -> ast.Expr:
    """``node`` with each read of the join key ``names[i]`` replaced by ``keys[i]``."""
    def rename(node: ast.Expr) -> ast.Expr:
        if isinstance(node, ast.Field):
            return keys[names.index(node.name)] if node.name in names else node
        if isinstance(node, ast.Literal):
            return node
        if isinstance(node, ast.Call):
            return dataclasses.replace(node, args=tuple(map(rename, node.args)))
        if isinstance(node, (ast.Unary, ast.Not)):
            return dataclasses.replace(node, operand=rename(node.operand))
        if isinstance(node, (ast.Arithmetic, ast.Comparison)):
            return dataclasses.replace(node, left=rename(node.left), right=rename(node.right))
        if isinstance(node, ast.Match):
            return dataclasses.replace(node, left=rename(node.left))
        if isinstance(node, ast.In):
            return dataclasses.replace(node, left=rename(node.left), items=tuple(map(rename, node.items)))
        return dataclasses.replace(node, terms=tuple(map(rename, node.terms)))
    return rename(node)


# --------------------------------------------------------------------------- key tuples
def key_tuples(keys: tuple[ast.Expr, ...]) -> KeyTuples:
    """Every key tuple an event takes part under: the product of its keys' values.

    Duplicates collapse; a null or missing value excludes the event unless the key is
    ``?optional``, where null is a key value of its own (spec sections 5 and 6). More than
    ``limits.MAX_JOIN_KEY_COMBINATIONS`` combinations are cut to the first ones, reported.
    """
    if not keys:
        return lambda event: [()]
    names = ", ".join(map(str, keys))
    readers = [(getter(key.name), key.optional) for key in keys]  # type: ignore[union-attr]
    if len(readers) == 1:
        read, optional = readers[0]

        def one_key(event: Event) -> list[tuple]:
            value = read(event)  # None, a scalar, or a flat list of scalars
            if value.__class__ is list:
                return _product([value], names)
            return [(value,)] if value is not None or optional else []
        return one_key

    if len(readers) == 2 and not any(optional for _, optional in readers):  # `by host.id, process.pid`
        (read_a, _), (read_b, _) = readers

        def two_keys(event: Event) -> list[tuple]:
            a = read_a(event)
            if a is None:
                return []
            b = read_b(event)
            if b is None:
                return []
            if a.__class__ is list or b.__class__ is list:
                return _product([a, b], names)
            return [(a, b)]
        return two_keys

    def key_tuple(event: Event) -> list[tuple]:
        key = []
        several = False
        for read, optional in readers:
            value = read(event)
            if value is None and not optional:
                return []
            several = several or value.__class__ is list
            key.append(value)
        return _product(key, names) if several else [tuple(key)]
    return key_tuple


def _product(values: list[Any], names: str) -> list[tuple]:
    """The key tuples of per-key values (a list: several values), bounded."""
    choices = [tuple(dict.fromkeys(value)) if value.__class__ is list else (value,) for value in values]
    cap = limits.MAX_JOIN_KEY_COMBINATIONS
    if math.prod(map(len, choices)) > cap:
        limits.skipped(f"join keys {names}: an event's values make more than limits.MAX_JOIN_KEY_COMBINATIONS "
                       f"({cap:,}) combinations; it takes part under the first {cap:,} only")
        return list(itertools.islice(itertools.product(*choices), cap))
    return list(itertools.product(*choices))
