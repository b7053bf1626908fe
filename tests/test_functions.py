"""Tests of eqlmini.functions: every built-in with its nulls and `~` variant, and the verifier's errors.

Expected values come from the spec (§5, §8), the ES function reference (D-FN) and the ES QA
suite; a comment names the QA case (shared/conformance/elasticsearch/*.toml) a row restates.
"""

from __future__ import annotations

import math

import pytest

from eqlmini import ast
from eqlmini.errors import EqlSemanticError, Span
from eqlmini.functions import (
    FUNCTIONS,
    NOT_CONSTANT,
    Function,
    check_arguments,
    evaluate,
    literal_type,
    resolve,
)

PATH = "C:\\Windows\\System32\\cmd.exe"
DOMAIN = "subdomain.example.com"
IDLE = "System Idle Process"
PF = "EXPLORER.EXE-854AF04C.pf"  # QA event 92; event 88 is "explorer.exe"
SPAN = Span(1, 15, 1, 30)


def node(value: object) -> ast.Expr:
    return value if isinstance(value, (ast.Field, ast.Call, ast.Literal)) else ast.Literal(value)


def call(name: str, *args: object, insensitive: bool = False) -> ast.Call:
    return ast.Call(name, tuple(map(node, args)), insensitive, span=SPAN)


def run(name: str, *args: object, insensitive: bool = False) -> object:
    return FUNCTIONS[name.lower()].build(insensitive)(*args)


def same(actual: object, expected: object) -> bool:
    """Equal, and of the same type (Java keeps int and double apart); NaN equals NaN."""
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    return type(actual) is type(expected) and actual == expected


