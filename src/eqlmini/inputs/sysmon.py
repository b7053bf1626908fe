"""Map Sysmon's ``winlog.event_data`` to ECS fields, as winlogbeat's sysmon pipeline does.

Facts follow ``x-pack/winlogbeat/module/sysmon/ingest/sysmon.yml`` (elastic/beats): the
categorisation table, which ``event_data`` names become which ECS fields, and which
names are then removed from ``event_data`` (the mapped ones, plus empty, ``-`` and
all-zero-GUID values). The returned fields are flat dotted names; :mod:`.ecs` nests them.
"""

from __future__ import annotations

from .cmdline import split_command_line
from .winlog import iso_timestamp, parse_int, windows_basename

__all__ = ["SYSMON_EVENTS", "map_sysmon"]

# event code -> (event.category, event.type, event.action), from winlogbeat.
SYSMON_EVENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "1": (("process",), ("start",), "Process creation"),
    "2": (("file",), ("change",), "A process changed a file creation time"),
    "3": (("network",), ("start", "connection", "protocol"), "Network connection"),
    "4": (("process",), ("change",), "Sysmon service state changed"),
    "5": (("process",), ("end",), "Process terminated"),
    "6": (("driver",), ("start",), "Driver loaded"),
    "7": (("process",), ("change",), "Image loaded"),
    "8": (("process",), ("change",), "CreateRemoteThread"),
    "9": (("process",), ("access",), "RawAccessRead"),
    "10": (("process",), ("access",), "ProcessAccess"),
    "11": (("file",), ("creation",), "FileCreate"),
    "12": (("configuration", "registry"), ("change",), "RegistryEvent (Object create and delete)"),
    "13": (("configuration", "registry"), ("change",), "RegistryEvent (Value Set)"),
    "14": (("configuration", "registry"), ("change",), "RegistryEvent (Key and Value Rename)"),
    "15": (("file",), ("access",), "FileCreateStreamHash"),
    "16": (("configuration",), ("change",), "ServiceConfigurationChange"),
    "17": (("file",), ("creation",), "PipeEvent (Pipe Created)"),
    "18": (("file",), ("access",), "PipeEvent (Pipe Connected)"),
    "19": (("process",), ("info",), "WmiEvent (WmiEventFilter activity detected)"),
    "20": (("process",), ("change",), "WmiEvent (WmiEventConsumer activity detected)"),
    "21": (("process",), ("access",), "WmiEvent (WmiEventConsumerToFilter activity detected)"),
    "22": (("network",), ("connection", "protocol", "info"), "DNSEvent (DNS query)"),
    "23": (("file",), ("deletion",), "FileDelete (File Delete archived)"),
    "24": ((), ("change",), "ClipboardChange (New content in the clipboard)"),
    "25": (("process",), ("change",), "ProcessTampering (Process image change)"),
    "26": (("file",), ("deletion",), "FileDeleteDetected (File Delete logged)"),
    "27": (("file",), ("creation",), "FileBlockExecutable"),
    "28": (("file",), ("deletion",), "FileBlockShredding"),
    "29": (("file",), ("creation",), "FileExecutableDetected"),
}

# event_data name -> ECS field; the name leaves event_data. Later names win (Source* in 10).
_STRINGS = {
    "ProcessGuid": "process.entity_id", "SourceProcessGuid": "process.entity_id",
    "SourceProcessGUID": "process.entity_id", "Image": "process.executable",
    "SourceImage": "process.executable", "CommandLine": "process.command_line",
    "CurrentDirectory": "process.working_directory",
    "ParentProcessGuid": "process.parent.entity_id", "ParentImage": "process.parent.executable",
    "ParentCommandLine": "process.parent.command_line",
    "TargetFilename": "file.path", "Device": "file.path", "ImageLoaded": "file.path",
    "PipeName": "file.name", "Protocol": "network.transport",
    "SourceIp": "source.ip", "SourceHostname": "source.domain",
    "DestinationIp": "destination.ip", "DestinationHostname": "destination.domain",
    "QueryName": "dns.question.name", "TargetObject": "registry.path",
}
_INTEGERS = {
    "ProcessId": "process.pid", "SourceProcessId": "process.pid",
    "SourceThreadId": "process.thread.id", "ParentProcessId": "process.parent.pid",
    "SourcePort": "source.port", "DestinationPort": "destination.port",
}
_PE = {"Company": "company", "Description": "description",
       "FileVersion": "file_version", "Product": "product"}       # copied, kept in event_data
_REMOVED = frozenset(_STRINGS) | frozenset(_INTEGERS) | {
    "OriginalFileName", "SourcePortName", "DestinationPortName", "RuleName", "User",
    "Initiated", "SourceIsIpv6", "DestinationIsIpv6", "QueryStatus", "Archived",
    "IsExecutable", "QueryResults", "UtcTime", "Hash", "Hashes", "Details"}
_EMPTY = ("", "-", "{00000000-0000-0000-0000-000000000000}")
_PROCESS_HASH_CODES = {"1", "23", "24", "25", "26"}
_FILE_HASH_CODES = {"6", "7", "15", "29"}


