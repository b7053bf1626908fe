"""AST -> Python predicate. Query text reaches the generated code only as constants.

A condition is compiled to the source of one Python function and ``exec``'d once. Every
value taken from the query (strings, numbers, field getters, pattern matchers, functions)
is handed to the generated code as an argument of a factory function, so it is referred to
by a name the compiler made up (``c3``, ``g0``) and never spelled out in the source.

Semantics (spec section 5): a *leaf* (comparison, ``:``, ``like``, ``regex``, ``in``, a bare
boolean) is two-valued, "some value of its fields satisfies it"; missing, null and ``[]``
make it false, so ``not leaf`` is true for an absent field. ``and``/``or``/``not`` are plain
Boolean. Inside a leaf, values follow three-valued logic (null propagates), and a field
with several values is tried value by value (every combination when a leaf reads several
fields). ``x == null`` and ``x != null`` test presence.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from . import ast, functions, patterns, values
from .errors import EqlError, EqlSemanticError
from .fields import dotted_keys, getter

Event = Mapping[str, Any]
Predicate = Callable[[Event], bool]


@dataclass(frozen=True)
class Options:
    """Compile options that change what a predicate means (from ``eqlmini.compile``)."""

    event_category_field: str = "event.category"


def compile_event_query(query: ast.EventQuery, options: Options) -> Predicate:
    """A predicate for ``category where condition`` (the category test included)."""
    condition: ast.Expr = query.where
    if query.category is not None:
        category = ast.Comparison("==", ast.Field(options.event_category_field), ast.Literal(query.category))
        condition = ast.And((category, condition))
    return compile_condition(condition)


def compile_condition(condition: ast.Expr) -> Predicate:
    """A predicate for a boolean expression (two-valued leaves, Boolean connectives)."""
    emitter = _Emitter()
    body = emitter.condition(condition)
    return emitter.build(f"def match(e):\n    return {body}\n", "match")


def compile_value(expr: ast.Expr) -> Callable[[Event], list[Any]]:
    """A function giving every value an expression takes on an event (for join keys)."""
    if isinstance(expr, ast.Field):
        get = getter(expr.name)
        return lambda event: list(values.as_values(get(event)))
    emitter = _Emitter()
    return emitter.leaf_values(expr)


# ----------------------------------------------------------------------- runtime helpers
# Called from generated code; each takes already-computed values.
def _any_match(matcher: Callable[[str], bool], raw: Any) -> bool:
    for value in values.as_values(raw):
        text = values.to_text(value)
        if text is not None and matcher(text):
            return True
    return False


def _any_number_in(members: frozenset, raw: Any) -> bool:
    for value in values.as_values(raw):
        if value.__class__ is str:
            value = values.parse_number(value)
        elif value.__class__ is bool:
            continue  # a boolean never equals a number
        if value is not None and value in members:
            return True
    return False


def _present(raw: Any) -> bool:
    return bool(values.as_values(raw))


def _any_in(members: frozenset, raw: Any, fold: Callable[[str], str] | None) -> bool:
    for value in values.as_values(raw):
        if value.__class__ is str and (fold(value) if fold else value) in members:
            return True
    return False


def _any_equal(constant: Any, raw: Any) -> bool:
    return any(values.equals(value, constant) for value in values.as_values(raw))


def _any_leaf(leaf: Callable[..., Any], *raws: Any) -> bool:
    """True if the leaf is true for some combination of the fields' values (null if absent)."""
    choices = [list(values.as_values(raw)) or [None] for raw in raws]
    return any(leaf(*combination) is True for combination in itertools.product(*choices))


def _not3(value: Any) -> Any:
    return None if value is None else not value


def _and3(*operands: Any) -> Any:
    if any(operand is False for operand in operands):
        return False
    return None if any(operand is None for operand in operands) else True


def _or3(*operands: Any) -> Any:
    if any(operand is True for operand in operands):
        return True
    return None if any(operand is None for operand in operands) else False


def _ne3(a: Any, b: Any) -> Any:
    return _not3(values.equals(a, b))


def _eq_optional(a: Any, b: Any) -> Any:
    # An unmapped ?field is the null literal in Elasticsearch, and `x == null` is IsNull(x).
    if a is None or b is None:
        return a is None and b is None
    return values.equals(a, b)


def _ne_optional(a: Any, b: Any) -> Any:
    return not _eq_optional(a, b)


