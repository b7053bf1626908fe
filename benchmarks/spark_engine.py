"""Spark in local mode: the bundled rule, a sequence and a rule pack over Parquet files.

    python benchmarks/spark_engine.py [--events N] [--repeat R] [--cores C] [--pack PATH]

Needs ``pip install -e '.[spark]'`` and Java 17. The Parquet files are those of
benchmarks/duckdb_engine.py (N events each, default 2,000,000). Median and range of R runs:

* ``eqlmini.spark.filter`` of rules/xp_cmdshell.eql, counted (the rule's SQL in ``where``);
* ``eqlmini.spark.search`` of benchmarks/sequence.py's sequence, counted (SQL selects the
  stage events, eqlmini matches them grouped by join key);
* ``eqlmini.spark.scan`` of a rule pack (default: the corpus's event rules from ../shared),
  alerts counted (one RuleSet in every partition);
* the baseline: per-row Python reading the rule file and matching the bundled rule.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine_data import HERE, parquet_file, report, timed

import eqlmini
import eqlmini.spark
from duckdb_engine import per_row_count
from sequence import SEQUENCE

CORPUS = HERE.parent.parent / "shared" / "corpus" / "detection-rules-eql.jsonl"


def pack(path: Path) -> eqlmini.RuleSet:
    """The event rules of a detection-rules JSONL corpus as a RuleSet."""
    rules = []
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry["query_kind"] == "event":
            rules.append(eqlmini.Rule(entry["name"], entry["query"],
                                      event_category_override=entry["event_category_override"]))
    return eqlmini.RuleSet(rules)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--pack", type=Path, default=CORPUS)
    parser.add_argument("--cache", type=Path, default=None)
    options = parser.parse_args()
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master(f"local[{options.cores}]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", str(2 * options.cores)).getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    count, repeat = options.events, options.repeat
    print(f"{count:,} events per file, median of {repeat} runs; Spark {spark.version} local[{options.cores}]")

    rule = next(r for r in eqlmini.bundled_rules() if "xp_cmdshell" in r.name)
    rule_file = parquet_file("rule", count, options.seed, options.cache)
    events = spark.read.parquet(str(rule_file))
    baseline = timed(lambda: per_row_count(rule.query, rule_file), repeat)
    spark_filter = timed(lambda: eqlmini.spark.filter(rule.query, events).count(), repeat)
    if baseline[3] != spark_filter[3]:
        raise SystemExit(f"results differ: Python {baseline[3]}, Spark {spark_filter[3]}")
    report("per-row Python (read + match)", count, baseline, None)
    report("Spark filter, bundled rule", count, spark_filter, baseline[0])
    print(f"  matches: {spark_filter[3]:,}")

    query = eqlmini.compile(SEQUENCE)
    sequence_file = parquet_file("sequence", count, options.seed, options.cache)
    stream = spark.read.parquet(str(sequence_file))
    found = timed(lambda: eqlmini.spark.search(query, stream).select("result").distinct().count(), repeat)
    report("Spark search, 3-stage sequence", count, found, None)
    print(f"  sequences: {found[3]:,}")

    if options.pack.exists():
        ruleset = pack(options.pack)
        alerts = timed(lambda: eqlmini.spark.scan(ruleset, events).count(), repeat)
        report(f"Spark scan, {len(ruleset)} event rules", count, alerts, None)
        print(f"  alert rows: {alerts[3]:,}")
    spark.stop()


if __name__ == "__main__":
    main()
