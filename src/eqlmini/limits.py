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


# ---- values, fields and predicates (core) ----------------------------------------------------
NUMBER_CACHE_TEXT_CHARS = 64  # values.parse_number remembers the reading of texts up to this long, no longer ones
GETTER_CACHE_NAME_CHARS = 256  # fields.getter caches the reader of names up to this long, no longer ones
INLINE_FIELD_PARTS = 8  # a field name of more dotted parts is read by a walk over the event, not inlined probes
LEAF_COMBINATIONS = 10_000  # value combinations one leaf over several multi-valued fields tries per event
