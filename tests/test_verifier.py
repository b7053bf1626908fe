"""Compile-time rejections: what Elasticsearch rejects, eqlmini rejects with its message."""

from __future__ import annotations

import pytest

import eqlmini

REJECTED = [
    # (query, error class, message fragment, line, column)
    ('process where foo(a)', eqlmini.EqlSemanticError, "Unknown function [foo]", 1, 15),
    ('process where startWith(a, "x")', eqlmini.EqlSemanticError, "did you mean [startswith]?", 1, 15),
    ('process where length~(a) > 1', eqlmini.EqlSemanticError, "does not support case-insensitive", 1, 15),
    ('process where startsWith(a)', eqlmini.EqlSemanticError, "expects exactly two arguments", 1, 15),
    ('process where startsWith(a, 1)', eqlmini.EqlSemanticError, "must be [string]", 1, 15),
    ('process where arrayContains(a, "x")', eqlmini.EqlSemanticError, "Unknown function [arrayContains]", 1, 15),
    ('process where wildcard(a, "x*")', eqlmini.EqlSemanticError, "Unknown function [wildcard]", 1, 15),
    ('process where a like null', eqlmini.EqlSemanticError, "must be [string]", 1, 22),
    ('process where a regex true', eqlmini.EqlSemanticError, "must be [string]", 1, 23),
    # InsensitiveBinaryComparison.resolveInputType: isString(left, ":", FIRST) (VerifierTests
    # testIncorrectUsageOfStringEquals).
    ('process where length(a) : "x"', eqlmini.EqlSemanticError,
     "first argument of [:] must be [string], found value [length(a)]", 1, 15),
    ('process where a : b', eqlmini.EqlSyntaxError, "unexpected 'b'", 1, 19),
    ('process where a == b', eqlmini.EqlSemanticError, "Comparisons against fields", 1, 15),
    ('process where length(a) < length(b)', eqlmini.EqlSemanticError, "Comparisons against fields", 1, 15),
    ('process where a in (b, "x")', eqlmini.EqlSemanticError, "Comparisons against fields", 1, 15),
    # In.resolveType (ES QL, VerifierTests testMixedSet): the ordinal counts list items, after
    # the list is deduplicated, and every item must be a constant even when the left side is one.
    ('process where a in (1, "x")', eqlmini.EqlSemanticError,
     '2nd argument of [a in (1, "x")] must be [integer], found value ["x"] type [keyword]', 1, 15),
    ('process where a in (1, 1, "x")', eqlmini.EqlSemanticError, "2nd argument of", 1, 15),
    ('process where a in (1.5, "x", 2)', eqlmini.EqlSemanticError, "must be [double]", 1, 15),
    ('process where 1 in (a)', eqlmini.EqlSemanticError,
     "Comparisons against fields are not (currently) supported; offender [a] in [1 in (a)]", 1, 15),
    # InsensitiveBinaryComparison.resolveInputType: `in~` is an insensitive equality per item.
    # InsensitiveEquals: its symbol is ":" (InsensitiveBinaryComparisonProcessor.SEQ), its regular one "in".
    ('process where a in~ (1)', eqlmini.EqlSemanticError,
     "second argument of [:] must be [string], found value [1] type [integer]; consider using [in] instead", 1, 15),
    ('process where a in~ ("x", true)', eqlmini.EqlSemanticError, "consider using [in] instead", 1, 15),
    ('process where a : 1', eqlmini.EqlSemanticError,
     "second argument of [:] must be [string], found value [1] type [integer]; consider using [==] instead", 1, 19),
    # TypeResolutions.isNumeric / isBoolean with ES's ParamOrdinal words (FIRST, SECOND; none for Neg, Not).
    ('process where "a" + 1 == 2', eqlmini.EqlSemanticError,
     'first argument of ["a" + 1] must be [numeric], found value ["a"] type [keyword]', 1, 15),
    ('process where -"a" == 1', eqlmini.EqlSemanticError,
     'argument of [-"a"] must be [numeric], found value ["a"] type [keyword]', 1, 15),
    ('process where 1', eqlmini.EqlSemanticError, "Condition expression needs to be boolean, found [INTEGER]", 1, 15),
    ('process where 1 and true', eqlmini.EqlSemanticError,
     "first argument of [1 and true] must be [boolean], found value [1] type [integer]", 1, 15),
    ('process where not "a"', eqlmini.EqlSemanticError,
     'argument of [not "a"] must be [boolean], found value ["a"] type [keyword]', 1, 19),
    ('process where a regex "a\\\\t"', eqlmini.EqlSemanticError, "", 1, 15),
    ('process where a regex "(a"', eqlmini.EqlSemanticError, "", 1, 15),
    ('process where a regex "(a&b)c"', eqlmini.EqlUnsupportedError, "", 1, 15),
    # ES LogicalPlanBuilder.visitSequence: the counts leave out the `sequence by` keys.
    ('sequence [a where true] by x [b where true]', eqlmini.EqlSemanticError,
     "Inconsistent number of join keys specified; expected [1] but found [0]", 1, 30),
    ('sequence by x [a where true] [b where true] by y until [c where true]', eqlmini.EqlSemanticError,
     "Inconsistent number of join keys specified; expected [0] but found [1]", 1, 48),
    ('sequence by length(x) [a where true] [b where true]', eqlmini.EqlSemanticError, "Unsupported join key", 1, 13),
    ('sequence [a where true]', eqlmini.EqlSemanticError, "minimum of 2 queries", 1, 1),
    ('sequence [a where true] ![b where true]', eqlmini.EqlSemanticError, "needs [with maxspan]", 1, 1),
    ('sequence with maxspan=1m ![a where true] ![b where true]', eqlmini.EqlSemanticError, "at least one positive", 1, 1),
    ('sample [a where true] [b where true]', eqlmini.EqlSemanticError, "at least one join key", 1, 1),
    ('sample by x [a where true] ![b where true]', eqlmini.EqlSemanticError, "not allowed in a sample", 1, 28),
    ('sample by x [a where true] [b where true] | head 1', eqlmini.EqlSemanticError, "Pipes are not allowed", 1, 43),
    ('sample by x [a where true] [b where true] [c where true] [d where true] [e where true] [f where true]',
     eqlmini.EqlSemanticError, "at most 5 filters", 1, 1),
    ('process where true | count', eqlmini.EqlUnsupportedError, "Pipe [count] is not supported", 1, 20),
    ('process where true | unique a', eqlmini.EqlUnsupportedError, "Pipe [unique] is not supported", 1, 20),
    ('process where true | haed 3', eqlmini.EqlSemanticError, "Unrecognized pipe [haed], did you mean [head]?", 1, 20),
    ('process where true | head', eqlmini.EqlSemanticError, "Pipe [head] expects exactly one argument but found [0]", 1, 20),
    ('process where true | head -1', eqlmini.EqlSemanticError, "Pipe [head] expects a positive integer but found [-1]", 1, 27),
    ('process where true | tail 1.5', eqlmini.EqlSemanticError, "Pipe [tail] expects a positive integer but found [1.5]",
     1, 27),
    ('process where true | head 1, 2', eqlmini.EqlSemanticError, "Pipe [head] expects exactly one argument but found [2]",
     1, 20),
    ('process where true | heads 1', eqlmini.EqlSemanticError, "Unrecognized pipe [heads], did you mean [head]?", 1, 20),
]