# (function, insensitive, args, expected)
CASES = [
    # ---- arithmetic (D-FN add/subtract/multiply/divide/modulo)
    ("add", False, (4, 5), 9),
    ("add", False, (4, 0.5), 4.5),
    ("add", False, (-2, -2), -4),
    ("add", False, (1, 0), 1),                      # twoAdds
    ("add", False, (None, 4), None),
    ("add", False, (4, None), None),
    ("add", False, ("4", 1), None),                 # not a number: null at run time
    ("add", False, (True, 1), None),
    ("subtract", False, (1, -5), 6),                # subtract
    ("subtract", False, (10.5, 0.5), 10.0),
    ("subtract", False, (-2, 4), -6),               # D-FN prints -8, a typo
    ("subtract", False, (2, None), None),
    ("multiply", False, (6, 5), 30),                # multiplyAndDivide
    ("multiply", False, (0.5, 2), 1.0),
    ("multiply", False, (-2, -2), 4),
    ("multiply", False, (None, 2), None),
    ("divide", False, (30, 4.0), 7.5),              # multiplyAndDivide
    ("divide", False, (4, 3), 1),                   # int/int truncates (D-FN warning)
    ("divide", False, (4, 3.0), 4 / 3),
    ("divide", False, (4, 0.5), 8.0),
    ("divide", False, (-7, 2), -3),                 # toward zero, as Java
    ("divide", False, (7, -2), -3),
    ("divide", False, (-4, -2), 2),
    ("divide", False, (82, 2), 41),                 # additionalMathWithFields1
    ("divide", False, (66.0, 66), 1.0),             # additionalMathWithFields6
    ("divide", False, (4, 0.0), math.inf),          # double division: IEEE, no error
    ("divide", False, (-4.0, 0), -math.inf),
    ("divide", False, (0.0, 0.0), math.nan),
    ("divide", False, (None, 4), None),
    ("modulo", False, (11, 10), 1),                 # moduloEqualsField
    ("modulo", False, (10, 6), 4),
    ("modulo", False, (10, 5), 0),
    ("modulo", False, (10, -6), 4),                 # Java %: sign of the dividend
    ("modulo", False, (-10, -6), -4),
    ("modulo", False, (-10, 6), -4),
    ("modulo", False, (10, 0.5), 0.0),
    ("modulo", False, (10.5, 3), 1.5),              # Java double %, not "floats return 0"
    ("modulo", False, (-7.5, 2), -1.5),
    ("modulo", False, (1.0, 0), math.nan),
    ("modulo", False, (7, None), None),
    # ---- between (D-FN; StringUtils.between)
    ("between", False, (PATH, "System32\\", ".exe"), "cmd"),
    ("between", False, (PATH, "system32\\", ".exe"), ""),
    ("between", True, (PATH, "system32\\", ".exe"), "cmd"),
    ("between", False, (PATH, "workspace\\", ".exe"), ""),
    ("between", False, (PATH, "\\", "\\", False), "Windows"),
    ("between", False, (PATH, "\\", "\\", True), "Windows\\System32"),
    ("between", False, ("", "System32\\", ".exe"), ""),
    ("between", False, ("", "", ""), ""),
    ("between", False, ("abc", "", "c"), "abc"),    # empty left or right: source unchanged
    ("between", False, ("abc", "a", ""), "abc"),
    ("between", False, ("abc", "a", "z"), ""),
    ("between", False, (None, "System32\\", ".exe"), None),
    ("between", False, (PATH, None, ".exe"), None),
    ("between", False, (PATH, "\\", "\\", None), None),
    ("between", True, (IDLE, "s", "E"), "yst"),     # betweenCaseInsensitive1/2
    ("between", False, (IDLE, "s", "e", False), "t"),   # betweenCaseSensitive
    ("between", False, ("TrustedInstaller.exe", "s", "e", False), "t"),  # betweenCaseSensitive (42)
    ("between", False, (IDLE, "S", "e", True), "ystem Idle Proc"),   # between1
    ("between", True, (IDLE, "s", "e", True), "ystem Idle Proc"),    # betweenCaseInsensitive3
    ("between", False, ("C:\\workspace\\dev\\TestLogs\\something.json", "dev", ".json", False),
     "\\TestLogs\\something"),                      # between2 / betweenAdditional1
    ("between", False, ("C:\\workspace\\dev\\TestLogs\\something.json", "dev", ".json", True),
     "\\TestLogs\\something"),                      # between3 / betweenAdditional2
    ("between", False, ("winlogon.exe", "g", "e"), "on."),   # lengthCaseSensitive
    ("between", False, ("winlogon.exe", "g", "z"), ""),      # length1
    # ES StringUtils.between: positions found in toLowerCase(Locale.ROOT) copies, where İ is two
    # characters, cut the original string, so they shift after an İ.
    ("between", True, ("\u0130stanbul", "S", "B"), "anb"),
    # ---- cidrMatch (D-FN; QA cidrMatch1-4, cidrMatchAdditional*)
    ("cidrMatch", False, ("192.168.152.12", "192.168.0.0/16"), True),
    ("cidrMatch", False, ("192.168.152.12", "192.168.0.0/16", "10.0.0.0/8"), True),
    ("cidrMatch", False, ("192.168.152.12", "10.0.0.0/8"), False),
    ("cidrMatch", False, ("192.168.152.12", "10.0.0.0/8", "10.128.0.0/9"), False),
    ("cidrMatch", False, ("10.6.48.157", "10.6.48.157/8"), True),      # cidrMatch1 (host bits set)
    ("cidrMatch", False, ("10.6.48.157", "192.168.0.0/16"), False),    # cidrMatch2
    ("cidrMatch", False, ("10.6.48.157", "192.168.0.0/16", "10.6.48.157/8"), True),  # cidrMatch3
    ("cidrMatch", False, ("10.6.48.157", "0.0.0.0/0"), True),          # cidrMatch4
    ("cidrMatch", False, ("10.6.48.157", "10.6.48.157"), True),        # a block may be one address
    ("cidrMatch", False, ("2001:db8::1", "2001:db8::/32"), True),
    ("cidrMatch", False, ("2001:db9::1", "2001:db8::/32"), False),
    ("cidrMatch", False, ("::ffff:10.0.0.1", "10.0.0.0/8"), True),     # IPv4-mapped is IPv4
    ("cidrMatch", False, ("10.1.2.3", "10.0.0.0/+8"), True),        # InetAddresses.parseCidr: Integer.parseInt
    ("cidrMatch", False, ("10.0.0.1", "::/0"), True),
    ("cidrMatch", False, (None, "10.0.0.0/8"), None),
    ("cidrMatch", False, ("10.0.0.1", None), None),                    # a null block: null
    ("cidrMatch", False, ("10.0.0.1", "10.0.0.0/8", None), None),
    # ---- concat (D-FN; QA concat*)
    ("concat", False, ("process is ", "regsvr32.exe"), "process is regsvr32.exe"),
    ("concat", False, ("regsvr32.exe", " ", 42), "regsvr32.exe 42"),
    ("concat", False, ("regsvr32.exe", " ", 42.5), "regsvr32.exe 42.5"),
    ("concat", False, ("regsvr32.exe", " ", True), "regsvr32.exe true"),
    ("concat", False, ("regsvr32.exe",), "regsvr32.exe"),
    ("concat", False, (5, ":", "wininit.exe", 3), "5:wininit.exe3"),    # concat1
    ("concat", False, (5, "::", "wininit.exe", "::", 3), "5::wininit.exe::3"),  # concatEquals1
    ("concat", False, (1,), "1"),                                       # concatEquals2
    ("concat", False, ("System", IDLE), "SystemSystem Idle Process"),   # concatWithCondition1
    ("concat", False, ("wininit.exe", None), None),                     # concatWithCondition2
    ("concat", False, ("System", None, None), None),                    # concatWithCondition3
    ("concat", False, (None, None), None),                              # concatWithCondition4
    ("concat", False, ("1.2.4", ""), "1.2.4"),                          # sequenceWithVersionConcat
    ("concat", False, (42.0, 1e7, -0.0), "42.01.0E7-0.0"),
    # ---- endsWith / startsWith / stringContains (D-FN; QA startsWith*, endsWith*)
    ("endsWith", False, ("regsvr32.exe", ".exe"), True),
    ("endsWith", False, ("regsvr32.exe", ".EXE"), False),
    ("endsWith", True, ("regsvr32.exe", ".EXE"), True),
    ("endsWith", False, ("regsvr32.exe", ".dll"), False),
    ("endsWith", False, ("", ""), True),
    ("endsWith", False, ("explorer.exe", "lorer.exe"), True),        # endsWith1
    ("endsWith", True, ("explorer.exe", "loREr.exe"), True),         # endsWithCaseInsensitive
    ("endsWith", True, (PF, "loREr.exe"), False),
    ("endsWith", False, ("regsvr32.exe", None), None),
    ("endsWith", False, ("", None), None),
    ("endsWith", False, (None, ".exe"), None),
    ("endsWith", True, (None, None), None),
    ("startsWith", False, ("regsvr32.exe", "regsvr32"), True),
    ("startsWith", False, ("regsvr32.exe", "Regsvr32"), False),
    ("startsWith", True, ("regsvr32.exe", "Regsvr32"), True),
    ("startsWith", False, ("", ""), True),
    ("startsWith", False, ("explorer.exe", "explorer."), True),      # startsWithCaseSensitive
    ("startsWith", False, (PF, "explorer."), False),
    ("startsWith", True, (PF, "exploRER."), True),                   # startsWithCaseInsensitive2
    ("startsWith", True, (PF, "expLORER.ExE"), True),                # startsWithCaseInsensitive3
    ("startsWith", False, ("explorer.exeaaaaaaaa", "explorer.exe"), True),   # endsWith2
    ("startsWith", True, ("explorer.exeaAAAA", "EXPLORER.exe"), True),       # endsWithAndCondition
    ("startsWith", True, ("Windows 10", "win"), True),               # test_sample startsWith~(os,"win")
    ("startsWith", False, (None, "regsvr32"), None),
    ("startsWith", False, (42, "4"), None),                          # not a string: null
    ("stringContains", False, ("start regsvr32.exe", "regsvr32"), True),
    ("stringContains", False, ("start regsvr32.exe", "Regsvr32"), False),
    ("stringContains", True, ("start regsvr32.exe", "Regsvr32"), True),   # D-FN says false: a typo
    ("stringContains", False, ("start regsvr32.exe", "start "), True),
    ("stringContains", False, ("ABCDEFGHIexplorer.exeJKLMNOP", "explorer.exe"), True),  # stringContains2
    ("stringContains", False, ("", ""), False),                      # empty source or sub: false
    ("stringContains", False, ("start regsvr32.exe", ""), False),
    ("stringContains", True, ("", "x"), False),
    ("stringContains", False, (None, "regsvr32"), None),
    ("stringContains", False, ("start", None), None),
    # ---- indexOf (D-FN; QA indexOf*)
    ("indexOf", False, (DOMAIN, "d"), 3),
    ("indexOf", False, (DOMAIN, "D"), None),
    ("indexOf", True, (DOMAIN, "D"), 3),                             # D-FN prints 4; "d" is at 3
    ("indexOf", False, (DOMAIN, "."), 9),
    ("indexOf", False, (DOMAIN, ".", 9), 9),
    ("indexOf", False, (DOMAIN, ".", 10), 17),
    ("indexOf", False, (DOMAIN, ".", -6), 9),                        # negative start counts as 0
    ("indexOf", False, ("", ""), 0),
    ("indexOf", False, (DOMAIN, ""), 0),
    ("indexOf", False, (DOMAIN, "", 9), 9),
    ("indexOf", False, (DOMAIN, "", 10), 10),
    ("indexOf", False, (DOMAIN, "", -6), 0),
    ("indexOf", False, (DOMAIN, "z"), None),
    ("indexOf", False, (DOMAIN, "z", 9), None),
    ("indexOf", False, (DOMAIN, ".", 30), None),                     # start beyond the end
    ("indexOf", False, (DOMAIN, "", 30), 21),     # Java's indexOf("", start) past the end: the length
    ("indexOf", False, ("abc", "", 1), 1),
    ("indexOf", False, (None, ".", 9), None),
    ("indexOf", False, (DOMAIN, None, 9), None),
    ("indexOf", False, (DOMAIN, ".", None), 9),                      # null start = omitted (ES processor)
    ("indexOf", False, (DOMAIN, ".", 9.7), 9),                       # Number.intValue() truncates
    ("indexOf", True, ("explorer.exe", "plore"), 2),                 # indexOfCaseInsensitive
    ("indexOf", True, ("explorer.exe", ".pf"), None),
    ("indexOf", False, ("explorer.exe", "plore", 100), None),        # indexOf1
    ("indexOf", False, ("explorer.exe", "plorer.", 0), 2),           # indexOf2
    ("indexOf", False, (PF, "plorer.", 0), None),
    ("indexOf", True, (PF, "plorer.", 0), 2),                        # indexOf3
    ("indexOf", False, ("explorer.exe", "plorer.", 2), 2),           # indexOf4 / indexOf9
    ("indexOf", True, (PF, "plorer.", 2), 2),                        # indexOf5
    ("indexOf", False, ("explorer.exe", "plorer.", 4), None),        # indexOf6
    ("indexOf", False, ("explorer.exe", "thing that never happened"), None),  # indexOf7
    ("indexOf", True, (PF, "pLOrer.", 2), 2),                        # indexOf8
    ("indexOf", False, ("explorer.exe", "explorer.", 0), 0),         # indexOf10
    ("indexOf", True, (PF, "explorer.", 0), 0),                      # indexOf11
    ("indexOf", True, ("\u0130stanbul", "S"), 2),  # toLowerCase(Locale.ROOT): İ is two characters
    # ---- length
    ("length", False, ("explorer.exe",), 12),
    ("length", False, ("start explorer.exe",), 18),
    ("length", False, ("",), 0),
    ("length", False, (None,), None),
    ("length", False, (12,), None),
    # ---- number (D-FN; QA stringNumberConversion*, numberStringConversion*)
    ("number", False, ("1337",), 1337),
    ("number", False, ("42.5",), 42.5),
    # ES parseDecimal: Long.valueOf reads any Unicode decimal digit (Character.digit), and the
    # Double.valueOf fallback reads hex floats; Long.parseLong takes fullwidth letters as digits.
    ("number", False, ("\uff11\uff12",), 12),
    ("number", False, ("-\u0661\u0662",), -12),
    ("number", False, ("0x1p3", 10), 8.0),
    ("number", False, ("-0X1.8p1",), -3.0),
    ("number", False, ("\uff11\uff21", 16), 26),
    ("number", False, ("deadbeef", 16), 3735928559),
    ("number", False, ("0xdeadbeef",), 3735928559),
    ("number", False, ("0xdeadbeef", 16), 3735928559),
    ("number", False, ("0xdeadbeef", None), 3735928559),
    ("number", False, ("+1337",), 1337),
    ("number", False, ("-1337",), -1337),
    ("number", False, ("  1337  ",), 1337.0),       # Long.valueOf fails, Double.valueOf trims
    ("number", False, ("1337", None), 1337),
    ("number", False, (None,), None),
    ("number", False, (None, 16), None),
    ("number", False, ("5",), 5),                   # stringNumberConversion1
    ("number", False, ("0x32", 16), 50),            # stringNumberConversion2
    ("number", False, ("32", 16), 50),              # stringNumberConversion3
    ("number", False, ("17", 10), 17),              # numberStringConversion4
    ("number", False, ("31", 13), 40),              # numberStringEquality
    ("number", False, ("11", 16), 17),              # numberStringConversion5
    ("number", False, ("-ff", 16), -255),
    ("number", False, ("101", 2), 5),
    ("number", False, ("zz", 36), 1295),
    ("number", False, ("1e3",), 1000.0),
    ("number", False, (".5",), 0.5),
    ("number", False, ("1.5f",), 1.5),
    ("number", False, ("NaN",), math.nan),
    ("number", False, ("-Infinity",), -math.inf),
    ("number", False, ("9223372036854775807",), 9223372036854775807),
    ("number", False, ("9223372036854775808",), 9.223372036854776e18),  # past a long: a double
    ("number", False, ("-8000000000000000", 16), -(2**63)),
    # ---- string (D-FN; QA numberStringConversion1, stringCidrMatch2)
    ("string", False, (42,), "42"),
    ("string", False, (42.5,), "42.5"),
    ("string", False, ("regsvr32.exe",), "regsvr32.exe"),
    ("string", False, (True,), "true"),
    ("string", False, (False,), "false"),
    ("string", False, (None,), None),
    ("string", False, (1,), "1"),
    ("string", False, (42.0,), "42.0"),
    ("string", False, (0.001,), "0.001"),
    ("string", False, (0.0001,), "1.0E-4"),
    ("string", False, (1.5e-5,), "1.5E-5"),
    ("string", False, (9999999.0,), "9999999.0"),
    ("string", False, (1e7,), "1.0E7"),
    ("string", False, (-1.2345678e7,), "-1.2345678E7"),
    ("string", False, (1e21,), "1.0E21"),
    ("string", False, (-0.0,), "-0.0"),
    ("string", False, (math.nan,), "NaN"),
    ("string", False, (-math.inf,), "-Infinity"),
    # ---- substring (D-FN; QA substring1-5; Python slice semantics)
    ("substring", False, ("start regsvr32.exe", 6), "regsvr32.exe"),
    ("substring", False, ("start regsvr32.exe", 0, 5), "start"),
    ("substring", False, ("start regsvr32.exe", 6, 14), "regsvr32"),
    ("substring", False, ("start regsvr32.exe", -4), ".exe"),        # substring4
    ("substring", False, ("start regsvr32.exe", -4, -1), ".ex"),     # substring5
    ("substring", False, ("explorer.exe", 0, 4), "expl"),            # substring1
    ("substring", False, ("explorer.exe", 1, 3), "xp"),              # substring2
    ("substring", False, ("abc", 2, 1), ""),                         # start >= end
    ("substring", False, ("abc", 5), ""),
    ("substring", False, ("abc", -10, 2), "ab"),                     # clamped
    ("substring", False, ("abc", 1, 99), "bc"),
    ("substring", False, ("abc", 1, None), "bc"),
    ("substring", False, ("abc", None), "abc"),                      # null start: the source (ES)
    ("substring", False, ("abc", 1.9), "bc"),
    ("substring", False, ("", 1), ""),
    ("substring", False, (None, 1), None),
    ("substring", False, ("abc", "1"), None),
]


