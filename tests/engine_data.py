"""Generated events that exercise a rule's fields, and tables built from events, for the
differential tests of the SQL engines (tests/test_engines.py).

Field types come from ECS (../shared/schemas/ecs) and the detection-rules schemas, as a
Parquet file written from real data would type its columns; a field no schema knows is typed
from the literals the rule compares it with. Values come from the rule itself: its literals,
wildcard patterns filled in, case changed, numbers moved by one, nulls, missing fields, lists.
Half the events are built to satisfy a random branch of the condition (so that rules match
some events), half at random. The Python engine is the oracle: only agreement is tested.
"""

from __future__ import annotations

import functools
import gzip
import json
import random
import re
import zlib
from typing import Any, Iterable

from conftest import SHARED

import eqlmini
from eqlmini import ast
from eqlmini.values import to_text

ECS = SHARED / "schemas" / "ecs" / "ecs_flat.yml.gz"
NON_ECS = SHARED / "corpus" / "detection-rules-data" / "non-ecs-schema.json"
_KINDS = {**dict.fromkeys(("long", "integer", "short", "byte", "unsigned_long"), "integer"),
          **dict.fromkeys(("float", "double", "half_float", "scaled_float"), "float"),
          "boolean": "boolean"}
NOISE = ["", "x", "OTHER", "c:\\windows\\x.exe", "Ünïcødé", "a'b\"c\\d", "%_*?"]


@functools.cache
def schema_types() -> dict[str, tuple[str, bool]]:
    """Field -> (kind, is a list), from ECS (``normalize: array``) and the non-ECS schemas."""
    types: dict[str, tuple[str, bool]] = {}
    if NON_ECS.exists():
        for fields in json.loads(NON_ECS.read_text()).values():
            for name, kind in fields.items():
                if isinstance(kind, str):
                    types.setdefault(name, (_KINDS.get(kind, "string"), False))
    if ECS.exists():
        name, kind, array = None, "string", False
        for line in gzip.open(ECS, "rt", encoding="utf-8"):
            if line[:1] not in (" ", "\n", ""):
                if name:
                    types[name] = (kind, array)
                name, kind, array = line.rstrip().rstrip(":").strip("'"), "string", False
            elif line.startswith("  type: "):
                kind = _KINDS.get(line.split(":", 1)[1].strip(), "string")
            elif line.rstrip() == "  - array":
                array = True
        if name:
            types[name] = (kind, array)
    return types


# ---------------------------------------------------------------- what a rule says of a field
def _literals(query: eqlmini.Query) -> dict[str, list[Any]]:
    """Per field, the literals of the leaves that read it."""
    found: dict[str, list[Any]] = {}
    for expr in query.tree.expressions():
        for node in ast.walk(expr):
            if isinstance(node, (ast.Comparison, ast.Match, ast.In, ast.Call)):
                names = [field.name for field in ast.fields_of(node)]
                constants = [n.value for n in ast.walk(node) if isinstance(n, ast.Literal) and n.value is not None]
                for name in names:
                    found.setdefault(name, []).extend(constants)
    return found


def field_kinds(query: eqlmini.Query) -> dict[str, tuple[str, bool]]:
    """Field -> (kind, list) for every field the query reads."""
    schema = schema_types()
    literals = _literals(query)
    kinds: dict[str, tuple[str, bool]] = {}
    for name in query.fields:
        if name in schema:
            kinds[name] = schema[name]
            continue
        values = literals.get(name, [])
        if any(isinstance(v, bool) for v in values):
            kinds[name] = ("boolean", False)
        elif any(isinstance(v, float) for v in values):
            kinds[name] = ("float", False)
        elif values and all(isinstance(v, int) for v in values):
            kinds[name] = ("integer", False)
        else:
            kinds[name] = ("string", False)
    return kinds


# ---------------------------------------------------------------- values
def _fill(pattern: str, rng: random.Random) -> str:
    """A string a wildcard pattern matches (often), with its case changed (sometimes)."""
    text = "".join(rng.choice(["", "x", "ABC", "\\", "é"]) if c == "*" else ("q" if c == "?" else c) for c in pattern)
    return _recase(text, rng)


def _recase(text: str, rng: random.Random) -> str:
    return rng.choice([text, text, text.upper(), text.lower(), text.swapcase()])


