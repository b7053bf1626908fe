"""Events per second for a replay of a generated week, against one scan of it in the same run.

    python benchmarks/replay.py [--per-minute N] [--repeat R]

The week comes from ``examples/replay/make_week.py`` (seeded; ``--per-minute`` sets its
ordinary events per minute). Two loops run over the same list of events with the bundled
rule and the two example rules of ``examples/replay/rules/`` (an event rule with
suppression, a sequence):

* scan: ``RuleSet(rules).scan(events)``, one pass over the whole history (the baseline);
* replay: ``eqlmini.replay(rules, events)``, every 5-minute run of every rule, with its
  window search, deduplication, suppression and the comparison with a whole-history scan.

Each figure is the median of R interleaved repeats, with the range.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # run from a checkout, too
sys.path.insert(0, str(ROOT / "examples" / "replay"))

import eqlmini  # noqa: E402
import make_week  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-minute", type=float, default=4.0, help="ordinary events per minute (default 4)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    week = make_week.Week(7)
    week.background(args.per_minute)
    week.attacks()
    week.shipper_backlog()
    events = sorted(week.events, key=lambda event: event["@timestamp"])
    rules = [*eqlmini.bundled_rules(), *eqlmini.load_rules(ROOT / "examples" / "replay" / "rules")]
    ruleset = eqlmini.RuleSet(rules)
    timings: dict[str, list[float]] = {"scan": [], "replay": []}
    for _ in range(args.repeat):
        start = time.perf_counter()
        alerts = sum(1 for _ in ruleset.scan(events))
        timings["scan"].append(time.perf_counter() - start)
        start = time.perf_counter()
        result = eqlmini.replay(rules, events)
        timings["replay"].append(time.perf_counter() - start)
    runs = sum(len(outcome.executions) for outcome in result.rules)
    print(f"{len(events):,} events over a week, {len(rules)} rules, {runs:,} searches; "
          f"scan: {alerts} alerts, replay: {len(result.alerts)} alerts, {len(result.missed)} missed")
    medians = {}
    for name, seconds in timings.items():
        medians[name] = statistics.median(seconds)
        print(f"{name:7} {len(events) / medians[name]:>10,.0f} events/s  median {medians[name]:.3f}s "
              f"(range {min(seconds):.3f}-{max(seconds):.3f}s, {args.repeat} repeats)")
    print(f"replay / scan time: {medians['replay'] / medians['scan']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