def _case_id(case: tuple) -> str:
    name, insensitive, args, _ = case
    return f"{name}{'~' if insensitive else ''}{args!r}"


@pytest.mark.parametrize("name, insensitive, args, expected", CASES, ids=map(_case_id, CASES))
def test_runtime(name: str, insensitive: bool, args: tuple, expected: object) -> None:
    assert same(run(name, *args, insensitive=insensitive), expected)


@pytest.mark.parametrize("name, insensitive, args, expected", CASES, ids=map(_case_id, CASES))
def test_constant_folding_agrees(name: str, insensitive: bool, args: tuple, expected: object) -> None:
    function = FUNCTIONS[name.lower()]
    assert same(evaluate(call(name, *args, insensitive=insensitive), function, args), expected)


# Errors in Elasticsearch: null for one event at run time, a compile-time error when constant.
FAULTS = [
    ("divide", (4, 0), "/ by zero"),
    ("divide", (0, 0), "/ by zero"),
    ("modulo", (7, 0), "/ by zero"),
    ("add", (2**63 - 1, 1), "long overflow"),
    ("multiply", (2**62, 4), "long overflow"),
    ("subtract", (-(2**63), 1), "long overflow"),
    ("number", ("abc",), "Unable to convert [abc] to number of base [10]"),
    ("number", ("",), "Unable to convert"),
    ("number", ("0x32", 10), "Unable to convert [0x32] to number of base [10]"),
    ("number", ("1_000",), "Unable to convert"),
    ("number", ("12", 37), "base [37]"),
    ("number", ("g", 16), "base [16]"),
    ("number", ("-0x1f",), "Unable to convert"),
    ("number", ("10000000000000000", 16), "Unable to convert"),   # past a long
    ("cidrMatch", ("not-an-ip", "10.0.0.0/8"), "not an IP"),
    ("cidrMatch", ("10.0.0.1", "10.0.0.0/33"), "not a valid CIDR block"),
    ("cidrMatch", ("10.0.0.1", "::ffff:0:0/96"), "CIDR notation is not allowed with IPv6-mapped IPv4 address"),
    ("cidrMatch", ("10.0.0.1", "10.0.0.0/8/9"), "Expected [ip/prefix] but was [10.0.0.0/8/9]"),
    ("number", ("0x1p3",), "Unable to convert [1p3] to number of base [16]"),  # "0x": base 16, no floats
    ("between", ("ba", "a", "b", True), "begin 2, end 0"),  # greedy: last right before left
]


