"""What compiled predicates call at run time: leaf tests over field values, three-valued logic.

The code generator in :mod:`compiler` writes calls to these functions; they receive values
already read from the event (None, a scalar, or whatever the event stores: a list that may
nest, a numpy value, a tuple ...), never query text. Each leaf test reads them through
:func:`values.as_values`, so one place decides what a stored value means.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable

from . import comparisons, limits, patterns, values

NUMBERS = comparisons.NUMBERS


def any_match(matcher: Callable[[str], bool], raw: Any) -> bool:
    """Some value of the field, as text, matches the pattern matcher."""
    for value in values.as_values(raw):
        text = values.to_text(value)
        if text is not None and matcher(text):
            return True
    return False


def any_number_in(members: frozenset, raw: Any) -> bool:
    """Some value of the field equals one of the numbers (numeric text counts, booleans never)."""
    for value in values.as_values(raw):
        if value.__class__ is str:
            value = values.parse_number(value)
        elif value.__class__ is bool:
            continue  # a boolean never equals a number
        if value is not None and value in members:
            return True
    return False


def any_typed(compare: Callable[[Any, Any], Any], key: Callable[[Any], Any], literal: Any, raw: Any) -> bool:
    """Some value of a typed field (date, version), read through ``key``, compares true."""
    for value in values.as_values(raw):
        value = key(value)
        if value is not None and compare(value, literal) is True:
            return True
    return False


def present(raw: Any) -> bool:
    """The field holds at least one value (not missing, null, NaN or only those)."""
    return bool(values.as_values(raw))


def any_in(members: frozenset, raw: Any, fold: Callable[[str], str] | None) -> bool:
    """Some text value of the field is one of ``members`` (folded first when ``fold`` is given)."""
    for value in values.as_values(raw):
        if value.__class__ is str and (fold(value) if fold else value) in members:
            return True
    return False


def any_equal(constant: Any, raw: Any) -> bool:
    """Some value of the field equals ``constant`` in Elasticsearch's terms."""
    return any(comparisons.equals(value, constant) for value in values.as_values(raw))


def any_leaf(leaf: Callable[..., Any], *raws: Any) -> bool:
    """True if the leaf is true for some combination of the fields' values (null if absent).

    Over several multi-valued fields the combinations multiply; at most
    ``limits.LEAF_COMBINATIONS`` are tried, and a leaf left false with some untried is
    reported through ``limits.skipped``.
    """
    choices = [values.as_values(raw) or (None,) for raw in raws]
    combinations = itertools.product(*choices)
    total = math.prod(map(len, choices))
    if len(choices) < 2 or total <= limits.LEAF_COMBINATIONS:
        return any(leaf(*combination) is True for combination in combinations)
    if any(leaf(*combination) is True for combination in itertools.islice(combinations, limits.LEAF_COMBINATIONS)):
        return True
    limits.skipped(f"limits.LEAF_COMBINATIONS: a leaf over {len(choices)} multi-valued fields tried "
                   f"{limits.LEAF_COMBINATIONS:,} of {total:,} value combinations and found none true; "
                   f"the rest were skipped")
    return False


def not3(value: Any) -> Any:
    """Three-valued ``not``: null stays null."""
    return None if value is None else not value


def and3(*operands: Any) -> Any:
    """Three-valued ``and``: false wins, then null."""
    if any(operand is False for operand in operands):
        return False
    return None if any(operand is None for operand in operands) else True


def or3(*operands: Any) -> Any:
    """Three-valued ``or``: true wins, then null."""
    if any(operand is True for operand in operands):
        return True
    return None if any(operand is None for operand in operands) else False


def eq_optional(a: Any, b: Any) -> Any:
    """``==`` with an optional field: null on either side means IsNull of the other."""
    # An unmapped ?field is the null literal in Elasticsearch, and `x == null` is IsNull(x).
    if a is None or b is None:
        return a is None and b is None
    return comparisons.equals(a, b)


def ne_optional(a: Any, b: Any) -> Any:
    """``!=`` with an optional field (the negation of ``eq_optional``)."""
    return not eq_optional(a, b)


def _operators(order: Callable[[Any, Any], int | None],
               equal: Callable[[Any, Any], bool | None]) -> dict[str, Callable[[Any, Any], Any]]:
    """The six three-valued comparison operators over an equality and an ordering function."""
    def operator(test: Callable[[int], bool]) -> Callable[[Any, Any], Any]:
        def compare(a: Any, b: Any) -> Any:
            result = order(a, b)
            return None if result is None else test(result)
        return compare
    return {"==": equal, "!=": lambda a, b: not3(equal(a, b)),
            "<": operator(lambda o: o < 0), "<=": operator(lambda o: o <= 0),
            ">": operator(lambda o: o > 0), ">=": operator(lambda o: o >= 0)}


def match3(matcher: Callable[[str], bool], value: Any) -> Any:
    """Three-valued pattern match of one value (null when it has no text form)."""
    text = values.to_text(value)
    return None if text is None else matcher(text)


def in3(value: Any, *items: Any) -> Any:
    """Three-valued ``field in (items)``, each item compared as a constant with the field."""
    if value is None:
        return None
    results = [comparisons.equals(value, item) for item in items]
    return True if True in results else (None if None in results else False)


def in3_folded(value: Any, *items: Any) -> Any:
    """Three-valued ``value in~ (items)``: text compared after case folding."""
    if value is None:
        return None
    folded = patterns.fold(value) if value.__class__ is str else value
    return in3(folded, *(patterns.fold(item) if item.__class__ is str else item for item in items))


def java_in3(value: Any, *items: Any) -> Any:
    """Three-valued ``expression in (items)``, computed in memory (see :mod:`comparisons`)."""
    return comparisons.java_in(value, items)


def negate(value: Any) -> Any:
    """Unary minus for numbers; null for anything else."""
    return -value if value.__class__ in NUMBERS else None  # only numbers negate


FIELD_COMPARISONS = _operators(comparisons.compare, comparisons.equals)
"""A field against a constant, read through the field's stand-in mapping."""
IN_MEMORY_COMPARISONS = _operators(comparisons.java_compare, comparisons.java_equals)
"""Anything else: QL's ``Comparisons``, no coercion between types."""
COMPARISONS = IN_MEMORY_COMPARISONS
"""Two constants, as Elasticsearch folds them (the SQL generator folds with this table)."""
