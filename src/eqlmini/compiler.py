"""AST -> Python predicate. Query text reaches the generated code only as constants (:mod:`codegen`).

Semantics (spec section 5): a *leaf* (comparison, ``:``, ``like``, ``regex``, ``in``, a bare
boolean) is two-valued, "some value of its fields satisfies it"; missing, null and ``[]``
make it false, so ``not leaf`` is true for an absent field. ``and``/``or``/``not`` are plain
Boolean. Inside a leaf, values follow three-valued logic (null propagates, :mod:`scalars`),
and a field with several values is tried value by value (every combination when a leaf reads
several fields). ``x == null`` and ``x != null`` test presence.

Speed: a top-level ``and`` is one ``if ...: return False`` per term. Field reads are inlined
as lookups along the path of nested objects. Elasticsearch also merges in dotted keys
(``{"process.name": ...}``); a leaf that can only gain by more values (all the common ones)
probes for such keys only when it came out false, and then asks the full getter. A value of
a type the fast path does not know (a tuple, a numpy number, a ``StrEnum``) goes to the
runtime helper, which reads it through :func:`values.as_values`.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Mapping

from . import ast, limits, patterns, runtime, scalars, values
from .codegen import Source
from .errors import EqlError
from .fields import dotted_keys, getter
from .options import SearchOptions

Event = Mapping[str, Any]
Predicate = Callable[[Event], bool]


def compile_event_query(query: ast.EventQuery, options: SearchOptions) -> Predicate:
    """A predicate for ``category where condition`` (the category test included)."""
    condition: ast.Expr = query.where
    if query.category is not None:
        category = ast.Comparison("==", ast.Field(options.event_category_field), ast.Literal(query.category))
        condition = ast.And((category, *(condition.terms if isinstance(condition, ast.And) else (condition,))))
    field_types = {options.timestamp_field: "date", **options.field_types}
    return compile_condition(condition, field_types)


def compile_condition(condition: ast.Expr, field_types: Mapping[str, str] | None = None) -> Predicate:
    """A predicate for a boolean expression (two-valued leaves, Boolean connectives).

    ``field_types`` stands in for the index mapping: a ``date`` field compares as instants
    (ISO-8601 strings read as epoch milliseconds), a ``version`` field in semantic-version
    order, against a literal, as Elasticsearch compares them. Any event that is not a
    mapping (or a pandas Series) is an EqlEventError.
    """
    field_types = dict(field_types or {})
    if not scalars.reads_a_field(condition):
        answer = scalars.constant(condition) is True

        def constant(event: Event) -> bool:
            values.as_event(event)  # checked even though no field is read
            return answer
        return constant
    emitter = _Emitter(field_types)
    body = emitter.statements(condition)
    if len(body) == 1:  # constant after all (`true or x`): return True, or return False
        return compile_condition(ast.Literal(body == ["return True"]))
    # Events that are not dicts (`_dget` is dict.get), paths through lists of objects or
    # scalars (`.get` on them) and values the inlined tests cannot take (numpy arrays) raise
    # in the body: then the predicate starts over on the full getters.
    fallback = emitter.function(_Fallback(condition, field_types))
    source = ("def match(e):\n    try:\n" + "".join(f"        {line}\n" for line in body)
              + f"    except (AttributeError, TypeError, ValueError):\n        return {fallback}(e)\n")
    return emitter.build(source, "match")


class _Fallback:
    """The predicate on full getters, compiled the first time an event needs it."""

    def __init__(self, condition: ast.Expr, field_types: dict[str, str]) -> None:
        self.condition, self.field_types = condition, field_types
        self.predicate: Predicate | None = None

    def __call__(self, event: Event) -> bool:
        event = values.as_event(event)
        if self.predicate is None:
            emitter = _Emitter(self.field_types, inline=False)
            source = f"def match(e):\n    if {emitter.condition(self.condition)}:\n        return True\n    return False\n"
            self.predicate = emitter.build(source, "match")
        return self.predicate(event)


def _set_number(value: Any) -> bool:
    """A number constant a Python set can hold for an exact lookup: not ``0.0`` or ``-0.0``,
    which Python deems equal and Elasticsearch (``Double.compare``) does not."""
    return value.__class__ is int or (value.__class__ is float and value != 0.0)


def _plain_string(value: Any) -> bool:
    """A string constant that can only ever equal the very same string (no coercion)."""
    return isinstance(value, str) and values.parse_number(value) is None and value.lower() not in ("true", "false")


# ----------------------------------------------------------------------- code generation
class _Emitter(Source):
    """Writes the source of one predicate: two-valued conditions over inlined field reads."""

    def __init__(self, field_types: dict[str, str] | None = None, *, inline: bool = True) -> None:
        super().__init__()
        self.field_types = field_types or {}
        self.getters: dict[str, str] = {}
        self.inline = inline  # False: read every field through its full getter (the fallback)
        # Top-level objects already read in this evaluation (`_dget(e, "process")` -> temporary),
        # which later terms of the same and/or chain may reuse; `fresh` collects new ones.
        self.shared: dict[str, str] = {}
        self.fresh: dict[str, str] = {}
        # Statements that must run before the leaf being written (see `statements`), or None.
        self.prelude: list[str] | None = None

    def getter(self, field: ast.Field) -> str:
        if field.name not in self.getters:
            self.getters[field.name] = self.function(getter(field.name))
        return self.getters[field.name]

    # ------------------------------------------------------------------ field reads
    def read(self, field: ast.Field, *, top_probes: bool = True) -> tuple[str, str | None]:
        """``(value, probe)``: an expression reading the field as nested objects hold it, and
        one true when the event also has a dotted key along the path (None if none can);
        with ``top_probes=False``, one below the event's own keys (the caller tests those).

        ``parent.get(key, _NOTHING)`` walks down; a value in the way that is neither an
        object nor empty (a list of objects, a string) raises there, and the predicate then
        starts over with full getters (``compile_condition``). The value is what the event
        stores (None, a scalar, a list that may nest or hold nulls, even an object, or a
        type from the Python data world), so every consumer that is not sure reads it
        through ``values.as_values``. The probe reads the objects the value expression bound,
        so it must run after it.
        """
        parts = tuple(field.name.split("."))
        if not self.inline or len(parts) > limits.INLINE_FIELD_PARTS:
            return f"{self.getter(field)}(e)", None
        if len(parts) == 1:
            return f"_dget(e, {self.const(parts[0])})", None
        keys = dotted_keys(parts)  # per object level along the path, the dotted keys to rule out
        probes = [f"{self.const(key)} in e" for key in keys[0]] if top_probes else []
        holder = self.shared.get(parts[0]) or self.fresh.get(parts[0])
        if holder:
            node = holder  # the top-level object, read by an earlier term of the chain
        else:
            holder = self.fresh[parts[0]] = self.temporary()
            node = f"({holder} := _dget(e, {self.const(parts[0])}, _NOTHING))"
        for level in range(1, len(parts) - 1):
            probes.extend(f"{self.const(key)} in {holder}" for key in keys[level])
            child = f"{node}.get({self.const(parts[level])}, _NOTHING)"
            if keys[level + 1]:  # its probes need the object by name
                holder = self.temporary()
                node = f"({holder} := {child})"
            else:
                node = child
        return f"{node}.get({self.const(parts[-1])})", " or ".join(probes)

    def full_read(self, field: ast.Field) -> str:
        """An expression reading every value of the field, dotted keys included."""
        if self.inline and "." not in field.name:
            return self.read(field)[0]
        return f"{self.getter(field)}(e)"

    def exact(self, field: ast.Field, value: str | None, fast: Callable[[str], str],
              slow: Callable[[Any], bool]) -> str:
        """A leaf that only gains by more values: ``fast`` over the inlined read, and, only when
        that is false and the event has a dotted key along the path, ``slow`` (the runtime
        test over what a field read returned) over the full getter: a probe can only turn a
        false leaf true.

        ``fast`` gets the expression for the first use of the value: ``(value := read)``, or,
        for a leaf that is a statement of its own (``statements``), the name ``value`` after
        an assignment of the read is put in ``self.prelude``.
        """
        read, probe = self.read(field)
        if value is None:
            first = read
        elif self.prelude is not None:
            self.prelude.append(f"{value} = {read}")
            self.prelude = None  # only the leaf's first read runs unconditionally
            first = value
        else:
            first = f"({value} := {read})"
        code = fast(first)
        if probe is None:
            return code
        return f"({code} or ({probe}) and {self.function(_reading(getter(field.name), slow))}(e))"

    # ------------------------------------------------------------------ two-valued conditions
    def statements(self, node: ast.Expr) -> list[str]:
        """The body of a predicate, as lines: one ``if ...: return False`` per term of a
        top-level ``and`` (or for the one condition), with each leaf's first field read an
        assignment before its test, which is cheaper than one expression with ``:=``."""
        lines: list[str] = []
        for term in node.terms if isinstance(node, ast.And) else (node,):
            self.fresh = {}
            negated = isinstance(term, ast.Not) and not isinstance(term.operand, (ast.And, ast.Or, ast.Not))
            test = term.operand if negated else term  # type: ignore[union-attr]
            leaf = not isinstance(test, (ast.And, ast.Or, ast.Not))
            prelude: list[str] = []
            self.prelude = prelude if leaf else None
            code = self.condition(test)
            self.prelude = None
            if code == ("True" if negated else "False"):
                return ["return False"]  # `x and false` is false whatever x is
            if code != ("False" if negated else "True"):
                lines += [*prelude, f"if {code if negated else f'not {code}'}:", "    return False"]
            if leaf:
                self.shared.update(self.fresh)  # a leaf evaluates its first read of each field
        return [*lines, "return True"]

    def condition(self, node: ast.Expr) -> str:
        """Python source for a two-valued condition: ``True``/``False`` when it is constant."""
        if not scalars.reads_a_field(node):  # constant: fold it whole, in three-valued logic (`not null` is null)
            return "True" if scalars.constant(node) is True else "False"
        if isinstance(node, (ast.And, ast.Or)):
            decisive, neutral = ("False", "True") if isinstance(node, ast.And) else ("True", "False")
            codes = [code for code in self.chain(node.terms) if code != neutral]
            if decisive in codes:  # `true or x` is true whatever x is (and reads no field)
                return decisive
            if len(codes) < 2:
                return codes[0] if codes else neutral
            return "(" + f" {'and' if isinstance(node, ast.And) else 'or'} ".join(codes) + ")"
        if isinstance(node, ast.Not):
            operand = self.condition(node.operand)
            return {"True": "False", "False": "True"}.get(operand, f"(not {operand})")
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
                self.shared.update(self.fresh)  # a leaf evaluates its first read of each field
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
        if isinstance(node, ast.Comparison) and node.op in ("==", "!=") and (scalars.is_null(node.left) or scalars.is_null(node.right)):
            other = node.right if scalars.is_null(node.left) else node.left
            present = self.present(other)
            return present if node.op == "!=" else f"(not {present})"
        if isinstance(node, ast.Comparison) and node.op == "!=":
            return f"(not {self._leaf(ast.Comparison('==', node.left, node.right, span=node.span))})"
        if isinstance(node, ast.In) and node.negated:
            return f"(not {self._leaf(ast.In(node.left, node.items, node.insensitive, span=node.span))})"
        fast = self.typed_leaf(node) or self.fast_leaf(node)
        if fast is not None:
            return fast
        leaf = self.const(scalars.leaf_function(node, fields))
        return f"_any_leaf({leaf}, {', '.join(self.full_read(f) for f in fields)})"

    def present(self, node: ast.Expr) -> str:
        """Whether an expression has a non-null value (``x != null``)."""
        if isinstance(node, ast.Field):
            value = self.temporary()
            return self.exact(node, value, lambda first: f"({first}.__class__ in _TEXT_OR_BOOL "
                                                        f"or {value} is not None and _present({value}))",
                              runtime.present)
        fields = ast.fields_of(node)
        if not fields:
            return "False" if scalars.constant(node) is None else "True"
        function = scalars.leaf_function(node, fields)
        exists = self.const(lambda *args: function(*args) is not None)
        return f"_any_leaf({exists}, {', '.join(self.full_read(f) for f in fields)})"

    def typed_leaf(self, node: ast.Expr) -> str | None:
        """A date or version field against a literal, compared in the type's own order."""
        compared = ast.field_against_literal(node) if self.field_types else None
        if compared is None or compared[1].name not in self.field_types:
            return None
        op, field, literal = compared
        key = values.FIELD_TYPES[self.field_types[field.name]]
        literal_key = key(literal.value)
        if literal_key is None:
            return None  # a literal the type cannot read: compare as plain values
        compare = runtime.FIELD_COMPARISONS[op]
        call = f"_any_typed({self.const(compare)}, {self.const(key)}, {self.const(literal_key)}, {{}})"
        return self.exact(field, None, call.format, partial(runtime.any_typed, compare, key, literal_key))

    def fast_leaf(self, node: ast.Expr) -> str | None:
        """Straight-line code for the common leaves: a field against constants."""
        if isinstance(node, ast.Match) and isinstance(node.left, ast.Field):
            return self.match_leaf(node, node.left)
        if (isinstance(node, ast.Comparison) and node.op == "==" and isinstance(node.left, ast.Field)
                and isinstance(node.right, ast.Literal)):
            constant = node.right.value
            if _set_number(constant):
                return self.number_in(node.left, [constant])
            name = self.const(constant)
            slow = partial(runtime.any_equal, constant)
            if not _plain_string(constant):
                return self.exact(node.left, None, f"_any_equal({name}, {{}})".format, slow)
            value = self.temporary()
            # Not in the list: it can only hide in a nested list. `"".join` proves in C that
            # every item is text, or raises TypeError, and the predicate starts over on full
            # getters (compile_condition), whose lists are flat.
            nested = f" or ''.join({value}) is None" if self.inline else ""
            # Not a list: `==` answers for every plain type (a numpy array's `==` is an array,
            # whose truth raises ValueError: the predicate starts over); an odd one (a tuple,
            # pandas.NA) goes to the helper, which reads it through values.as_values.
            return self.exact(node.left, value, lambda first: (
                f"(({name} in {value}{nested}) if {first}.__class__ is list "
                f"else {value} == {name} or {value}.__class__ not in _PLAIN and _any_equal({name}, {value}))"), slow)
        if (isinstance(node, ast.In) and isinstance(node.left, ast.Field)
                and all(isinstance(item, ast.Literal) and _set_number(item.value) for item in node.items)):
            return self.number_in(node.left, [item.value for item in node.items])  # type: ignore[union-attr]
        if (isinstance(node, ast.In) and isinstance(node.left, ast.Field)
                and all(isinstance(item, ast.Literal) and _plain_string(item.value) for item in node.items)):
            texts = [item.value for item in node.items]  # type: ignore[union-attr]
            fold = patterns.fold if node.insensitive else None
            members = frozenset(map(fold, texts) if fold else texts)
            value = self.temporary()
            test = self.one_of(f"_fold({value})" if fold else value, members)
            helper = f"_any_in({self.const(members)}, {value}, {'_fold' if fold else 'None'})"
            return self.exact(node.left, value, lambda first: (
                f"({test} if {first}.__class__ is str else {value} is not None and {helper})"),
                lambda raw: runtime.any_in(members, raw, fold))
        return None

    def match_leaf(self, node: ast.Match, field: ast.Field) -> str:
        """``field : patterns`` (and ``like``, ``regex``): text values against the matcher."""
        function = scalars.matcher(node)
        matcher = self.function(function)
        value = self.temporary()
        texts = [pattern.value for pattern in node.patterns]
        on_str = f"{matcher}({value})"
        if not node.op.startswith("regex") and not any("*" in t or "?" in t for t in texts):  # type: ignore
            # No wildcard: a set lookup, with the matcher's folding inlined for `:`/`like~`.
            if node.insensitive:
                on_str = self.folded_in(value, frozenset(map(patterns.fold, texts)))  # type: ignore[arg-type]
            else:
                on_str = self.one_of(value, frozenset(texts))
        # A wildcard matcher's twin scans a whole list in one call.
        on_list = f"{self.function(function.any)}({value})" if hasattr(function, "any") else f"_any_match({matcher}, {value})"
        return self.exact(field, value, lambda first: (
            f"({on_str} if {first}.__class__ is str else {on_list} if {value}.__class__ is list "
            f"else {value} is not None and _any_match({matcher}, {value}))"),
            partial(runtime.any_match, function))

    def one_of(self, value: str, texts: frozenset[Any]) -> str:
        """``value in texts``; against a single text, ``==`` (no hash to compute)."""
        if len(texts) == 1:
            return f"{value} == {self.const(next(iter(texts)))}"
        return f"{value} in {self.const(texts)}"

    def folded_in(self, value: str, texts: frozenset[str]) -> str:
        """``patterns.fold(value) in texts`` (texts already folded) without a call for plain text.

        ``fold`` keeps the length, so a value of another length is out at once, before any
        lowercasing. ``str.lower`` is ``fold`` except for U+0130 (İ), which it turns into two
        characters, and a word-final sigma. Against ASCII texts only the former can change
        the answer, and only if some text has an ``i`` for the İ to fold to.
        """
        lengths = {len(text) for text in texts}
        length = (f"len({value}) == {self.const(lengths.pop())}" if len(lengths) == 1
                  else f"len({value}) in {self.const(frozenset(lengths))}")
        if all(text.isascii() for text in texts):
            lowered = self.one_of(f"{value}.lower()", texts)
            if not any("i" in text for text in texts):
                return f"({length} and {lowered})"
            return f"({length} and ({lowered} or '\\u0130' in {value} and {self.one_of(f'_fold({value})', texts)}))"
        lowered = self.temporary()
        return f"({length} and " + self.one_of(
            f"({lowered} if len({lowered} := {value}.lower()) == len({value}) "
            f"and '\\u03c2' not in {lowered} else _fold({value}))", texts) + ")"

    def number_in(self, field: ast.Field, numbers: list[Any]) -> str:
        """Some value of the field equals one of the numbers (a numeric string counts)."""
        members = frozenset(numbers)
        name, value = self.const(members), self.temporary()
        return self.exact(field, value, lambda first: (
            f"({value} in {name} if {first}.__class__ in _NUMBERS "
            f"else {value} is not None and _any_number_in({name}, {value}))"),
            partial(runtime.any_number_in, members))


def _reading(read: Callable[[Event], Any], test: Callable[[Any], bool]) -> Callable[[Event], bool]:
    """``test`` over what the getter ``read`` returns for an event (a leaf's exact path)."""
    return lambda event: test(read(event))
