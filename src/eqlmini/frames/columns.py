"""An event query over a frame, column by column: each leaf once per distinct value, not per row.

Elasticsearch reads a field from dotted and nested names alike, so ``process.parent.name``
is read from whichever columns are named ``process.parent.name``, ``process.parent`` or
``process`` (a struct column is read field by field down to the value when it can be).
Only the columns the query reads are ever read.

The compiler's semantics make a condition easy to split (``compiler`` module docstring):
``and``, ``or`` and ``not`` are plain Boolean over *leaves*, and a leaf is a pure function
of the values of the fields it reads. So each leaf is compiled alone by eqlmini's own
compiler and called on a small event holding just its columns, once per distinct value,
and only for the rows the leaves before it left undecided (``a and b`` tries ``b`` only
where ``a`` held). The answers are the Python engine's by construction.

Distinct values come from the frame library where it tells them apart exactly as eqlmini
does (text, integers, booleans, lists of them: :meth:`Table.codes`); the rows are then
sorted out by numpy. Other columns are read as Python values, memoised by :func:`value_key`.
"""

from __future__ import annotations

from collections import OrderedDict
from itertools import repeat
from weakref import WeakKeyDictionary
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from .. import ast, compiler
from ..errors import EqlError
from ..options import SearchOptions
from .tables import Table

Event = Mapping[str, Any]
Rows = Sequence[int]  # row positions, ascending


@dataclass(frozen=True)
class Source:
    """A column (or a struct field inside it) and the name an event holds its values under."""

    key: str
    position: int
    path: tuple[str, ...] = ()


class Columns:
    """The columns of a frame that hold given fields, each read once (values, and codes).

    At most ``keep`` columns stay in memory (the least recently used go first), so that a
    rule pack over a wide frame does not hold every column at once.
    """

    def __init__(self, table: Table, keep: int = 64) -> None:
        self.table = table
        self.keep = keep
        self._positions: dict[str, int] = {}
        self._repeated: set[str] = set()
        for position, name in enumerate(table.names):
            if isinstance(name, str):  # a field name is text: other labels hold no field
                if name in self._positions:
                    self._repeated.add(name)
                self._positions[name] = position
        self._read: OrderedDict[tuple[str, int, tuple[str, ...]], Any] = OrderedDict()

    def __len__(self) -> int:
        return len(self.table)

    def sources(self, fields: Iterable[str]) -> list[Source]:
        """The sources such that an event ``{source.key: value at row, ...}`` holds what the
        row holds for every one of ``fields`` (columns the frame lacks are left out)."""
        below: dict[int, list[list[str]]] = {}  # column -> for each field, its path below it
        for field in fields:
            parts = field.split(".")
            for depth in range(1, len(parts) + 1):
                name = ".".join(parts[:depth])
                if name in self._repeated:
                    raise EqlError(f"the frame has several columns named {name!r}, which field {field!r} reads")
                position = self._positions.get(name)
                if position is not None:
                    below.setdefault(position, []).append(parts[depth:])
        sources = []
        for position, paths in below.items():
            path = self._struct_path(position, paths)
            sources.append(Source(".".join((self.table.names[position], *path)), position, path))
        return sources

    def _struct_path(self, position: int, paths: list[list[str]]) -> tuple[str, ...]:
        """How deep into a struct column every field read from it can go before reading it.

        Only through struct fields whose names hold no dot: a dotted name would have to be
        merged with the nested one, which the event's own field reader does.
        """
        path: tuple[str, ...] = ()
        while all(len(rest) > len(path) for rest in paths):
            step = {rest[len(path)] for rest in paths}
            children = self.table.children(position, path)
            if len(step) != 1 or children is None or any("." in child for child in children):
                break
            name = step.pop()
            if name not in children:
                break
            path += (name,)
        return path

    def values(self, source: Source, rows: Rows | None = None) -> list[Any]:
        """The source's value in each row (in each of ``rows``, in their order)."""
        return self._read_for("values", source, rows, self.table.values)  # type: ignore[no-any-return]

    def codes(self, source: Source, rows: Rows | None = None) -> tuple[Any, list[Any]] | None:
        """The source's distinct values and the index of each row's value among them (each of
        ``rows``, or of every row), if the library can tell (see :meth:`Table.codes`)."""
        return self._read_for("codes", source, rows, self.table.codes)

    def _read_for(self, what: str, source: Source, rows: Rows | None, read: Callable[..., Any]) -> Any:
        """A few rows are read alone; for many, the whole column is read once and kept."""
        if rows is not None and len(rows) * 2 < len(self):
            return read(source.position, source.path, rows)
        key = (what, source.position, source.path)
        if key in self._read:
            self._read.move_to_end(key)
            found = self._read[key]
        else:
            found = self._read[key] = read(source.position, source.path)
            if len(self._read) > self.keep:
                self._read.popitem(last=False)
        if what == "values" and rows is not None and len(rows) < len(self):
            return [found[row] for row in rows]
        return found

    def events(self, fields: Iterable[str], rows: Rows | None = None) -> list[dict[str, Any]]:
        """One small event per row (or for each of ``rows``), holding only the columns that
        hold ``fields``."""
        sources = self.sources(fields)
        if not sources:
            return [{} for _ in (range(len(self)) if rows is None else rows)]
        keys = [source.key for source in sources]
        return [dict(zip(keys, row)) for row in zip(*(self.values(source, rows) for source in sources))]


# --------------------------------------------------------------------- the condition, split
@dataclass(frozen=True)
class Leaf:
    """A leaf of the condition, compiled alone, and the fields it reads."""

    match: Callable[[Event], bool]
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Connective:
    """``and``, ``or`` or ``not`` over parts (Boolean, as the compiler makes them)."""

    op: str
    parts: tuple["Plan", ...]


