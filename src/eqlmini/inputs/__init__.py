"""Read events from files: NDJSON, JSON, and Windows EVTX normalised to ECS.

>>> from eqlmini.inputs import ReadReport, read_events
>>> report = ReadReport()
>>> events = list(read_events(["a.ndjson", "Security.evtx"], report=report))  # doctest: +SKIP
>>> report.summary()                                                            # doctest: +SKIP
'140 events from 2 files'
"""

from .cmdline import split_command_line
from .ecs import evtx_to_ecs
from .finding import event_files, is_event_file
from .reader import FORMATS, PlacedBatch, read_batches, read_events, read_file, read_placed_batches
from .report import Problem, ReadReport

__all__ = ["FORMATS", "PlacedBatch", "Problem", "ReadReport", "event_files", "evtx_to_ecs", "is_event_file",
           "read_batches", "read_events", "read_file", "read_placed_batches", "split_command_line"]