def _ordering(test: Callable[[int], bool]) -> Callable[[Any, Any], Any]:
    def compare(a: Any, b: Any) -> Any:
        order = values.compare(a, b)
        return None if order is None else test(order)
    return compare


def _match3(matcher: Callable[[str], bool], value: Any) -> Any:
    text = values.to_text(value)
    return None if text is None else matcher(text)


def _in3(value: Any, *items: Any) -> Any:
    if value is None:
        return None
    results = [values.equals(value, item) for item in items]
    return True if True in results else (None if None in results else False)


def _in3_folded(value: Any, *items: Any) -> Any:
    if value is None:
        return None
    folded = patterns.fold(value) if value.__class__ is str else value
    return _in3(folded, *(patterns.fold(item) if item.__class__ is str else item for item in items))


def _negate(value: Any) -> Any:
    return None if value is None else -value


_COMPARISONS = {
    "==": values.equals,
    "!=": _ne3,
    "<": _ordering(lambda order: order < 0),
    "<=": _ordering(lambda order: order <= 0),
    ">": _ordering(lambda order: order > 0),
    ">=": _ordering(lambda order: order >= 0),
}
_ARITHMETIC = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "%": "modulo"}
_RUNTIME = {
    "_present": _present, "_any_number_in": _any_number_in, "_contains_nested": values.contains_nested, "_any_match": _any_match, "_any_in": _any_in, "_any_equal": _any_equal, "_any_leaf": _any_leaf,
    "_not3": _not3, "_and3": _and3, "_or3": _or3, "_match3": _match3, "_in3": _in3,
    "_in3_folded": _in3_folded, "_negate": _negate,
}


def _is_null(node: ast.Expr) -> bool:
    return isinstance(node, ast.Literal) and node.value is None


def _is_optional(node: ast.Expr) -> bool:
    return isinstance(node, ast.Field) and node.optional


_NUMBERS = frozenset({int, float})


def _is_number(value: Any) -> bool:
    return value.__class__ in _NUMBERS


def _plain_string(value: Any) -> bool:
    """A string constant that can only ever equal the very same string (no coercion)."""
    return isinstance(value, str) and values.parse_number(value) is None and value.lower() not in ("true", "false")


