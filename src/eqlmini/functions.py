"""The built-in functions of Elasticsearch EQL: one table with names, arity, `~` variants, argument types and implementations.

The verifier calls :func:`resolve` (name, ``~``, arity) and :func:`check_arguments` (literal
argument types); the compiler takes runtime functions from :meth:`Function.build` and folds
constant calls with :func:`evaluate`. A runtime function takes one scalar (``str``, ``int``,
``float``, ``bool``) or ``None`` per argument (the compiler iterates multi-valued fields).

Nulls (spec §5, §8): a null or wrongly typed value in a required argument gives null;
``concat`` is null if any argument is, ``cidrMatch`` if any block is. An explicit null in an
optional argument means its default (``number(s, null)``, ``indexOf(s, t, null)``,
``substring(s, i, null)``); ``substring(s, null)`` is ``s`` as in ES's processor.
Where Elasticsearch raises (integer division or modulo by zero, long overflow,
``number("abc")``, a bad IP in ``cidrMatch``, a greedy ``between`` whose last ``right``
precedes ``left``) the runtime function returns ``None``, so one odd event cannot stop a
search, while :func:`evaluate` raises :class:`EqlSemanticError` for constants.

Numbers follow Java: ``int op int`` stays integral (64-bit, overflow is an error), division
truncates toward zero (``-7 / 2 == -3``), ``%`` has the dividend's sign, and a float operand
gives IEEE doubles (``4 / 0.0`` is Infinity; ``modulo(10.5, 3)`` is 1.5: ES's source uses
Java's ``%``, its docs' "floats return 0" do not hold). Lengths count code points.
``between~`` and ``indexOf~`` search lower-cased copies made as Java's
``toLowerCase(Locale.ROOT)`` makes them (``str.lower``: İ becomes two characters), so positions
after an İ shift as in ES; the other ``~`` functions fold with ``patterns.fold``.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import math
import re
import unicodedata
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

from . import ast
from .errors import EqlSemanticError
from .patterns import (
    fold as _fold,  # the `~` variants fold both sides, as `:` and `like~` do
)
from .values import to_text as _java_string

__all__ = ["FUNCTIONS", "NOT_CONSTANT", "Function", "check_arguments", "evaluate", "literal_type", "ordinal", "resolve"]

Implementation = Callable[..., object]

NOT_CONSTANT = object()
"""Marks an argument that is not a compile-time constant in ``Function.build(..., constants)``."""


class _Fault(Exception):
    """Elasticsearch reports an error for these arguments: null at run time, an error when folding."""


@dataclass(frozen=True)
class Function:
    """One built-in function: its signature and a factory for its implementation."""

    name: str                                  # canonical spelling, used in messages
    min_args: int
    max_args: int | None                       # None: any number
    has_insensitive: bool                      # `name~(...)` is allowed
    param_types: tuple[frozenset[str], ...]    # accepted types per position; the last repeats
    return_type: str                           # "string", "number" or "boolean"
    implement: Callable[[bool], Implementation]  # insensitive -> strict function (raises _Fault)
    fallible: bool = False                     # may raise _Fault, so build() guards it
    specialize: Callable[[bool, tuple[object, ...]], Implementation | None] | None = None
    check: Callable[[ast.Call], None] | None = None  # extra compile-time check of the call

    def build(self, insensitive: bool = False, constants: Sequence[object] = ()) -> Implementation:
        """The runtime function (errors become ``None``); it takes every argument of the call.

        ``constants`` may give the value of each argument known at compile time, with
        ``NOT_CONSTANT`` elsewhere; a function may then precompute (cidrMatch parses its
        blocks once). The result has the same signature either way.
        """
        function = self.specialize(insensitive, tuple(constants)) if self.specialize and constants else None
        function = function or self.implement(insensitive)
        return _lenient(function) if self.fallible else function


def _lenient(function: Implementation) -> Implementation:
    def lenient(*args: object) -> object:
        try:
            return function(*args)
        except _Fault:
            return None
    return lenient


def evaluate(call: ast.Call, function: Function, args: Sequence[object]) -> object:
    """Fold a call whose arguments are all constants; raise where Elasticsearch would."""
    try:
        return function.implement(call.insensitive)(*args)
    except _Fault as fault:
        raise EqlSemanticError(f"Cannot evaluate [{call}]: {fault}", call.span) from None


# --------------------------------------------------------------------------- arithmetic
_NUMBERS = (int, float)
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1


def _int_div(left: int, right: int) -> int:
    if right == 0:
        raise _Fault("/ by zero")
    quotient = abs(left) // abs(right)
    return quotient if (left < 0) == (right < 0) else -quotient


def _float_div(left: float, right: float) -> float:
    if right != 0:
        return left / right
    return math.nan if left == 0 or math.isnan(left) else math.copysign(math.inf, left) * math.copysign(1.0, right)


def _float_mod(left: float, right: float) -> float:
    try:
        return math.fmod(left, right)
    except ValueError:  # x % 0.0 and inf % y are NaN in Java
        return math.nan


def _arithmetic(int_op: Callable[[int, int], int], float_op: Callable[[float, float], float]) -> Implementation:
    def apply(left: object, right: object) -> object:
        if type(left) not in _NUMBERS or type(right) not in _NUMBERS:  # null or not a number
            return None
        if type(left) is float or type(right) is float:
            return float_op(float(left), float(right))  # type: ignore[arg-type]
        result = int_op(left, right)  # type: ignore[arg-type]
        if not _LONG_MIN <= result <= _LONG_MAX:
            raise _Fault("long overflow")
        return result
    return apply


# --------------------------------------------------------------------------- strings
def _index(value: int | float) -> int:
    """Java's ``Number.intValue()`` for a position argument."""
    if type(value) is int:
        return value
    return 0 if math.isnan(value) else int(max(min(value, 2**31 - 1), -(2**31)))


