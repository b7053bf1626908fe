"""Whole-value RE2 matchers: compile, escape, and test any Python string, surrogates included.

Shared by the wildcard matchers (:mod:`patterns`) and the Lucene regexp translation
(:mod:`lucene`). RE2's automata take time linear in the value, so no pattern can hang the
engine the way a backtracking `re` pattern can (spec §14).
"""

from __future__ import annotations

from typing import Callable

import re2

from .errors import EqlSemanticError

Matcher = Callable[[str], bool]

MAX_REPEAT = 1000  # RE2's ceiling for a count, and for counts multiplied through nesting

_OPTIONS = re2.Options()
_OPTIONS.dot_nl = True  # Lucene's `.` and the wildcard `*` cross line breaks
_OPTIONS.log_errors = False  # errors become EqlSemanticError, not noise on stderr
_OPTIONS.never_capture = True  # only yes/no is wanted
# The public fullmatch() builds a match object through a generator (about 3 µs a call); the
# extension's own Match() answers in about 0.5 µs. Use it when this google-re2 build has it.
_ANCHOR_BOTH = getattr(getattr(re2, "_Anchor", None), "ANCHOR_BOTH", None)


def scrub(text: str) -> str:
    """Join surrogate pairs and replace lone surrogates with U+FFFD, so `text` encodes as UTF-8."""
    try:
        text.encode()
        return text
    except UnicodeEncodeError:  # e.g. a JSON "\ud800" escape
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def fullmatcher(regex: str, fast: bool = True) -> Matcher:
    """Compile `regex` with RE2 and return a whole-value test."""
    try:
        compiled = re2.compile(regex, _OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode() if isinstance(exc.args[0], bytes) else str(exc.args[0])
        if "repetition" in detail:
            raise EqlSemanticError(too_many(detail)) from None
        raise EqlSemanticError(f"pattern cannot be compiled: {detail}") from None
    low = getattr(getattr(compiled, "_regexp", None), "Match", None)
    if not fast or low is None or _ANCHOR_BOTH is None:
        return lambda value: compiled.fullmatch(scrub(value)) is not None

    def match(value: str, low=low, anchor=_ANCHOR_BOTH) -> bool:
        try:
            data = value.encode()
        except UnicodeEncodeError:
            data = scrub(value).encode()
        return low(anchor, data, 0, len(data))[0][0] >= 0
    match.rebuild = (fullmatcher, (regex, fast))  # type: ignore[attr-defined]  # for eqlmini.pack_pickle
    return match


def too_many(detail: str) -> str:
    """The message for a repetition count above RE2's limit."""
    return (f"regex repetition too large ({detail}): eqlmini runs regexes on RE2, which allows "
            f"at most {MAX_REPEAT} repetitions, nested counts multiplied together")


def esc(cp: int) -> str:
    """One code point as RE2 text, literal both inside and outside a class."""
    c = chr(cp)
    if c.isascii() and c.isalnum() or c in "_ ":
        return c
    if 0x20 < cp < 0x7F:
        return "\\" + c
    # RE2 rejects a backslash before non-ASCII; \x{...} shows controls, surrogates, unassigned.
    return c if cp > 0x7F and c.isprintable() else f"\\x{{{cp:x}}}"


def any_of(checks: list[Matcher]) -> Matcher:
    """A test that is true when any of `checks` is, tried in order; false when there are none."""
    if len(checks) <= 1:
        return checks[0] if checks else lambda value: False
    frozen = tuple(checks)

    def match(value: str) -> bool:
        for check in frozen:
            if check(value):
                return True
        return False
    return match