@pytest.mark.parametrize("name, args, message", FAULTS, ids=[f"{n}{a!r}" for n, a, _ in FAULTS])
def test_faults_are_null_at_run_time_and_errors_when_folded(name: str, args: tuple, message: str) -> None:
    assert run(name, *args) is None
    node_ = call(name, *args)
    with pytest.raises(EqlSemanticError) as caught:
        evaluate(node_, FUNCTIONS[name.lower()], args)
    assert caught.value.message.startswith(f"Cannot evaluate [{node_}]: ")
    assert message in caught.value.message
    assert caught.value.span == SPAN


def test_cidr_match_specialised_on_constant_blocks() -> None:
    function = FUNCTIONS["cidrmatch"]
    blocks = ("192.168.0.0/16", "10.6.48.157/8", "2001:db8::/32")
    fast = function.build(False, (NOT_CONSTANT, *blocks))
    assert fast is not function.build(False)
    for address in ("10.6.48.157", "192.168.1.1", "172.16.0.1", "2001:db8::5", None):
        assert fast(address, *blocks) == run("cidrMatch", address, *blocks)
    assert fast("junk", *blocks) is None


@pytest.mark.parametrize("constants", [
    (NOT_CONSTANT, "10.0.0.0/8", NOT_CONSTANT),    # a block only known at run time
    (NOT_CONSTANT, None),                          # a null block: the generic path gives null
    (NOT_CONSTANT, "10.0.0.0/99"),                 # a bad block: null, as at run time
])
def test_cidr_match_falls_back_when_blocks_are_not_all_constant(constants: tuple) -> None:
    built = FUNCTIONS["cidrmatch"].build(False, constants)
    args = tuple("10.0.0.0/8" if c is NOT_CONSTANT else c for c in constants[1:])
    assert built("10.1.2.3", *args) == run("cidrMatch", "10.1.2.3", *args)


