"""A schema: flat field names with their Elasticsearch types, resolved as Elasticsearch's EQL does.

Elasticsearch reads an index's fields through the field capabilities API, which reports each
mapping type by its family (``constant_keyword`` and ``wildcard`` as ``keyword``,
``match_only_text`` as ``text``), and turns each into a QL data type (ES
``x-pack/plugin/ql/.../type/DataTypes.java``); a type QL does not know is unsupported.
:meth:`Schema.resolve` then applies the analyzer's rules for a field name
(``eql/analysis/AnalysisUtils.handleSpecialFields``, ``Verifier``): an unknown name is
"Unknown column" with the names ``StringUtils.findSimilar`` suggests; an ``object`` may only
be used through its sub-fields; ``nested`` fields, fields under them and unsupported types
are rejected; a ``text`` field is exact only through one keyword multi-field
(``TextEsField``).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Iterator, Mapping

from ..errors import EqlSemanticError, Span

_NUMBERS = ("long", "integer", "short", "byte", "unsigned_long", "double", "float", "half_float", "scaled_float")
# Mapping type -> QL type name, as the field capabilities API reports the type's family.
QL_TYPES: Mapping[str, str] = MappingProxyType({
    "keyword": "keyword", "constant_keyword": "keyword", "wildcard": "keyword",
    "text": "text", "match_only_text": "text",
    "date": "datetime", "date_nanos": "datetime",
    "boolean": "boolean", "ip": "ip", "version": "version", "binary": "binary",
    **{name: name for name in _NUMBERS},
})
# QL type name -> what it compares with (DataTypes.areCompatible: strings, numbers, dates, or itself).
FAMILIES: Mapping[str, str] = MappingProxyType({
    "keyword": "string", "text": "string", "datetime": "date",
    **{name: "number" for name in _NUMBERS},
    **{name: name for name in ("boolean", "ip", "version", "binary", "null")},
})
COMPOUND = ("object", "nested")
OPEN = ".*"  # `labels.*`: any sub-field of `labels`


class FieldType:
    """The type of a resolved field: QL's name for it, its family and, for text, why it is inexact."""

    __slots__ = ("name", "family", "inexact")

    def __init__(self, name: str, inexact: str | None = None) -> None:
        self.name = name              # keyword, text, long, datetime, ip, ... (QL DataType.typeName)
        self.family = FAMILIES[name]  # string, number, date, boolean, ip, version, binary or null
        self.inexact = inexact        # for a text field without one keyword multi-field: ES's reason

    @property
    def es_type(self) -> str:
        """The name Elasticsearch's join-key messages use (``DataType.esType``: ``date``, not ``datetime``)."""
        return "date" if self.name == "datetime" else self.name

    def __repr__(self) -> str:
        return f"FieldType({self.name!r})"


NULL = FieldType("null")  # an optional field the schema does not have: `?x` is null


class UnknownFieldError(EqlSemanticError):
    """A field the schema does not have: Elasticsearch's "Unknown column", with its suggestions."""

    def __init__(self, field: str, suggestions: tuple[str, ...], span: Span | None = None,
                 text: str | None = None) -> None:
        super().__init__(unknown_column(field, suggestions), span, text)
        self.field = field
        self.suggestions = suggestions  # all of Elasticsearch's, best first


SHOWN_SUGGESTIONS = 5  # ES names every field half similar: 100 and more against ECS; the error keeps all


def unknown_column(field: str, suggestions: tuple[str, ...]) -> str:
    """ES ``UnresolvedAttribute.errorMessage``, naming the first few suggestions and "..." for the rest."""
    if not suggestions:
        return f"Unknown column [{field}]"
    if len(suggestions) == 1:
        return f"Unknown column [{field}], did you mean [{suggestions[0]}]?"
    shown = list(suggestions[:SHOWN_SUGGESTIONS]) + (["..."] if len(suggestions) > SHOWN_SUGGESTIONS else [])
    return f"Unknown column [{field}], did you mean any of [{', '.join(shown)}]?"


