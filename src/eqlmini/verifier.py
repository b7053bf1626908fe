"""Compile-time checks: what Elasticsearch rejects after parsing, eqlmini rejects too.

Each check is a small function over the tree that raises :class:`EqlSemanticError` at the
node at fault. There is no index mapping, so types are known only for literals, function
results and operators; a field's type is unknown and never blamed.
"""

from __future__ import annotations

import difflib
from typing import Iterable

from . import ast, functions
from .errors import EqlSemanticError, EqlUnsupportedError

# Static types: "string", "number", "boolean", "null", or None for "unknown" (a field).
BOOLEAN_NODES = (ast.Comparison, ast.Match, ast.In, ast.Not, ast.And, ast.Or)
SUPPORTED_PIPES = ("head", "tail")
REJECTED_PIPES = ("count", "filter", "sort", "unique", "unique_count")
MAX_SAMPLE_FILTERS = 5


def static_type(node: ast.Expr) -> str | None:
    """The type an expression is known to have before any event is seen, or None."""
    if isinstance(node, ast.Literal):
        value = node.value
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "boolean"
        return "string" if isinstance(value, str) else "number"
    if isinstance(node, BOOLEAN_NODES):
        return "boolean"
    if isinstance(node, (ast.Arithmetic, ast.Unary)):
        return "number"
    if isinstance(node, ast.Call):
        function = functions.FUNCTIONS.get(node.name.lower())
        return function.return_type if function else None
    return None


def has_field(node: ast.Expr) -> bool:
    """Whether an expression reads any field (so it is not a constant)."""
    return bool(ast.fields_of(node))


def verify(query: ast.Query) -> ast.Query:
    """Check a parsed query; return it unchanged or raise EqlSemanticError at the fault."""
    body = query.body
    if isinstance(body, ast.Sequence):
        _check_sequence(body)
    elif isinstance(body, ast.Sample):
        _check_sample(body, query.pipes)
    for expr in query.expressions():
        for node in ast.walk(expr):
            _check_node(node)
    for event_query in query.event_queries():
        _check_condition(event_query.where)
    for pipe in query.pipes:
        _check_pipe(pipe)
    return query


# ------------------------------------------------------------------ expressions
def _check_node(node: ast.Expr) -> None:
    if isinstance(node, ast.Call):
        function = functions.resolve(node)
        functions.check_arguments(node, function)
    elif isinstance(node, ast.Match):
        _check_match(node)
    elif isinstance(node, ast.Comparison):
        _check_comparison(node)
    elif isinstance(node, ast.In):
        _check_in(node)
    elif isinstance(node, (ast.Arithmetic, ast.Unary)):
        operands = (node.left, node.right) if isinstance(node, ast.Arithmetic) else (node.operand,)
        for position, operand in enumerate(operands, 1):
            kind = static_type(operand)
            if kind not in (None, "number", "null"):
                raise EqlSemanticError(
                    f"{_ordinal(position)} argument of [{node}] must be [numeric], found value [{operand}] "
                    f"type [{kind}]", node.span)
    elif isinstance(node, (ast.And, ast.Or, ast.Not)):
        operands = node.terms if isinstance(node, (ast.And, ast.Or)) else (node.operand,)
        for operand in operands:
            _check_boolean(operand, node)


def _check_boolean(operand: ast.Expr, parent: ast.Expr) -> None:
    kind = static_type(operand)
    if kind not in (None, "boolean", "null"):
        raise EqlSemanticError(f"argument of [{parent}] must be [boolean], found value [{operand}] type [{kind}]",
                               operand.span or parent.span)


def _check_condition(condition: ast.Expr) -> None:
    kind = static_type(condition)
    if kind not in (None, "boolean", "null"):
        raise EqlSemanticError(f"Condition expression needs to be boolean, found [{kind.upper()}]",
                               condition.span)


def _check_match(node: ast.Match) -> None:
    left_type = static_type(node.left)
    if left_type not in (None, "string"):
        raise EqlSemanticError(f"1st argument of [{node}] must be [string], found value [{node.left}] "
                               f"type [{left_type}]", node.span)
    for pattern in node.patterns:
        # `like` takes any constant as its text (ES ExpressionBuilder: toLikePattern(e.fold().toString()));
        # the parser has already turned numbers and booleans into that text.
        if not isinstance(pattern.value, str):
            hint = "; consider using [==] instead" if node.op == ":" else ""
            raise EqlSemanticError(
                f"second argument of [{node.op}] must be [string], found value [{pattern}] "
                f"type [{functions.literal_type(pattern.value)}]{hint}", pattern.span or node.span)


def _check_comparison(node: ast.Comparison) -> None:
    # Mixed types (`"10" == 10`, `true == 1`) are accepted, as in ES (VerifierTests testQueryOk,
    # testBoolean): BinaryComparison only asks for exact types, and the comparison is null at run time.
    # An optional field may be unmapped, i.e. the null literal, so Elasticsearch accepts it.
    optional = any(isinstance(side, ast.Field) and side.optional for side in (node.left, node.right))
    if has_field(node.left) and has_field(node.right) and not optional:
        raise EqlSemanticError("Comparisons against fields are not (currently) supported", node.span)


