"""EQL's built-in functions and arithmetic as SQL, each answering what :mod:`eqlmini.functions` answers.

A call whose arguments are all constants is computed by eqlmini's own implementation. Otherwise
each function checks its arguments' kinds first, as the Python function checks their types at
run time: an argument of the wrong kind makes the call null (``length(42)``), a null
required argument makes it null (SQL's own rule), and an optional argument that is null takes
its default. Text positions count code points in Python, DuckDB and Spark alike. Dialects
change only templates (``starts_with`` is ``startswith`` in Spark).
"""

from __future__ import annotations

from typing import Callable

from .. import ast, functions
from .addresses import cidr_match
from .values import Value, ValueBuilder

__all__ = ["TEMPLATES", "translate"]

TEMPLATES = {
    "length": "length({0})",
    "startsWith": "starts_with({0}, {1})",
    "endsWith": "ends_with({0}, {1})",
    "stringContains": ("(CASE WHEN {0} IS NULL OR {1} IS NULL THEN NULL WHEN {0} = '' OR {1} = '' THEN FALSE "
                       "ELSE contains({0}, {1}) END)"),
    "position": "strpos({0}, {1})",  # 1-based, 0 when absent
    "contains": "contains({0}, {1})",
    "split_part": "split_part({0}, {1}, {2})",
    "split_list": "string_split({0}, ':')",
    "join_list": "array_to_string({0}, '')",
    "trim_colons": "trim({0}, ':')",
    "hex_pair": "printf('%x:%x', {0}, {1})",
    "java_lower": "lower(replace({0}, '\u0130', 'i\u0307'))",  # DuckDB lowers İ to one character
    "substr": "substr({0}, {1}, {2})",
    "concat": "({0})",
    "concat_glue": " || ",
    "add": "try(CAST({0} AS BIGINT) + CAST({1} AS BIGINT))",
    "subtract": "try(CAST({0} AS BIGINT) - CAST({1} AS BIGINT))",
    "multiply": "try(CAST({0} AS BIGINT) * CAST({1} AS BIGINT))",
    "divide": "(CASE WHEN {1} = 0 THEN NULL ELSE try(CAST({0} AS BIGINT) // CAST({1} AS BIGINT)) END)",
    "modulo": "(CASE WHEN {1} = 0 THEN NULL ELSE CAST({0} AS BIGINT) % CAST({1} AS BIGINT) END)",
}
_ARITHMETIC = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "%": "modulo"}

Handler = Callable[[ValueBuilder, list[Value], bool, ast.Expr], Value]


def translate(builder: ValueBuilder, node: ast.Call | ast.Arithmetic, args: list[Value]) -> Value:
    """The SQL of a call (or of ``a + b`` and the like, which are calls of ``add`` ...)."""
    call = node if isinstance(node, ast.Call) else ast.Call(_ARITHMETIC[node.op], (node.left, node.right),
                                                              span=node.span)
    function = functions.resolve(call)
    if all(arg.is_constant for arg in args):  # eqlmini computes it: exact by definition
        return builder.constant(function.build(call.insensitive)(*(arg.constant for arg in args)))
    handler = _HANDLERS.get(function.name)
    if handler is None:
        raise builder.unsupported(f"the function {function.name} in [{node}]", node)
    return handler(builder, args, call.insensitive, node)


def _nulls(*args: Value) -> frozenset[str]:
    return frozenset().union(*(arg.nulls for arg in args))


def _texts(builder: ValueBuilder, args: list[Value], insensitive: bool) -> list[Value] | None:
    """String arguments (folded for ``~``), or None when one is of another kind (null result)."""
    if any(arg.kind != "string" for arg in args):
        return None
    if not insensitive:
        return args
    return [builder.folded(arg, [other for other in args if other is not arg]) for arg in args]


def _length(builder: ValueBuilder, args: list[Value], insensitive: bool, node: ast.Expr) -> Value:
    (text,) = args
    if text.kind != "string":
        return builder.null("integer", text)
    return Value(builder.template("length", text.sql), "integer", text.nulls)


def _string_test(name: str) -> Handler:
    """startsWith, endsWith, stringContains: two strings in, a boolean out."""
    def handler(builder: ValueBuilder, args: list[Value], insensitive: bool, node: ast.Expr) -> Value:
        texts = _texts(builder, args, insensitive)
        if texts is None:
            return builder.null("boolean", *args)
        return Value(builder.template(name, texts[0].sql, texts[1].sql), "boolean", _nulls(*args))
    return handler


