r"""The bundled xp_cmdshell rule, as a truth table a reviewer can read row by row.

Rule: process where event.type == "start" and process.name : "cmd.exe" and
      process.parent.name : "sqlservr.exe" and not process.args : (<12 exclusions>)

The exclusions, as values (the EQL text doubles each backslash):
  \\*  diskfree  rmdir  mkdir  dir  del  rename  bcp  *XMLNAMESPACES*
  ?:\MSSQL\Backup\Jobs\sql_agent_backup_job.ps1  K:\MSSQL\Backup\msdb  K:\MSSQL\Backup\Logins
"""

from __future__ import annotations

from typing import Any

import pytest

import eqlmini

RULE = next(rule for rule in eqlmini.bundled_rules() if rule.name == "Execution via MSSQL xp_cmdshell Stored Procedure")
BS = "\\"


def event(*args: str | None, name: str = "cmd.exe", parent: str = "sqlservr.exe",
          event_type: Any = "start", category: Any = "process", flat: bool = False) -> dict[str, Any]:
    """An ECS process event; ``args`` None leaves process.args out entirely."""
    fields: dict[str, Any] = {
        "event.category": category, "event.type": event_type,
        "process.name": name, "process.parent.name": parent,
    }
    if args != (None,):
        fields["process.args"] = list(args)
    if flat:
        return fields
    nested: dict[str, Any] = {}
    for dotted, value in fields.items():
        node = nested
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


# (description, event, expected) — read each row as "this event does / does not alert".
TRUTH_TABLE = [
    # The process itself.
    ("plain cmd.exe child of sqlservr.exe", event("cmd.exe", "/c", "whoami"), True),
    ("names differ in case only", event("CMD.EXE", "/c", "whoami", name="CMD.EXE", parent="SQLSERVR.EXE"), True),
    ("mixed-case names", event("cmd", "/c", "whoami", name="Cmd.Exe", parent="SqlServr.exe"), True),
    ("name is not cmd.exe", event("powershell.exe", "-c", "whoami", name="powershell.exe"), False),
    ("name only contains cmd.exe", event("x", name="notcmd.exe"), False),
    ("parent is not sqlservr.exe", event("cmd.exe", "/c", "whoami", parent="services.exe"), False),
    ("parent is missing", {"event": {"category": "process", "type": "start"},
                           "process": {"name": "cmd.exe", "args": ["/c", "whoami"]}}, False),
    # event.type is case-sensitive (==) and may be a list.
    ("event.type as a list containing start", event("cmd.exe", "/c", "whoami", event_type=["start", "process_started"]), True),
    ("event.type as a list without start", event("cmd.exe", "/c", "whoami", event_type=["end"]), False),
    ("event.type START in upper case (== is case-sensitive)", event("cmd.exe", "/c", "whoami", event_type="START"), False),
    ("event.type is end", event("cmd.exe", "/c", "whoami", event_type="end"), False),
    ("event.type missing", event("cmd.exe", "/c", "whoami", event_type=None), False),
    # The category comes from `process where`.
    ("category is file", event("cmd.exe", "/c", "whoami", category="file"), False),
    ("category as a list containing process", event("cmd.exe", "/c", "whoami", category=["process", "start"]), True),
    ("category missing", event("cmd.exe", "/c", "whoami", category=None), False),
    # process.args absent or empty: `not args : (...)` is true, so the rule fires.
    ("process.args absent", event(None), True),
    ("process.args empty list", event(), True),
    # Each exclusion pattern: hit (no alert) and just missed (alert).
    ("arg \\\\server\\share: two backslashes then anything", event("cmd.exe", "/c", BS * 2 + "srv" + BS + "share"), False),
    ("arg with exactly two backslashes", event("cmd.exe", "/c", BS * 2), False),
    ("arg with one leading backslash only", event("cmd.exe", "/c", BS + "srv"), True),
    ("arg with the backslashes not leading", event("cmd.exe", "/c", "x" + BS * 2 + "srv"), True),
    ("diskfree", event("cmd.exe", "/c", "diskfree"), False),
    ("DiskFree (case-insensitive)", event("cmd.exe", "/c", "DiskFree"), False),
    ("diskfree2 (whole value must match)", event("cmd.exe", "/c", "diskfree2"), True),
    ("rmdir", event("cmd.exe", "/c", "rmdir", "x"), False),
    ("mkdir", event("cmd.exe", "/c", "MKDIR", "x"), False),
    ("dir", event("cmd.exe", "/c", "dir"), False),
    ("dirs", event("cmd.exe", "/c", "dirs"), True),
    ("del", event("cmd.exe", "/c", "del", "a.txt"), False),
    ("delete is not del", event("cmd.exe", "/c", "delete"), True),
    ("rename", event("cmd.exe", "/c", "rename", "a", "b"), False),
    ("bcp", event("cmd.exe", "/c", "bcp"), False),
    ("bcp.exe is not bcp", event("cmd.exe", "/c", "bcp.exe"), True),
    ("contains XMLNAMESPACES", event("cmd.exe", "/c", "WITH xmlnamespaces('x' AS y)"), False),
    ("XMLNAMESPACE without the S", event("cmd.exe", "/c", "WITH XMLNAMESPACE"), True),
    ("backup job script on drive D", event("cmd.exe", "/c", "D:\\MSSQL\\Backup\\Jobs\\sql_agent_backup_job.ps1"), False),
    ("backup job script, lower case", event("cmd.exe", "/c", "d:\\mssql\\backup\\jobs\\SQL_AGENT_BACKUP_JOB.PS1"), False),
    ("backup job script with a two-letter drive (? is one character)", event("cmd.exe", "/c", "DD:\\MSSQL\\Backup\\Jobs\\sql_agent_backup_job.ps1"), True),
    ("backup job script with no drive letter", event("cmd.exe", "/c", ":\\MSSQL\\Backup\\Jobs\\sql_agent_backup_job.ps1"), True),
    ("K:\\MSSQL\\Backup\\msdb", event("cmd.exe", "/c", "K:\\MSSQL\\Backup\\msdb"), False),
    ("k:\\mssql\\backup\\MSDB (case-insensitive)", event("cmd.exe", "/c", "k:\\mssql\\backup\\MSDB"), False),
    ("K:\\MSSQL\\Backup\\msdb2", event("cmd.exe", "/c", "K:\\MSSQL\\Backup\\msdb2"), True),
    ("K:\\MSSQL\\Backup\\Logins", event("cmd.exe", "/c", "K:\\MSSQL\\Backup\\Logins"), False),
    ("L:\\MSSQL\\Backup\\Logins (K is literal)", event("cmd.exe", "/c", "L:\\MSSQL\\Backup\\Logins"), True),
    ("one excluded arg among others suppresses", event("cmd.exe", "/c", "whoami", "&", "dir"), False),
    ("process.args as a single string, excluded", {**event(None), "process.args": "dir"}, False),
    ("process.args as a single string, not excluded", {**event(None), "process.args": "whoami"}, True),
]


