"""Read events from files: NDJSON, JSON, and Windows EVTX normalised to ECS.

>>> from eqlmini.inputs import ReadReport, read_events
>>> report = ReadReport()
>>> events = list(read_events(["a.ndjson", "Security.evtx"], report=report))  # doctest: +SKIP
>>> report.summary()                                                            # doctest: +SKIP
'140 events from 2 files'
"""

from .cmdline import split_command_line
from .ecs import evtx_to_ecs
from .reader import FORMATS, read_batches, read_events, read_file
from .report import Problem, ReadReport

__all__ = ["FORMATS", "Problem", "ReadReport", "evtx_to_ecs", "read_batches", "read_events", "read_file",
           "split_command_line"]
