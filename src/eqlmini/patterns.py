"""Wildcard (`:`, `like`) and Lucene-regexp (`regex`) patterns compiled to linear-time matchers.

Every pattern is anchored: it must match the whole value. All work happens when a matcher is
built. Equality, prefix, suffix and substring patterns become `str` operations; the rest runs on
google-re2, whose automata take time linear in the value, so no rule can hang the engine the way
a backtracking `re` pattern can (spec §14). Lucene 9 quirks not copied: `R*` of an empty-language
`R` (`#*`) matches nothing there and "" here, and under `regex~` a lone `()` matches nothing there.
"""

from __future__ import annotations

from typing import Callable, Sequence

import re2

from .errors import EqlSemanticError, EqlUnsupportedError

Matcher = Callable[[str], bool]
Ranges = tuple[tuple[int, int], ...]  # sorted, disjoint, inclusive code point ranges

_MAX_CP = 0x10FFFF
_MAX_REPEAT = 1000  # RE2's ceiling for a count, and for counts multiplied through nesting
_ANY: Ranges = ((0, _MAX_CP),)
_NOTHING = r"[^\x00-\x{10FFFF}]"  # RE2 has no empty-language atom; an empty class is one


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


# ---- RE2 ------------------------------------------------------------------------------------

_OPTIONS = re2.Options()
_OPTIONS.dot_nl = True  # Lucene's `.` and the wildcard `*` cross line breaks
_OPTIONS.log_errors = False  # errors become EqlSemanticError, not noise on stderr
_OPTIONS.never_capture = True  # only yes/no is wanted
# The public fullmatch() builds a match object through a generator (about 3 µs a call); the
# extension's own Match() answers in about 0.5 µs. Use it when this google-re2 build has it.
_ANCHOR_BOTH = getattr(getattr(re2, "_Anchor", None), "ANCHOR_BOTH", None)


