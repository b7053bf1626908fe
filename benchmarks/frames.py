"""Event queries over frames: per-row Python, the frame path, DuckDB SQL, in the same run.

    python benchmarks/frames.py [--events N] [--seed S] [--runs R] [--apply-rows M]

The bundled xp_cmdshell rule runs over benchmarks/xp_cmdshell.py's generated ECS events
(seeded), held three ways:
a pandas DataFrame from ``pandas.json_normalize`` (dotted column names, list cells), and a
Polars DataFrame and an Arrow Table with struct columns. Each way of running the rule is
timed R times; the script prints the median and the range in events per second, and the
ratio of each median to the per-row baseline measured in the same run:

* per-row Python: ``df.to_dict("records")`` then ``query.filter(records)`` (the conversion
  counts: it is what a user without eqlmini.frames has to do);
* ``df.apply(query, axis=1)`` over the first M rows (it is slow: M is 100,000 by default; 0 skips it);
* the frame path: ``query.filter(frame)`` on each kind of frame;
* DuckDB over the Arrow table: ``eqlmini.duckdb.filter`` (eqlmini's own SQL) where it is
  installed, and the rule written in SQL by hand.

A second table runs ``any where message : "*error*"`` over N distinct messages (free text,
where the frame path must try nearly every value) the same ways.

Every way must find the same rows; the script stops with an error if one does not.
"""

from __future__ import annotations

import argparse
import random
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


# The rule by hand, for DuckDB over the Arrow table's struct columns (lower() stands in for
# case folding): the baseline until eqlmini's own SQL is there, and beside it afterwards.
HAND_WRITTEN_SQL = r"""
    list_contains(event.category, 'process') AND list_contains(event.type, 'start')
    AND lower(process.name) = 'cmd.exe' AND lower(process.parent.name) = 'sqlservr.exe'
    AND NOT coalesce(list_bool_or(list_transform(process.args, lambda a:
        starts_with(a, '\\')
        OR lower(a) IN ('diskfree', 'rmdir', 'mkdir', 'dir', 'del', 'rename', 'bcp',
                        'k:\mssql\backup\msdb', 'k:\mssql\backup\logins')
        OR contains(lower(a), 'xmlnamespaces')
        OR (length(a) = 46 AND ends_with(lower(a), ':\mssql\backup\jobs\sql_agent_backup_job.ps1')))), false)
"""


def duckdb_runs(query: eqlmini.Query, table: Any, hand_written: str) -> list[tuple[str, Callable[[], int]]]:
    """Counts of matching rows by DuckDB over the Arrow table: eqlmini's engine if it can be
    had, and the hand-written SQL."""
    try:
        import duckdb
    except ImportError:
        print("DuckDB: not measured (duckdb is not installed)")
        return []
    connection = duckdb.connect()
    connection.register("events", table)
    sql = f"SELECT count(*) FROM events WHERE {hand_written}"
    runs = [("DuckDB: hand-written SQL", lambda: connection.execute(sql).fetchone()[0])]  # type: ignore[index]
    try:
        from eqlmini import duckdb as engine  # eqlmini's DuckDB engine, where it is installed
    except ImportError as error:
        print(f"DuckDB with eqlmini's SQL: not measured ({error})")
    else:
        print(f"eqlmini's SQL for the query is {'exact' if engine.to_sql(query, table).exact else 'a pre-filter'}")
        runs.insert(0, ("DuckDB: eqlmini.duckdb.filter",
                        lambda: len(engine.filter(query, table, connection=connection).fetchall())))
    return runs


def compare(query: eqlmini.Query, flat: pd.DataFrame, nested: Any, arrow: pa.Table, hand_written: str,
            options: argparse.Namespace) -> None:
    """Time every way of running ``query`` over the frames (same rows) and print the table."""
    expected = sum(1 for _ in query.filter(flat.to_dict("records")))
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
    ways += [(label, run, len(flat)) for label, run in duckdb_runs(query, arrow, hand_written)]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--apply-rows", type=int, default=100_000)
    options = parser.parse_args()
    print(f"{options.events:,} events (seed {options.seed}), {options.runs} runs each; Python "
          f"{sys.version.split()[0]}, pandas {pd.__version__}, Polars {pl.__version__}")

    query = next(r for r in eqlmini.bundled_rules() if "xp_cmdshell" in r.name).query
    events = generate(options.events, options.seed)
    flat = pd.json_normalize(events)
    # Arrow infers a schema from the first row only: take it from Polars, over a sample.
    schema = pl.DataFrame(events[:10_000], infer_schema_length=None).to_arrow().schema
    arrow = pa.Table.from_pylist(events, schema=schema)
    del events
    print(f"\nThe bundled rule: {query.text[:60]}...")
    compare(query, flat, pl.from_arrow(arrow), arrow, HAND_WRITTEN_SQL, options)

    # Free text: nearly every value differs, so the frame path tries nearly every row.
    rng = random.Random(options.seed)
    messages = pd.DataFrame({"message": [f"request {i} from host-{rng.randrange(1000)} "
                                         f"{'ERROR' if rng.random() < 0.01 else 'ok'} in {rng.random():.6f} s"
                                         for i in range(options.events)]})
    query = eqlmini.compile('any where message : "*error*"')
    print(f"\nFree text, {options.events:,} distinct messages: {query.text}")
    arrow = pa.Table.from_pandas(messages, preserve_index=False)
    compare(query, messages, pl.from_arrow(arrow), arrow, "lower(message) LIKE '%error%'", options)


if __name__ == "__main__":
    main()
