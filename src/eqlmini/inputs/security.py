"""Map Windows Security-log ``winlog.event_data`` to ECS, as winlogbeat's security pipeline does.

Facts follow ``x-pack/winlogbeat/module/security/ingest/security.yml`` (elastic/beats),
kept to what detection rules use: the categorisation of common event codes, the
subject/target/effective user, process fields (4688 process creation, 4689 exit and
the ``ProcessId``/``ProcessName`` pair of other events), logon type and id, and the
source address of logons. Names winlogbeat moves out of ``event_data`` are moved out
here too; the rest stays. The returned fields are flat dotted names.
"""

from __future__ import annotations

from .cmdline import split_command_line
from .winlog import parse_int, windows_basename

__all__ = ["SECURITY_EVENTS", "map_security"]

_AUTH, _IAM, _CONF, _PROC = ("authentication",), ("iam",), ("configuration",), ("process",)
# event code -> (event.category, event.type, event.action), a subset of winlogbeat's table.
SECURITY_EVENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "1102": (_IAM, ("admin", "change"), "audit-log-cleared"),
    "4624": (_AUTH, ("start",), "logged-in"),
    "4625": (_AUTH, ("start",), "logon-failed"),
    "4634": (_AUTH, ("end",), "logged-out"),
    "4647": (_AUTH, ("end",), "logged-out"),
    "4648": (_AUTH, ("start",), "logged-in-explicit"),
    "4672": (_IAM, ("admin",), "logged-in-special"),
    "4673": (_IAM, ("admin",), "privileged-service-called"),
    "4674": (_IAM, ("admin",), "privileged-operation"),
    "4688": (_PROC, ("start",), "created-process"),
    "4689": (_PROC, ("end",), "exited-process"),
    "4697": (_IAM + _CONF, ("admin", "change"), "service-installed"),
    "4698": (_IAM + _CONF, ("creation", "admin"), "scheduled-task-created"),
    "4699": (_IAM + _CONF, ("deletion", "admin"), "scheduled-task-deleted"),
    "4700": (_IAM + _CONF, ("change", "admin"), "scheduled-task-enabled"),
    "4701": (_IAM + _CONF, ("change", "admin"), "scheduled-task-disabled"),
    "4702": (_IAM + _CONF, ("change", "admin"), "scheduled-task-updated"),
    "4719": (_IAM + _CONF, ("admin", "change"), "changed-audit-config"),
    "4720": (_IAM, ("user", "creation"), "added-user-account"),
    "4722": (_IAM, ("user", "change"), "enabled-user-account"),
    "4724": (_IAM, ("user", "change"), "reset-password"),
    "4726": (_IAM, ("user", "deletion"), "deleted-user-account"),
    "4728": (_IAM, ("group", "change"), "added-member-to-group"),
    "4732": (_IAM, ("group", "change"), "added-member-to-group"),
    "4738": (_IAM, ("user", "change"), "modified-user-account"),
    "4756": (_IAM, ("group", "change"), "added-member-to-group"),
    "4768": (_AUTH, ("start",), "kerberos-authentication-ticket-requested"),
    "4769": (_AUTH, ("start",), "kerberos-service-ticket-requested"),
    "4771": (_AUTH, ("start",), "kerberos-preauth-failed"),
    "4776": (_AUTH, ("start",), "credential-validated"),
    "4778": (_AUTH + ("session",), ("start",), "session-reconnected"),
    "4779": (_AUTH + ("session",), ("end",), "session-disconnected"),
}
# Events whose user is the target account (logons); the others use the subject.
_TARGET_USER = {"4624", "4625", "4634", "4647", "4768", "4769", "4770", "4771", "4776", "4964"}
_EFFECTIVE_USER = {"4648", "4688"}
_LOGON_ID_FROM_TARGET = {"4634", "4647", "4964"}
_LOGON_TYPES = {"2": "Interactive", "3": "Network", "4": "Batch", "5": "Service",
                "7": "Unlock", "8": "NetworkCleartext", "9": "NewCredentials",
                "10": "RemoteInteractive", "11": "CachedInteractive"}
_NONE = (None, "", "-")


