"""Compile-time rejections: what Elasticsearch rejects, eqlmini rejects with its message."""

from __future__ import annotations

import pytest

import eqlmini

REJECTED = [
    # (query, error class, message fragment, line, column)
    ('process where foo(a)', eqlmini.EqlSemanticError, "Unknown function [foo]", 1, 15),
    ('process where startWith(a, "x")', eqlmini.EqlSemanticError, "did you mean [startsWith]?", 1, 15),
    ('process where length~(a) > 1', eqlmini.EqlSemanticError, "does not support case-insensitive", 1, 15),
    ('process where startsWith(a)', eqlmini.EqlSemanticError, "expects exactly two arguments", 1, 15),
    ('process where startsWith(a, 1)', eqlmini.EqlSemanticError, "must be [string]", 1, 15),
    ('process where arrayContains(a, "x")', eqlmini.EqlSemanticError, "Unknown function [arrayContains]", 1, 15),
    ('process where wildcard(a, "x*")', eqlmini.EqlSemanticError, "Unknown function [wildcard]", 1, 15),
    ('process where a : 1', eqlmini.EqlSemanticError, "consider using [==] instead", 1, 19),
    ('process where a like (1, "x")', eqlmini.EqlSemanticError, "must be [string]", 1, 23),
    ('process where a regex true', eqlmini.EqlSemanticError, "must be [string]", 1, 23),
    ('process where length(a) : "x"', eqlmini.EqlSemanticError, "1st argument", 1, 15),
    ('process where a : b', eqlmini.EqlSyntaxError, "unexpected 'b'", 1, 19),
    ('process where a == b', eqlmini.EqlSemanticError, "Comparisons against fields", 1, 15),
    ('process where length(a) < length(b)', eqlmini.EqlSemanticError, "Comparisons against fields", 1, 15),
    ('process where a in (b, "x")', eqlmini.EqlSemanticError, "Comparisons against fields", 1, 15),
    ('process where a in (1, "x")', eqlmini.EqlSemanticError, "3rd argument", 1, 24),
    ('process where length(a) == "x"', eqlmini.EqlSemanticError, "must be [number]", 1, 28),
    ('process where "a" + 1 == 2', eqlmini.EqlSemanticError, "must be [numeric]", 1, 15),
    ('process where 1', eqlmini.EqlSemanticError, "Condition expression needs to be boolean", 1, 15),
    ('process where 1 and true', eqlmini.EqlSemanticError, "must be [boolean]", 1, 15),
    ('process where a regex "a\\\\t"', eqlmini.EqlSemanticError, "", 1, 15),
    ('process where a regex "(a"', eqlmini.EqlSemanticError, "", 1, 15),
    ('process where a regex "(a&b)c"', eqlmini.EqlUnsupportedError, "", 1, 15),
    ('sequence [a where true] by x [b where true]', eqlmini.EqlSemanticError, "Inconsistent number of join keys", 1, 1),
    ('sequence by x [a where true] [b where true] by y until [c where true]', eqlmini.EqlSemanticError,
     "Inconsistent number of join keys", 1, 1),
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
    ('process where true | head', eqlmini.EqlSemanticError, "exactly one argument", 1, 20),
    ('process where true | head -1', eqlmini.EqlSemanticError, "non-negative integer", 1, 27),
    ('process where true | tail 1.5', eqlmini.EqlSemanticError, "non-negative integer", 1, 27),
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
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted(text: str) -> None:
    eqlmini.compile(text)