def _between(insensitive: bool) -> Implementation:
    # ES StringUtils.between: the search runs on toLowerCase(Locale.ROOT) copies (str.lower, which
    # like Java turns İ into two characters), and the positions found cut the original string.
    def between(source: object, left: object, right: object, greedy: object = False) -> object:
        if type(source) is not str or type(left) is not str or type(right) is not str or type(greedy) is not bool:
            return None
        if not source or not left or not right:
            return source
        text, left, right = (source.lower(), left.lower(), right.lower()) if insensitive else (source, left, right)
        found = text.find(left)
        if found < 0:
            return ""
        start = found + len(left)
        end = text.rfind(right) if greedy else text.find(right, start)
        if end < 0:
            return ""
        if end < start or end > len(source):  # Java's substring throws
            raise _Fault(f"begin {start}, end {end}, length {len(source)}")
        return source[start:end]
    return between


def _string_test(test: Callable[[str, str], bool]) -> Callable[[bool], Implementation]:
    """startsWith, endsWith, stringContains: a two-string predicate with a `~` variant."""
    def implement(insensitive: bool) -> Implementation:
        def run(source: object, sub: object) -> object:
            if type(source) is not str or type(sub) is not str:
                return None
            return test(_fold(source), _fold(sub)) if insensitive else test(source, sub)
        return run
    return implement


def _index_of(insensitive: bool) -> Implementation:
    # Java's String.indexOf(sub, start); `~` lowers both with toLowerCase(Locale.ROOT) (str.lower),
    # so positions after an İ shift as they do in ES.
    def index_of(source: object, sub: object, start: object = 0) -> object:
        if type(source) is not str or type(sub) is not str:
            return None
        if start is None:
            start = 0
        elif type(start) not in _NUMBERS:
            return None
        if insensitive:
            source, sub = source.lower(), sub.lower()
        begin = max(_index(start), 0)  # type: ignore[arg-type]
        if not sub:
            return min(begin, len(source))  # "abc".indexOf("", 10) is 3
        found = source.find(sub, begin)
        return None if found < 0 else found
    return index_of


def _concat(*values: object) -> object:
    if any(value is None for value in values):
        return None
    return "".join(map(_java_string, values))


def _substring(source: object, start: object, end: object = None) -> object:
    if type(source) is not str:
        return None
    if start is None:
        return source
    if type(start) not in _NUMBERS or (end is not None and type(end) not in _NUMBERS):
        return None
    return source[_index(start): None if end is None else _index(end)]  # type: ignore[arg-type]