def map_sysmon(code: str, data: dict, winlog: dict) -> tuple[dict, dict]:
    """ECS fields (flat, dotted) for one Sysmon event, and the ``event_data`` left over."""
    data = {k: v for k, v in data.items() if not (isinstance(v, str) and v in _EMPTY)}
    fields: dict = {"event.module": "sysmon"}
    if code in SYSMON_EVENTS:
        categories, types, action = SYSMON_EVENTS[code]
        if categories:
            fields["event.category"] = list(categories)
        fields["event.type"] = list(types)
        fields["event.action"] = action
    if isinstance(data.get("UtcTime"), str) and (timestamp := iso_timestamp(data["UtcTime"])):
        fields["@timestamp"] = timestamp   # winlogbeat's choice

    for name, target in _STRINGS.items():
        if isinstance(data.get(name), str):
            fields[target] = data[name]
    for name, target in _INTEGERS.items():
        if (number := parse_int(data.get(name))) is not None:
            fields[target] = number
    pe = "file.pe" if code == "7" else "process.pe"
    if isinstance(data.get("OriginalFileName"), str):
        fields[f"{pe}.original_file_name"] = data["OriginalFileName"]
    for name, key in _PE.items():
        if isinstance(data.get(name), str):
            fields[f"{pe}.{key}"] = data[name]
    if isinstance(data.get("RuleName"), str):
        fields["rule.name"] = data["RuleName"]

    _hashes(code, data.get("Hashes") or data.get("Hash"), fields)
    _process_names_and_args(fields)
    _file_parts(fields)
    _network(code, data, fields)
    _registry(code, data, fields)
    _user(data, winlog, fields)
    return fields, {k: v for k, v in data.items() if k not in _REMOVED}


def _hashes(code: str, text: object, fields: dict) -> None:
    """``SHA1=AB..,MD5=CD..,IMPHASH=..`` -> ``*.hash.sha1`` (lower case), ``pe.imphash``."""
    if not isinstance(text, str):
        return
    owner = "process" if code in _PROCESS_HASH_CODES else "file" if code in _FILE_HASH_CODES else None
    related = []
    for item in text.split(","):
        kind, _, value = item.partition("=")
        kind, value = kind.strip().lower(), value.strip().lower()
        if not kind or not value or not value.strip("0"):
            continue
        related.append(value)
        if owner:
            fields[f"{owner}.pe.imphash" if kind == "imphash" else f"{owner}.hash.{kind}"] = value
    if related:
        fields["related.hash"] = related


def _process_names_and_args(fields: dict) -> None:
    for prefix in ("process", "process.parent"):
        executable = fields.get(f"{prefix}.executable")
        if executable and (name := windows_basename(executable)):
            fields[f"{prefix}.name"] = name
        command_line = fields.get(f"{prefix}.command_line")
        if command_line and command_line.strip():
            args = split_command_line(command_line)
            fields[f"{prefix}.args"] = args
            fields[f"{prefix}.args_count"] = len(args)


def _file_parts(fields: dict) -> None:
    path = fields.get("file.path")
    if not path or "\\" not in path:
        return
    directory, _, name = path.rpartition("\\")
    fields["file.name"] = name
    fields["file.directory"] = directory
    if "." in name:
        fields["file.extension"] = name.rpartition(".")[2]


def _network(code: str, data: dict, fields: dict) -> None:
    if code == "22":
        fields["network.protocol"] = "dns"
    else:
        protocol = data.get("DestinationPortName") or data.get("SourcePortName")
        if isinstance(protocol, str):
            fields["network.protocol"] = protocol
    direction = {"true": "egress", "false": "ingress"}.get(str(data.get("Initiated")).lower())
    if direction:
        fields["network.direction"] = direction
    ipv6 = {"true": "ipv6", "false": "ipv4"}.get(str(data.get("SourceIsIpv6")).lower())
    if ipv6:
        fields["network.type"] = ipv6
    related = [fields[k] for k in ("source.ip", "destination.ip") if k in fields]
    if related:
        fields["related.ip"] = list(dict.fromkeys(related))


def _registry(code: str, data: dict, fields: dict) -> None:
    path = fields.get("registry.path")
    if code not in ("12", "13", "14") or not path:
        fields.pop("registry.path", None)
        return
    fields["registry.value"] = path.rpartition("\\")[2]
    if isinstance(data.get("Details"), str):
        fields["registry.data.strings"] = [data["Details"]]


def _user(data: dict, winlog: dict, fields: dict) -> None:
    """``user.id`` is the record's security SID (as winlogbeat); name and domain from ``User``."""
    sid = (winlog.get("user") or {}).get("identifier")
    if sid:
        fields["user.id"] = sid
    parts = data.get("User", "").split("\\") if isinstance(data.get("User"), str) else []
    if len(parts) == 2 and all(parts):
        fields["user.domain"], fields["user.name"] = parts
        fields["related.user"] = [parts[1]]