@pytest.mark.parametrize(("text", "error_class", "message", "line", "column"), REJECTED, ids=[r[0] for r in REJECTED])
def test_rejected_with_a_clear_error(text: str, error_class: type, message: str, line: int, column: int) -> None:
    with pytest.raises(error_class) as caught:
        eqlmini.compile(text)
    error = caught.value
    assert message in str(error)
    assert (error.line, error.column) == (line, column), str(error)
    assert str(error).splitlines()[-1].strip() == "^"


ACCEPTED = [
    "process where ?x == ?y",  # an optional field may be unmapped, i.e. null: ES accepts it
    "process where a == null and null != b",
    "process where a < null",
    "sequence with maxspan=1m [a where true] ![b where true] [c where true]",
    "sequence [a where true] with runs=2",
    "sample by x [a where true] [b where true]",
    "sample [a where true] by x [b where true] by y",
    "process where CONCAT(a, \"\") == \"x\"",  # function names resolve without regard to case
    "process where a in (1, 2.5, null)",
    # Mixed-type comparisons are accepted (VerifierTests testQueryOk "Mismatched type, still ok",
    # testBoolean): BinaryComparison only checks that both sides are exact.
    'process where "10" == 10',
    "process where true == 1",
    'process where length(a) == "2"',
    'process where a == "x" and a != 1 and a < true',
    # like/like~ take any constant as its text (ExpressionBuilder: toLikePattern(e.fold().toString())).
    "process where a like 5",
    "process where a like~ (true, 1.5)",
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted(text: str) -> None:
    eqlmini.compile(text)


def test_like_reads_a_constant_as_its_text() -> None:
    # ES ExpressionBuilder: Like(expr, toLikePattern(e.fold().toString())); Java's toString.
    query = eqlmini.compile("any where a like 5 or a like~ (true, 1.5, 1e20)")
    assert str(query.tree.body.where) == 'a like "5" or a like~ ("true", "1.5", "1.0E20")'
    assert query({"a": "5"}) and query({"a": "TRUE"}) and query({"a": "1.0e20"}) and not query({"a": "6"})
