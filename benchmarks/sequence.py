"""The sequence engine alone: events per second and peak memory over ready events.

    python benchmarks/sequence.py [--events N] [--keys K] [--seed S] [--repeat R]

The query is ``sequence by host.id, process.entity_id with maxspan=1m`` with three stages
(process start, network connection, file creation). N seeded nested ECS events over K
distinct (host, process) keys, timestamps rising by 1-20 ms (a key recurs every few
seconds, so many partial sequences expire), are generated into a list *before* any timing:
the figures are the engine's, not the generator's or a JSON reader's.

Each run is repeated R times, interleaved, and reported as median and range:

* ``bare loop``: ``for event in events: pass``, the floor;
* ``event query``: the first stage on its own through ``Query.filter``, one compiled
  predicate per event;
* ``push() loop``: the sequence through ``Query.matcher()``, one ``push`` per event (the
  live-stream path);
* ``search()``: the sequence through ``Query.search(events)``, order check included.

Peak memory is tracemalloc's peak during ``search()`` (the events already exist, so it
counts what the engine holds), over the first third of the events and over all of them:
equal figures mean memory stays flat as the stream grows.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # run from a checkout, too

import eqlmini  # noqa: E402

SEQUENCE = """
sequence by host.id, process.entity_id with maxspan=1m
  [process where event.type == "start" and process.name : ("cmd.exe", "powershell.exe")]
  [network where destination.port in (443, 4444)]
  [file where file.extension : ("ps1", "bat")]
"""
EVENT_QUERY = 'process where event.type == "start" and process.name : ("cmd.exe", "powershell.exe")'


def generate(count: int, keys: int, seed: int) -> list[dict[str, Any]]:
    """Nested ECS events in timestamp order, spread over ``keys`` (host, process) pairs."""
    rng = random.Random(seed)
    timestamp = 1_700_000_000_000
    names = ["cmd.exe", "powershell.exe", "svchost.exe", "chrome.exe"]
    events = []
    for _ in range(count):
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
        events.append(event)
    return events


def bare_loop(events: list) -> int:
    count = 0
    for _ in events:
        count += 1
    return count


def push_loop(query: eqlmini.Query, events: list) -> int:
    matcher = query.matcher()
    push = matcher.push
    found = 0
    for event in events:
        found += len(push(event))
    return found + len(matcher.close())


def timed(run: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    results = run()
    return time.perf_counter() - start, results


def peak_memory(query: eqlmini.Query, events: list) -> int:
    """tracemalloc's peak during one ``search()`` over ready events."""
    tracemalloc.start()
    for _ in query.search(events):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    print(f"{options.events:,} ready events, {options.keys:,} keys, seed {options.seed}, "
          f"{options.repeat} runs; Python {sys.version.split()[0]}")
    events = generate(options.events, options.keys, options.seed)
    sequence, event_query = eqlmini.compile(SEQUENCE), eqlmini.compile(EVENT_QUERY)
    runs: dict[str, Callable[[], int]] = {
        "bare loop": lambda: bare_loop(events),
        "event query": lambda: sum(1 for _ in event_query.filter(events)),
        "push() loop": lambda: push_loop(sequence, events),
        "search()": lambda: sum(1 for _ in sequence.search(events)),
    }
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    results: dict[str, int] = {}
    for _ in range(options.repeat):  # interleaved, so that load on the machine hits every run alike
        for name, run in runs.items():
            elapsed, results[name] = timed(run)
            seconds[name].append(elapsed)
    if results["push() loop"] != results["search()"]:
        raise SystemExit(f"push() and search() disagree: {results['push() loop']} != {results['search()']}")

    def rate(name: str) -> str:
        rates = sorted(options.events / s for s in seconds[name])
        return f"{statistics.median(rates):>12,.0f}  {rates[0]:>10,.0f} - {rates[-1]:<10,.0f}"

    print(f"{'run':<14}{'events/s (median)':>18}  {'range':^23}{'results':>10}")
    for name in runs:
        shown = "" if name == "bare loop" else f"{results[name]:,}"
        print(f"{name:<14}{rate(name)}{shown:>11}")
    ratio = statistics.median(seconds["push() loop"]) / statistics.median(seconds["search()"])
    print(f"search() vs push() loop: {ratio:.2f}x")
    third = peak_memory(sequence, events[: options.events // 3])
    whole = peak_memory(sequence, events)
    print(f"search() peak memory (tracemalloc): {third / 2**20:.1f} MiB over {options.events // 3:,} events, "
          f"{whole / 2**20:.1f} MiB over {options.events:,}")


if __name__ == "__main__":
    main()