# --------------------------------------------------------------------------- number()
_JAVA_DOUBLE = re.compile(r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?)")
_JAVA_HEX_DOUBLE = re.compile(r"([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+)[fFdD]?")
_JAVA_SPACE = "".join(map(chr, range(33)))  # what Java's String.trim() removes


def _java_digit(char: str) -> int:
    """Java's ``Character.digit`` value of one character: any Unicode decimal digit, then ASCII
    and fullwidth Latin letters from 10; -1 for anything else."""
    if char.isascii():
        return int(char) if char.isdigit() else ord(char.lower()) - 87 if char.isalpha() else -1
    if "\uff21" <= char <= "\uff3a" or "\uff41" <= char <= "\uff5a":
        return (ord(char) - 0xFF21) % 0x20 + 10
    return unicodedata.decimal(char, -1)


def _parse_long(text: str, radix: int) -> int | None:
    """Java's ``Long.parseLong(text, radix)``: a sign, then digits of the radix, within 64 bits."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not 2 <= radix <= 36 or not body or len(body) > 70:
        return None
    value = 0
    for char in body:
        digit = _java_digit(char)
        if not 0 <= digit < radix:
            return None
        value = value * radix + digit
    value = -value if text.startswith("-") else value
    return value if _LONG_MIN <= value <= _LONG_MAX else None


def _parse_decimal(text: str) -> int | float | None:
    """ES's parseDecimal: ``Long.valueOf`` (Unicode digits too), else ``Double.valueOf``
    (trimmed, ASCII digits, hex floats such as ``0x1p3``)."""
    whole = _parse_long(text, 10)
    if whole is not None:
        return whole
    text = text.strip(_JAVA_SPACE)
    if _JAVA_DOUBLE.fullmatch(text):
        return float(text.rstrip("fFdD"))
    hexadecimal = _JAVA_HEX_DOUBLE.fullmatch(text)
    if hexadecimal:
        return float.fromhex(hexadecimal.group(1) + "0x" + hexadecimal.group(2))
    return None


def _number(value: object, base: object = None) -> object:
    if value is None:
        return None
    if type(value) is not str:
        raise _Fault(f"A string/char is required; received [{value}]")
    hex_prefix = value.startswith("0x")
    if base is not None and type(base) is not int:
        raise _Fault(f"An integer base is required; received [{base}]")
    radix = (16 if hex_prefix else 10) if base is None else base
    text = value[2:] if hex_prefix and radix == 16 else value
    result = _parse_decimal(text) if radix == 10 else _parse_long(text, radix)
    if result is None:
        raise _Fault(f"Unable to convert [{text}] to number of base [{radix}]")
    return result


# --------------------------------------------------------------------------- cidrMatch()
_V4_MAPPED = 0xFFFF << 32  # IPv4 lives in ::ffff:0:0/96, so v4 and v6 compare in one space


def _ip_value(text: object) -> int:
    if type(text) is not str:
        raise _Fault(f"A string is required; received [{text}]")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise _Fault(f"[{text}] is not an IP string literal") from None
    return int(address) | _V4_MAPPED if address.version == 4 else int(address)


@functools.lru_cache(maxsize=1024)
def _cidr_range(block: object) -> tuple[int, int]:
    """Lowest and highest address of a CIDR block (or of one address), in the v6 space.

    Blocks parse as ES's ``InetAddresses.parseCidr``: ``address/prefix`` split on ``/``, the
    prefix read by ``Integer.parseInt`` (so ``/+8`` is ``/8``), and an IPv4-mapped IPv6 address
    with a prefix rejected (its prefix could be meant for either family).
    """
    if type(block) is not str or "/" not in block:
        value = _ip_value(block)
        return value, value
    fields = block.split("/")
    while len(fields) > 1 and not fields[-1]:  # Java's split drops trailing empty strings
        fields.pop()
    prefix = _parse_long(fields[-1], 10) if len(fields) == 2 else None
    if len(fields) != 2:
        raise _Fault(f"Expected [ip/prefix] but was [{block}]")
    try:
        address = ipaddress.ip_address(fields[0])
    except ValueError:
        raise _Fault(f"[{fields[0]}] is not an IP string literal") from None
    if address.version == 6 and address.ipv4_mapped is not None:
        raise _Fault(f"CIDR notation is not allowed with IPv6-mapped IPv4 address [{fields[0]}]")
    if prefix is None or not 0 <= prefix <= address.max_prefixlen:
        raise _Fault(f"[{block}] is not a valid CIDR block")
    network = ipaddress.ip_network((address, prefix), strict=False)
    mapped = _V4_MAPPED if network.version == 4 else 0
    return int(network.network_address) | mapped, int(network.broadcast_address) | mapped


def _in_ranges(address: object, ranges: Sequence[tuple[int, int]]) -> object:
    if address is None:
        return None
    value = _ip_value(address)
    return any(low <= value <= high for low, high in ranges)


def _cidr_match(address: object, *blocks: object) -> object:
    if address is None or any(block is None for block in blocks):
        return None
    return _in_ranges(address, tuple(map(_cidr_range, blocks)))


def _cidr_specialize(insensitive: bool, constants: tuple[object, ...]) -> Implementation | None:
    """With constant blocks, parse them once and test the address against integer ranges."""
    blocks = constants[1:]
    if any(block is NOT_CONSTANT or block is None for block in blocks):
        return None
    try:
        ranges = tuple(map(_cidr_range, blocks))
    except _Fault:
        return None
    return lambda address, *_blocks: _in_ranges(address, ranges)


# --------------------------------------------------------------------------- verification
_ORDINALS = ("first ", "second ", "third ", "fourth ", "fifth ")
_COUNTS = ("no", "one", "two", "three", "four")
_TYPE_WORDS = {"string": "string", "number": "numeric", "integer": "integer", "boolean": "boolean", "ip": "ip"}
_RETURN_FITS = {"string": frozenset({"string", "ip"}), "number": frozenset({"number", "integer"}),
                "boolean": frozenset({"boolean"})}
_RETURN_TYPE_NAMES = {"string": "keyword", "number": "numeric", "boolean": "boolean"}


def ordinal(index: int) -> str:
    """The word ES puts before "argument" for the argument at ``index`` (from 0): "first ", ...."""
    return _ORDINALS[index] if index < len(_ORDINALS) else ""


def _arity(function: Function) -> str:
    low, high = function.min_args, function.max_args
    plural = "argument" if (high or low) == 1 else "arguments"
    if high is None:
        return f"expects at least {_COUNTS[low]} {plural}"
    if low == high:
        return f"expects exactly {_COUNTS[low]} {plural}"
    return f"expects {_COUNTS[low]} or {_COUNTS[high]} arguments"


def literal_type(value: object) -> str:
    """The type ES errors report for a literal: ``keyword`` (EQL strings), ``integer`` (32-bit),
    ``long``, ``double``, ``boolean`` or ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer" if -(2**31) <= value < 2**31 else "long" if value < 2**63 else "unsigned_long"
    if isinstance(value, float):
        return "double"
    return "keyword" if isinstance(value, str) else type(value).__name__