def test_build_ignores_constants_without_a_specialisation() -> None:
    starts = FUNCTIONS["startswith"].build(True, (NOT_CONSTANT, "EXPL"))
    assert starts("explorer.exe", "EXPL") is True


# ------------------------------------------------------------------------ the table
def test_table_holds_exactly_the_elasticsearch_functions() -> None:
    names = {f.name for f in FUNCTIONS.values()}
    assert names == {"add", "between", "cidrMatch", "concat", "divide", "endsWith", "indexOf", "length",
                     "modulo", "multiply", "number", "startsWith", "string", "stringContains", "substring",
                     "subtract"}
    assert all(key == f.name.lower() for key, f in FUNCTIONS.items())
    with pytest.raises(TypeError):
        FUNCTIONS["wildcard"] = FUNCTIONS["concat"]  # type: ignore[index]


def test_only_five_functions_have_a_case_insensitive_variant() -> None:  # spec §4
    assert {f.name for f in FUNCTIONS.values() if f.has_insensitive} == {
        "between", "endsWith", "indexOf", "startsWith", "stringContains"}


def test_signatures() -> None:
    for function in FUNCTIONS.values():
        assert isinstance(function, Function)
        assert function.return_type in ("string", "number", "boolean")
        assert 1 <= len(function.param_types) <= (function.max_args or len(function.param_types))
    arities = {f.name: (f.min_args, f.max_args) for f in FUNCTIONS.values()}
    assert arities["between"] == (3, 4) and arities["cidrMatch"] == (2, None)
    assert arities["concat"] == (1, None) and arities["number"] == (1, 2)


