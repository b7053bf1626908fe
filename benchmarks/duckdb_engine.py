"""DuckDB against per-row Python over Parquet: the bundled rule, and a sequence rule.

    python benchmarks/duckdb_engine.py [--events N] [--repeat R] [--seed S] [--cache DIR]

Needs ``pip install -e '.[duckdb]'``. Two Parquet files of N generated events are written
once (benchmarks/engine_data.py). Each figure is the median of R runs, with the range:

* event rule (rules/xp_cmdshell.eql): per-row Python reads the file in Arrow batches and
  calls ``query.match`` on every row as a dict; "match only" is the same loop over rows
  already in memory (no reading); DuckDB runs ``eqlmini.duckdb.filter`` (the rule's SQL) and
  counts the rows;
* sequence (benchmarks/sequence.py's 3-stage ``sequence by ... with maxspan=1m``): the
  Python engine reads every row and runs ``query.search``; DuckDB selects the events of the
  stages in SQL and runs the same search over them (``eqlmini.duckdb.search``).

Both paths must find the same matches, or the script stops.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine_data import parquet_file, report, timed

import eqlmini
import eqlmini.duckdb
from sequence import SEQUENCE


def python_rows(path: Path) -> list[dict]:
    import pyarrow.parquet

    return pyarrow.parquet.read_table(path).to_pylist()


def per_row_count(query: eqlmini.Query, path: Path) -> int:
    import pyarrow.parquet

    match = query.match
    return sum(1 for batch in pyarrow.parquet.ParquetFile(path).iter_batches(65_536)
               for row in batch.to_pylist() if match(row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=None)
    options = parser.parse_args()
    import duckdb

    count, repeat = options.events, options.repeat
    print(f"{count:,} events per file, median of {repeat} runs; Python {sys.version.split()[0]}, "
          f"DuckDB {duckdb.__version__}")

    rule = next(r for r in eqlmini.bundled_rules() if "xp_cmdshell" in r.name)
    path = parquet_file("rule", count, options.seed, options.cache)
    print(f"\nevent rule: {rule.name}\n  SQL: {eqlmini.duckdb.to_sql(rule.query, str(path))}")
    rows = python_rows(path)
    python = timed(lambda: per_row_count(rule.query, path), repeat)
    in_memory = timed(lambda: sum(1 for row in rows if rule.query.match(row)), repeat)
    del rows
    sql = timed(lambda: eqlmini.duckdb.filter(rule.query, str(path)).aggregate("count(*)").fetchall()[0][0], repeat)
    if not python[3] == in_memory[3] == sql[3]:
        raise SystemExit(f"results differ: Python {python[3]}, in memory {in_memory[3]}, DuckDB {sql[3]}")
    report("per-row Python (read + match)", count, python, None)
    report("per-row Python (match only)", count, in_memory, python[0])
    report("DuckDB SQL", count, sql, python[0])
    print(f"  matches: {sql[3]:,}")

    query = eqlmini.compile(SEQUENCE)
    path = parquet_file("sequence", count, options.seed, options.cache)
    print(f"\nsequence:{SEQUENCE.rstrip()}")
    python = timed(lambda: sum(1 for _ in query.search(python_rows(path))), repeat)
    prefiltered = timed(lambda: sum(1 for _ in eqlmini.duckdb.search(query, str(path))), repeat)
    if python[3] != prefiltered[3]:
        raise SystemExit(f"results differ: Python {python[3]}, DuckDB pre-filter {prefiltered[3]}")
    report("Python engine (read + search)", count, python, None)
    report("DuckDB pre-filter + eqlmini", count, prefiltered, python[0])
    print(f"  sequences: {prefiltered[3]:,}")


if __name__ == "__main__":
    main()
