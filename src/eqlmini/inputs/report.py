"""What a read found wrong: counts, and each problem with its file and place.

Readers never raise for bad input and never skip it silently: every line, record or
file they cannot read becomes a :class:`Problem` in the caller's :class:`ReadReport`,
and reading goes on. Without a report, problems go to the ``eqlmini.inputs`` logger
as warnings (which Python prints on stderr when logging is not configured).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

__all__ = ["Problem", "ReadReport"]

_log = logging.getLogger("eqlmini.inputs")


class Problem(NamedTuple):
    """One thing that could not be read: ``source`` file, ``location`` in it, ``message``."""

    source: str            # the path as given, or "<stdin>"
    location: str          # "line 12", "record 57", "file", ...
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.location}: {self.message}"


@dataclass
class ReadReport:
    """Counts for a whole read, filled in while the events are iterated.

    ``unreadable`` counts the units that were lost: a bad line, object or record, or a
    whole file that could not be opened or recognised (one each). ``problems`` keeps
    the first :attr:`MAX_PROBLEMS`; ``problems_omitted`` counts the rest.
    """

    events: int = 0                    # events read (those of one read are counted at once)
    unreadable: int = 0                # lines, records or files that could not be read
    problems: list[Problem] = field(default_factory=list)
    problems_omitted: int = 0          # problems beyond the first MAX_PROBLEMS
    sources: int = 0                   # files (or stdin) opened or attempted
    MAX_PROBLEMS: ClassVar[int] = 100
    log: bool = field(default=False, repr=False, compare=False)   # also log each problem

    def add(self, source: str, location: str, message: str, *, unreadable: int = True) -> None:
        """Record one problem that lost ``unreadable`` units (True: one; False: a warning)."""
        self.unreadable += int(unreadable)
        problem = Problem(source, location, message)
        if self.log:
            _log.warning("%s", problem)
        if len(self.problems) < self.MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.problems_omitted += 1

    @property
    def ok(self) -> bool:
        """True when nothing went wrong."""
        return not self.problems and not self.problems_omitted

    def summary(self) -> str:
        """One line, e.g. ``140 events from 2 files; 3 unreadable; 3 problems``."""
        files = f"{self.sources} file{'s' if self.sources != 1 else ''}"
        text = f"{self.events} event{'s' if self.events != 1 else ''} from {files}"
        count = len(self.problems) + self.problems_omitted
        if count:
            text += f"; {self.unreadable} unreadable; {count} problem{'s' if count != 1 else ''}"
        return text
