"""Lucene regexp syntax, as Elasticsearch 8 runs it, translated to RE2.

ES's `regex` and `regex~` take Lucene 9 `RegExp` patterns, anchored to the whole value. They
are parsed here as Lucene parses them (same errors, same positions) and emitted as RE2 text,
so matching stays linear in the value. Lucene 9 quirks not copied: `R*` of an empty-language
`R` (`#*`) matches nothing there and "" here, and under `regex~` a lone `()` matches nothing there.
"""

from __future__ import annotations

from typing import Sequence

from .errors import EqlSemanticError, EqlUnsupportedError
from .re2_support import MAX_REPEAT as _MAX_REPEAT
from .re2_support import Matcher
from .re2_support import any_of as _any_of
from .re2_support import esc as _esc
from .re2_support import fullmatcher as _fullmatcher
from .re2_support import scrub as _scrub
from .re2_support import too_many as _too_many

Ranges = tuple[tuple[int, int], ...]  # sorted, disjoint, inclusive code point ranges

_MAX_CP = 0x10FFFF
_ANY: Ranges = ((0, _MAX_CP),)
_NOTHING = r"[^\x00-\x{10FFFF}]"  # RE2 has no empty-language atom; an empty class is one


# ---- parser ---------------------------------------------------------------------------------
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


# ---- RE2 text -------------------------------------------------------------------------------

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


# ---- public API -----------------------------------------------------------------------------

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