# ----------------------------------------------------------------------- code generation
class _Emitter:
    """Collects the constants of one generated function and writes its source."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.objects: list[Any] = []
        self.getters: dict[str, str] = {}
        self.temporaries = itertools.count()

    def const(self, value: Any) -> str:
        """The only door from query text into source: a value becomes a made-up name."""
        name = f"c{len(self.objects)}"
        self.names.append(name)
        self.objects.append(value)
        return name

    def getter(self, field: ast.Field) -> str:
        if field.name not in self.getters:
            self.getters[field.name] = self.const(getter(field.name))
        return self.getters[field.name]

    def read(self, field: ast.Field) -> str:
        """An expression reading a field, with the common case inlined: a chain of plain dicts
        with no dotted keys along it. Anything else goes through the full getter.

        The result is what the event stores there (None, a scalar, a list that may nest or
        hold nulls, even an object), so every consumer reads it through ``values.as_values``.
        """
        parts = tuple(field.name.split("."))
        node = "e"
        tests = []
        for depth, (part, keys) in enumerate(zip(parts, dotted_keys(parts))):
            tests.extend(f"{self.const(key)} not in {node}" for key in keys)
            if depth < len(parts) - 1:
                child = self.temporary()
                tests.append(f"({child} := {node}.get({self.const(part)})).__class__ is dict")
                node = child
        last = f"{node}.get({self.const(parts[-1])})"
        if not tests:
            return last
        return f"({last} if {' and '.join(tests)} else {self.getter(field)}(e))"

    def temporary(self) -> str:
        return f"v{next(self.temporaries)}"

    def build(self, source: str, name: str) -> Any:
        factory = f"def _factory({', '.join(self.names)}):\n" + "".join(
            f"    {line}\n" for line in source.splitlines()) + f"    return {name}\n"
        namespace: dict[str, Any] = dict(_RUNTIME)
        exec(compile(factory, "<eqlmini>", "exec"), namespace)  # noqa: S102 - source holds no query text
        return namespace["_factory"](*self.objects)

    # ------------------------------------------------------------------ two-valued conditions
    def condition(self, node: ast.Expr) -> str:
        if isinstance(node, ast.And):
            return "(" + " and ".join(self.condition(term) for term in node.terms) + ")"
        if isinstance(node, ast.Or):
            return "(" + " or ".join(self.condition(term) for term in node.terms) + ")"
        if isinstance(node, ast.Not):
            return f"(not {self.condition(node.operand)})"
        return self.leaf(node)

    def leaf(self, node: ast.Expr) -> str:
        try:
            return self._leaf(node)
        except EqlError as error:
            if error.span is None:
                error.span = node.span
            raise

    def _leaf(self, node: ast.Expr) -> str:
        fields = _fields_of(node)
        if not fields:
            return "True" if _evaluate_constant(node) is True else "False"
        if isinstance(node, ast.Comparison) and node.op in ("==", "!=") and (_is_null(node.left) or _is_null(node.right)):
            other = node.right if _is_null(node.left) else node.left
            present = self.present(other)
            return present if node.op == "!=" else f"(not {present})"
        if isinstance(node, ast.Comparison) and node.op == "!=":
            return f"(not {self._leaf(ast.Comparison('==', node.left, node.right, span=node.span))})"
        if isinstance(node, ast.In) and node.negated:
            return f"(not {self._leaf(ast.In(node.left, node.items, node.insensitive, span=node.span))})"
        fast = self.fast_leaf(node)
        if fast is not None:
            return fast
        leaf = self.const(self.scalar_function(node, fields))
        return f"_any_leaf({leaf}, {', '.join(self.read(f) for f in fields)})"

    def present(self, node: ast.Expr) -> str:
        """Whether an expression has a non-null value (``x != null``)."""
        if isinstance(node, ast.Field):
            value = self.temporary()
            return f"(({value} := {self.read(node)}).__class__ in {self.const(values.SCALARS)} or _present({value}))"
        fields = _fields_of(node)
        if not fields:
            return "False" if _evaluate_constant(node) is None else "True"
        function = self.scalar_function(node, fields)
        exists = self.const(lambda *args: function(*args) is not None)
        return f"_any_leaf({exists}, {', '.join(self.read(f) for f in fields)})"

    def fast_leaf(self, node: ast.Expr) -> str | None:
        """Straight-line code for the common leaves: a field against constants."""
        if isinstance(node, ast.Match) and isinstance(node.left, ast.Field):
            function = self.matcher(node)
            matcher = self.const(function)
            value = self.temporary()
            other = f"_any_match({matcher}, {value})"
            if hasattr(function, "any"):  # a wildcard matcher's twin scans a whole list in one call
                other = f"{self.const(function.any)}({value}) if {value}.__class__ is list else {other}"
            return f"({matcher}({value}) if ({value} := {self.read(node.left)}).__class__ is str else {other})"
        if (isinstance(node, ast.Comparison) and node.op == "==" and isinstance(node.left, ast.Field)
                and isinstance(node.right, ast.Literal)):
            constant = node.right.value
            value = self.temporary()
            name = self.const(constant)
            if _is_number(constant):
                return self.number_in(node.left, [constant])
            if _plain_string(constant):
                # A one-element list cannot hide the value in a nested list: skip that search.
                return (f"(({name} in {value} or (len({value}) != 1 or {value}[0].__class__ is list) "
                        f"and _contains_nested({value}, {name})) "
                        f"if ({value} := {self.read(node.left)}).__class__ is list else {value} == {name})")
            return f"_any_equal({name}, {self.read(node.left)})"
        if (isinstance(node, ast.In) and isinstance(node.left, ast.Field)
                and all(isinstance(item, ast.Literal) and _is_number(item.value) for item in node.items)):
            return self.number_in(node.left, [item.value for item in node.items])  # type: ignore[union-attr]
        if (isinstance(node, ast.In) and isinstance(node.left, ast.Field)
                and all(isinstance(item, ast.Literal) and _plain_string(item.value) for item in node.items)):
            texts = [item.value for item in node.items]  # type: ignore[union-attr]
            fold = patterns.fold if node.insensitive else None
            members = self.const(frozenset(map(fold, texts) if fold else texts))
            value = self.temporary()
            test = f"{self.const(fold)}({value})" if fold else value
            return (f"({test} in {members} if ({value} := {self.read(node.left)}).__class__ is str "
                    f"else _any_in({members}, {value}, {self.const(fold)}))")
        return None

    def number_in(self, field: ast.Field, numbers: list[Any]) -> str:
        """Some value of the field equals one of the numbers (a numeric string counts)."""
        members = self.const(frozenset(numbers))
        value = self.temporary()
        return (f"({value} in {members} if ({value} := {self.read(field)}).__class__ in {self.const(_NUMBERS)} "
                f"else _any_number_in({members}, {value}))")

    def matcher(self, node: ast.Match) -> Callable[[str], bool]:
        texts = [pattern.value for pattern in node.patterns]
        if node.op.startswith("regex"):
            return patterns.regex_matcher(texts, node.insensitive)  # type: ignore[arg-type]
        return patterns.wildcard_matcher(texts, node.insensitive)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ three-valued scalars
    def scalar_function(self, node: ast.Expr, fields: list[ast.Field]) -> Callable[..., Any]:
        """A function of the fields' values (one value each) giving the node's 3VL value."""
        inner = _Emitter()
        variables = {field.name: f"f{i}" for i, field in enumerate(fields)}
        body = inner.scalar(node, variables)
        parameters = ", ".join(variables.values())
        return inner.build(f"def leaf({parameters}):\n    return {body}\n", "leaf")

    def leaf_values(self, node: ast.Expr) -> Callable[[Event], list[Any]]:
        fields = _fields_of(node)
        function = self.scalar_function(node, fields)
        getters = [getter(field.name) for field in fields]

        def evaluate(event: Event) -> list[Any]:
            choices = [list(values.as_values(get(event))) or [None] for get in getters]
            return [function(*combination) for combination in itertools.product(*choices)]
        return evaluate

    def scalar(self, node: ast.Expr, variables: dict[str, str]) -> str:
        def sub(child: ast.Expr) -> str:
            return self.scalar(child, variables)

        if isinstance(node, ast.Literal):
            return self.const(node.value)
        if isinstance(node, ast.Field):
            return variables[node.name]
        if isinstance(node, ast.Call):
            function = functions.resolve(node)
            constants = [arg.value if isinstance(arg, ast.Literal) else functions.NOT_CONSTANT for arg in node.args]
            implementation = self.const(function.build(node.insensitive, constants))
            return f"{implementation}({', '.join(map(sub, node.args))})"
        if isinstance(node, ast.Arithmetic):
            function = functions.FUNCTIONS[_ARITHMETIC[node.op]]
            return f"{self.const(function.build(False))}({sub(node.left)}, {sub(node.right)})"
        if isinstance(node, ast.Unary):
            return sub(node.operand) if node.op == "+" else f"_negate({sub(node.operand)})"
        if isinstance(node, ast.Comparison):
            if node.op in ("==", "!=") and (_is_null(node.left) or _is_null(node.right)):
                other = node.right if _is_null(node.left) else node.left
                return f"({sub(other)} {'is' if node.op == '==' else 'is not'} None)"
            comparison = _COMPARISONS[node.op]
            if node.op in ("==", "!=") and (_is_optional(node.left) or _is_optional(node.right)):
                comparison = _eq_optional if node.op == "==" else _ne_optional
            return f"{self.const(comparison)}({sub(node.left)}, {sub(node.right)})"
        if isinstance(node, ast.Match):
            return f"_match3({self.const(self.matcher(node))}, {sub(node.left)})"
        if isinstance(node, ast.In):
            helper = "_in3_folded" if node.insensitive else "_in3"
            test = f"{helper}({', '.join(map(sub, (node.left, *node.items)))})"
            return f"_not3({test})" if node.negated else test
        if isinstance(node, ast.Not):
            return f"_not3({sub(node.operand)})"
        if isinstance(node, ast.And):
            return f"_and3({', '.join(map(sub, node.terms))})"
        if isinstance(node, ast.Or):
            return f"_or3({', '.join(map(sub, node.terms))})"
        raise EqlSemanticError(f"cannot evaluate [{node}]", getattr(node, "span", None))


def _fields_of(node: ast.Expr) -> list[ast.Field]:
    """The distinct fields an expression reads, in order (one variable per name)."""
    seen: dict[str, ast.Field] = {}
    for child in ast.walk(node):
        if isinstance(child, ast.Field):
            seen.setdefault(child.name, child)
    return list(seen.values())


def _evaluate_constant(node: ast.Expr) -> Any:
    """The 3VL value of an expression that reads no field, computed at compile time."""
    emitter = _Emitter()
    function = emitter.build(f"def constant():\n    return {emitter.scalar(node, {})}\n", "constant")
    return function()