def _scrub(text: str) -> str:
    """Join surrogate pairs and replace lone surrogates with U+FFFD, so `text` encodes as UTF-8."""
    try:
        text.encode()
        return text
    except UnicodeEncodeError:  # e.g. a JSON "\ud800" escape
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _fullmatcher(regex: str, fast: bool = True) -> Matcher:
    """Compile `regex` with RE2 and return a whole-value test."""
    try:
        compiled = re2.compile(regex, _OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode() if isinstance(exc.args[0], bytes) else str(exc.args[0])
        if "repetition" in detail:
            raise EqlSemanticError(_too_many(detail)) from None
        raise EqlSemanticError(f"pattern cannot be compiled: {detail}") from None
    low = getattr(getattr(compiled, "_regexp", None), "Match", None)
    if not fast or low is None or _ANCHOR_BOTH is None:
        return lambda value: compiled.fullmatch(_scrub(value)) is not None

    def match(value: str, low=low, anchor=_ANCHOR_BOTH) -> bool:
        try:
            data = value.encode()
        except UnicodeEncodeError:
            data = _scrub(value).encode()
        return low(anchor, data, 0, len(data))[0][0] >= 0
    return match


def _too_many(detail: str) -> str:
    return (f"regex repetition too large ({detail}): eqlmini runs regexes on RE2, which allows "
            f"at most {_MAX_REPEAT} repetitions, nested counts multiplied together")


def _esc(cp: int) -> str:
    """One code point as RE2 text, literal both inside and outside a class."""
    c = chr(cp)
    if c.isascii() and c.isalnum() or c in "_ ":
        return c
    if 0x20 < cp < 0x7F:
        return "\\" + c
    # RE2 rejects a backslash before non-ASCII; \x{...} shows controls, surrogates, unassigned.
    return c if cp > 0x7F and c.isprintable() else f"\\x{{{cp:x}}}"


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
        return lambda value: True
    checks: list[Matcher] = [frozenset(exact).__contains__] if exact else []  # cheapest first
    if prefixes:
        checks.append(lambda value, t=tuple(prefixes): value.startswith(t))
    if suffixes:
        checks.append(lambda value, t=tuple(suffixes): value.endswith(t))
    if inner:
        checks.append(_containing(inner))
    if affixes:
        checks.append(_affixed(affixes))
    if general:
        # A value can only match if it holds each pattern's longest literal run; `in` rejects
        # most values several times faster than RE2 answers.
        needles = [max(p.replace("?", "*").split("*"), key=len) for p in general]
        regex = _fullmatcher("|".join(map(_wildcard_re, general)))
        checks.append(_containing(needles, regex) if all(needles) else regex)
    match = _any_of(checks)
    if not insensitive:
        return match

    def folded(value: str) -> bool:  # fold()'s fast path, inlined: it runs on every event
        lowered = value.lower()
        return match(lowered if len(lowered) == len(value) and "ς" not in lowered
                     else fold(value))
    return folded


def _wildcard_re(pattern: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else _esc(ord(c))
                   for c in _scrub(pattern))


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


def _any_of(checks: list[Matcher]) -> Matcher:
    if len(checks) <= 1:
        return checks[0] if checks else lambda value: False
    frozen = tuple(checks)

    def match(value: str) -> bool:
        for check in frozen:
            if check(value):
                return True
        return False
    return match


# ---- Lucene regexp: parser ------------------------------------------------------------------
# The AST is tuples: ("str", text), ("set", ranges), ("anystr",), ("none",), ("cat", items),
# ("alt", items), ("rep", node, min, max | None), ("and", a, b), ("not", a),
# ("interval", min, max, digits), ("named", name).

def _normalize(ranges: Sequence[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return tuple(out)


def _complement(ranges: Sequence[tuple[int, int]]) -> Ranges:
    out, start = [], 0
    for lo, hi in _normalize(ranges):
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    return tuple(out + [(start, _MAX_CP)] if start <= _MAX_CP else out)


_CLASSES = {"d": ((0x30, 0x39),),
            "s": ((0x09, 0x0A), (0x0D, 0x0D), (0x20, 0x20)),  # no \f, \v or Unicode spaces
            "w": ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))}  # ASCII only
_CLASSES.update({k.upper(): _complement(v) for k, v in _CLASSES.items()})


class _Parser:
    """Lucene 9 `RegExp` grammar with the flags ES passes (all optional syntax on).

    Methods follow Lucene's parse functions so the two read side by side; error messages are
    Lucene's, with positions in UTF-16 units as Java counts them.
    """

    def __init__(self, text: str, insensitive: bool) -> None:
        self.text, self.pos, self.insensitive = text, 0, insensitive

    def error(self, message: str) -> EqlSemanticError:
        return EqlSemanticError(f"invalid regular expression [{self.text}]: {message}")

    def at(self, pos: int | None = None) -> int:
        return len(self.text[: self.pos if pos is None else pos].encode("utf-16-le")) // 2

    def more(self) -> bool:
        return self.pos < len(self.text)

    def peek(self, chars: str) -> bool:
        return self.pos < len(self.text) and self.text[self.pos] in chars

    def match(self, char: str) -> bool:
        found = self.peek(char)
        self.pos += found
        return found

    def next(self) -> str:
        if not self.more():
            raise self.error("unexpected end-of-string")
        self.pos += 1
        return self.text[self.pos - 1]

    def parse(self) -> tuple:
        if not self.text:
            return ("str", "")
        node = self.union_exp()
        if self.more():
            raise self.error(f"end-of-string expected at position {self.at()}")
        return node

    def union_exp(self) -> tuple:
        items = [self.inter_exp()]
        while self.match("|"):
            items.append(self.inter_exp())
        return items[0] if len(items) == 1 else ("alt", tuple(items))

    def inter_exp(self) -> tuple:
        node = self.concat_exp()
        while self.match("&"):
            node = ("and", node, self.concat_exp())
        return node

    def concat_exp(self) -> tuple:
        items = [self.repeat_exp()]
        while self.more() and not self.peek(")|&"):
            items.append(self.repeat_exp())
        return items[0] if len(items) == 1 else ("cat", tuple(items))

    def repeat_exp(self) -> tuple:
        node = self.compl_exp()
        while self.peek("?*+{"):  # quantifiers stack: `a+?` is `(a+)?`
            op = self.next()
            if op != "{":
                node = ("rep", node, int(op == "+"), 1 if op == "?" else None)
                continue
            low = self.integer(required=True)
            high = self.integer(required=False) if self.match(",") else low
            if not self.match("}"):
                raise self.error(f"expected '}}' at position {self.at()}")
            if high is not None and low > high:
                raise self.error(f"invalid repetition range(out of order): {low}..{high}")
            node = ("rep", node, low, high)
        return node

    def integer(self, required: bool) -> int | None:
        start = self.pos
        while self.peek("0123456789"):
            self.pos += 1
        if start == self.pos and required:
            raise self.error(f"integer expected at position {self.at()}")
        digits = self.text[start:self.pos].lstrip("0")[:12]  # big is big; int() caps length
        return int(digits or "0") if start < self.pos else None

    def compl_exp(self) -> tuple:
        return ("not", self.compl_exp()) if self.match("~") else self.char_class_exp()

    def char_class_exp(self) -> tuple:
        if not self.match("["):
            return self.simple_exp()
        negate = self.match("^")
        ranges = list(self.char_class())  # so a `]` in first place is literal
        while self.more() and not self.peek("]"):
            ranges += self.char_class()
        if not self.match("]"):
            raise self.error(f"expected ']' at position {self.at()}")
        return ("set", _complement(ranges) if negate else _normalize(ranges))

    def char_class(self) -> Ranges:
        predefined = self.predefined_class()
        if predefined is not None:
            return predefined
        first = self.char_exp()
        if not self.match("-"):
            return self.folded(first)
        last = self.char_exp()
        if first > last:
            raise self.error(f"invalid range: from ({first}) cannot be > to ({last})")
        return ((first, last),)  # ranges are never case-folded, even under regex~

    def folded(self, cp: int) -> Ranges:
        if self.insensitive and cp < 0x80 and chr(cp).isalpha():  # Lucene folds ASCII only
            other = ord(chr(cp).swapcase())
            return _normalize([(cp, cp), (other, other)])
        return ((cp, cp),)

    def predefined_class(self) -> Ranges | None:
        # As in Lucene, the backslash is eaten even when this returns None: char_exp then
        # reads the escaped character itself.
        if not self.match("\\"):
            return None
        if self.peek("dDsSwW"):
            return _CLASSES[self.next()]
        if self.match("\\"):
            return ((0x5C, 0x5C),)
        if self.more() and self.text[self.pos].isascii() and self.text[self.pos].isalpha():
            letter = self.next()  # Lucene prints the code point: "\116" for "\t"
            raise self.error(f"invalid character class \\{ord(letter)} (\\{letter})")
        return None

    def simple_exp(self) -> tuple:
        if self.match("."):
            return ("set", _ANY)
        if self.match("#"):
            return ("none",)
        if self.match("@"):
            return ("anystr",)
        if self.match('"'):
            end = self.text.find('"', self.pos)  # no escapes inside "..."
            if end < 0:
                self.pos = len(self.text)
                raise self.error(f"expected '\"' at position {self.at()}")
            text, self.pos = self.text[self.pos:end], end + 1
            return ("str", text)
        if self.match("("):
            if self.match(")"):
                return ("str", "")
            node = self.union_exp()
            if not self.match(")"):
                raise self.error(f"expected ')' at position {self.at()}")
            return node
        if self.match("<"):
            return self.interval()
        predefined = self.predefined_class()
        return ("set", predefined) if predefined else ("str", chr(self.char_exp()))

    def interval(self) -> tuple:
        end = self.text.find(">", self.pos)
        if end < 0:
            self.pos = len(self.text)
            raise self.error(f"expected '>' at position {self.at()}")
        body, self.pos = self.text[self.pos:end], end + 1
        if "-" not in body:
            return ("named", body)
        low_text, _, high_text = body.partition("-")
        low, high = _java_int(low_text), _java_int(high_text)
        if low is None or high is None:
            raise self.error(f"interval syntax error at position {self.at(end)}")
        # Bounds spelled equally wide (Lucene counts a "+" too) fix the width: <01-10>.
        digits = len(low_text) if len(low_text) == len(high_text) else 0
        return ("interval", min(low, high), max(low, high), digits)

    def char_exp(self) -> int:
        self.match("\\")
        return ord(self.next())


def _java_int(text: str) -> int | None:
    """`Integer.parseInt`, or None where it throws: optional `+`, decimal digits, 32 bits."""
    body = text[1:] if text.startswith("+") else text
    if not body.isdecimal():
        return None
    body = body.lstrip("0") or "0"  # int() refuses very long digit strings
    return int(body) if len(body) <= 10 and int(body) < 2**31 else None


# ---- Lucene regexp: RE2 text ----------------------------------------------------------------

def _emit(node: tuple, insensitive: bool) -> tuple[str, bool]:
    """RE2 text for `node`, and whether that text is one atom (safe to quantify unwrapped)."""
    kind = node[0]
    if kind == "str":
        chars = [_char_re(ord(c), insensitive) for c in node[1]]
        return "".join(chars) or "(?:)", len(chars) <= 1
    if kind == "set":
        return _set_re(node[1]), True
    if kind in ("anystr", "none"):
        return (".*", False) if kind == "anystr" else (_NOTHING, True)
    if kind == "cat":
        return "".join(_emit(item, insensitive)[0] for item in node[1]), False
    if kind == "alt":
        return "(?:" + "|".join(_emit(item, insensitive)[0] for item in node[1]) + ")", True
    if kind == "rep":
        # Quantify only an atom or a group: RE2 rejects a raw `a**`, Lucene stacks quantifiers.
        text, atom = _emit(node[1], insensitive)
        return (text if atom else f"(?:{text})") + _quantifier(node[2], node[3]), False
    if kind == "interval":
        return _interval_re(node[1], node[2], node[3]), False
    if kind == "named":
        raise EqlSemanticError(f"invalid regular expression: '{node[1]}' not found")
    raise EqlUnsupportedError(
        "regex intersection '&' and complement '~' have no RE2 equivalent; eqlmini supports "
        "them only between whole alternatives of a pattern, as in '~(a.*)' or '.*a.*&.*b.*'")


def _char_re(cp: int, insensitive: bool) -> str:
    if insensitive and cp < 0x80 and chr(cp).isalpha():
        return f"[{chr(cp).lower()}{chr(cp).upper()}]"
    return _esc(cp)


def _set_re(ranges: Ranges) -> str:
    if ranges == _ANY or not ranges:
        return "." if ranges else _NOTHING
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _esc(ranges[0][0])
    return "[" + "".join(_esc(lo) if lo == hi else f"{_esc(lo)}-{_esc(hi)}"
                         for lo, hi in ranges) + "]"


def _quantifier(low: int, high: int | None) -> str:
    if max(low, high or 0) > _MAX_REPEAT:
        raise EqlSemanticError(_too_many(f"{{{low},{'' if high is None else high}}}"))
    if high is None:
        return {0: "*", 1: "+"}.get(low, f"{{{low},}}")
    return "?" if (low, high) == (0, 1) else f"{{{low}}}" if low == high else f"{{{low},{high}}}"


def _interval_re(low: int, high: int, digits: int) -> str:
    """Lucene's `<low-high>`: `digits` wide, or else with any leading zeros."""
    if digits:
        return _digits_re(str(low).zfill(digits), str(high).zfill(digits))
    widths = [_digits_re(str(max(low, 10 ** (n - 1) if n > 1 else 0)), str(min(high, 10**n - 1)))
              for n in range(len(str(low)), len(str(high)) + 1)]
    return "0*(?:" + "|".join(widths) + ")"


def _digits_re(low: str, high: str) -> str:
    """Digit strings as long as `low` and `high` whose value lies between the two."""
    if not low or low[0] == high[0]:
        return low[:1] + (_digits_re(low[1:], high[1:]) if low else "")
    rest = len(low) - 1
    tail = "[0-9]" + (f"{{{rest}}}" if rest > 1 else "") if rest else ""
    if low[1:] == "0" * rest and high[1:] == "9" * rest:
        return f"[{low[0]}-{high[0]}]{tail}"
    parts = [low[0] + _digits_re(low[1:], "9" * rest)]
    if int(low[0]) + 1 < int(high[0]):
        parts.append(f"[{int(low[0]) + 1}-{int(high[0]) - 1}]{tail}")
    parts.append(high[0] + _digits_re("0" * rest, high[1:]))
    return "(?:" + "|".join(parts) + ")"


# ---- Lucene regexp: public API --------------------------------------------------------------

def _parse(pattern: str, insensitive: bool) -> tuple:
    pattern = _scrub(pattern)  # as values are in _fullmatcher
    try:
        return _Parser(pattern, insensitive).parse()
    except RecursionError:
        raise EqlSemanticError(f"regular expression nests too deeply: [{pattern}]") from None


def lucene_to_re2(pattern: str, insensitive: bool) -> str:
    """Translate one Lucene regexp (ES `regex`; `regex~` when `insensitive`) into RE2 syntax.

    The result is for a whole-value match with RE2's `dot_nl` option. `regex~` folds only single
    ASCII letters (`a` becomes `[aA]`), never ranges, as Lucene does. Raises EqlSemanticError
    where Lucene does and for counts above RE2's 1000, and EqlUnsupportedError for `&` and `~`.
    """
    return _emit(_parse(pattern, insensitive), insensitive)[0]


def regex_matcher(patterns: Sequence[str], insensitive: bool) -> Matcher:
    """Return a test that is true when the Lucene regexp `"|".join(patterns)` matches the value.

    ES joins the list before parsing, so `("a", "")` is an error and `("", "a")` is the literal
    `|a`. `&` and `~` work between whole alternatives (`~(a.*)`, `x.*&.*y|z`), each piece tested
    on its own; anywhere else they raise EqlUnsupportedError.
    """
    return _build(_parse("|".join(patterns), insensitive), insensitive)


def _has_bool(node: tuple) -> bool:
    if node[0] in ("and", "not"):
        return True
    if node[0] in ("cat", "alt"):
        return any(map(_has_bool, node[1]))
    return node[0] == "rep" and _has_bool(node[1])


def _build(node: tuple, insensitive: bool) -> Matcher:
    kind = node[0]
    if kind == "and":
        first, second = _build(node[1], insensitive), _build(node[2], insensitive)
        return lambda value: first(value) and second(value)
    if kind == "not":
        inner = _build(node[1], insensitive)
        return lambda value: not inner(value)
    if kind == "alt" and _has_bool(node):
        plain = tuple(item for item in node[1] if not _has_bool(item))
        checks = [_build(item, insensitive) for item in node[1] if _has_bool(item)]
        if plain:  # the ordinary branches stay one RE2 program
            checks.insert(0, _build(("alt", plain), insensitive))
        return _any_of(checks)
    return _fullmatcher(_emit(node, insensitive)[0])  # EqlUnsupportedError for a nested & or ~
