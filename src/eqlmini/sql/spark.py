"""Spark SQL: only what differs from DuckDB's SQL.

Spark reads ``\\`` as an escape inside ``'...'``, quotes names with backquotes, writes
lambdas ``x -> ...``, has ``try_add`` where DuckDB has ``try(a + b)``, and runs ``RLIKE``
on java.util.regex, a find, not a whole-value match: the RE2 text of the Lucene translation
is wrapped in ``\\A(?:...)\\z`` with DOTALL; every construct that translation emits (``(?:``,
classes with escaped punctuation, ``\\x{...}``, counted repeats) means the same in Java.

Case folding: Spark's ``lower`` folds ``İ`` to two characters and a final ``Σ`` to ``ς``,
and follows its own Unicode tables, not Python's; eqlmini folds one character to one
(``patterns.fold``). Against ASCII constants only which characters fold to ASCII matters,
and there ``lower`` agrees once ``İ`` is made ``i`` (checked over every code point by
tests/test_engines.py); otherwise ASCII text is folded by ``lower``, and any other text by
``translate`` with eqlmini's own table, character by character.
"""

from __future__ import annotations

import functools

from ..patterns import fold
from .generator import SqlGenerator

__all__ = ["SparkGenerator"]

_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


@functools.cache
def _fold_table() -> tuple[str, str]:
    """Every character eqlmini's fold changes, and what it becomes (built on first use)."""
    pairs = [(char, fold(char)) for char in map(chr, range(0x110000))
             if char.lower() != char and not "\ud800" <= char <= "\udfff"]
    pairs = [(char, folded) for char, folded in pairs if folded != char]
    return "".join(char for char, _ in pairs), "".join(folded for _, folded in pairs)


class SparkGenerator(SqlGenerator):
    """Spark SQL (3.5, 4.x): the DuckDB generator with Spark's spellings."""

    dialect = "spark"
    TEMPLATES = {
        **SqlGenerator.TEMPLATES,
        "string_type": "STRING",
        "integer_text": "CAST({0} AS STRING)",
        "nan_null": "nanvl({0}, CAST(NULL AS DOUBLE))",
        "fold_ascii": "lower(translate({0}, '\u0130', 'i'))",
        "java_lower": "lower({0})",
        "split_list": "split({0}, ':')",
        "join_list": "array_join({0}, '')",
        "trim_colons": "trim(BOTH ':' FROM {0})",
        "hex_pair": "format_string('%x:%x', {0}, {1})",
        "regex": "({0} RLIKE {1})",
        "regex_text": "(?s)\\A(?:{0})\\z",
        "exists": "exists({0}, {1} -> {2})",
        "filter": "filter({0}, {1} -> {2})",
        "map": "transform({0}, {1} -> {2})",
        "size": "size({0})",
        "list_of": "array({0})",
        "concat_lists": "concat(coalesce({0}, array()), coalesce({1}, array()))",
        "flatten": "flatten(filter({0}, __eqlmini_list -> __eqlmini_list IS NOT NULL))",
        "contains_item": "array_contains({0}, {1})",
        "startsWith": "startswith({0}, {1})",
        "endsWith": "endswith({0}, {1})",
        "position": "instr({0}, {1})",
        "concat": "concat({0})",
        "concat_glue": ", ",
        "add": "try_add(CAST({0} AS BIGINT), CAST({1} AS BIGINT))",
        "subtract": "try_subtract(CAST({0} AS BIGINT), CAST({1} AS BIGINT))",
        "multiply": "try_multiply(CAST({0} AS BIGINT), CAST({1} AS BIGINT))",
        "divide": ("(CASE WHEN {1} = 0 OR ({0} = -9223372036854775808 AND {1} = -1) THEN NULL "
                   "ELSE CAST({0} AS BIGINT) div CAST({1} AS BIGINT) END)"),
    }

    def string(self, text: str) -> str:
        """A Spark string literal: backslash escapes, control characters as ``\\uXXXX``."""
        out = []
        for char in text:
            if char in _ESCAPES:
                out.append(_ESCAPES[char])
            elif ord(char) < 0x20 or ord(char) == 0x7F:
                out.append(f"\\u{ord(char):04x}")
            else:
                out.append(char)
        return "'" + "".join(out) + "'"

    def identifier(self, name: str) -> str:
        """A name in backquotes, a backquote written twice."""
        return "`" + name.replace("`", "``") + "`"

    def template(self, name: str, *args: str) -> str:
        """As the base, but ``fold`` carries eqlmini's whole fold table (built on first use)."""
        if name == "fold":
            (text,) = args
            source, target = _fold_table()
            return (f"(CASE WHEN octet_length({text}) = length({text}) THEN lower({text}) "
                    f"ELSE translate({text}, {self.string(source)}, {self.string(target)}) END)")
        return super().template(name, *args)
