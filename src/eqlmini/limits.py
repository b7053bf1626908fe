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

# ----------------------------------------------------------------------------- input files
# A limit here bounds one record of a file; a record over it is reported in the ReadReport
# (counted as unreadable) and reading goes on. Read at call time: assigning a new value
# here changes the default, and read_events(...) and the CLI take their own.
MAX_LINE_BYTES = 16 << 20          # one NDJSON line (16 MiB)
MAX_DOCUMENT_BYTES = 256 << 20     # one JSON document: a .json array, read whole (256 MiB)

# ----------------------------------------------------------------------------- rule files
MAX_RULE_FILE_BYTES = 1 << 20      # one rule file (.eql, .toml); larger ones are a RuleError
MAX_CACHED_PACKS = 8               # compiled rule packs kept in the on-disk cache; the least recently used go
MAX_CACHED_PACK_BYTES = 256 << 20  # one cached pack (about 15 MB per 1,000 rules); larger ones are not cached

# Sequences and samples (joins.py, sequences.py)
MAX_JOIN_KEY_COMBINATIONS = 1_000  # key tuples one event takes part under (multi-valued join keys multiply)
MAX_OPEN_PARTIALS = 1_000_000  # partial sequences one matcher holds, and completed ones awaiting a trailing ![...]

# ---- values, fields and predicates (core) ----------------------------------------------------
NUMBER_CACHE_TEXT_CHARS = 64  # values.parse_number remembers the reading of texts up to this long, no longer ones
GETTER_CACHE_NAME_CHARS = 256  # fields.getter caches the reader of names up to this long, no longer ones
CODE_CACHE_SOURCE_CHARS = 4096  # codegen keeps the compiled code of generated sources up to this long (the last 256)
INLINE_FIELD_PARTS = 8  # a field name of more dotted parts is read by a walk over the event, not inlined probes
LEAF_COMBINATIONS = 10_000  # value combinations one leaf over several multi-valued fields tries per event

# Replay (replay/)
MAX_REPLAY_SEARCHES = 1_000_000  # searches one rule's replay makes (a year of 1-minute runs is 525,600); later runs are not made
MAX_REPLAY_DOCUMENTS = 50_000_000  # documents one rule's searches read in all (a huge look-back reads everything each run)