# ------------------------------------------------------------------------ resolve
def test_resolve_ignores_letter_case() -> None:
    assert resolve(call("CONCAT", ast.Field("version"), "")) is FUNCTIONS["concat"]  # sequenceWithVersionConcat
    assert resolve(call("STARTSWITH", ast.Field("a"), "b", insensitive=True)).name == "startsWith"


@pytest.mark.parametrize("node_, message", [
    (call("startWith", ast.Field("a"), "b"), "Unknown function [startWith], did you mean [startswith]?"),
    (call("lenght", ast.Field("a")), "Unknown function [lenght], did you mean [length]?"),
    (call("foo", ast.Field("a")), "Unknown function [foo]"),
    (call("wildcard", ast.Field("a"), "*x*"), "Unknown function [wildcard]"),   # spec §8: not in ES
    (call("strings", ast.Field("a")),
     "Unknown function [strings], did you mean any of [string, substring, stringcontains]?"),
    (call("length", ast.Field("a"), insensitive=True),
     "Function [length] does not support case-insensitive matching"),
    (call("concat", "a", insensitive=True), "Function [concat] does not support case-insensitive matching"),
    (call("startsWith", ast.Field("a")), "error building [startsWith]: expects exactly two arguments"),
    (call("startsWith", "a", "b", "c"), "error building [startsWith]: expects exactly two arguments"),
    (call("add", 1), "error building [add]: expects exactly two arguments"),
    (call("length"), "error building [length]: expects exactly one argument"),
    (call("string", 1, 2), "error building [string]: expects exactly one argument"),
    (call("between", "a", "b"), "error building [between]: expects three or four arguments"),
    (call("between", "a", "b", "c", True, True), "error building [between]: expects three or four arguments"),
    (call("indexOf", "a"), "error building [indexOf]: expects two or three arguments"),
    (call("substring", "a"), "error building [substring]: expects two or three arguments"),
    (call("number"), "error building [number]: expects one or two arguments"),
    (call("concat"), "error building [concat]: expects at least one argument"),
    (call("cidrMatch", ast.Field("ip")), "error building [cidrMatch]: expects at least two arguments"),
], ids=str)
def test_resolve_errors(node_: ast.Call, message: str) -> None:
    with pytest.raises(EqlSemanticError) as caught:
        resolve(node_)
    assert caught.value.message == message
    assert caught.value.span == SPAN