def _check_in(node: ast.In) -> None:
    """ES's In.resolveType: every item is a constant, of a type compatible with the left side's;
    the ordinal counts the (deduplicated) list items; errors point at the whole `in`, as in ES. `in~` is an insensitive equality per item,
    which takes strings only (InsensitiveBinaryComparison.resolveInputType)."""
    items = list(dict.fromkeys(node.items))  # In keeps a LinkedHashSet of its list
    for item in items:
        if has_field(item):
            raise EqlSemanticError(f"Comparisons against fields are not (currently) supported; offender [{item}] "
                                   f"in [{node}]", node.span)
    if node.insensitive:
        for item in items:
            if _family(item) not in (None, "string"):
                raise EqlSemanticError(f"second argument of [in~] must be [string], found value [{item}] type "
                                       f"[{_type_name(item)}]; consider using [in] instead", node.span)
        return
    expected = _family(node.left)
    expected_name = _type_name(node.left)
    for position, item in enumerate(items, 1):
        kind = _family(item)
        if kind is None:
            continue
        if expected is None:
            expected, expected_name = kind, _type_name(item)
        elif kind != expected:
            raise EqlSemanticError(f"{_ordinal(position)} argument of [{node}] must be [{expected_name}], "
                                   f"found value [{item}] type [{_type_name(item)}]", node.span)


def _family(node: ast.Expr) -> str | None:
    """The type family ES's DataTypes.areCompatible compares (numbers are one), or None if unknown."""
    kind = static_type(node)
    return None if kind == "null" else kind


def _type_name(node: ast.Expr) -> str:
    """ES's name for the type of an expression: integer, long, double, keyword, boolean, ..."""
    if isinstance(node, ast.Literal):
        return functions.literal_type(node.value)
    kind = static_type(node)
    return {"string": "keyword", "number": "long"}.get(kind or "", kind or "unknown")


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


# ------------------------------------------------------------------ sequences and samples
def _check_join_keys(body: ast.Sequence | ast.Sample, stages: Iterable[ast.Stage]) -> None:
    """Join keys are plain fields, and every stage has as many as the others."""
    stages = tuple(stages)
    for key in (*body.by, *(key for stage in stages for key in stage.by)):
        if not isinstance(key, ast.Field):
            raise EqlSemanticError(f"Unsupported join key [{key}], only field names are allowed", key.span)
    expected = len(stages[0].by)
    for stage in stages[1:]:
        if len(stage.by) != expected:  # ES LogicalPlanBuilder.visitSequence: counts leave out `sequence by` keys
            raise EqlSemanticError(f"Inconsistent number of join keys specified; expected [{expected}] but found "
                                   f"[{len(stage.by)}]", (stage.by[0].span if stage.by else None) or stage.span)


def _check_sequence(sequence: ast.Sequence) -> None:
    _check_join_keys(sequence, sequence.stages + ((sequence.until,) if sequence.until else ()))
    total = sum(stage.runs or 1 for stage in sequence.stages)
    if total < 2:
        raise EqlSemanticError(f"A sequence requires a minimum of 2 queries, found [{total}]", sequence.span)
    if any(stage.missing for stage in sequence.stages):
        if sequence.maxspan is None:
            raise EqlSemanticError("A sequence with missing events ![...] needs [with maxspan]", sequence.span)
        if all(stage.missing for stage in sequence.stages):
            raise EqlSemanticError("A sequence requires at least one positive event query; found none",
                                   sequence.span)


def _check_sample(sample: ast.Sample, pipes: tuple[ast.Pipe, ...]) -> None:
    _check_join_keys(sample, sample.stages)
    for stage in sample.stages:
        if stage.missing:
            raise EqlSemanticError("Missing events ![...] are not allowed in a sample", stage.span)
        if stage.runs is not None:
            raise EqlSemanticError("[runs] is not allowed in a sample", stage.span)
    if not sample.by and not sample.stages[0].by:
        raise EqlSemanticError("A sample requires at least one join key", sample.span)
    if len(sample.stages) > MAX_SAMPLE_FILTERS:
        raise EqlSemanticError(f"A sample supports at most {MAX_SAMPLE_FILTERS} filters, found "
                               f"[{len(sample.stages)}]", sample.span)
    if pipes:
        raise EqlSemanticError("Pipes are not allowed with a sample", pipes[0].span)


# ------------------------------------------------------------------ pipes
def _check_pipe(pipe: ast.Pipe) -> None:
    name = pipe.name
    if name in REJECTED_PIPES:
        raise EqlUnsupportedError(f"Pipe [{name}] is not supported", pipe.span)
    if name not in SUPPORTED_PIPES:
        close = difflib.get_close_matches(name, SUPPORTED_PIPES + REJECTED_PIPES)
        hint = f", did you mean [{close[0]}]?" if len(close) == 1 else ""
        if len(close) > 1:
            hint = f", did you mean any of [{', '.join(close)}]?"
        raise EqlSemanticError(f"Unrecognized pipe [{name}]{hint}", pipe.span)
    # ES LogicalPlanBuilder.onlyOnePipeArgument and pipeIntArgument.
    if len(pipe.args) != 1:
        raise EqlSemanticError(f"Pipe [{name}] expects exactly one argument but found [{len(pipe.args)}]", pipe.span)
    arg = pipe.args[0]
    if not (isinstance(arg, ast.Literal) and type(arg.value) is int and 0 <= arg.value < 2**31):
        raise EqlSemanticError(f"Pipe [{name}] expects a positive integer but found [{arg}]", arg.span or pipe.span)
