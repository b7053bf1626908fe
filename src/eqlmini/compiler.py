"""AST -> Python predicate. Query text reaches the generated code only as constants.

A condition is compiled to the source of one Python function and ``exec``'d once. Every
value taken from the query (strings, numbers, field getters, pattern matchers, functions)
is put in that function's own globals under a name the compiler made up (``c3``), so it is
never spelled out in the source.

Semantics (spec section 5): a *leaf* (comparison, ``:``, ``like``, ``regex``, ``in``, a bare
boolean) is two-valued, "some value of its fields satisfies it"; missing, null and ``[]``
make it false, so ``not leaf`` is true for an absent field. ``and``/``or``/``not`` are plain
Boolean. Inside a leaf, values follow three-valued logic (null propagates), and a field
with several values is tried value by value (every combination when a leaf reads several
fields). ``x == null`` and ``x != null`` test presence.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Mapping

from . import ast, functions, patterns, runtime, values
from .errors import EqlError, EqlEventError, EqlSemanticError
from .fields import dotted_keys, getter
from .options import SearchOptions

Event = Mapping[str, Any]
Predicate = Callable[[Event], bool]


def compile_event_query(query: ast.EventQuery, options: SearchOptions) -> Predicate:
    """A predicate for ``category where condition`` (the category test included)."""
    condition: ast.Expr = query.where
    if query.category is not None:
        category = ast.Comparison("==", ast.Field(options.event_category_field), ast.Literal(query.category))
        condition = ast.And((category, condition))
    field_types = {options.timestamp_field: "date", **options.field_types}
    return compile_condition(condition, field_types)


def compile_condition(condition: ast.Expr, field_types: Mapping[str, str] | None = None) -> Predicate:
    """A predicate for a boolean expression (two-valued leaves, Boolean connectives).

    ``field_types`` stands in for the index mapping: a ``date`` field compares as instants
    (ISO-8601 strings read as epoch milliseconds), a ``version`` field in semantic-version
    order, against a literal, as Elasticsearch compares them.
    """
    field_types = dict(field_types or {})
    emitter = _Emitter(field_types)
    body = emitter.condition(condition)
    # An object path that meets a list (of objects) or a scalar raises in the inlined reads
    # (`.get` or `in` on it): then the predicate starts over on the full getters.
    source = (f"def match(e):\n    try:\n        return {body}\n"
              f"    except (AttributeError, TypeError):\n"
              f"        return {emitter.const(_Fallback(condition, field_types))}(e)\n")
    return emitter.build(source, "match")


class _Fallback:
    """The predicate on full getters, compiled the first time an event needs it."""

    def __init__(self, condition: ast.Expr, field_types: dict[str, str]) -> None:
        self.condition, self.field_types = condition, field_types
        self.predicate: Predicate | None = None

    def __call__(self, event: Event) -> bool:
        if not isinstance(event, Mapping):
            raise EqlEventError(f"an event must be a mapping (a dict), not {type(event).__name__}")
        if self.predicate is None:
            emitter = _Emitter(self.field_types, inline=False)
            source = f"def match(e):\n    return {emitter.condition(self.condition)}\n"
            self.predicate = emitter.build(source, "match")
        return self.predicate(event)


class _Nothing:
    """What an absent or empty object reads as: it holds no key and is never false, so a
    read path can go on through it (``(e.get("process") or _NOTHING).get("name")``)."""

    __slots__ = ()

    def get(self, key: str, default: Any = None) -> Any:
        return default

    def __contains__(self, key: object) -> bool:
        return False


_NOTHING = _Nothing()
_FLIPPED = {"==": "==", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ARITHMETIC = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "%": "modulo"}
# The helpers generated code calls, by the names it calls them.
_RUNTIME = {f"_{name}": getattr(runtime, name) for name in (
    "present", "any_number_in", "any_typed", "any_match", "any_in", "any_equal", "any_leaf",
    "not3", "and3", "or3", "match3", "in3", "in3_folded", "negate")}
_RUNTIME.update(_NOTHING=_NOTHING, _SCALARS=values.SCALARS, _NUMBERS=runtime.NUMBERS, _fold=patterns.fold)


def _is_null(node: ast.Expr) -> bool:
    return isinstance(node, ast.Literal) and node.value is None


def _is_optional(node: ast.Expr) -> bool:
    return isinstance(node, ast.Field) and node.optional


def _is_number(value: Any) -> bool:
    return value.__class__ in runtime.NUMBERS


def _plain_string(value: Any) -> bool:
    """A string constant that can only ever equal the very same string (no coercion)."""
    return isinstance(value, str) and values.parse_number(value) is None and value.lower() not in ("true", "false")


# ----------------------------------------------------------------------- code generation
class _Emitter:
    """Collects the constants of one generated function and writes its source."""

    def __init__(self, field_types: dict[str, str] | None = None, *, inline: bool = True) -> None:
        self.field_types = field_types or {}
        self.names: list[str] = []
        self.objects: list[Any] = []
        self.getters: dict[str, str] = {}
        self.temporaries = itertools.count()
        self.inline = inline  # False: read every field through its full getter (the fallback)
        # Top-level objects already read in this evaluation (`e.get("process")` -> temporary),
        # which later terms of the same and/or chain may reuse; `fresh` collects new ones.
        self.shared: dict[str, str] = {}
        self.fresh: dict[str, str] = {}

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
        """An expression reading a field, with the common case inlined: a chain of objects
        with no dotted keys along it. Anything else goes through the full getter.

        ``(parent.get(key) or _NOTHING)`` walks down; a value in the way that is neither an
        object nor empty (a list of objects, a string) raises there, and the predicate then
        starts over with full getters (``compile_condition``). The result is what the event
        stores (None, a scalar, a list that may nest or hold nulls, even an object), so every
        consumer reads it through ``values.as_values``.
        """
        if not self.inline:
            return f"{self.getter(field)}(e)"
        parts = tuple(field.name.split("."))
        keys = dotted_keys(parts)  # per object level along the path, the dotted keys to rule out
        tests = []
        node = "e"
        for depth in range(1, len(parts)):
            part = parts[depth - 1]
            if depth == 1:
                # The top-level object is read first, unconditionally: later terms reuse it.
                node = self.shared.get(part) or self.fresh.get(part) or ""
                if not node:
                    node = self.fresh[part] = self.temporary()
                    tests.append(f"({node} := e.get({self.const(part)}) or _NOTHING)")
                tests.extend(f"{self.const(key)} not in e" for key in keys[0])
                tests.extend(f"{self.const(key)} not in {node}" for key in keys[1])
            elif keys[depth]:
                child, node = node, self.temporary()
                tests.append(f"{self.const(keys[depth][0])} not in ({node} := ({child}.get({self.const(part)}) "
                             f"or _NOTHING))")
                tests.extend(f"{self.const(key)} not in {node}" for key in keys[depth][1:])
            else:
                node = f"({node}.get({self.const(part)}) or _NOTHING)"
        last = f"{node}.get({self.const(parts[-1])})"
        if not tests:
            return last
        return f"({last} if {' and '.join(tests)} else {self.getter(field)}(e))"

    def temporary(self) -> str:
        return f"v{next(self.temporaries)}"

    def build(self, source: str, name: str) -> Any:
        # The constants live in the function's own globals: a global read is as fast as a
        # closure cell and, unlike cells, costs nothing per call when there are dozens.
        namespace: dict[str, Any] = {**_RUNTIME, **dict(zip(self.names, self.objects))}
        try:
            code = compile(source, "<eqlmini>", "exec")
        except (SyntaxError, MemoryError, RecursionError):  # Python's own nesting limits
            raise EqlSemanticError("the query is nested too deeply to be compiled") from None
        exec(code, namespace)  # noqa: S102 - source holds no query text
        return namespace[name]

    # ------------------------------------------------------------------ two-valued conditions
    def condition(self, node: ast.Expr) -> str:
        if not ast.fields_of(node):  # constant: fold it whole, in three-valued logic (`not null` is null)
            return "True" if self.constant(node) is True else "False"
        if isinstance(node, (ast.And, ast.Or)):
            return "(" + f" {'and' if isinstance(node, ast.And) else 'or'} ".join(self.chain(node.terms)) + ")"
        if isinstance(node, ast.Not):
            return f"(not {self.condition(node.operand)})"
        return self.leaf(node)

    def chain(self, terms: tuple[ast.Expr, ...]) -> list[str]:
        """The terms of an and/or chain. A term runs only after every term before it, so
        the objects a leaf term read can be reused by the terms after it (not outside)."""
        outer = dict(self.shared)
        codes = []
        for term in terms:
            self.fresh = {}
            codes.append(self.condition(term))
            simple = isinstance(term, ast.Not) and not isinstance(term.operand, (ast.And, ast.Or, ast.Not))
            if simple or not isinstance(term, (ast.And, ast.Or, ast.Not)):
                self.shared.update(self.fresh)  # a leaf evaluates all its reads
        self.shared, self.fresh = outer, {}
        return codes

    def leaf(self, node: ast.Expr) -> str:
        try:
            return self._leaf(node)
        except EqlError as error:
            if error.span is None:
                error.span = node.span
            raise

    def _leaf(self, node: ast.Expr) -> str:
        fields = ast.fields_of(node)  # not empty: condition() folds constant leaves
        if isinstance(node, ast.Comparison) and node.op in ("==", "!=") and (_is_null(node.left) or _is_null(node.right)):
            other = node.right if _is_null(node.left) else node.left
            present = self.present(other)
            return present if node.op == "!=" else f"(not {present})"
        if isinstance(node, ast.Comparison) and node.op == "!=":
            return f"(not {self._leaf(ast.Comparison('==', node.left, node.right, span=node.span))})"
        if isinstance(node, ast.In) and node.negated:
            return f"(not {self._leaf(ast.In(node.left, node.items, node.insensitive, span=node.span))})"
        fast = self.typed_leaf(node) or self.fast_leaf(node)
        if fast is not None:
            return fast
        leaf = self.const(self.scalar_function(node, fields))
        return f"_any_leaf({leaf}, {', '.join(self.read(f) for f in fields)})"

    def present(self, node: ast.Expr) -> str:
        """Whether an expression has a non-null value (``x != null``)."""
        if isinstance(node, ast.Field):
            value = self.temporary()
            return f"(({value} := {self.read(node)}).__class__ in _SCALARS or _present({value}))"
        fields = ast.fields_of(node)
        if not fields:
            return "False" if self.constant(node) is None else "True"
        function = self.scalar_function(node, fields)
        exists = self.const(lambda *args: function(*args) is not None)
        return f"_any_leaf({exists}, {', '.join(self.read(f) for f in fields)})"

    def typed_leaf(self, node: ast.Expr) -> str | None:
        """A date or version field against a literal, compared in the type's own order."""
        if not isinstance(node, ast.Comparison) or not self.field_types:
            return None
        op, field, literal = node.op, node.left, node.right
        if isinstance(literal, ast.Field):
            op, field, literal = _FLIPPED[op], literal, field
        if not (isinstance(field, ast.Field) and field.name in self.field_types and isinstance(literal, ast.Literal)):
            return None
        key = values.FIELD_TYPES[self.field_types[field.name]]
        literal_key = key(literal.value)
        if literal_key is None:
            return None  # a literal the type cannot read: compare as plain values
        return (f"_any_typed({self.const(runtime.COMPARISONS[op])}, {self.const(key)}, {self.const(literal_key)}, "
                f"{self.read(field)})")

    def fast_leaf(self, node: ast.Expr) -> str | None:
        """Straight-line code for the common leaves: a field against constants."""
        if isinstance(node, ast.Match) and isinstance(node.left, ast.Field):
            function = self.matcher(node)
            matcher = self.const(function)
            value = self.temporary()
            other = f"_any_match({matcher}, {value})"
            if hasattr(function, "any"):  # a wildcard matcher's twin scans a whole list in one call
                other = f"{self.const(function.any)}({value}) if {value}.__class__ is list else {other}"
            on_str = f"{matcher}({value})"
            texts = [pattern.value for pattern in node.patterns]
            if not node.op.startswith("regex") and not any("*" in t or "?" in t for t in texts):  # type: ignore
                # No wildcard: a set lookup, with the matcher's folding inlined for `:`/`like~`.
                if node.insensitive:
                    on_str = self.folded_in(value, frozenset(map(patterns.fold, texts)))
                else:
                    on_str = f"{value} in {self.const(frozenset(texts))}"
            return f"({on_str} if ({value} := {self.read(node.left)}).__class__ is str else {other})"
        if (isinstance(node, ast.Comparison) and node.op == "==" and isinstance(node.left, ast.Field)
                and isinstance(node.right, ast.Literal)):
            constant = node.right.value
            value = self.temporary()
            name = self.const(constant)
            if _is_number(constant):
                return self.number_in(node.left, [constant])
            if _plain_string(constant):
                # Not in the list: it can only hide in a nested list. `"".join` proves in C
                # that every item is text, or raises TypeError, and the predicate starts over
                # on full getters (compile_condition), whose lists are flat.
                nested = f" or ''.join({value}) is None" if self.inline else ""
                return (f"(({name} in {value}{nested}) "
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

    def constant(self, node: ast.Expr) -> Any:
        """The three-valued value of an expression that reads no field, computed now."""
        emitter = _Emitter()
        function = emitter.build(f"def constant():\n    return {emitter.scalar(node, {})}\n", "constant")
        return function()

    def folded_in(self, value: str, texts: frozenset[str]) -> str:
        """``patterns.fold(value) in texts`` (texts already folded) without a call for plain text.

        ``str.lower`` is ``fold`` except for U+0130 (İ), which it turns into two characters,
        and a word-final sigma. Against ASCII texts only the former can change the answer,
        and only if some text has an ``i`` for the İ to fold to.
        """
        fold = "_fold"
        members = self.const(texts)
        if all(text.isascii() for text in texts):
            if not any("i" in text for text in texts):
                return f"{value}.lower() in {members}"
            return f"({value}.lower() in {members} or '\\u0130' in {value} and {fold}({value}) in {members})"
        lowered = self.temporary()
        return (f"({lowered} if len({lowered} := {value}.lower()) == len({value}) and '\\u03c2' not in {lowered} "
                f"else {fold}({value})) in {members}")

    def number_in(self, field: ast.Field, numbers: list[Any]) -> str:
        """Some value of the field equals one of the numbers (a numeric string counts)."""
        members = self.const(frozenset(numbers))
        value = self.temporary()
        return (f"({value} in {members} if ({value} := {self.read(field)}).__class__ in _NUMBERS "
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
                implementation = self.const(_folding(call, function))
            else:
                constants = [a.value if isinstance(a, ast.Literal) else functions.NOT_CONSTANT for a in call.args]
                implementation = self.const(function.build(call.insensitive, constants))
            return f"{implementation}({', '.join(map(sub, call.args))})"
        if isinstance(node, ast.Unary):
            return sub(node.operand) if node.op == "+" else f"_negate({sub(node.operand)})"
        if isinstance(node, ast.Comparison):
            if node.op in ("==", "!=") and (_is_null(node.left) or _is_null(node.right)):
                other = node.right if _is_null(node.left) else node.left
                return f"({sub(other)} {'is' if node.op == '==' else 'is not'} None)"
            comparison = runtime.COMPARISONS[node.op]
            if node.op in ("==", "!=") and (_is_optional(node.left) or _is_optional(node.right)):
                comparison = runtime.eq_optional if node.op == "==" else runtime.ne_optional
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


def _folding(call: ast.Call, function: functions.Function) -> Callable[..., Any]:
    return lambda *args: functions.evaluate(call, function, args)