def _literal_fits(value: object) -> frozenset[str]:
    if isinstance(value, bool):
        return frozenset({"boolean"})
    if isinstance(value, int):
        return frozenset({"integer", "number"})
    return frozenset({"number"}) if isinstance(value, float) else _RETURN_FITS["string"]


def resolve(call: ast.Call) -> Function:
    """The function a call names (any letter case); raise if it is unknown, ``~`` or arity is wrong."""
    function = FUNCTIONS.get(call.name.lower())
    if function is None:
        # ES's function registry keeps lower-case names, so its suggestions are lower case
        # (VerifierTests testArrayFunctionsUnsupported: "did you mean [stringcontains]?").
        close = difflib.get_close_matches(call.name.lower(), FUNCTIONS)
        hint = f", did you mean [{close[0]}]?" if len(close) == 1 else ""
        if len(close) > 1:
            hint = f", did you mean any of [{', '.join(close)}]?"
        raise EqlSemanticError(f"Unknown function [{call.name}]{hint}", call.span)
    if call.insensitive and not function.has_insensitive:
        raise EqlSemanticError(f"Function [{function.name}] does not support case-insensitive matching",
                               call.span)
    count = len(call.args)
    if count < function.min_args or (function.max_args is not None and count > function.max_args):
        raise EqlSemanticError(f"error building [{function.name}]: {_arity(function)}", call.span)
    return function


