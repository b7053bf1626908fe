"""Limits that keep hostile rules, events and files from exhausting time or memory.

Rules, events and files are untrusted input (docs/security.md). Every bound eqlmini puts on
the work one input can cause is a named default in this module, so that the whole list is in
one place, documented, and adjustable. When a limit is hit, the work it cut is never dropped
silently: :func:`skipped` reports it as an :class:`EqlLimitWarning`, which callers can turn
into errors (``warnings.simplefilter("error", EqlLimitWarning)``), record, or count; the CLI
prints each one as a problem.
"""

from __future__ import annotations

import warnings


class EqlLimitWarning(UserWarning):
    """A limit was hit and some work was skipped; the message says what and which limit."""


def skipped(message: str) -> None:
    """Report work a limit cut short (``message`` names the limit and what was skipped)."""
    warnings.warn(message, EqlLimitWarning, stacklevel=3)

# Query text (parser, comments, patterns)
MAX_COMMENT_OPENERS = 256  # inner `/*` in one block comment; finding its end costs their square
MAX_WILDCARDS_PER_REGEX = 64  # wildcard patterns per RE2 program; more overflow its DFA and matching slows 1000-fold