class Schema(Mapping[str, str]):
    """An immutable, hashable map of flat field names to Elasticsearch mapping types.

    ``Schema({"process.name": "keyword", "process.pid": "long", "labels.*": "keyword"})``: the
    types are mapping types as Elasticsearch spells them (``keyword``, ``long``, ``date``,
    ``ip``, ``object``, ``nested``, ``geo_point``, ...); a ``name.*`` entry stands for any
    sub-field of ``name``. Parents of listed fields are objects without being listed.
    """

    __slots__ = ("_types", "_name", "_hash", "_field_types", "_parents", "_children", "_candidates", "_suggested")

    def __init__(self, fields: Mapping[str, str], *, name: str = "custom") -> None:
        types: dict[str, str] = {}
        for field, kind in fields.items():
            if not (isinstance(field, str) and field and isinstance(kind, str) and kind):
                raise ValueError(f"a schema maps field names to type names, not {field!r} to {kind!r}")
            types[field] = kind
        self._types = types
        self._name = name
        self._hash: int | None = None
        self._field_types: Mapping[str, str] | None = None
        self._parents: frozenset[str] | None = None          # derived on first need: most
        self._children: dict[str, list[str]] | None = None  # compiles never ask for them
        self._candidates: tuple[tuple[str, ...], tuple[int, ...]] | None = None
        self._suggested: dict[str, tuple[str, ...]] = {}  # a rule pack repeats its unknown fields

    # ----------------------------------------------------------------- the mapping
    @property
    def name(self) -> str:
        """What the schema is called in messages: ``ecs``, a file name, ``custom``."""
        return self._name

    def __getitem__(self, field: str) -> str:
        return self._types[field]

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._types.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Schema):
            return self._types == other._types
        return super().__eq__(other)

    def __repr__(self) -> str:
        return f"<Schema {self.name}: {len(self)} fields>"

    def extend(self, fields: Mapping[str, str], *, name: str | None = None) -> "Schema":
        """A new schema with ``fields`` added (a schema or a ``{field: type}`` mapping); they win."""
        return Schema({**self._types, **fields}, name=name or self.name)

    @property
    def field_types(self) -> Mapping[str, str]:
        """The ``field_types`` option this schema implies: its date and version fields."""
        if self._field_types is None:
            kinds = {"datetime": "date", "version": "version"}
            self._field_types = MappingProxyType({field: kinds[QL_TYPES[kind]] for field, kind in self._types.items()
                                                  if QL_TYPES.get(kind) in kinds and not field.endswith(OPEN)})
        return self._field_types

    # ----------------------------------------------------------------- resolution
    def resolve(self, field: str, *, optional: bool = False, span: Span | None = None) -> FieldType:
        """The type of ``field`` (``?field`` if ``optional``), or raise Elasticsearch's error at ``span``."""
        kind = self._kind(field)
        if kind is None:
            if optional:
                return NULL
            raise UnknownFieldError(field, self.suggestions(field), span)
        parents = [(parent, self._types.get(parent)) for parent in _parents(field)]  # listed ones only:
        for parent, parent_kind in parents:  # an implicit parent is a plain object
            if parent_kind is not None and parent_kind not in QL_TYPES and parent_kind not in COMPOUND:
                raise EqlSemanticError(f"Cannot use field [{field}] with unsupported type [{parent_kind}] in "
                                       f"hierarchy (field [{parent}])", span)  # IndexResolver: the parent's type
        if kind not in QL_TYPES and kind not in COMPOUND:
            raise EqlSemanticError(f"Cannot use field [{field}] with unsupported type [{kind}]", span)
        if kind == "object":
            raise EqlSemanticError(f"Cannot use field [{field}] type [object] only its subfields", span)
        if kind == "nested":
            raise EqlSemanticError(f"Cannot use field [{field}] type [nested] due to nested fields not being "
                                   f"supported yet", span)
        field_type = FieldType(QL_TYPES[kind], self._inexact(field) if QL_TYPES[kind] == "text" else None)
        nested = [parent for parent, parent_kind in parents if parent_kind == "nested"]
        if nested:
            raise EqlSemanticError(f"Cannot use field [{field}] type [{field_type.name}] with unsupported nested "
                                   f"type in hierarchy (field [{nested[-1]}])", span)
        return field_type

    def suggestions(self, field: str) -> tuple[str, ...]:
        """The fields Elasticsearch suggests for an unknown one (ES ``StringUtils.findSimilar``):
        usable fields at least half similar (Lucene's Levenshtein similarity, 1 - edits /
        longer length), best first, ties in mapping order."""
        if field in self._suggested:
            return self._suggested[field]
        names, shared = self._usable()
        if len(field) > 2 * max(map(len, names), default=0):
            return ()  # at least half of it would be edits against every name (and a hostile name is long)
        scored = []
        for name, edits in zip(names, _edit_distances(field, names, shared)):
            score = 1.0 - edits / max(len(name), len(field), 1)
            if score >= 0.5:
                scored.append((score, name))
        found = self._suggested[field] = tuple(name for score, name in sorted(scored, key=lambda s: -s[0]))
        return found

    def _kind(self, field: str) -> str | None:
        """The mapping type of a field, of an open object's sub-field, or ``object`` for a parent."""
        kind = self._types.get(field)
        if kind is not None:
            return kind
        for parent in reversed(_parents(field)):
            kind = self._types.get(parent + OPEN)
            if kind is not None:
                return kind
        if self._parents is None:
            self._parents = frozenset(parent for name in self._types for parent in _parents(name))
        return "object" if field in self._parents else None

    def _inexact(self, field: str) -> str | None:
        """ES ``TextEsField.findExact``: a text field is exact through exactly one keyword sub-field."""
        if self._children is None:
            children: dict[str, list[str]] = {}
            for name in self._types:
                parent, _, leaf = name.rpartition(".")
                if parent:
                    children.setdefault(parent, []).append(name)
            self._children = children
        exact = [name for name in self._children.get(field, ()) if QL_TYPES.get(self._types[name]) == "keyword"]
        leaf = field.rpartition(".")[2]
        if not exact:
            return f"No keyword/multi-field defined exact matches for [{leaf}]; define one or use MATCH/QUERY instead"
        if len(exact) > 1:
            return f"Multiple exact keyword candidates available for [{leaf}]; specify which one to use"
        return None

    def _usable(self) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """Fields of a primitive type (ES suggests no others), in the mapping's order: sorted by
        path component, parents before children, as Elasticsearch walks the mapping tree; and
        how many leading characters each shares with the one before it."""
        if self._candidates is None:
            names = [name for name, kind in self._types.items() if kind in QL_TYPES and not name.endswith(OPEN)]
            names.sort(key=lambda name: name.split("."))
            shared = [0]
            for before, name in zip(names, names[1:]):
                length = 0
                while length < min(len(before), len(name)) and before[length] == name[length]:
                    length += 1
                shared.append(length)
            self._candidates = (tuple(names), tuple(shared))
        return self._candidates