Plan = Leaf | Connective


_PLANS: "WeakKeyDictionary[Any, tuple[Plan, ...]]" = WeakKeyDictionary()


def plans_of(query: Any) -> tuple[Plan, ...]:
    """The plans of a :class:`~eqlmini.Query`'s filters (its own, or each stage's, ``until``
    last), made once per query: compiling the leaves costs about a millisecond a rule, and
    a rule pack scans many frames."""
    found = _PLANS.get(query)
    if found is None:
        found = _PLANS[query] = tuple(plan(filter_, query.options) for filter_ in query.tree.event_queries())
    return found


def plan(query: ast.EventQuery, options: SearchOptions) -> Plan:
    """The condition of ``category where condition`` as connectives over compiled leaves."""
    def compiled(node: ast.Expr) -> Leaf:
        match = compiler.compile_event_query(ast.EventQuery(None, node), options)
        return Leaf(match, tuple(field.name for field in ast.fields_of(node)))

    def split(node: ast.Expr) -> Plan:
        # As the compiler's `condition`: a part that reads no field is one constant leaf.
        if ast.fields_of(node):
            if isinstance(node, (ast.And, ast.Or)):
                return Connective("and" if isinstance(node, ast.And) else "or", tuple(map(split, node.terms)))
            if isinstance(node, ast.Not):
                return Connective("not", (split(node.operand),))
        return compiled(node)

    where = split(query.where)
    if query.category is None:
        return where
    # The compiler's own category test, with a condition that is always true.
    category = compiler.compile_event_query(ast.EventQuery(query.category, ast.Literal(True)), options)
    return Connective("and", (Leaf(category, (options.event_category_field,)), where))


def rows_where(part: Plan, rows: Rows, columns: Columns) -> list[int]:
    """The rows among ``rows`` where ``part`` holds, in order."""
    if isinstance(part, Leaf):
        return _leaf_rows(part, rows, columns)
    if part.op == "and":
        for term in part.parts:
            rows = rows_where(term, rows, columns)
            if not rows:
                break
        return list(rows)
    if part.op == "or":
        found: set[int] = set()
        rest: Rows = rows
        for term in part.parts:
            hits = rows_where(term, rest, columns)
            if hits:
                found.update(hits)
                rest = [row for row in rest if row not in found]
        return [row for row in rows if row in found]
    excluded = set(rows_where(part.parts[0], rows, columns))
    return [row for row in rows if row not in excluded]


_UNSHARED = object()  # the key of a value that is not memoised: it is tested on its own


def value_key(value: Any) -> Any:
    """A key equal for two values only if every leaf treats them alike, or ``_UNSHARED``.

    Python's own equality is too coarse: ``1 == 1.0 == True`` and ``0.0 == -0.0``, which a
    leaf tells apart (``"1"``, ``"1.0"``, ``"true"``; ``"-0.0"``); NaN equals nothing.
    """
    kind = value.__class__
    if kind is str or value is None:
        return value
    if kind is int or kind is bool:
        return (kind, value)
    if kind is float:
        return (kind, value.hex())
    if kind is list and set(map(type, value)) <= {str}:
        return (kind, tuple(value))
    return _UNSHARED


def _leaf_rows(leaf: Leaf, rows: Rows, columns: Columns) -> list[int]:
    sources = columns.sources(leaf.fields)
    if len(sources) == 1:
        coded = columns.codes(sources[0], rows)
        if coded is not None:
            return _coded_rows(leaf.match, sources[0].key, *coded, rows)
        return _column_rows(leaf.match, sources[0].key, columns.values(sources[0], rows), rows)
    values = [columns.values(source, rows) for source in sources]
    return _columns_rows(leaf.match, [source.key for source in sources], values, rows)


def _coded_rows(match: Callable[[Event], bool], key: str, codes: Any, distinct: list[Any], rows: Rows) -> list[int]:
    """A leaf tried once per distinct value among ``rows``; numpy does the rest. ``codes``
    holds a code for each of ``rows``, or for every row of the column."""
    import numpy as np

    positions = np.arange(rows.start, rows.stop) if isinstance(rows, range) else np.asarray(rows, dtype=np.int64)
    picked = codes if len(codes) == len(positions) else codes[positions]
    truth = np.zeros(len(distinct), dtype=bool)
    for code in np.flatnonzero(np.bincount(picked, minlength=len(distinct))).tolist():
        truth[code] = match({key: distinct[code]})
    return positions[truth[picked]].tolist()  # type: ignore[no-any-return]


def _column_rows(match: Callable[[Event], bool], key: str, values: list[Any], rows: Rows) -> list[int]:
    """A leaf over one column's ``values`` (one for each of ``rows``), memoised by :func:`value_key`."""
    memo: dict[Any, bool] = {}
    hits = []
    for row, value in zip(rows, values):
        shared = value if value.__class__ is str else value_key(value)  # text first: the common case
        if shared is _UNSHARED:
            hit: bool | None = match({key: value})
        else:
            hit = memo.get(shared)
            if hit is None:
                hit = memo[shared] = match({key: value})
        if hit:
            hits.append(row)
    return hits


def _columns_rows(match: Callable[[Event], bool], keys: list[str], columns: list[list[Any]], rows: Rows) -> list[int]:
    """A leaf over several columns (or none), memoised by the tuple of their value keys."""
    memo: dict[Any, bool] = {}
    hits = []
    for row, values in zip(rows, zip(*columns) if columns else repeat(())):
        shared = tuple(map(value_key, values))
        if _UNSHARED in shared:
            hit: bool | None = match(dict(zip(keys, values)))
        else:
            hit = memo.get(shared)
            if hit is None:
                hit = memo[shared] = match(dict(zip(keys, values)))
        if hit:
            hits.append(row)
    return hits
