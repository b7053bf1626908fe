"""Wildcard (`:`, `like`) and Lucene-regexp (`regex`) patterns compiled to linear-time matchers.

Every pattern is anchored: it must match the whole value. All work happens when a matcher is
built. Equality, prefix, suffix and substring patterns become `str` operations; the rest runs on
google-re2 (:mod:`re2_support`), whose automata take time linear in the value (spec §14).
Wildcards are compiled here; Lucene regexps are translated in :mod:`lucene`, and its
`regex_matcher` and `lucene_to_re2` are re-exported so callers need only this module.
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

from . import limits
from .lucene import lucene_to_re2, regex_matcher
from .re2_support import Matcher
from .re2_support import esc as _esc
from .re2_support import fullmatcher as _fullmatcher
from .re2_support import scrub as _scrub
from .values import texts

__all__ = ["fold", "lucene_to_re2", "regex_matcher", "wildcard_matcher"]


def fold(value: str) -> str:
    """Lowercase `value` one code point at a time; the result always has the same length.

    Each character gets Java's `Character.toLowerCase` (the simple UnicodeData mapping): not
    `str.casefold` (`ß` stays `ß`) and not plain `str.lower`, whose full mapping turns `İ` into
    two characters and a word-final `Σ` into `ς`; here `İ` becomes `i` and `Σ` always `σ`. Both
    sides are folded, so `?` still matches one character. Elasticsearch differs at the edges:
    ES 8's case-insensitive term and wildcard queries pair ASCII letters only (`É` and `é` stay
    apart there), and newer ES pairs each character with all its case variants (`ς` meets `σ`).
    """
    lowered = value.lower()
    # lower() is the per-character mapping unless it grew the string (only U+0130 İ does) or
    # applied the final-sigma rule (then it produced a ς). `"ς" in s` is O(1) on Latin-1 text.
    if len(lowered) == len(value) and "ς" not in lowered:
        return lowered
    return "".join([c.lower()[0] for c in value])


# ---- wildcards ------------------------------------------------------------------------------

def wildcard_matcher(patterns: Sequence[str], insensitive: bool) -> Matcher:
    """Return a test that is true when any of `patterns` matches the whole value.

    `*` matches any run of characters, `?` exactly one code point; everything else, backslash,
    `%` and `_` included, is literal (spec §4). With `insensitive`, patterns and value are
    compared after `fold`.
    """
    exact, prefixes, suffixes, inner, affixes, general = set(), [], [], [], [], []
    for pattern in patterns:
        p = fold(pattern) if insensitive else pattern
        while "**" in p:  # a run of stars means what one star means
            p = p.replace("**", "*")
        stars = p.count("*")
        if "?" in p or stars > 2 or (stars == 2 and not p[0] == p[-1] == "*"):
            general.append(p)
        elif stars == 0:
            exact.add(p)
        elif stars == 2:
            inner.append(p[1:-1])
        else:
            pre, suf = p.split("*")
            if not suf:
                prefixes.append(pre)
            elif not pre:
                suffixes.append(suf)
            else:
                affixes.append((pre, suf, len(p) - 1))
    if "" in prefixes:  # a bare `*`
        prefixes, exact, suffixes, inner, affixes, general = [""], set(), [], [], [], []
    checks: list[tuple[str, object]] = []  # (test on `v`, the constant it uses), cheapest first
    if exact:
        checks.append(("v in {}", frozenset(exact)))
    if prefixes:
        checks.append(("v.startswith({})", tuple(prefixes)))
    if suffixes:
        checks.append(("v.endswith({})", tuple(suffixes)))
    checks.extend(("{} in v", needle) for needle in inner)
    if affixes:
        checks.append(("{}(v)", _affixed(affixes)))
    # RE2 answers in one pass while its DFA fits its memory budget; hundreds of patterns in one
    # program overflow it and each match falls back to a far slower engine (450 patterns: 1 ms ->
    # 844 ms). So patterns go to RE2 in groups of limits.MAX_WILDCARDS_PER_REGEX.
    group = limits.MAX_WILDCARDS_PER_REGEX
    for start in range(0, len(general), group):
        chunk = general[start:start + group]
        # A value can only match if it holds each pattern's longest literal run; `in` rejects
        # most values several times faster than RE2 answers.
        needles = [max(p.replace("?", "*").split("*"), key=len) for p in chunk]
        regex = _fullmatcher("|".join(map(_wildcard_re, chunk)))
        checks.append(("{}(v)", _containing(needles, regex) if all(needles) else regex))
    return _generate(checks, insensitive)


# The matcher is one generated function, so that a value meets every check without a Python
# call per check. Pattern text reaches the source only as constants: `k0`, `k1`, ... are
# arguments of the factory, never spelled out.
_FOLD = """\
w = v.lower()
v = w if len(w) == len(v) and "\u03c2" not in w else fold(v)
"""
_TEMPLATE = """\
def factory({names}):
    def match(v):
{fold_one}        return {test}

    def match_any(values):
        for v in values:
            if v.__class__ is not str:
                if match_any(texts(v)):  # a number, a nested list, a numpy value, a null ...
                    return True
                continue
{fold_any}            if {test}:
                return True
        return False

    match.any = match_any
    return match
