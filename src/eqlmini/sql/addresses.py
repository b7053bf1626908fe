"""``cidrMatch`` in SQL: addresses read exactly as eqlmini reads them (Python's ``ipaddress``).

eqlmini tests an address against CIDR blocks in one 128-bit space, IPv4 mapped into
``::ffff:0:0/96``; text that ``ipaddress.ip_address`` rejects makes the call null. Here the
same grammar is a regular expression (IPv4: four decimal octets without leading zeros;
IPv6: eight hextets of one to four hex digits, or fewer around one ``::`` that stands for at
least one, an IPv4 tail counting as two, an optional ``%scope``), and a valid address is
spelled out as 32 hex digits, which order as the numbers do: each block becomes a ``BETWEEN``
on that text. The blocks are constants (the verifier requires it) and eqlmini's own
``functions._cidr_range`` gives their ranges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ast, functions

if TYPE_CHECKING:
    from .values import Value, ValueBuilder

_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_HEXTET = "[0-9A-Fa-f]{1,4}"
_V4_SPACE = 0xFFFF << 32


def _hextets(count: int) -> str:
    return "" if count == 0 else _HEXTET + (f"(?::{_HEXTET}){{{count - 1}}}" if count > 1 else "")


def _ipv6() -> str:
    """Every IPv6 spelling ``ipaddress`` accepts (the scope apart), as one alternation."""
    forms = [_hextets(8), f"{_hextets(6)}:{_IPV4}"]
    for left in range(8):  # "::" stands for 8 - left - right >= 1 hextets
        for right in range(8 - left):
            forms.append(f"{_hextets(left)}::{_hextets(right)}")
            if left + right + 2 <= 7:
                forms.append(f"{_hextets(left)}::{'' if right == 0 else _hextets(right) + ':'}{_IPV4}")
    return "(?:" + "|".join(forms) + ")(?:%[^%]+)?"


IPV4, IPV6 = _IPV4, _ipv6()


def cidr_match(builder: "ValueBuilder", args: list["Value"], insensitive: bool, node: ast.Expr) -> "Value":
    """``cidrMatch(address, block, ...)``: null for text that is no address, as in eqlmini."""
    from .values import Value

    address, blocks = args[0], args[1:]
    if address.kind != "string" or any(block.kind == "null" for block in blocks):
        return builder.null("boolean", address)
    ranges = [functions._cidr_range(block.constant) for block in blocks]  # noqa: SLF001 - the one definition
    text = address.sql
    octets = [f"CAST({builder.template('split_part', text, builder.string('.'), str(i))} AS BIGINT)"
              for i in range(1, 5)]
    number = f"({octets[0]} * 16777216 + {octets[1]} * 65536 + {octets[2]} * 256 + {octets[3]})"
    in_v4 = [f"{number} BETWEEN {max(low, _V4_SPACE) & 0xFFFFFFFF} AND {min(high, _V4_SPACE | 0xFFFFFFFF) & 0xFFFFFFFF}"
             for low, high in ranges if low <= _V4_SPACE | 0xFFFFFFFF and high >= _V4_SPACE]
    spelled = _hex32(builder, text)
    in_v6 = [f"{spelled} BETWEEN '{low:032x}' AND '{high:032x}'" for low, high in ranges]
    sql = (f"(CASE WHEN {builder.template('regex', text, builder.string(builder.regex_text(IPV4)))} "
           f"THEN {' OR '.join(in_v4) or 'FALSE'} "
           f"WHEN {builder.template('regex', text, builder.string(builder.regex_text(IPV6)))} "
           f"THEN {' OR '.join(in_v6)} END)")
    return Value(sql, "boolean", address.nulls)


def _hex32(builder: "ValueBuilder", text: str) -> str:
    """A valid IPv6 address (scope dropped, IPv4 tail and ``::`` expanded) as 32 hex digits."""
    address = builder.template("split_part", text, builder.string("%"), "1")
    tail = builder.template("split_part", address, builder.string(":"), "-1")
    octets = [f"CAST({builder.template('split_part', tail, builder.string('.'), str(i))} AS BIGINT)"
              for i in range(1, 5)]
    tail_hex = builder.template("hex_pair", f"{octets[0]} * 256 + {octets[1]}", f"{octets[2]} * 256 + {octets[3]}")
    head = builder.template("substr", address, "1", f"{builder.template('length', address)} - "
                                                   f"{builder.template('length', tail)}")
    plain = (f"(CASE WHEN {builder.template('contains', address, builder.string('.'))} "
             f"THEN {head} || {tail_hex} ELSE {address} END)")
    groups = builder.template("size", builder.template("filter", builder.template("split_list", plain),
                                                         "__eqlmini_part", "__eqlmini_part <> ''"))
    zeros = f"(':' || repeat('0:', 8 - {groups}))"
    double = builder.string("::")
    filled = builder.template("trim_colons", f"replace({plain}, {double}, {zeros})")
    expanded = f"(CASE WHEN {builder.template('contains', plain, double)} THEN {filled} ELSE {plain} END)"
    return builder.template("join_list", builder.template("map", builder.template("split_list", expanded),
                                                           "__eqlmini_part", "lpad(lower(__eqlmini_part), 4, '0')"))
