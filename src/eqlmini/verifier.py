"""Compile-time checks: what Elasticsearch rejects after parsing, eqlmini rejects too.

Each check is a small function over the tree that raises :class:`EqlSemanticError` at the
node at fault. Without a schema there is no index mapping: types are known only for
literals, function results and operators, and a field's type is unknown and never blamed.
With a schema (``eqlmini.schemas``) every field is resolved first, as Elasticsearch's
analyzer resolves it against the mapping, and its type takes part in every check.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Iterable, Mapping

from . import ast, functions
from .errors import EqlError, EqlSemanticError, EqlUnsupportedError

if TYPE_CHECKING:
    from .schemas.schema import FieldType, Schema

Types = Mapping[str, "FieldType"]  # field name -> resolved type; a field not in it is of unknown type

# Static types: "string", "number", "boolean", "null", or None for "unknown" (a field
# without a schema); with a schema a field adds "date", "ip", "version" or "binary".
BOOLEAN_NODES = (ast.Comparison, ast.Match, ast.In, ast.Not, ast.And, ast.Or)
SUPPORTED_PIPES = ("head", "tail")
REJECTED_PIPES = ("count", "filter", "sort", "unique", "unique_count")
MAX_SAMPLE_FILTERS = 5


def static_type(node: ast.Expr, types: Types | None = None) -> str | None:
    """The type an expression is known to have before any event is seen, or None."""
    if isinstance(node, ast.Field):
        field_type = types.get(node.name) if types else None
        return field_type.family if field_type else None
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


def verify(query: ast.Query, schema: Schema | None = None, *,
           event_category_field: str = "event.category") -> ast.Query:
    """Check a parsed query; return it unchanged or raise EqlSemanticError at the fault.

    With a ``schema``, every field must resolve in it (``?field`` may be missing) and its type
    is checked where Elasticsearch checks types; ``event_category_field`` must resolve too
    when an event query names a category.
    """
    types, found = resolve_fields(query, schema, event_category_field) if schema is not None else ({}, [])
    if found:
        raise found[0]
    return _verify(query, types)


def problems(query: ast.Query, schema: Schema, *, event_category_field: str = "event.category") -> list[EqlError]:
    """Every field problem of ``query`` in ``schema``, in query order, then the first other
    error if any, as Elasticsearch reports unresolved fields together with what else fails."""
    types, found = resolve_fields(query, schema, event_category_field)
    try:
        _verify(query, types)
    except EqlError as error:
        found.append(error)
    return found


def resolve_fields(query: ast.Query, schema: Schema,
                   event_category_field: str) -> tuple[dict[str, FieldType], list[EqlError]]:
    """The types of the fields a query reads, and an error for each field that does not resolve."""
    types: dict[str, FieldType] = {}
    found: list[EqlError] = []
    for event_query in query.event_queries():  # `process where` reads the category field
        if event_query.category is not None and event_category_field not in types:
            try:
                types[event_category_field] = schema.resolve(event_category_field, span=event_query.span)
            except EqlSemanticError as error:
                found.append(error)
                break
    for expr in query.expressions():
        for node in ast.walk(expr):
            if isinstance(node, ast.Field):
                try:
                    types[node.name] = schema.resolve(node.name, optional=node.optional, span=node.span)
                except EqlSemanticError as error:
                    found.append(error)
    return types, found


def _verify(query: ast.Query, types: Types) -> ast.Query:
    body = query.body
    if isinstance(body, ast.Sequence):
        _check_sequence(body, types)
    elif isinstance(body, ast.Sample):
        _check_sample(body, query.pipes)
    for expr in query.expressions():
        for node in ast.walk(expr):
            if node.__class__ not in _UNCHECKED:
                _check_node(node, types)
    for event_query in query.event_queries():
        _check_condition(event_query.where, types)
    for pipe in query.pipes:
        _check_pipe(pipe)
    return query


# ------------------------------------------------------------------ expressions
_UNCHECKED = (ast.Literal, ast.Field)  # half the nodes of a tree; _check_node has nothing to say of them


def _check_node(node: ast.Expr, types: Types) -> None:
    if isinstance(node, ast.Call):
        function = functions.resolve(node)
        functions.check_arguments(node, function, lambda arg: _argument_type(arg, types))
        for index, arg in enumerate(node.args):
            # ES functions take exact values; one-argument ones name no ordinal (ToString, Length).
            ordinal = "" if function.max_args == 1 else functions.ordinal(index)
            _check_exact(arg, types, None, ordinal, node)
    elif isinstance(node, ast.Match):
        _check_match(node, types)
    elif isinstance(node, ast.Comparison):
        _check_comparison(node, types)
    elif isinstance(node, ast.In):
        _check_in(node, types)
    elif isinstance(node, (ast.Arithmetic, ast.Unary)):
        # ArithmeticOperation / Neg: TypeResolutions.isNumeric, FIRST and SECOND or DEFAULT.
        operands = (node.left, node.right) if isinstance(node, ast.Arithmetic) else (node.operand,)
        for position, operand in enumerate(operands):
            kind = static_type(operand, types)
            if kind not in (None, "number", "null"):
                ordinal = functions.ordinal(position) if isinstance(node, ast.Arithmetic) else ""
                raise EqlSemanticError(f"{ordinal}argument of [{node}] must be [numeric], found value [{operand}] "
                                       f"type [{_type_name(operand, types)}]", node.span)
    elif isinstance(node, (ast.And, ast.Or, ast.Not)):
        operands = node.terms if isinstance(node, (ast.And, ast.Or)) else (node.operand,)
        for position, operand in enumerate(operands):
            kind = static_type(operand, types)
            if kind not in (None, "boolean", "null"):
                # BinaryLogic (FIRST, SECOND of a left-nested chain) or Not (DEFAULT): isBoolean.
                ordinal = "" if isinstance(node, ast.Not) else functions.ordinal(min(position, 1))
                raise EqlSemanticError(f"{ordinal}argument of [{node}] must be [boolean], found value [{operand}] "
                                       f"type [{_type_name(operand, types)}]", operand.span or node.span)


def _argument_type(arg: ast.Expr, types: Types) -> tuple[frozenset[str], str] | None:
    """What a mapped field argument fits among the function table's parameter types, and its type name."""
    field_type = types.get(arg.name) if isinstance(arg, ast.Field) else None
    if field_type is None or field_type.family == "null":
        return None
    fits = {"string": {"string"}, "number": {"number"}, "boolean": {"boolean"}, "ip": {"ip"}}.get(field_type.family, set())
    if field_type.family == "number" and field_type.name in _INTEGERS:
        fits = {"number", "integer"}
    return frozenset(fits), field_type.name


