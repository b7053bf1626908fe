"""The corpus as a rule pack, loaded cold (cache empty) and from the compiled-pack cache, in the same run.

    python benchmarks/rule_pack_cache.py [--runs N]

Writes the 1024 active rules of ``../shared/corpus/detection-rules-eql.jsonl`` as
detection-rules TOML files into a temporary folder (as a pack is kept on disk), then times,
each in a new Python process and N times (median and range):

* ``load_rules(pack)``: cold (an empty cache folder: compile, then write the cache), cached
  (the cache a cold run wrote), and without the cache (``cache=False``: compile only);
* ``eqlmini scan --rules PACK`` over one event, the whole command from process start to
  exit, the same three ways; the cached scan must print what the cold one printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # ruleset.py: the corpus reader

from ruleset import CORPUS, corpus_tables  # noqa: E402

SOURCE = Path(__file__).resolve().parents[1] / "src"
# Prints the seconds load_rules takes (wall, then CPU), in a process that has imported eqlmini.
_LOAD = ("import sys, time, eqlmini\n"
         "start, cpu = time.perf_counter(), time.process_time()\n"
         "rules = eqlmini.load_rules(sys.argv[1], cache=sys.argv[2] == 'on')\n"
         "print(time.perf_counter() - start, time.process_time() - cpu, len(rules))\n")
EVENT = {"@timestamp": "2024-05-01T10:00:00Z", "event": {"category": "process", "type": "start"},
         "host": {"os": {"type": "windows"}}, "process": {"name": "certutil.exe", "args": ["-urlcache", "-f"],
                                                          "parent": {"name": "cmd.exe"}}}


def write_pack(folder: Path) -> int:
    """The active corpus rules as ``.toml`` files under ``folder`` (100 to a subfolder)."""
    sys.path.insert(0, str(SOURCE))
    from eqlmini.rule_toml import dumps

    tables = corpus_tables(CORPUS)
    for i, (table, metadata) in enumerate(tables):
        path = folder / f"{i // 100:02}" / f"{i:04}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps({"metadata": metadata, "rule": table}), encoding="utf-8")
    return len(tables)


def _run(arguments: list[str], cache: str) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run ``arguments`` with the cache folder ``cache`` ("off": none): its wall and CPU seconds
    (user and system), and its result."""
    env = {**os.environ, "PYTHONPATH": str(SOURCE), "EQLMINI_CACHE_DIR": cache}
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run(arguments, capture_output=True, text=True, env=env, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.perf_counter() - start, cpu, done


def _line(name: str, wall: list[float], cpu: list[float]) -> str:
    return (f"  {name:<12} wall {statistics.median(wall):6.3f} s ({min(wall):.3f} .. {max(wall):.3f})   "
            f"CPU {statistics.median(cpu):6.3f} s ({min(cpu):.3f} .. {max(cpu):.3f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement (default 3)")
    args = parser.parse_args(argv)
    if not CORPUS.is_file():
        print(f"no corpus at {CORPUS}: nothing to measure", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        pack = root / "pack"
        count = write_pack(pack)
        events = root / "event.ndjson"
        events.write_text(json.dumps(EVENT) + "\n", encoding="utf-8")
        print(f"pack: {count} corpus rules as detection-rules TOML files; Python {sys.version.split()[0]}")
        load = [sys.executable, "-c", _LOAD, str(pack)]
        scan = [sys.executable, "-m", "eqlmini", "scan", "--rules", str(pack), "--format", "json", str(events)]
        timings: dict[str, list[float]] = {}
        cpus: dict[str, list[float]] = {}
        outputs: dict[str, set[str]] = {}
        for run in range(args.runs):
            cold_cache, scan_cache = str(root / f"cache-load-{run}"), str(root / f"cache-scan-{run}")
            for name, command, cache, on in (
                    ("load_rules, cold", load, cold_cache, "on"),
                    ("load_rules, cached", load, cold_cache, "on"),
                    ("load_rules, no cache", load, "off", "off"),
                    ("eqlmini scan, cold", scan, scan_cache, None),
                    ("eqlmini scan, cached", scan, scan_cache, None),
                    ("eqlmini scan, no cache", scan, "off", None)):
                seconds, cpu, done = _run(command + ([on] if on else []), cache)
                if done.returncode not in (0, 1):
                    print(f"{name} failed ({done.returncode}):\n{done.stderr}", file=sys.stderr)
                    return 1
                if on:
                    seconds, cpu = map(float, done.stdout.split()[:2])  # load_rules alone, not the process
                    assert int(done.stdout.split()[2]) == count, done.stdout
                else:
                    outputs.setdefault(name, set()).add(done.stdout)
                timings.setdefault(name, []).append(seconds)
                cpus.setdefault(name, []).append(cpu)
        if len({output for texts in outputs.values() for output in texts}) != 1:
            print("the scans printed different alerts", file=sys.stderr)
            return 1
        print(f"median (range) of {args.runs} runs")
        print("load_rules(pack), in a new process (eqlmini imported):")
        for name in ("load_rules, cold", "load_rules, cached", "load_rules, no cache"):
            print(_line(name.removeprefix("load_rules, "), timings[name], cpus[name]))
        print("eqlmini scan --rules PACK over one event, the whole process:")
        for name in ("eqlmini scan, cold", "eqlmini scan, cached", "eqlmini scan, no cache"):
            print(_line(name.removeprefix("eqlmini scan, "), timings[name], cpus[name]))
        for kind in ("load_rules", "eqlmini scan"):
            ratio = statistics.median(timings[f"{kind}, no cache"]) / statistics.median(timings[f"{kind}, cached"])
            print(f"{kind}: cached is {ratio:.1f}x faster than without the cache (medians)")
        alerts = len(next(iter(outputs.values())).pop().splitlines())
        print(f"every scan printed the same {alerts} alert(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
