"""The 1024 active corpus rules as one RuleSet, against the naive loop, in the same run.

    python benchmarks/ruleset.py [--events N] [--naive-events M] [--seed S]
    python benchmarks/ruleset.py --index-cost [--events N]

Loads the active rules of ``../shared/corpus/detection-rules-eql.jsonl`` (timed: load
and compile, then building the RuleSet, which generates its index), generates N seeded ECS events from the rules' own literals (each event is
made to meet most of one rule's stage: its category, one branch of each ``or``, the
values it compares fields with; join keys come from a small pool so sequences complete),
then runs:

* the RuleSet (``scan``): every rule over every event, through the index;
* the naive loop (``scan(indexed=False)``): every rule tried on every event, over the
  first M events (the naive loop is slow: M keeps the run to a couple of minutes).

Both report events/second and rule evaluations/second (events x rules / second: each
rule is decided for each event, by the index or by its predicate), and the ratio. Both
runs must yield the same alerts on the first M events.

``--index-cost`` measures instead where the index starts to pay: random sets of k event
rules of the corpus, over the same events, with and without the index (best of 3); the
RuleSet's ``INDEX_FROM`` is set from it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # run from a checkout, too

from eqlmini import ast  # noqa: E402
from eqlmini.rules import Rule  # noqa: E402
from eqlmini.ruleset import RuleSet  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "detection-rules-eql.jsonl"
_RULE_KEYS = ("name", "rule_id", "type", "language", "query", "description", "index", "severity", "risk_score",
              "interval", "from", "max_signals", "tags", "license", "author", "building_block_type",
              "timestamp_override", "event_category_override", "tiebreaker_field", "timestamp_field")
_METADATA_KEYS = ("maturity", "creation_date", "updated_date", "deprecation_date", "min_stack_version",
                  "integration")
JOIN_VALUES = ("k1", "k2")  # join-key fields take these values, so sequences find partners


def corpus_tables(path: Path = CORPUS) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The active corpus rules as detection-rules ``([rule] table, [metadata] table)`` pairs."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["deprecated"]:
            continue
        table = {key: record[key] for key in _RULE_KEYS if record.get(key) is not None}
        table["threat"] = [
            {"framework": threat["framework"], "tactic": threat["tactic"],
             "technique": [{"id": t["id"], "name": t["name"],
                            "subtechnique": t.get("subtechniques") or []} for t in threat.get("techniques") or []]}
            for threat in record["threat"]]
        for threat in table["threat"]:
            for technique in threat["technique"]:
                if not technique["subtechnique"]:
                    del technique["subtechnique"]
            if not threat["technique"]:
                del threat["technique"]
        out.append((table, {key: record[key] for key in _METADATA_KEYS if record.get(key) is not None}))
    return out


def corpus_rules(path: Path = CORPUS) -> list[Rule]:
    """The active corpus rules, compiled."""
    return [Rule.from_table(table, metadata=metadata) for table, metadata in corpus_tables(path)]


# ----------------------------------------------------------------------------- events
def _instance(pattern: str, rng: random.Random) -> str:
    """A text a wildcard pattern matches."""
    return "".join(rng.choice(("", "ab", "X1")) if c == "*" else "q" if c == "?" else c for c in pattern)


def _satisfy(node: ast.Expr, rng: random.Random, out: dict[str, Any]) -> None:
    """Set field values in ``out`` that make ``node`` true, where that is easy to see."""
    if isinstance(node, ast.And):
        for term in node.terms:
            _satisfy(term, rng, out)
    elif isinstance(node, ast.Or):
        _satisfy(rng.choice(node.terms), rng, out)
    elif isinstance(node, ast.Comparison) and isinstance(node.left, ast.Field) and isinstance(node.right, ast.Literal):
        value = node.right.value
        if node.op == "==" and value is not None:
            out[node.left.name] = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and node.op != "!=":
            out[node.left.name] = value + {"<": -1, ">": 1}.get(node.op, 0)
    elif isinstance(node, ast.Match) and isinstance(node.left, ast.Field) and not node.op.startswith("regex"):
        out[node.left.name] = _instance(str(rng.choice(node.patterns).value), rng)
    elif isinstance(node, ast.In) and not node.negated and isinstance(node.left, ast.Field):
        item = rng.choice(node.items)
        if isinstance(item, ast.Literal):
            out[node.left.name] = item.value


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for name in sorted(flat, key=lambda n: n.count(".")):
        node, *parents, leaf = event, *name.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node.setdefault(leaf, flat[name])
    return event


def _stages(rule: Rule) -> list[tuple[ast.EventQuery, list[str]]]:
    """A rule's event queries (a sequence's positive stages), each with its join-key fields."""
    body = rule.query.tree.body
    if isinstance(body, ast.EventQuery):
        return [(body, [])]
    return [(stage.query, [k.name for k in (*body.by, *stage.by) if isinstance(k, ast.Field)])
            for stage in body.stages if not stage.missing]


def _flat_event(rule: Rule, query: ast.EventQuery, values: dict[str, Any]) -> dict[str, Any]:
    flat = dict(values)
    if query.category is not None:
        flat[rule.query.options.event_category_field] = [query.category]
    return flat


def generate_events(rules: list[Rule], count: int, seed: int, hot: float = 0.05) -> list[dict[str, Any]]:
    """``count`` nested ECS events, seeded; ``@timestamp`` rises by 1 ms to 2 s per event.

    A share ``hot`` of them meets one random rule (all stages of a sequence, in turn, with
    the same join-key values); the others take the shape of a random rule's stage (its
    category, the fields it reads), each field holding a value some rule tests it for
    (half the time) or a value no rule names, so the index has work to do.
    """
    rng = random.Random(seed)
    pool: dict[str, list[Any]] = {}
    for rule in rules:
        for query, _ in _stages(rule):
            for _ in range(3):
                found: dict[str, Any] = {}
                _satisfy(query.where, rng, found)
                for name, value in found.items():
                    pool.setdefault(name, []).append(value)
    events: list[dict[str, Any]] = []
    millis = 1_700_000_000_000
    while len(events) < count:
        rule = rng.choice(rules)
        if rng.random() < hot:
            join = {}
            flats = []
            for query, keys in _stages(rule):
                values: dict[str, Any] = {}
                _satisfy(query.where, rng, values)
                values.update({key: join.setdefault(key, rng.choice(JOIN_VALUES)) for key in keys})
                flats.append(_flat_event(rule, query, values))
        else:
            query, keys = rng.choice(_stages(rule))
            fields = dict.fromkeys(node.name for node in ast.walk(query.where) if isinstance(node, ast.Field))
            values = {name: rng.choice(pool[name]) if name in pool and rng.random() < 0.5 else f"benign-{rng.randrange(99)}"
                      for name in fields}
            values.update({key: rng.choice(JOIN_VALUES) for key in keys})
            flats = [_flat_event(rule, query, values)]
        for flat in flats:
            millis += rng.randrange(1, 2000)
            flat["@timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis // 1000)) + (
                f".{millis % 1000:03d}Z")
            events.append(_nest(flat))
    return events[:count]


# ----------------------------------------------------------------------------- main
def _run(ruleset: RuleSet, events: list[dict[str, Any]], indexed: bool) -> tuple[float, list]:
    start = time.perf_counter()
    alerts = list(ruleset.scan(events, indexed=indexed))
    return time.perf_counter() - start, alerts


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="events for the RuleSet (default 100000)")
    parser.add_argument("--naive-events", type=int, default=10_000, help="events for the naive loop (default 10000)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--index-cost", action="store_true", help="time k rules with and without the index")
    options = parser.parse_args(argv)
    if not CORPUS.exists():
        print(f"{CORPUS} not found: the shared corpus sits beside the project root", file=sys.stderr)
        return 2
    if options.index_cost:
        return index_cost(min(options.events, 20_000), options.seed)
    start = time.perf_counter()
    tables = corpus_tables()
    rules = [Rule.from_table(table, metadata=metadata) for table, metadata in tables]
    built = time.perf_counter()
    ruleset = RuleSet(rules)
    done = time.perf_counter()
    print(f"load + compile {len(rules)} rules: {built - start:.2f} s; build the RuleSet (its index): "
          f"{done - built:.3f} s")
    events = generate_events(rules, options.events, options.seed)
    naive_events = events[:min(options.naive_events, len(events))]
    indexed_time, alerts = _run(ruleset, events, True)
    naive_time, naive_alerts = _run(ruleset, naive_events, False)
    _, check = _run(ruleset, naive_events, True)
    same = sorted(map(_identity, check)) == sorted(map(_identity, naive_alerts))
    print(f"{len(events)} events, {len(alerts)} alerts from {len({a.rule.rule_id for a in alerts})} rules")
    figures = []
    for label, seconds, count in (("RuleSet", indexed_time, len(events)), ("naive", naive_time, len(naive_events))):
        rate = count / seconds
        figures.append(rate)
        print(f"{label:>8}: {count:>7} events in {seconds:6.2f} s: {rate:>9,.0f} events/s, "
              f"{rate * len(rules):>13,.0f} rule evaluations/s")
    print(f"RuleSet / naive: {figures[0] / figures[1]:.1f}x; same alerts on the first {len(naive_events)} events: {same}")
    return 0 if same else 1


def index_cost(count: int, seed: int) -> int:
    """Print microseconds per event for k random event rules, with and without the index."""
    rules = corpus_rules()
    events = generate_events(rules, count, seed)
    plain = [rule for rule in rules if rule.query.kind == "event" and not rule.query.tree.pipes]
    rng = random.Random(seed)
    print(f"{len(events)} events; microseconds per event, best of 3")
    print(f"{'rules':>6}{'index':>9}{'no index':>10}{'no index / index':>18}")
    for k in (1, 2, 4, 8, 12, 16, 20, 24, 32, 64):
        ruleset = RuleSet(rng.sample(plain, k))
        best = {True: float("inf"), False: float("inf")}
        for _ in range(3):
            for indexed in best:
                best[indexed] = min(best[indexed], _run(ruleset, events, indexed)[0])
        per_event = {indexed: seconds * 1e6 / len(events) for indexed, seconds in best.items()}
        print(f"{k:>6}{per_event[True]:>9.2f}{per_event[False]:>10.2f}{per_event[False] / per_event[True]:>17.2f}x")
    return 0


def _identity(alert: Any) -> tuple:
    return (alert.rule.rule_id, tuple(map(id, alert.events)), repr(alert.join_keys))


if __name__ == "__main__":
    sys.exit(main())
