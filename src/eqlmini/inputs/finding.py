"""Find event files: the paths a user names, with folders walked and glob patterns expanded.

A folder is walked recursively (links to folders are not followed, so a loop cannot trap
the walk) and yields the files whose names end in an event extension: ``.evtx``,
``.json``, ``.ndjson``, ``.jsonl``, each also with ``.gz``, and ``.parquet``. A path that does not exist
but holds ``*``, ``?`` or ``[`` is a glob pattern (``**`` crosses folders): the files it
matches are taken whatever their extension, the folders it matches are walked. Files come
sorted, folder by folder. A folder without event files and a pattern that matches nothing
are problems in the report, as an unreadable file is; any other path is passed on as it
is (a missing file is reported when it is read).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable

from .report import ReadReport

__all__ = ["EVENT_EXTENSIONS", "event_files", "is_event_file"]

EVENT_EXTENSIONS = (".evtx", ".json", ".ndjson", ".jsonl", ".parquet")


def is_event_file(name: str) -> bool:
    """Whether a file name ends in an event extension (``.gz`` after it too, but for ``.parquet``)."""
    lower = name.lower()
    return lower.endswith(".parquet") or os.path.splitext(lower.removesuffix(".gz"))[1] in EVENT_EXTENSIONS[:-1]


def event_files(paths: Iterable[str], report: ReadReport) -> list[str]:
    """The files to read for ``paths`` (``-``, files, folders, glob patterns), in order."""
    found: list[str] = []
    for path in paths:
        if path != "-" and os.path.isdir(path):
            files = _walk(path, report)
            if not files:
                report.add(path, "folder", "no event files in it (.evtx, .json, .ndjson, .jsonl, their .gz, .parquet)",
                           unreadable=False)
            found.extend(files)
        elif path != "-" and not os.path.lexists(path) and glob.has_magic(path):
            matches = sorted(glob.glob(path, recursive=True))
            if not matches:
                report.add(path, "pattern", "no file matches", unreadable=False)
            for match in matches:
                found.extend(_walk(match, report) if os.path.isdir(match) else [match])
        else:
            found.append(path)
    return found


def _walk(folder: str, report: ReadReport) -> list[str]:
    def unreadable(error: OSError) -> None:
        report.add(str(error.filename), "folder", f"cannot read: {error.strerror or error}")

    files: list[str] = []
    for root, folders, names in os.walk(folder, onerror=unreadable):
        folders.sort()
        files.extend(os.path.join(root, name) for name in sorted(names) if is_event_file(name))
    return files
