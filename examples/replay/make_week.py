"""A week of Windows process events with a few planted attacks, for ``eqlmini replay``.

    python examples/replay/make_week.py -o week.ndjson [--seed 7] [--per-minute 4]

The events (ECS, one JSON object per line, in time order) cover Monday 2024-05-06 00:00 UTC
to the next Monday on six hosts: two SQL servers, a web server and three workstations. Each
carries ``event.ingested``, normally 1 to 30 seconds after ``@timestamp``. Besides ordinary
process starts, the SQL servers run benign ``xp_cmdshell`` jobs that the bundled rule
excludes (a nightly backup: ``dir``, ``bcp``, ``del``; a disk check every 20 minutes).

Planted, and what a replay of the rules in ``rules/`` and ``examples/replay/rules/`` shows:

1. Tue 14:32 sql01: ``cmd.exe /c whoami`` from sqlservr.exe: one alert.
2. Thu 03:10 sql02: a Metasploit-style burst, 140 ``cmd.exe /c echo ... >> %TEMP%\\x.b64`` in
   42 seconds: more than ``max_signals`` (100); the runs alert on 100 and cut the rest.
3. Fri 22:47 sql01: ``cmd.exe /c net user`` while sql01's log shipper is 12 minutes behind
   (22:40 to 23:05): found through ``timestamp_override = "event.ingested"``, missed without.
4. Sat 01:15 sql02: sqlservr.exe starts cmd.exe, which starts PowerShell 11 minutes later:
   the sequence rule (maxspan 15m) matches, but no 9-minute window holds both events.
5. Sun 16:05 sql01: the same two steps 2.5 minutes apart: the sequence rule alerts.

The same seed writes the same file.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

MONDAY = datetime(2024, 5, 6, tzinfo=timezone.utc)
HOSTS = {
    "sql01": "server", "sql02": "server", "web01": "server",
    "ws01": "workstation", "ws02": "workstation", "ws03": "workstation",
}
SQLSERVR = r"C:\Program Files\Microsoft SQL Server\MSSQL15.MSSQLSERVER\MSSQL\Binn\sqlservr.exe"
CMD = r"C:\Windows\System32\cmd.exe"
POWERSHELL = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
# (parent, child, arguments) of ordinary process starts, by kind of host.
ORDINARY = {
    "server": [(r"C:\Windows\System32\services.exe", r"C:\Windows\System32\svchost.exe", ["-k", "netsvcs"]),
               (r"C:\Windows\System32\svchost.exe", r"C:\Windows\System32\taskhostw.exe", []),
               (r"C:\Windows\System32\svchost.exe", r"C:\Windows\System32\wbem\WmiPrvSE.exe", ["-Embedding"]),
               (r"C:\Windows\System32\services.exe", r"C:\ProgramData\Microsoft\Windows Defender\MsMpEng.exe", []),
               (r"C:\Windows\System32\svchost.exe", CMD, ["/c", "C:\\Scripts\\rotate_logs.cmd"])],
    "workstation": [(r"C:\Windows\explorer.exe", r"C:\Program Files\Google\Chrome\Application\chrome.exe", []),
                    (r"C:\Program Files\Google\Chrome\Application\chrome.exe",
                     r"C:\Program Files\Google\Chrome\Application\chrome.exe", ["--type=renderer"]),
                    (r"C:\Windows\explorer.exe", r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE", []),
                    (r"C:\Windows\explorer.exe", CMD, []),
                    (CMD, POWERSHELL, ["-NoProfile", "-Command", "Get-Date"]),
                    (r"C:\Windows\System32\svchost.exe", r"C:\Windows\System32\RuntimeBroker.exe", [])],
}
BACKUP = [["/c", "dir", "K:\\MSSQL\\Backup"], ["/c", "bcp", "msdb.dbo.backupset", "out", "K:\\MSSQL\\Backup\\sets.dat"],
          ["/c", "del", "/q", "K:\\MSSQL\\Backup\\old\\*.bak"], ["/c", "mkdir", "K:\\MSSQL\\Backup\\today"]]


class Week:
    """The events, as they are made."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.events: list[dict] = []
        self.pid = 1000

    def process(self, when: datetime, host: str, parent: str, executable: str, args: list[str], *,
                user: str = "svc-mssql", ingest_delay: float | None = None) -> None:
        """One process start on ``host`` at ``when``."""
        self.pid += 4
        name = executable.rsplit("\\", 1)[-1]
        delay = ingest_delay if ingest_delay is not None else self.rng.uniform(1, 30)
        line = " ".join([f'"{executable}"', *args])
        self.events.append({
            "@timestamp": _iso(when),
            "event": {"kind": "event", "category": ["process"], "type": ["start"], "action": "start",
                      "ingested": _iso(when + timedelta(seconds=delay))},
            "host": {"name": f"{host}.corp.example", "id": f"{host}-0001", "os": {"type": "windows"}},
            "user": {"name": user},
            "process": {"pid": self.pid, "name": name, "executable": executable, "args": [executable, *args],
                        "command_line": line,
                        "parent": {"name": parent.rsplit("\\", 1)[-1], "executable": parent, "pid": self.pid - 2}}})

    def background(self, per_minute: float) -> None:
        """Ordinary activity, and the SQL servers' benign xp_cmdshell jobs."""
        minutes = 7 * 24 * 60
        for host, kind in HOSTS.items():
            rate = per_minute / len(HOSTS) * (0.4 if kind == "server" else 1.6)
            time = 0.0
            while True:
                time += self.rng.expovariate(rate)
                if time >= minutes:
                    break
                when = MONDAY + timedelta(minutes=time)
                if kind == "workstation" and not 7 <= when.hour < 19 and self.rng.random() < 0.9:
                    continue  # people go home
                parent, child, args = self.rng.choice(ORDINARY[kind])
                self.process(when, host, parent, child, args, user="svc" if kind == "server" else f"user-{host}")
        for day in range(7):
            for host in ("sql01", "sql02"):  # the nightly backup job, through xp_cmdshell
                start = MONDAY + timedelta(days=day, hours=2, minutes=self.rng.uniform(0, 5))
                for step in range(12):
                    self.process(start + timedelta(seconds=40 * step), host, SQLSERVR, CMD, self.rng.choice(BACKUP))
            for slot in range(72):  # a disk check every 20 minutes on sql01
                when = MONDAY + timedelta(days=day, minutes=20 * slot, seconds=self.rng.uniform(0, 20))
                self.process(when, "sql01", SQLSERVR, CMD, ["/c", "diskfree", "K:"])

    def attacks(self) -> None:
        """The planted attacks (see the module docstring)."""
        at = lambda day, hour, minute, second=0.0: MONDAY + timedelta(days=day, hours=hour, minutes=minute,  # noqa
                                                                       seconds=second)
        self.process(at(1, 14, 32, 10), "sql01", SQLSERVR, CMD, ["/c", "whoami"])
        for step in range(140):
            self.process(at(3, 3, 10, 0.3 * step), "sql02", SQLSERVR, CMD,
                         ["/c", "echo", f"TVqQAAMAAAAEAAAA{step:04d}", ">>%TEMP%\\x.b64"])
        self.process(at(4, 22, 47), "sql01", SQLSERVR, CMD, ["/c", "net", "user", "backup$", "/add"])
        self.process(at(5, 1, 15), "sql02", SQLSERVR, CMD, ["/c", "C:\\Users\\Public\\run.cmd"])
        self.process(at(5, 1, 26), "sql02", CMD, POWERSHELL, ["-enc", "SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA"])
        self.process(at(6, 16, 5), "sql01", SQLSERVR, CMD, ["/c", "C:\\Users\\Public\\run.cmd"])
        self.process(at(6, 16, 7, 30), "sql01", CMD, POWERSHELL, ["-enc", "SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA"])

    def shipper_backlog(self) -> None:
        """sql01's log shipper stalls on Friday 22:40 to 23:05: its events then arrive about
        12 minutes late."""
        stall, resume = MONDAY + timedelta(days=4, hours=22, minutes=40), MONDAY + timedelta(days=4, hours=23, minutes=5)
        for event in self.events:
            when = datetime.fromisoformat(event["@timestamp"].replace("Z", "+00:00"))
            if event["host"]["name"].startswith("sql01") and stall <= when < resume:
                event["event"]["ingested"] = _iso(when + timedelta(minutes=12, seconds=self.rng.uniform(0, 30)))


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def main(argv: list[str] | None = None) -> int:
    """Write the week to ``-o`` (default: standard output)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", help="the NDJSON file to write (default: standard output)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-minute", type=float, default=4.0, help="ordinary events per minute (default 4)")
    args = parser.parse_args(argv)
    week = Week(args.seed)
    week.background(args.per_minute)
    week.attacks()
    week.shipper_backlog()
    week.events.sort(key=lambda event: event["@timestamp"])
    text = "".join(json.dumps(event) + "\n" for event in week.events)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"{len(week.events):,} events written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