# ------------------------------------------------------------------------ check_arguments
@pytest.mark.parametrize("node_", [
    call("startsWith", ast.Field("a"), "b"),
    call("startsWith", ast.Field("a"), None),          # null passes every type check (QL isType)
    call("startsWith", ast.Field("a"), ast.Field("b")),  # fields are not checked
    call("add", 1, -2.5),
    call("add", 2**40, ast.Field("x")),
    call("between", ast.Field("a"), "b", "c", False),
    call("indexOf", ast.Field("a"), "b", 3),
    call("indexOf", ast.Field("a"), "b", 2**40),       # a long is an integer
    call("substring", ast.Field("a"), call("length", ast.Field("b"))),  # numeric result, integer param
    call("substring", ast.Field("a"), call("add", 1, 2), call("number", "3")),
    call("number", ast.Field("a"), 16),
    call("number", call("string", ast.Field("a")), None),               # numberStringConversion3
    call("concat", 1, True, None, 2.5, ast.Field("a")),
    call("string", call("cidrMatch", ast.Field("ip"), "10.0.0.0/8")),   # stringCidrMatch2
    call("length", call("between", ast.Field("p"), "g", "e")),          # lengthCaseSensitive
    call("cidrMatch", ast.Field("ip"), "10.0.0.0/8", "2001:db8::/32", "10.1.2.3"),
    call("cidrMatch", "10.1.2.3", "10.0.0.0/8"),
    call("cidrMatch", ast.Field("ip"), None),
    call("unknownInside", call("nope", 1)),            # an unknown nested call is resolve()'s job
], ids=str)
def test_check_arguments_accepts(node_: ast.Call) -> None:
    function = FUNCTIONS.get(node_.name.lower(), FUNCTIONS["concat"])
    check_arguments(node_, function)


