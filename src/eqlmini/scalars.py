"""The inside of a leaf: three-valued expressions compiled to Python functions of one value per field.

A leaf that is not one of the compiler's common shapes (``length(a) > 3``, ``concat(a, b)
== "x"``, ``a + 1 < b``) becomes a function of one value per field it reads, which gives the
leaf's three-valued value; :func:`runtime.any_leaf` calls it on the combinations of the
fields' values. Constant expressions are folded here too, where an error is Elasticsearch's
error at compile time. Comparisons follow :mod:`comparisons`: a field against a constant
through the field's stand-in mapping, anything else as Java computes it in memory.
"""

from __future__ import annotations

from typing import Any, Callable

from . import ast, functions, patterns, runtime
from .codegen import Source
from .errors import EqlSemanticError

_ARITHMETIC = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "%": "modulo"}


def leaf_function(node: ast.Expr, fields: list[ast.Field]) -> Callable[..., Any]:
    """A function of the fields' values (one value each) giving the node's 3VL value."""
    source = _Scalars()
    variables = {field.name: f"x{i}" for i, field in enumerate(fields)}
    body = source.scalar(node, variables)
    return source.build(f"def leaf({', '.join(variables.values())}):\n    return {body}\n", "leaf")


def constant(node: ast.Expr) -> Any:
    """The three-valued value of an expression that reads no field, computed now."""
    source = _Scalars()
    return source.build(f"def constant():\n    return {source.scalar(node, {})}\n", "constant")()


def matcher(node: ast.Match) -> Callable[[str], bool]:
    """The text test of a ``:``, ``like`` or ``regex`` node (any of its patterns)."""
    texts = [pattern.value for pattern in node.patterns]
    if node.op.startswith("regex"):
        return patterns.regex_matcher(texts, node.insensitive)  # type: ignore[arg-type]
    return patterns.wildcard_matcher(texts, node.insensitive)  # type: ignore[arg-type]


def reads_a_field(node: ast.Expr) -> bool:
    """Whether the expression reads some field (it stops at the first one it meets)."""
    return any(isinstance(child, ast.Field) for child in ast.walk(node))


def is_null(node: ast.Expr) -> bool:
    """The ``null`` literal."""
    return isinstance(node, ast.Literal) and node.value is None


def _is_optional(node: ast.Expr) -> bool:
    return isinstance(node, ast.Field) and node.optional


def _field_against_constant(left: ast.Expr, right: ast.Expr) -> bool:
    """A comparison Elasticsearch runs as a query on the field (through its mapping)."""
    return (isinstance(left, ast.Field) and not reads_a_field(right)) or (
        isinstance(right, ast.Field) and not reads_a_field(left))


class _Scalars(Source):
    """Writes the Python expression of a three-valued node."""

    def scalar(self, node: ast.Expr, variables: dict[str, str]) -> str:
        def sub(child: ast.Expr) -> str:
            return self.scalar(child, variables)

        if isinstance(node, ast.Literal):
            return self.const(node.value)
        if isinstance(node, ast.Field):
            return variables[node.name]
        if isinstance(node, (ast.Call, ast.Arithmetic)):
            call = node if isinstance(node, ast.Call) else ast.Call(
                _ARITHMETIC[node.op], (node.left, node.right), span=node.span)
            function = functions.resolve(call)
            if not variables:  # folding a constant: an error is Elasticsearch's error, at compile time
                implementation = self.function(_folding(call, function))
            else:
                constants = [a.value if isinstance(a, ast.Literal) else functions.NOT_CONSTANT for a in call.args]
                implementation = self.function(function.build(call.insensitive, constants))
            return f"{implementation}({', '.join(map(sub, call.args))})"
        if isinstance(node, ast.Unary):
            return sub(node.operand) if node.op == "+" else f"_negate({sub(node.operand)})"
        if isinstance(node, ast.Comparison):
            return self.comparison(node, sub)
        if isinstance(node, ast.Match):
            return f"_match3({self.function(matcher(node))}, {sub(node.left)})"
        if isinstance(node, ast.In):
            if node.insensitive:
                helper = "_in3_folded"
            else:
                helper = "_in3" if isinstance(node.left, ast.Field) else "_java_in3"
            test = f"{helper}({', '.join(map(sub, (node.left, *node.items)))})"
            return f"_not3({test})" if node.negated else test
        if isinstance(node, ast.Not):
            return f"_not3({sub(node.operand)})"
        if isinstance(node, ast.And):
            return f"_and3({', '.join(map(sub, node.terms))})"
        if isinstance(node, ast.Or):
            return f"_or3({', '.join(map(sub, node.terms))})"
        raise EqlSemanticError(f"cannot evaluate [{node}]", getattr(node, "span", None))

    def comparison(self, node: ast.Comparison, sub: Callable[[ast.Expr], str]) -> str:
        if node.op in ("==", "!=") and (is_null(node.left) or is_null(node.right)):
            other = node.right if is_null(node.left) else node.left
            if isinstance(other, ast.Literal):  # null == null, "a" == null
                return str((other.value is None) == (node.op == "=="))
            return f"({sub(other)} {'is' if node.op == '==' else 'is not'} None)"
        if node.op in ("==", "!=") and (_is_optional(node.left) or _is_optional(node.right)):
            comparison = runtime.eq_optional if node.op == "==" else runtime.ne_optional
        elif _field_against_constant(node.left, node.right):
            comparison = runtime.FIELD_COMPARISONS[node.op]
        else:
            comparison = runtime.IN_MEMORY_COMPARISONS[node.op]
        return f"{self.function(comparison)}({sub(node.left)}, {sub(node.right)})"


def _folding(call: ast.Call, function: functions.Function) -> Callable[..., Any]:
    return lambda *args: functions.evaluate(call, function, args)