def _guess(node: ast.Expr, rng: random.Random) -> tuple[str, Any] | None:
    """(field, a value that likely makes this leaf true)."""
    fields = ast.fields_of(node)
    if not fields:
        return None
    name = rng.choice(fields).name
    constants = [n.value for n in ast.walk(node) if isinstance(n, ast.Literal) and n.value is not None]
    if isinstance(node, ast.Comparison) and constants:
        value = constants[0]
        if node.op in ("<", "<=", ">", ">=") and isinstance(value, (int, float)) and not isinstance(value, bool):
            value += rng.choice([-1, 0, 1])
        return name, value
    if isinstance(node, ast.Comparison):
        return name, None if rng.random() < 0.5 else rng.choice(NOISE)
    if isinstance(node, ast.Match):
        pattern = rng.choice([p.value for p in node.patterns])
        if node.op.startswith("regex"):
            return name, re.sub(r"[\\\[\]().*+?{}|^$]", "", pattern)
        return name, _fill(pattern, rng)
    if isinstance(node, ast.In) and constants:
        value = rng.choice(constants)
        return name, _recase(value, rng) if isinstance(value, str) and node.insensitive else value
    if isinstance(node, ast.Call) and constants:
        value = str(rng.choice(constants))
        lower = node.name.lower()
        if lower == "cidrmatch":
            return name, _address(value, rng)
        if lower == "length":
            return name, "x" * rng.randint(0, 40)
        return name, _recase(rng.choice(["", "pre-"]) + value + rng.choice(["", "-post"]), rng)
    return name, rng.choice(NOISE)


def _address(block: str, rng: random.Random) -> str:
    if "/" not in block or ":" in block:
        return block
    base, _, bits = block.partition("/")
    octets = base.split(".")
    keep = int(bits) // 8
    return ".".join(octets[:keep] + [str(rng.randint(0, 255)) for _ in octets[keep:]])


def _leaves(node: ast.Expr, rng: random.Random, positive: bool = True) -> Iterable[tuple[ast.Expr, bool]]:
    """The leaves one random way of making ``node`` true (or false) goes through."""
    if isinstance(node, ast.Not):
        yield from _leaves(node.operand, rng, not positive)
    elif isinstance(node, (ast.And, ast.Or)):
        every = isinstance(node, ast.And) == positive
        for term in (node.terms if every else [rng.choice(node.terms)]):
            yield from _leaves(term, rng, positive)
    else:
        yield node, positive


def _typed(value: Any, kind: str, many: bool, rng: random.Random) -> Any:
    if value is None:
        return None
    if kind == "integer":
        try:
            value = int(float(value)) if not isinstance(value, bool) else int(value)
        except (TypeError, ValueError):
            value = rng.randint(-2, 5000)
        value = max(min(value, 2**63 - 1), -(2**63))
    elif kind == "float":
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = rng.random() * 100
    elif kind == "boolean":
        value = value if isinstance(value, bool) else rng.random() < 0.5
    elif not isinstance(value, str):
        value = to_text(value)
    if many:
        extra = [_typed(rng.choice(NOISE), kind, False, rng) for _ in range(rng.randint(0, 2))]
        items = [value, *extra]
        rng.shuffle(items)
        return items
    return value


def rule_events(query: eqlmini.Query, seed: str, count: int = 40) -> list[dict[str, Any]]:
    """``count`` flat events (dotted field names) for a query's fields, half built to match."""
    rng = random.Random(zlib.crc32(seed.encode()))
    kinds = field_kinds(query)
    literals = _literals(query)
    options = query.options
    wheres = [stage.where for stage in query.tree.event_queries()]
    categories = [stage.category for stage in query.tree.event_queries() if stage.category]
    events = []
    for i in range(count):
        event: dict[str, Any] = {}
        for name, (kind, many) in kinds.items():
            if rng.random() < 0.6:
                pool = [v for v in literals.get(name, []) if not isinstance(v, bool) or kind == "boolean"]
                value = rng.choice(pool + NOISE) if pool and rng.random() < 0.7 else rng.choice(NOISE + [None])
                if isinstance(value, str) and rng.random() < 0.5:
                    value = _fill(value, rng)
                event[name] = _typed(value, kind, many, rng)
        if i % 2 == 0:
            for leaf, positive in _leaves(rng.choice(wheres), rng):
                guess = _guess(leaf, rng)
                if guess is None or guess[0] not in kinds:
                    continue
                name, value = guess
                if not positive:
                    value = rng.choice(NOISE + [None])
                kind, many = kinds[name]
                event[name] = _typed(value, kind, many, rng)
        if categories and rng.random() < 0.8:
            kind, many = kinds.get(options.event_category_field, ("string", True))
            event[options.event_category_field] = _typed(rng.choice(categories), kind, many, rng)
        event["@timestamp"] = 1_600_000_000_000 + rng.randint(0, 50) * 1000
        event["__id"] = i
        events.append({name: value for name, value in event.items() if value is not None or rng.random() < 0.5})
    return events


# ---------------------------------------------------------------- tables
def nested(event: dict[str, Any]) -> dict[str, Any]:
    """A flat event as nested objects (``process.name`` -> ``{"process": {"name": ...}}``);
    a name whose parent already holds a value stays dotted at that level."""
    out: dict[str, Any] = {}
    for name, value in sorted(event.items(), key=lambda item: item[0].count(".")):
        parts = name.split(".")
        node = out
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                node[".".join(parts[depth:])] = value
                break
            node = child
        else:
            node[parts[-1]] = value
    return out


