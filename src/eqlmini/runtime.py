"""What compiled predicates call at run time: leaf tests over field values, three-valued logic.

The code generator in :mod:`compiler` writes calls to these functions; they receive values
already read from the event (None, a scalar, or a list as stored), never query text.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable

from . import patterns, values

NUMBERS = frozenset({int, float})


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
    """The field holds at least one value (not missing, null or only nulls)."""
    return bool(values.as_values(raw))


def any_in(members: frozenset, raw: Any, fold: Callable[[str], str] | None) -> bool:
    """Some text value of the field is one of ``members`` (folded first when ``fold`` is given)."""
    for value in values.as_values(raw):
        if value.__class__ is str and (fold(value) if fold else value) in members:
            return True
    return False


def any_equal(constant: Any, raw: Any) -> bool:
    """Some value of the field equals ``constant`` in Elasticsearch's terms."""
    return any(values.equals(value, constant) for value in values.as_values(raw))


def any_leaf(leaf: Callable[..., Any], *raws: Any) -> bool:
    """True if the leaf is true for some combination of the fields' values (null if absent)."""
    choices = [values.as_values(raw) or (None,) for raw in raws]
    return any(leaf(*combination) is True for combination in itertools.product(*choices))


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


def ne3(a: Any, b: Any) -> Any:
    """Three-valued ``!=``."""
    return not3(values.equals(a, b))


def eq_optional(a: Any, b: Any) -> Any:
    """``==`` with an optional field: null on either side means IsNull of the other."""
    # An unmapped ?field is the null literal in Elasticsearch, and `x == null` is IsNull(x).
    if a is None or b is None:
        return a is None and b is None
    return values.equals(a, b)


def ne_optional(a: Any, b: Any) -> Any:
    """``!=`` with an optional field (the negation of ``eq_optional``)."""
    return not eq_optional(a, b)


def ordering(test: Callable[[int], bool]) -> Callable[[Any, Any], Any]:
    """A three-valued comparison from a test on the order (-1, 0, 1)."""
    def compare(a: Any, b: Any) -> Any:
        order = values.compare(a, b)
        return None if order is None else test(order)
    return compare


def match3(matcher: Callable[[str], bool], value: Any) -> Any:
    """Three-valued pattern match of one value (null when it has no text form)."""
    text = values.to_text(value)
    return None if text is None else matcher(text)


def in3(value: Any, *items: Any) -> Any:
    """Three-valued ``value in (items)``."""
    if value is None:
        return None
    results = [values.equals(value, item) for item in items]
    return True if True in results else (None if None in results else False)


def in3_folded(value: Any, *items: Any) -> Any:
    """Three-valued ``value in~ (items)``: text compared after case folding."""
    if value is None:
        return None
    folded = patterns.fold(value) if value.__class__ is str else value
    return in3(folded, *(patterns.fold(item) if item.__class__ is str else item for item in items))


def negate(value: Any) -> Any:
    """Unary minus for numbers; null for anything else."""
    return -value if value.__class__ in NUMBERS else None  # only numbers negate


COMPARISONS = {
    "==": values.equals,
    "!=": ne3,
    "<": ordering(lambda order: order < 0),
    "<=": ordering(lambda order: order <= 0),
    ">": ordering(lambda order: order > 0),
    ">=": ordering(lambda order: order >= 0),
}