_INTEGERS = ("long", "integer", "short", "byte", "unsigned_long")


def _check_exact(operand: ast.Expr, types: Types, operation: str | None, ordinal: str, node: ast.Expr) -> None:
    """TypeResolutions.isExact: a text field without one keyword multi-field cannot be matched exactly.

    ``operation`` names the operation in the message; None names it ``[node]``, spelled only for
    an error (printing a node costs more than the whole check).
    """
    field_type = types.get(operand.name) if isinstance(operand, ast.Field) else None
    if field_type is not None and field_type.inexact:
        where = f"{ordinal}argument field" if ordinal else "field"
        operation = operation or f"[{node}]"
        raise EqlSemanticError(f"{operation} cannot operate on {where} of data type [{field_type.name}]: "
                               f"{field_type.inexact}", node.span)


def _check_insensitive_operand(operand: ast.Expr, ordinal: str, regular: str, types: Types, node: ast.Expr) -> None:
    """InsensitiveBinaryComparison.resolveInputType, for `:` and each item of `in~`: a string, exact."""
    kind = static_type(operand, types)
    if kind not in (None, "string", "null"):
        raise EqlSemanticError(f"{ordinal}argument of [:] must be [string], found value [{operand}] type "
                               f"[{_type_name(operand, types)}]; consider using [{regular}] instead", node.span)
    _check_exact(operand, types, "[:]", ordinal, node)


def _check_condition(condition: ast.Expr, types: Types) -> None:
    kind = static_type(condition, types)
    if kind not in (None, "boolean", "null"):
        raise EqlSemanticError(f"Condition expression needs to be boolean, found "
                               f"[{_type_name(condition, types).upper()}]", condition.span)


def _check_match(node: ast.Match, types: Types) -> None:
    if node.op == ":":  # InsensitiveWildcardEquals
        _check_insensitive_operand(node.left, "first ", "==", types, node)
    else:  # `like` is QL's Like (RegexMatch: DEFAULT), `regex` EQL's Match (FIRST); both isStringAndExact
        ordinal = "first " if node.op.startswith("regex") else ""
        if static_type(node.left, types) not in (None, "string", "null"):
            raise EqlSemanticError(f"{ordinal}argument of [{node}] must be [string], found value [{node.left}] "
                                   f"type [{_type_name(node.left, types)}]", node.span)
        _check_exact(node.left, types, None, ordinal, node)
    for pattern in node.patterns:
        # `like` takes any constant as its text (ES ExpressionBuilder: toLikePattern(e.fold().toString()));
        # the parser has already turned numbers and booleans into that text.
        if not isinstance(pattern.value, str):
            hint = "; consider using [==] instead" if node.op == ":" else ""
            raise EqlSemanticError(
                f"second argument of [{node.op}] must be [string], found value [{pattern}] "
                f"type [{functions.literal_type(pattern.value)}]{hint}", pattern.span or node.span)


