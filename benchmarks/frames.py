"""The bundled xp_cmdshell rule over events in a frame: per-row Python, the frame path, DuckDB SQL.

    python benchmarks/frames.py [--events N] [--seed S] [--runs R] [--apply-rows M]

The events are benchmarks/xp_cmdshell.py's generated ECS events (seeded), held three ways:
a pandas DataFrame from ``pandas.json_normalize`` (dotted column names, list cells), and a
Polars DataFrame and an Arrow Table with struct columns. Each way of running the rule is
timed R times; the script prints the median and the range in events per second, and the
ratio of each median to the per-row baseline measured in the same run:

* per-row Python: ``df.to_dict("records")`` then ``query.filter(records)`` (the conversion
  counts: it is what a user without eqlmini.frames has to do);
* ``df.apply(query, axis=1)`` over the first M rows (it is slow: M is 100,000 by default; 0 skips it);
* the frame path: ``query.filter(frame)`` on each kind of frame;
* DuckDB: the SQL of ``query.to_sql("duckdb", ...)`` over the Arrow table, when eqlmini's SQL
  generator and duckdb are installed.

Every way must find the same rows; the script stops with an error if one does not.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # run from a checkout, too

import pandas as pd  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow as pa  # noqa: E402
from xp_cmdshell import generate  # noqa: E402

import eqlmini  # noqa: E402


def timed(run: Callable[[], int], runs: int) -> tuple[list[float], int]:
    """Seconds of each run, and the number of rows the last run found."""
    seconds, found = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        found = run()
        seconds.append(time.perf_counter() - start)
    return seconds, found


def duckdb_count(query: eqlmini.Query, table: Any) -> Callable[[], int] | None:
    """A run of the query's DuckDB SQL over the Arrow table, or None if it cannot be had."""
    try:
        import duckdb
        sql = query.to_sql("duckdb", table.schema)  # type: ignore[attr-defined]
    except (ImportError, AttributeError, eqlmini.EqlError) as error:
        print(f"DuckDB SQL: not measured ({type(error).__name__}: {error})")
        return None
    connection = duckdb.connect()
    connection.register("events", table)
    return lambda: connection.execute(f"SELECT count(*) FROM events WHERE {sql}").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--apply-rows", type=int, default=100_000)
    options = parser.parse_args()

    query = next(r for r in eqlmini.bundled_rules() if "xp_cmdshell" in r.name).query
    started = time.perf_counter()
    events = generate(options.events, options.seed)
    flat = pd.json_normalize(events)
    # Arrow infers a schema from the first row only: take it from Polars, over a sample.
    arrow = pa.Table.from_pylist(events, schema=pl.DataFrame(events[:10_000], infer_schema_length=None).to_arrow().schema)
    nested = pl.from_arrow(arrow)
    expected = sum(map(query.match, events))
    del events
    print(f"{options.events:,} events (seed {options.seed}), {expected:,} match; frames built in "
          f"{time.perf_counter() - started:.0f} s; {options.runs} runs each; Python {sys.version.split()[0]}, "
          f"pandas {pd.__version__}, Polars {pl.__version__}")

    ways: list[tuple[str, Callable[[], int], int]] = [
        ("per-row: to_dict + filter", lambda: sum(1 for _ in query.filter(flat.to_dict("records"))), len(flat))]
    if options.apply_rows:
        ways.append((f"per-row: df.apply ({options.apply_rows:,} rows)",
                     lambda: int(flat.iloc[:options.apply_rows].apply(query, axis=1).sum()), options.apply_rows))
    ways += [
        ("frame path: pandas", lambda: len(query.filter(flat)), len(flat)),
        ("frame path: Polars", lambda: len(query.filter(nested)), len(flat)),
        ("frame path: Arrow", lambda: query.filter(arrow).num_rows, len(flat)),
    ]
    duckdb_run = duckdb_count(query, arrow)
    if duckdb_run is not None:
        ways.append(("DuckDB SQL over Arrow", duckdb_run, len(flat)))

    print(f"{'way':<34}{'events/s (median)':>18}{'range':>26}{'vs to_dict':>12}")
    baseline = None
    for label, run, rows in ways:
        seconds, found = timed(run, options.runs)
        wanted = expected if rows == len(flat) else sum(map(query.match, flat.iloc[:rows].to_dict("records")))
        if found != wanted:
            raise SystemExit(f"{label}: found {found:,} rows, the Python engine {wanted:,}")
        rates = sorted(rows / s for s in seconds)
        median = statistics.median(rates)
        baseline = baseline or median
        print(f"{label:<34}{median:>18,.0f}{f'{rates[0]:,.0f} - {rates[-1]:,.0f}':>26}{median / baseline:>11.1f}x")


if __name__ == "__main__":
    main()
