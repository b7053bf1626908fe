"""Events per second and peak memory of a 3-stage sequence over a long generated stream.

    python benchmarks/sequence.py [--events N] [--keys K] [--seed S]

The query is ``sequence by host.id, process.entity_id with maxspan=1m`` with three stages
(process start, network connection, file creation). Events are generated lazily (the stream
never sits in memory, as with a large log file): K distinct (host, process) keys, timestamps
rising by 1-20 ms, so that a key recurs every few seconds and many partial sequences expire.
The same stream is then run through an event query (the first stage on its own), for
comparison. Peak memory is tracemalloc's peak over each run, which counts what the engine
holds (partials, queues), not the generated events already gone.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # run from a checkout, too

import eqlmini  # noqa: E402

SEQUENCE = """
sequence by host.id, process.entity_id with maxspan=1m
  [process where event.type == "start" and process.name : ("cmd.exe", "powershell.exe")]
  [network where destination.port in (443, 4444)]
  [file where file.extension : ("ps1", "bat")]
"""
EVENT_QUERY = 'process where event.type == "start" and process.name : ("cmd.exe", "powershell.exe")'


def stream(count: int, keys: int, seed: int) -> Iterator[dict[str, Any]]:
    """Nested ECS events in timestamp order, spread over ``keys`` (host, process) pairs."""
    rng = random.Random(seed)
    timestamp = 1_700_000_000_000
    names = ["cmd.exe", "powershell.exe", "svchost.exe", "chrome.exe"]
    for i in range(count):
        timestamp += rng.randint(1, 20)
        key = rng.randrange(keys)
        event: dict[str, Any] = {
            "@timestamp": timestamp,
            "host": {"id": f"host-{key % 500}"},
            "process": {"entity_id": f"proc-{key}", "name": rng.choice(names)},
        }
        kind = rng.random()
        if kind < 0.4:
            event["event"] = {"category": ["process"], "type": ["start"]}
        elif kind < 0.7:
            event["event"] = {"category": ["network"], "type": ["connection"]}
            event["destination"] = {"port": rng.choice([443, 80, 4444, 53])}
        else:
            event["event"] = {"category": ["file"], "type": ["creation"]}
            event["file"] = {"extension": rng.choice(["ps1", "txt", "bat", "dll"])}
        yield event


def rate(query: eqlmini.Query | None, options: argparse.Namespace) -> tuple[float, int]:
    """Events per second (and results) of one pass; None times the generator alone."""
    events = stream(options.events, options.keys, options.seed)
    start = time.perf_counter()
    results = sum(1 for _ in (query.search(events) if query else events))
    return options.events / (time.perf_counter() - start), results


def peak_memory(query: eqlmini.Query, options: argparse.Namespace) -> int:
    """tracemalloc's peak over a second pass: what the engine holds beyond the stream."""
    tracemalloc.start()
    for _ in query.search(stream(options.events, options.keys, options.seed)):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    options = parser.parse_args()
    print(f"{options.events:,} events, {options.keys:,} keys, seed {options.seed}; Python {sys.version.split()[0]}")
    generator, _ = rate(None, options)
    print(f"{'run':<18}{'events/s':>12}{'peak memory':>14}{'results':>10}")
    print(f"{'generator alone':<18}{generator:>12,.0f}{'':>14}{'':>10}")
    for label, text in (("3-stage sequence", SEQUENCE), ("event query", EVENT_QUERY)):
        query = eqlmini.compile(text)
        events_per_second, results = rate(query, options)
        peak = peak_memory(query, options)
        print(f"{label:<18}{events_per_second:>12,.0f}{peak / 2**20:>10.1f} MiB{results:>10,}")
    print("rates include generating each event; peak memory is tracemalloc's, from a second pass")


if __name__ == "__main__":
    main()
