"""Errors raised by eqlmini, each able to point at the place in the query it concerns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A position in query text: 1-based line and column of the first character."""

    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None

    @classmethod
    def point(cls, line: int, column: int) -> "Span":
        """A span that covers one character."""
        return cls(line, column, line, column + 1)

    @classmethod
    def at(cls, text: str, index: int) -> "Span":
        """The one-character span at offset ``index`` of ``text``."""
        return cls.point(text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index))


class EqlError(ValueError):
    """Base class of every error eqlmini raises for a bad query, rule or event.

    When ``span`` and ``text`` are given, ``str(error)`` shows the message, the line and
    column, and the offending line of the query with a caret under the fault.
    """

    def __init__(self, message: str, span: Span | None = None, text: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.text = text

    @property
    def line(self) -> int | None:
        """1-based line of the fault, if known."""
        return self.span.line if self.span else None

    @property
    def column(self) -> int | None:
        """1-based column of the fault, if known."""
        return self.span.column if self.span else None

    def with_text(self, text: str) -> "EqlError":
        """Attach the query text (for the caret display) if the error has none yet."""
        if self.text is None:
            self.text = text
        return self

    def __str__(self) -> str:
        if self.span is None:
            return self.message
        where = f"{self.message} (line {self.span.line}, column {self.span.column})"
        if not self.text:
            return where
        lines = self.text.split("\n")
        if not 1 <= self.span.line <= len(lines):
            return where
        source_line = lines[self.span.line - 1]
        column = self.span.column
        if len(source_line) > 2 * _SHOWN:  # a hostile query may be one line of megabytes
            start = max(column - 1 - _SHOWN, 0)
            shown = source_line[start:column - 1 + _SHOWN]
            source_line = ("..." if start else "") + shown + ("..." if column - 1 + _SHOWN < len(source_line) else "")
            column = column - start + (3 if start else 0)
        # Reuse the line's own tabs so the caret lines up however tabs are rendered.
        pad = "".join(c if c == "\t" else " " for c in source_line[: column - 1])
        return f"{where}\n{source_line}\n{pad}^"


_SHOWN = 80  # characters of a long line shown on each side of the caret


class EqlSyntaxError(EqlError):
    """The text is not EQL: a token out of place, an unfinished query, a bad string."""


class EqlSemanticError(EqlError):
    """The text is EQL but Elasticsearch would reject it: unknown function, type clash, ..."""


class EqlUnsupportedError(EqlSemanticError):
    """A feature of another EQL dialect (Endgame) that Elasticsearch does not support."""


class EqlEventError(EqlError):
    """An event could not be read or used (for example a malformed timestamp)."""