def _parents(field: str) -> list[str]:
    """``a``, ``a.b`` for ``a.b.c``: the objects above a field, outermost first."""
    parts = field.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def _edit_distances(pattern: str, names: tuple[str, ...], shared: tuple[int, ...]) -> Iterator[int]:
    """The Levenshtein distance from ``pattern`` to each name, by Myers' bit-parallel algorithm
    (Hyyro's form: a column of the edit table as the bits of two ints, one step per character).
    A name starts from the state after the characters it shares with the name before it: a
    schema's sorted names share most of their length, and ECS has thousands of them."""
    size = len(pattern)
    if size == 0:
        yield from map(len, names)
        return
    masks: dict[str, int] = {}
    for position, char in enumerate(pattern):
        masks[char] = masks.get(char, 0) | 1 << position
    full, last = (1 << size) - 1, 1 << size >> 1
    states = [(full, 0, size)]  # (vertical +1 bits, vertical -1 bits, distance) after each character
    for name, common in zip(names, shared):
        del states[common + 1:]
        positive, negative, score = states[-1]
        for char in name[common:]:
            match = masks.get(char, 0)
            vertical = match | negative
            horizontal = (((match & positive) + positive) ^ positive) | match
            up = negative | ~(horizontal | positive)
            down = positive & horizontal
            if up & last:
                score += 1
            elif down & last:
                score -= 1
            up = (up << 1) | 1  # the first row counts insertions: each step is +1
            positive = ((down << 1) | ~(vertical | up)) & full
            negative = up & vertical & full
            states.append((positive, negative, score))
        yield score


def merge(*schemas: Mapping[str, str], name: str | None = None) -> Schema:
    """One schema from several (schemas or ``{field: type}`` mappings); later ones win."""
    fields: dict[str, str] = {}
    for schema in schemas:
        fields.update(schema)
    names = [schema.name for schema in schemas if isinstance(schema, Schema)]
    return Schema(fields, name=name or "+".join(names) or "custom")
