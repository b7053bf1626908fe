"""Time to parse, verify and compile every query of the detection-rules corpus.

    python benchmarks/compile_corpus.py [--corpus PATH] [--repeat R]

Reads ``../shared/corpus/detection-rules-eql.jsonl`` (1081 Elastic detection rules) by
default. The first pass includes building the Lark parser; later passes show the steady
state. Prints the total per pass, the split between parsing (Lark + AST) and the rest
(verification and code generation), and the slowest rules.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # run from a checkout, too

import eqlmini  # noqa: E402
from eqlmini.parser import parse as parse_only  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "detection-rules-eql.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    if not options.corpus.exists():
        raise SystemExit(f"{options.corpus} not found (the shared corpus sits beside the project root)")
    rules = [json.loads(line) for line in options.corpus.read_text(encoding="utf-8").splitlines()]
    print(f"{len(rules)} rules from {options.corpus.name}; Python {sys.version.split()[0]}")

    for attempt in range(1, options.repeat + 1):
        timings = []
        parse_total = 0.0
        start = time.perf_counter()
        for rule in rules:
            began = time.perf_counter()
            parse_only(rule["query"])
            parsed = time.perf_counter()
            eqlmini.compile(rule["query"], event_category_field=rule["event_category_override"] or "event.category")
            done = time.perf_counter()
            parse_total += parsed - began
            timings.append((done - parsed, rule["name"]))
        total = time.perf_counter() - start - parse_total  # compile() alone, it parses again itself
        label = "first pass (builds the parser)" if attempt == 1 else f"pass {attempt}"
        print(f"{label:<32} compile(): {total:6.2f} s total, {total / len(rules) * 1000:5.2f} ms per rule "
              f"(of which parsing {parse_total:5.2f} s)")
    print("slowest rules (last pass):")
    for seconds, name in sorted(timings, reverse=True)[:5]:
        print(f"  {seconds * 1000:7.1f} ms  {name}")


if __name__ == "__main__":
    main()