@pytest.mark.parametrize(("description", "ecs_event", "expected"), TRUTH_TABLE, ids=[row[0] for row in TRUTH_TABLE])
def test_truth_table_nested(description: str, ecs_event: dict[str, Any], expected: bool) -> None:
    assert RULE.query(ecs_event) is expected


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@pytest.mark.parametrize(("description", "ecs_event", "expected"), TRUTH_TABLE, ids=[row[0] for row in TRUTH_TABLE])
def test_truth_table_flat_dotted_keys(description: str, ecs_event: dict[str, Any], expected: bool) -> None:
    assert RULE.query(_flatten(ecs_event)) is expected


def test_mixed_nested_and_dotted_event() -> None:
    mixed = {"event.type": "start", "event": {"category": "process"},
             "process": {"name": "cmd.exe", "parent.name": "sqlservr.exe", "args": ["/c", "whoami"]}}
    assert RULE.query(mixed) is True
    mixed["process.args"] = ["dir"]  # merged with process.args under "process": one excluded value
    assert RULE.query(mixed) is False


def test_rule_file_holds_the_query_exactly() -> None:
    expected = ('process where event.type == "start" and process.name : "cmd.exe" and process.parent.name : '
                '"sqlservr.exe" and not process.args : ("\\\\\\\\*", "diskfree", "rmdir", "mkdir", "dir", "del", '
                '"rename", "bcp", "*XMLNAMESPACES*", "?:\\\\MSSQL\\\\Backup\\\\Jobs\\\\sql_agent_backup_job.ps1", '
                '"K:\\\\MSSQL\\\\Backup\\\\msdb", "K:\\\\MSSQL\\\\Backup\\\\Logins")')
    assert RULE.text == expected
    assert RULE.query.kind == "event"
    assert set(RULE.query.fields) == {"event.type", "process.name", "process.parent.name", "process.args",
                                      "event.category"}


def test_filter_yields_only_alerting_events_in_order() -> None:
    events = [row[1] for row in TRUTH_TABLE]
    expected = [row[1] for row in TRUTH_TABLE if row[2]]
    assert list(RULE.query.filter(events)) == expected