def _index_of(builder: ValueBuilder, args: list[Value], insensitive: bool, node: ast.Expr) -> Value:
    source, sub = args[0], args[1]
    start = args[2] if len(args) > 2 else builder.constant(0)
    if source.kind != "string" or sub.kind != "string" or start.kind in ("string", "boolean"):
        return builder.null("integer", *args[:2])
    if start.kind == "float":
        raise builder.unsupported(f"a floating-point position in [{node}]", node)
    if insensitive:  # Java's toLowerCase(Locale.ROOT) of both, as str.lower: İ becomes two characters
        if not sub.is_constant or {"\u03a3", "\u03c3", "\u03c2"} & set(sub.constant.lower()) or (
                builder.dialect == "spark" and not sub.constant.isascii()):
            raise builder.unsupported(f"[{node}] (its positions after text lowered as Java lowers it)", node)
        source = Value(builder.template("java_lower", source.sql), "string", source.nulls)
        sub = builder.constant(sub.constant.lower())
    # Java's indexOf(sub, k): k counts from 0, a null start is 0; "" is found at min(k, length).
    k = "0" if start.kind == "null" else f"GREATEST(COALESCE({start.sql}, 0), 0)"
    n = builder.template("length", source.sql)
    found = builder.template("position", builder.template("substr", source.sql, f"{k} + 1", n), sub.sql)
    sql = (f"(CASE WHEN {sub.sql} = '' AND {source.sql} IS NOT NULL THEN LEAST({k}, {n}) "
           f"WHEN {k} > {n} THEN NULL ELSE NULLIF({found}, 0) + {k} - 1 END)")
    return Value(sql, "integer", source.nulls | sub.nulls)


def _substring(builder: ValueBuilder, args: list[Value], insensitive: bool, node: ast.Expr) -> Value:
    text, start = args[0], args[1]
    end = args[2] if len(args) > 2 else builder.constant(None)
    if text.kind != "string":
        return builder.null("string", text)
    if start.kind == "null":
        return text  # substring(s, null) is s
    if "float" in (start.kind, end.kind):
        raise builder.unsupported(f"a floating-point position in [{node}]", node)
    if start.kind != "integer" or end.kind not in ("integer", "null"):
        return builder.null("string", text)
    # Python's s[a:b]: a negative index counts from the end; both are clamped to the text.
    n = builder.template("length", text.sql)
    a = f"(CASE WHEN {start.sql} < 0 THEN GREATEST({n} + {start.sql}, 0) ELSE LEAST({start.sql}, {n}) END)"
    b = n if end.kind == "null" else (f"(CASE WHEN {end.sql} IS NULL THEN {n} WHEN {end.sql} < 0 "
                                      f"THEN GREATEST({n} + {end.sql}, 0) ELSE LEAST({end.sql}, {n}) END)")
    piece = builder.template("substr", text.sql, f"{a} + 1", f"GREATEST({b} - {a}, 0)")
    return Value(f"(CASE WHEN {start.sql} IS NULL THEN {text.sql} ELSE {piece} END)", "string", text.nulls)


def _concat(builder: ValueBuilder, args: list[Value], insensitive: bool, node: ast.Expr) -> Value:
    if any(arg.kind == "null" for arg in args):
        return builder.null("string", *args)
    texts = [builder.text(arg).sql for arg in args]
    return Value(builder.template("concat", builder.template("concat_glue").join(texts)), "string", _nulls(*args))


def _string(builder: ValueBuilder, args: list[Value], insensitive: bool, node: ast.Expr) -> Value:
    return builder.text(args[0])


def _arithmetic(name: str) -> Handler:
    """add ... modulo over 64-bit integers: overflow and division by zero give null, as in eqlmini."""
    def handler(builder: ValueBuilder, args: list[Value], insensitive: bool, node: ast.Expr) -> Value:
        kinds = {arg.kind for arg in args}
        if "float" in kinds:
            raise builder.unsupported(f"floating-point arithmetic [{node}] (Java's rules for NaN and "
                                      f"infinities)", node)
        if kinds != {"integer"}:
            return builder.null("integer", *args)
        if any(arg.is_constant and not arg.sql for arg in args):
            raise builder.unsupported(f"an integer beyond 64 bits in [{node}]", node)
        return Value(builder.template(name, args[0].sql, args[1].sql), "integer", _nulls(*args))
    return handler


_HANDLERS: dict[str, Handler] = {
    "length": _length,
    "startsWith": _string_test("startsWith"),
    "endsWith": _string_test("endsWith"),
    "stringContains": _string_test("stringContains"),
    "indexOf": _index_of,
    "substring": _substring,
    "concat": _concat,
    "string": _string,
    "cidrMatch": cidr_match,
    **{name: _arithmetic(name) for name in _ARITHMETIC.values()},
}