"""


def _generate(checks: list[tuple[str, object]], insensitive: bool) -> Matcher:
    """Build ``match(value)`` and its list twin ``match.any(values)`` from ``checks``.

    ``match.any`` takes what a field holds as a list (it may nest, hold nulls or numbers)
    and is true when any value matches, with numbers and booleans read as their text.
    """
    factory = _factory(tuple(template for template, _ in checks), insensitive)
    return factory(*(constant for _, constant in checks))


@functools.lru_cache(maxsize=256)
def _factory(templates: tuple[str, ...], insensitive: bool) -> Callable[..., Matcher]:
    """The compiled factory for one shape of checks; many pattern lists share a shape."""
    names = [f"k{i}" for i in range(len(templates))]
    test = " or ".join(template.format(name) for template, name in zip(templates, names)) or "False"
    fold_lines = _FOLD.splitlines(keepends=True) if insensitive else []
    source = _TEMPLATE.format(names=", ".join(names), test=test,
                              fold_one="".join(" " * 8 + line for line in fold_lines),
                              fold_any="".join(" " * 12 + line for line in fold_lines))
    namespace = {"fold": fold, "texts": texts}
    exec(compile(source, "<eqlmini-wildcard>", "exec"), namespace)  # noqa: S102 - constants only
    return namespace["factory"]


class _WildcardRegex(dict):  # type: ignore[type-arg]
    """A ``str.translate`` table: a wildcard pattern's code point -> its RE2 text, filled in as
    code points are met (one C call per pattern instead of a Python call per character)."""

    def __missing__(self, code: int) -> str:
        text = ".*" if code == 0x2A else "." if code == 0x3F else _esc(code)
        if code < 0x3000:  # remembers the common scripts, not every code point a hostile rule names
            self[code] = text
        return text


_WILDCARD_REGEX = _WildcardRegex()


def _wildcard_re(pattern: str) -> str:
    return _scrub(pattern).translate(_WILDCARD_REGEX)


def _containing(needles: list[str], then: Matcher | None = None) -> Matcher:
    """Whether `value` contains any of `needles` and then, if given, passes `then`."""
    if len(needles) == 1:
        needle = needles[0]
        if then is None:
            return lambda value: needle in value
        return lambda value: needle in value and then(value)
    frozen = tuple(needles)

    def match(value: str) -> bool:
        for needle in frozen:
            if needle in value:
                return then is None or then(value)
        return False
    return match


def _affixed(affixes: list[tuple[str, str, int]]) -> Matcher:
    """Whether `value` starts and ends as one of `(prefix, suffix, min_length)` demands."""
    if len(affixes) == 1:  # `size` keeps `ab*ba` from matching "aba"
        (pre, suf, size), = affixes
        return lambda value: len(value) >= size and value.startswith(pre) and value.endswith(suf)
    frozen = tuple(affixes)
    starts, ends = tuple(a[0] for a in frozen), tuple(a[1] for a in frozen)

    def match(value: str) -> bool:
        if value.startswith(starts) and value.endswith(ends):  # rejects most values at once
            for pre, suf, size in frozen:
                if len(value) >= size and value.startswith(pre) and value.endswith(suf):
                    return True
        return False
    return match