def map_security(code: str, data: dict, winlog: dict) -> tuple[dict, dict]:
    """ECS fields (flat, dotted) for one Security event, and the ``event_data`` left over."""
    fields: dict = {"event.module": "security"}
    if code in SECURITY_EVENTS:
        categories, types, action = SECURITY_EVENTS[code]
        fields["event.category"] = list(categories)
        fields["event.type"] = list(types)
        fields["event.action"] = action
    related_users: list[str] = []
    removed: set[str] = set()

    if code in _TARGET_USER:
        _user(fields, "user", data, "Target", related_users)
    else:
        _user(fields, "user", data, "Subject", related_users)
    if code in _EFFECTIVE_USER:
        _user(fields, "user.effective", data, "Target", related_users)

    if code == "4688":
        removed |= _process_created(data, fields)
    else:
        removed |= _process_and_source(data, fields)

    logon_id = _text(data.get("SubjectLogonId"))
    if logon_id is None and code in _LOGON_ID_FROM_TARGET:
        logon_id = _text(data.get("TargetLogonId"))
    if logon_id is not None:
        fields["winlog.logon.id"] = logon_id
    logon_type = _LOGON_TYPES.get(_text(data.get("LogonType")) or "")
    if logon_type:
        fields["winlog.logon.type"] = logon_type
    if related_users:
        fields["related.user"] = list(dict.fromkeys(related_users))
    if "source.ip" in fields:
        fields["related.ip"] = [fields["source.ip"]]
    return fields, {k: v for k, v in data.items() if k not in removed}


def _process_created(data: dict, fields: dict) -> set[str]:
    """4688: the new process, its parent (``ProcessId`` is the creator), the command line.

    ``process.args`` keeps the quotes of a quoted program name, as winlogbeat does.
    ``ProcessId`` and ``CommandLine`` stay in ``event_data`` (winlogbeat keeps them).
    """
    pid = parse_int(data.get("NewProcessId"))
    if pid is not None:
        fields["process.pid"] = pid
    _executable(fields, "process", data.get("NewProcessName"))
    _executable(fields, "process.parent", data.get("ParentProcessName"))
    parent_pid = parse_int(data.get("ProcessId"))
    if parent_pid is not None:
        fields["process.parent.pid"] = parent_pid
    command_line = data.get("CommandLine")
    if isinstance(command_line, str) and command_line.strip():
        args = split_command_line(command_line, keep_program_quotes=True)
        fields["process.command_line"] = command_line
        fields["process.args"] = args
        fields["process.args_count"] = len(args)
    return {"NewProcessId", "NewProcessName", "ParentProcessName"}


def _process_and_source(data: dict, fields: dict) -> set[str]:
    """``ProcessId``/``ProcessName`` and ``IpAddress``/``IpPort``/``WorkstationName``."""
    names = {"ProcessId", "ProcessName", "IpAddress", "IpPort", "WorkstationName"}
    pid = parse_int(data.get("ProcessId"))
    if pid is not None:
        fields["process.pid"] = pid
    _executable(fields, "process", data.get("ProcessName"))
    if _text(data.get("IpAddress")):
        fields["source.ip"] = data["IpAddress"].removeprefix("::ffff:")
    port = parse_int(data.get("IpPort"))
    if port is not None:
        fields["source.port"] = port
    if _text(data.get("WorkstationName")):
        fields["source.domain"] = data["WorkstationName"]
    return names & data.keys()


def _executable(fields: dict, prefix: str, path: object) -> None:
    if _text(path):
        fields[f"{prefix}.executable"] = path
        if name := windows_basename(path):
            fields[f"{prefix}.name"] = name


def _user(fields: dict, prefix: str, data: dict, who: str, related: list[str]) -> None:
    """``<who>UserSid/UserName/DomainName`` -> ``<prefix>.id/name/domain`` (``-`` skipped)."""
    sid = _text(data.get(f"{who}UserSid")) or _text(data.get(f"{who}Sid"))
    name = _text(data.get(f"{who}UserName"))
    domain = _text(data.get(f"{who}DomainName"))
    if sid:
        fields[f"{prefix}.id"] = sid
    if name:
        name = name.split("@")[0]
        fields[f"{prefix}.name"] = name
        related.append(name)
    if domain:
        fields[f"{prefix}.domain"] = domain


def _text(value: object) -> str | None:
    """A usable string value: not ``""`` or ``-``, and not a list or other odd type."""
    return value if isinstance(value, str) and value not in _NONE else None
