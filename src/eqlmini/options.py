"""The options of a compiled query, as Elasticsearch's EQL search API names them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from . import values


@dataclass(frozen=True)
class SearchOptions:
    """The options of Elasticsearch's EQL search API that eqlmini honours."""

    timestamp_field: str = "@timestamp"
    tiebreaker_field: str | None = None
    event_category_field: str = "event.category"
    size: int | None = None
    max_samples_per_key: int = 1
    field_types: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = {kind for kind in self.field_types.values() if kind not in values.FIELD_TYPES}
        if unknown:
            raise ValueError(f"field_types: unknown type(s) {sorted(unknown)}; known: {sorted(values.FIELD_TYPES)}")
        if self.size is not None and (not isinstance(self.size, int) or self.size < 0):
            raise ValueError(f"size must be a non-negative integer or None, not {self.size!r}")
        if not isinstance(self.max_samples_per_key, int) or self.max_samples_per_key < 1:
            raise ValueError(f"max_samples_per_key must be a positive integer, not {self.max_samples_per_key!r}")