def _check_comparison(node: ast.Comparison, types: Types) -> None:
    # Mixed types (`"10" == 10`, `true == 1`, a long field == "abc") are accepted, as in ES (VerifierTests
    # testQueryOk, testBoolean, testIP): BinaryComparison only asks for exact types, and the comparison is
    # null at run time. An optional field may be unmapped, i.e. the null literal, so Elasticsearch accepts it.
    optional = any(isinstance(side, ast.Field) and side.optional for side in (node.left, node.right))
    if has_field(node.left) and has_field(node.right) and not optional:
        raise EqlSemanticError("Comparisons against fields are not (currently) supported", node.span)
    _check_exact(node.left, types, None, "first ", node)
    _check_exact(node.right, types, None, "second ", node)


def _check_in(node: ast.In, types: Types) -> None:
    """ES's In.resolveType: the left side is exact, every item is a constant, of a type compatible
    with the left side's; the ordinal counts the (deduplicated) list items; errors point at the
    whole `in`, as in ES. `in~` is an insensitive equality per item (InsensitiveEquals), which takes
    strings only."""
    items = list(dict.fromkeys(node.items))  # In keeps a LinkedHashSet of its list
    if node.insensitive:
        _check_insensitive_operand(node.left, "first ", "in", types, node)
    else:
        _check_exact(node.left, types, "[IN]", "", node)  # Function.functionName(): the class name
    for item in items:
        if has_field(item):
            raise EqlSemanticError(f"Comparisons against fields are not (currently) supported; offender [{item}] "
                                   f"in [{node}]", node.span)
    if node.insensitive:
        for item in items:
            _check_insensitive_operand(item, "second ", "in", types, node)
        return
    expected = _family(node.left, types)
    expected_name = _type_name(node.left, types)
    for position, item in enumerate(items, 1):
        kind = _family(item, types)
        if kind is None:
            continue
        if expected is None:
            expected, expected_name = kind, _type_name(item, types)
        elif kind != expected:
            raise EqlSemanticError(f"{_ordinal(position)} argument of [{node}] must be [{expected_name}], "
                                   f"found value [{item}] type [{_type_name(item, types)}]", node.span)


def _family(node: ast.Expr, types: Types) -> str | None:
    """The type family ES's DataTypes.areCompatible compares (numbers are one), or None if unknown."""
    kind = static_type(node, types)
    return None if kind == "null" else kind


def _type_name(node: ast.Expr, types: Types) -> str:
    """ES's name for the type of an expression: integer, long, double, keyword, boolean, datetime, ..."""
    if isinstance(node, ast.Literal):
        return functions.literal_type(node.value)
    field_type = types.get(node.name) if isinstance(node, ast.Field) else None
    if field_type is not None:
        return field_type.name
    kind = static_type(node, types)
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


def _check_sequence(sequence: ast.Sequence, types: Types) -> None:
    _check_join_keys(sequence, sequence.stages + ((sequence.until,) if sequence.until else ()))
    _check_join_key_types(sequence, types)
    total = sum(stage.runs or 1 for stage in sequence.stages)
    if total < 2:
        raise EqlSemanticError(f"A sequence requires a minimum of 2 queries, found [{total}]", sequence.span)
    if any(stage.missing for stage in sequence.stages):
        if sequence.maxspan is None:
            raise EqlSemanticError("A sequence with missing events ![...] needs [with maxspan]", sequence.span)
        if all(stage.missing for stage in sequence.stages):
            raise EqlSemanticError("A sequence requires at least one positive event query; found none",
                                   sequence.span)


def _check_join_key_types(sequence: ast.Sequence, types: Types) -> None:
    """ES Verifier.checkJoinKeyTypes: each stage's key (and `until`'s) has a type compatible with
    the first stage's key at that place (DataTypes.areCompatible); the error points at the key."""
    first, others = sequence.stages[0], sequence.stages[1:]
    until = (sequence.until,) if sequence.until is not None else ()
    for index, expected in enumerate(first.by):
        for stage in others:
            for current in (stage.by[index], *(u.by[index] for u in until)):
                left, right = types.get(expected.name), types.get(current.name)  # type: ignore[union-attr]
                if left and right and "null" not in (left.family, right.family) and left.family != right.family:
                    raise EqlSemanticError(
                        f"Sequence key [{current.name}] type [{right.es_type}] is incompatible with key "  # type: ignore[union-attr]
                        f"[{expected.name}] type [{left.es_type}]", current.span)  # type: ignore[union-attr]


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
