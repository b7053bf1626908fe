"""Read the rows of a Parquet file as events, through DuckDB (the optional ``duckdb`` extra).

:func:`eqlmini.duckdb.events` reads the file; it, and DuckDB with it, is imported on first
use only, so JSON users never need it. Without it, reading a Parquet file raises
:class:`EqlEventError` naming the extra, as an EVTX file does without ``evtx``. A file DuckDB
cannot read is reported, with the rows read before the fault kept. Rows are numbered from 1,
in the file's order. Nested columns (structs, lists) become nested events; a timestamp
column becomes a ``datetime``, which eqlmini reads as a date.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from ..errors import EqlEventError
from .report import ReadReport

__all__ = ["PARQUET_EXTENSIONS", "PARQUET_MAGIC", "read_parquet"]

PARQUET_MAGIC = b"PAR1"
PARQUET_EXTENSIONS = (".parquet", ".parq", ".pq")
_BATCH = 1024  # rows per batch of events


def read_parquet(path: str, source: str, report: ReadReport) -> Iterator[tuple[list[dict], range]]:
    """Yield ``(events, their row numbers)`` in batches; report a file DuckDB cannot read."""
    try:
        import duckdb

        from ..duckdb import events
    except ImportError:
        raise EqlEventError("reading .parquet files needs the optional 'duckdb' package: "
                            "pip install 'eqlmini[duckdb]'") from None
    done = 0
    with duckdb.connect() as connection:  # one of its own, closed with the file
        try:
            rows = events(connection.read_parquet(path))  # a Parquet file, whatever its name
            while batch := list(itertools.islice(rows, _BATCH)):
                yield batch, range(done + 1, done + 1 + len(batch))
                done += len(batch)
        except duckdb.Error as exc:
            report.add(source, f"row {done + 1}" if done else "file", f"not a readable Parquet file: {exc}")
