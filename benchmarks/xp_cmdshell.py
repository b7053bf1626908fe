"""Events per second for the bundled xp_cmdshell rule, against two baselines in the same run.

    python benchmarks/xp_cmdshell.py [--events N] [--seed S] [--repeat R]
    valgrind --tool=callgrind --toggle-collect=builtin_sum \
        python benchmarks/xp_cmdshell.py --events 20000 --only eqlmini   # or hand, bare

The stream is generated (seeded): realistic nested ECS events, most of them not matching
(other categories, other process names, other parents, process end events), `event.type`
and `process.args` as lists. Three loops run over the same list of events:

* bare loop: the cost of iterating and calling a trivial function (the floor);
* hand-written: a careful Python predicate of the same rule, written for this event shape;
* eqlmini: the compiled rule, called as ``query.match(event)``.

Each figure is the best of R interleaved repeats. The ratio eqlmini / hand-written is the goal (>= 1.0).

Wall time moves with the load of a shared machine; instruction counts do not. ``--only LOOP``
runs one loop once, after every predicate has warmed up on 2,000 events (outside ``sum``),
with the garbage collector off: callgrind's "Collected" count over ``--events`` is that loop's
instructions per event, and the difference to ``--only bare`` the predicate's own.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # run from a checkout, too

import eqlmini  # noqa: E402

PROCESS_NAMES = ["svchost.exe", "chrome.exe", "explorer.exe", "powershell.exe", "conhost.exe", "cmd.exe",
                 "python.exe", "MsMpEng.exe", "RuntimeBroker.exe", "taskhostw.exe", "CMD.EXE"]
PARENTS = ["services.exe", "explorer.exe", "svchost.exe", "userinit.exe", "wininit.exe", "sqlservr.exe"]
ARGS = [["/c", "whoami"], ["/c", "dir", "C:\\"], ["/c", "\\\\fileserver\\share\\job.bat"], ["/c", "bcp", "out"],
        ["/c", "echo", "hello"], ["/c", "K:\\MSSQL\\Backup\\msdb"], ["-NoProfile", "-Command", "Get-Date"],
        ["/c", "net", "user"], ["--type=renderer", "--lang=en-US"], []]


def generate(count: int, seed: int) -> list[dict[str, Any]]:
    """A seeded stream of nested ECS events, about one in 200 a cmd.exe child of sqlservr.exe."""
    rng = random.Random(seed)
    events = []
    for i in range(count):
        category = rng.choices(["process", "file", "network", "registry"], [5, 3, 2, 1])[0]
        event: dict[str, Any] = {
            "@timestamp": 1_700_000_000_000 + i,
            "event": {"category": [category], "type": [rng.choice(["start", "end", "info"])]},
            "host": {"name": f"host-{rng.randrange(50)}", "os": {"type": "windows"}},
        }
        if category == "process":
            name = rng.choice(PROCESS_NAMES)
            parent = "sqlservr.exe" if rng.random() < 0.02 else rng.choice(PARENTS[:-1])
            args = [name, *rng.choice(ARGS)]
            event["process"] = {"name": name, "pid": rng.randrange(10_000), "args": args,
                                "command_line": " ".join(args), "parent": {"name": parent, "pid": 4}}
        elif category == "file":
            event["file"] = {"path": f"C:\\Users\\u{rng.randrange(9)}\\f{rng.randrange(999)}.txt"}
        events.append(event)
    return events


EXCLUDED_ARGS = {"diskfree", "rmdir", "mkdir", "dir", "del", "rename", "bcp", "k:\\mssql\\backup\\msdb",
                 "k:\\mssql\\backup\\logins"}
JOB_SUFFIX = ":\\mssql\\backup\\jobs\\sql_agent_backup_job.ps1"


def hand_written(event: dict[str, Any]) -> bool:
    """The rule written by hand for nested events (lists allowed where ECS allows them)."""
    ev = event.get("event")
    if not ev:
        return False
    category = ev.get("category")
    if not (category == "process" or (type(category) is list and "process" in category)):
        return False
    kind = ev.get("type")
    if not (kind == "start" or (type(kind) is list and "start" in kind)):
        return False
    process = event.get("process")
    if not process:
        return False
    name = process.get("name")
    if type(name) is not str or name.lower() != "cmd.exe":
        return False
    parent = process.get("parent")
    parent_name = parent.get("name") if parent else None
    if type(parent_name) is not str or parent_name.lower() != "sqlservr.exe":
        return False
    args = process.get("args") or ()
    for arg in ([args] if type(args) is str else args):
        lowered = arg.lower()
        if (lowered in EXCLUDED_ARGS or lowered.startswith("\\\\") or "xmlnamespaces" in lowered
                or (len(lowered) == len(JOB_SUFFIX) + 1 and lowered.endswith(JOB_SUFFIX))):
            return False
    return True


def trivial(event: dict[str, Any]) -> bool:
    return False


def best_rates(predicates: list[Callable[[Any], bool]], events: list[dict[str, Any]],
               repeat: int) -> list[tuple[float, int]]:
    """Events per second (best of ``repeat``) and match count of each predicate. The runs
    are interleaved, so that a change in machine load touches every predicate alike."""
    best = [float("inf")] * len(predicates)
    hits = [0] * len(predicates)
    for _ in range(repeat):
        for index, predicate in enumerate(predicates):
            start = time.perf_counter()
            hits[index] = sum(1 for event in events if predicate(event))
            best[index] = min(best[index], time.perf_counter() - start)
    return [(len(events) / seconds, count) for seconds, count in zip(best, hits)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=["bare", "hand", "eqlmini"], help="run one loop once (for callgrind)")
    options = parser.parse_args()

    rule = next(r for r in eqlmini.bundled_rules() if "xp_cmdshell" in r.name)
    events = generate(options.events, options.seed)
    loops = {"bare": trivial, "hand": hand_written, "eqlmini": rule.query.match}
    if options.only:
        for predicate in loops.values():
            for event in events[:2000]:
                predicate(event)
        gc.collect()
        gc.disable()
        predicate = loops[options.only]
        print(f"{options.only}: {sum(1 for event in events if predicate(event)):,} matches in {len(events):,} events")
        return
    print(f"{len(events):,} events, seed {options.seed}, best of {options.repeat}; Python {sys.version.split()[0]}")
    (bare, _), (hand, hand_hits), (compiled, hits) = best_rates(
        [trivial, hand_written, rule.query.match], events, options.repeat)
    if hits != hand_hits:
        raise SystemExit(f"results differ: eqlmini {hits} matches, hand-written {hand_hits}")
    print(f"{'loop':<14}{'events/s':>14}{'vs hand-written':>18}")
    for label, rate in (("bare loop", bare), ("hand-written", hand), ("eqlmini", compiled)):
        print(f"{label:<14}{rate:>14,.0f}{rate / hand:>17.2f}x")
    print(f"matches: {hits:,} (both predicates agree)")


if __name__ == "__main__":
    main()