def arrow_table(events: list[dict[str, Any]]) -> Any:
    """An Arrow table of events; a field holding both lists and scalars holds lists, one
    holding values of several types holds their text (the Python reference reads the
    table's own rows, so whatever is stored is what both engines see)."""
    import pyarrow

    shapes: dict[str, set[str]] = {}

    def survey(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            path = prefix + key
            if isinstance(value, dict):
                survey(value, path + ".")
            elif value is not None:
                items = value if isinstance(value, list) else [value]
                shapes.setdefault(path, set()).update(
                    {"list"} if isinstance(value, list) else {"scalar"})
                shapes[path].update(type(item).__name__ for item in items if item is not None)

    for event in events:
        survey(event, "")

    def fix(node: dict[str, Any], prefix: str) -> dict[str, Any]:
        out = {}
        for key, value in node.items():
            path = prefix + key
            if isinstance(value, dict):
                out[key] = fix(value, path + ".")
                continue
            seen = shapes.get(path, set())
            types = seen - {"list", "scalar"}
            if len(types) > 1 and value is not None:
                value = [str(v) for v in value] if isinstance(value, list) else str(value)
            if "list" in seen and value is not None and not isinstance(value, list):
                value = [value]
            out[key] = value
        return out

    rows = [fix(event, "") for event in events]
    return pyarrow.Table.from_struct_array(pyarrow.array(rows))  # every row's keys (from_pylist: the first's)


# ---------------------------------------------------------------- keyed streams
STREAM_QUERIES = [
    'sequence by host.name [process where process.name == "cmd.exe"] [file where true]',
    "sequence by host.name with maxspan=5s [process where true] [network where true]",
    'sequence with maxspan=3s [process where process.name : "CMD*"] [file where true]',
    "sequence [process where true] [file where true] | head 5",
    ("sequence by host.name [process where true] by user.name [file where true] by user.name "
     "until [network where true] by user.name"),
    "sequence by host.name with maxspan=10s [process where true] with runs=2 [file where true]",
    "sequence by host.name with maxspan=5s [process where true] ![file where true] [network where true]",
    "sequence with maxspan=4s ![network where true] [process where true] [file where true]",
    "sequence with maxspan=4s [process where true] [file where true] ![network where true]",
    "sequence by ?user.name [process where true] [file where true] | tail 3",
    "sequence by host.name, user.name with maxspan=20s [process where true] [file where true] | head 7 | tail 4",
    "sample by host.name [process where true] [file where true]",
    'sample by user.name [process where process.name : "power*"] [network where true] [file where true]',
    "process where true | tail 4",
]


def keyed_stream(seed: int, count: int = 200, tiebreaker: bool = False) -> list[dict[str, Any]]:
    """Events for sequences: few keys (some lists, some null), many equal timestamps."""
    rng = random.Random(seed)
    events = []
    for i in range(count):
        host = rng.choice(["h1", "h2", "h3", None, ["h1", "h2"], ["h3", "h3"]])
        user = rng.choice(["u1", "u2", None, ["u1", "u2"]])
        event: dict[str, Any] = {
            "id": i,
            "@timestamp": 1_600_000_000_000 + rng.randint(0, count // 2) * 500,
            "event": {"category": rng.choice(["process", "file", "network"])},
            "process": {"name": rng.choice(["cmd.exe", "CMD.EXE", "powershell.exe", "svchost.exe"])},
            "host": {"name": host}, "user": {"name": user},
        }
        if tiebreaker and rng.random() < 0.8:
            event["seq"] = rng.randint(0, 20)
        events.append(event)
    return events


# ---------------------------------------------------------------- addresses
def address_texts(seed: int, count: int = 1500) -> list[str | None]:
    """IPv4 and IPv6 spellings, valid and not: leading zeros, ``::`` anywhere, IPv4 tails,
    scopes, five-digit hextets, stray spaces (for cidrMatch in SQL)."""
    rng = random.Random(seed)

    def hextet() -> str:
        return rng.choice(["0", "00", "ffff", "FFFF", "a", "1234", "0db8", "12345", "g", ""])

    def v4() -> str:
        parts = rng.choice([4, 4, 4, 3, 5])
        return ".".join(rng.choice(["0", "10", "192", "168", "255", "256", "01", "1", "127", "172", "16"])
                        for _ in range(parts))

    def v6() -> str:
        text = ":".join(hextet() for _ in range(rng.randint(1, 9)))
        if rng.random() < 0.5:
            cut = rng.randint(0, len(text))
            text = text[:cut] + "::" + text[cut:]
        if rng.random() < 0.3:
            text += ":" + v4()
        if rng.random() < 0.1:
            text = "::ffff:" + v4()
        if rng.random() < 0.1:
            text += "%" + rng.choice(["eth0", "", "a%b", "1"])
        return text
    fixed = ["::", "::1", "1::", "::ffff:10.1.2.3", "fe80::1%eth0", "0:0:0:0:0:ffff:a00:1", " 10.0.0.1",
             "1.2.3.4/8", None, "::ffff:0a00:0001", "10.0.0.1"]
    return fixed + [v4() if rng.random() < 0.2 else v6() for _ in range(count)]