def check_arguments(call: ast.Call, function: Function,
                    arg_type: Callable[[ast.Expr], tuple[frozenset[str], str] | None] | None = None) -> None:
    """Check literal arguments (and the result type of nested calls) against the signature;
    ``arg_type`` may give (parameter types it fits, type name) for other arguments (mapped fields)."""
    for index, arg in enumerate(call.args):
        accepted = function.param_types[min(index, len(function.param_types) - 1)]
        if "any" in accepted:
            continue
        if isinstance(arg, ast.Literal):
            if arg.value is None:
                continue
            fits, type_name = _literal_fits(arg.value), literal_type(arg.value)
        elif isinstance(arg, ast.Call) and arg.name.lower() in FUNCTIONS:
            returns = FUNCTIONS[arg.name.lower()].return_type
            fits, type_name = _RETURN_FITS[returns], _RETURN_TYPE_NAMES[returns]
        else:
            known = arg_type(arg) if arg_type else None
            if known is None:
                continue
            fits, type_name = known
        if not fits & accepted:
            expected = " or ".join(sorted(_TYPE_WORDS[name] for name in accepted))
            raise EqlSemanticError(f"{ordinal(index)}argument of [{call}] must be [{expected}], "
                                   f"found value [{arg}] type [{type_name}]", call.span)
    if function.check is not None:
        function.check(call)


def _check_cidr_blocks(call: ast.Call) -> None:
    """cidrMatch blocks must be constants (as in ES) and valid addresses or CIDR blocks."""
    for index, arg in enumerate(call.args[1:], start=1):
        if not isinstance(arg, ast.Literal):
            raise EqlSemanticError(f"{ordinal(index)}argument of [{call}] must be a constant, "
                                   f"received [{arg}]", call.span)
        if isinstance(arg.value, str):
            try:
                _cidr_range(arg.value)
            except _Fault as fault:
                raise EqlSemanticError(f"{ordinal(index)}argument of [{call}]: {fault}", call.span) from None


# --------------------------------------------------------------------------- the table
_S, _N, _I, _B, _IP, _ANY = (frozenset({kind}) for kind in ("string", "number", "integer", "boolean", "ip", "any"))


def _fixed(function: Implementation) -> Callable[[bool], Implementation]:  # no `~` variant
    return lambda insensitive: function


def _math(name: str, int_op: Callable[[int, int], int], float_op: Callable[[float, float], float]) -> Function:
    return Function(name, 2, 2, False, (_N, _N), "number", _fixed(_arithmetic(int_op, float_op)), fallible=True)


FUNCTIONS: Mapping[str, Function] = MappingProxyType({f.name.lower(): f for f in (
    _math("add", lambda a, b: a + b, lambda a, b: a + b),
    Function("between", 3, 4, True, (_S, _S, _S, _B), "string", _between, fallible=True),
    Function("cidrMatch", 2, None, False, (_IP, _S), "boolean", _fixed(_cidr_match), fallible=True,
             specialize=_cidr_specialize, check=_check_cidr_blocks),
    Function("concat", 1, None, False, (_ANY,), "string", _fixed(_concat)),
    _math("divide", _int_div, _float_div),
    Function("endsWith", 2, 2, True, (_S, _S), "boolean", _string_test(str.endswith)),
    Function("indexOf", 2, 3, True, (_S, _S, _I), "number", _index_of),
    Function("length", 1, 1, False, (_S,), "number", _fixed(lambda s: len(s) if type(s) is str else None)),
    _math("modulo", lambda a, b: a - b * _int_div(a, b), _float_mod),
    _math("multiply", lambda a, b: a * b, lambda a, b: a * b),
    Function("number", 1, 2, False, (_S, _I), "number", _fixed(_number), fallible=True),
    Function("startsWith", 2, 2, True, (_S, _S), "boolean", _string_test(str.startswith)),
    Function("string", 1, 1, False, (_ANY,), "string", _fixed(lambda v: None if v is None else _java_string(v))),
    Function("stringContains", 2, 2, True, (_S, _S), "boolean", _string_test(lambda s, t: bool(s and t) and t in s)),
    Function("substring", 2, 3, False, (_S, _I, _I), "string", _fixed(_substring)),
    _math("subtract", lambda a, b: a - b, lambda a, b: a - b),
)})