@pytest.mark.parametrize("node_, message", [
    (call("startsWith", ast.Field("a"), 1),
     "second argument of [startsWith(a, 1)] must be [string], found value [1] type [integer]"),
    (call("startsWith", 1, "a"),
     'first argument of [startsWith(1, "a")] must be [string], found value [1] type [integer]'),
    (call("endsWith", ast.Field("a"), True, insensitive=True),
     "second argument of [endsWith~(a, true)] must be [string], found value [true] type [boolean]"),
    (call("add", 1, "a"),
     'second argument of [add(1, "a")] must be [numeric], found value ["a"] type [keyword]'),
    (call("divide", False, 2),
     "first argument of [divide(false, 2)] must be [numeric], found value [false] type [boolean]"),
    (call("between", ast.Field("a"), "b", "c", 1),
     'fourth argument of [between(a, "b", "c", 1)] must be [boolean], found value [1] type [integer]'),
    (call("between", ast.Field("a"), 5000000000, "c"),
     'second argument of [between(a, 5000000000, "c")] must be [string], found value [5000000000] type [long]'),
    (call("substring", ast.Field("a"), 1.5),
     "second argument of [substring(a, 1.5)] must be [integer], found value [1.5] type [double]"),
    (call("indexOf", ast.Field("a"), "b", "0"),
     'third argument of [indexOf(a, "b", "0")] must be [integer], found value ["0"] type [keyword]'),
    (call("number", ast.Field("a"), "16"),
     'second argument of [number(a, "16")] must be [integer], found value ["16"] type [keyword]'),
    (call("length", 5), "first argument of [length(5)] must be [string], found value [5] type [integer]"),
    (call("cidrMatch", 1, "10.0.0.0/8"),
     'first argument of [cidrMatch(1, "10.0.0.0/8")] must be [ip], found value [1] type [integer]'),
    (call("cidrMatch", ast.Field("ip"), 10),
     "second argument of [cidrMatch(ip, 10)] must be [string], found value [10] type [integer]"),
    (call("cidrMatch", ast.Field("ip"), ast.Field("net")),
     "second argument of [cidrMatch(ip, net)] must be a constant, received [net]"),
    (call("cidrMatch", ast.Field("ip"), "10.0.0.0/8", call("string", ast.Field("n"))),
     'third argument of [cidrMatch(ip, "10.0.0.0/8", string(n))] must be a constant, received [string(n)]'),
    (call("cidrMatch", ast.Field("ip"), "10.0.0.0/33"),
     'second argument of [cidrMatch(ip, "10.0.0.0/33")]: [10.0.0.0/33] is not a valid CIDR block'),
    (call("cidrMatch", ast.Field("ip"), "10.0.0.0/8", "nope"),
     'third argument of [cidrMatch(ip, "10.0.0.0/8", "nope")]: [nope] is not an IP string literal'),
    (call("startsWith", ast.Field("a"), call("length", ast.Field("b"))),
     "second argument of [startsWith(a, length(b))] must be [string], found value [length(b)] type [numeric]"),
    (call("add", call("concat", ast.Field("a")), 1),
     "first argument of [add(concat(a), 1)] must be [numeric], found value [concat(a)] type [keyword]"),
    (call("substring", ast.Field("a"), call("startsWith", ast.Field("a"), "b")),
     "second argument of [substring(a, startsWith(a, \"b\"))] must be [integer], "
     "found value [startsWith(a, \"b\")] type [boolean]"),
], ids=str)
def test_check_arguments_rejects(node_: ast.Call, message: str) -> None:
    with pytest.raises(EqlSemanticError) as caught:
        check_arguments(node_, resolve(node_))
    assert caught.value.message == message
    assert caught.value.span == SPAN


@pytest.mark.parametrize("value, expected", [
    (None, "null"), (True, "boolean"), (False, "boolean"), (1, "integer"), (-(2**31), "integer"),
    (2**31, "long"), (-(2**31) - 1, "long"), (1.5, "double"), ("x", "keyword"),
])
def test_literal_type(value: object, expected: str) -> None:
    assert literal_type(value) == expected


def test_between_insensitive_past_the_end_is_javas_substring_error() -> None:
    # "İİab" lowers to six characters; the positions found there (5, 5) lie past the original's
    # end, where Java's substring throws: null at run time, an error when folded.
    args = ("\u0130\u0130ab", "a", "b")
    assert run("between", *args, insensitive=True) is None
    with pytest.raises(EqlSemanticError, match="begin 5, end 5, length 4"):
        evaluate(call("between", *args, insensitive=True), FUNCTIONS["between"], args)
