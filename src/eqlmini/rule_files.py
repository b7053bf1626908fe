"""Rule files on disk: find them in folders, read them within bounds, load them, place errors in them.

A rule file is read only when it is a regular file of at most
``eqlmini.limits.MAX_RULE_FILE_BYTES`` bytes (never a device, a pipe, or a file that
grows without end). Under a folder, links that lead out of it are not followed unless
asked (``follow_links=True``), and reported. An error shows the offending line of a file
only when the file is a rule file: an ``.eql`` file that starts with a rule header or an
EQL query, a ``.toml`` file with a ``[rule]`` table; of any other file (a link to
``/etc/shadow`` named ``x.eql``) no text is ever shown.

:func:`load_rules` with ``on_error`` loads what loads and hands each failure to the
caller, so that one bad file never stops a pack; header keys that no detection rule has
(``serverity``) are a :class:`~eqlmini.rules.RuleWarning`, or an error with ``strict``.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import tomllib
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import limits
from .errors import EqlError, Span
from .pack_cache import PackCache
from .parser import comment_end
from .rules import _FILE_TABLES, KNOWN_KEYS, NotEqlError, Rule, RuleError, RuleWarning

__all__ = ["OnError", "Skipped", "bundled_rules", "bundled_rules_folder", "load_rule", "load_rules", "place_error",
           "rule_files"]

# What a caller does with a file that cannot be loaded (or a link not followed): (path, error).
OnError = Callable[[Path, EqlError], None]
_RULE_SUFFIXES = (".eql", ".toml")
# How an EQL query starts: a category (a name, or quoted) and `where`, `sequence`, `sample`.
_EQL_START = re.compile(r"\s*(?:sequence\b|sample\b|(?:[A-Za-z_@][\w.@-]*|\"[^\"\n]*\"|`[^`\n]*`)\s+where\b)",
                        re.IGNORECASE)


def load_rule(path: str | Path, *, strict: bool = False) -> Rule:
    """Load one rule file: detection-rules TOML if the name ends in ``.toml``, else ``.eql``.

    Raises RuleError for an unreadable file or bad metadata (NotEqlError for a rule in
    another language), and the query's own error (EqlSyntaxError, EqlSemanticError, ...)
    for a bad query; both name the file and line. A header key no detection rule has is
    a RuleWarning, or with ``strict`` a RuleError that suggests the nearest known key.
    """
    notes: list[str] = []
    try:
        return _load_rule(Path(path), strict, notes)
    finally:
        _warn(notes)


def _load_rule(path: Path, strict: bool, notes: list[str], data: bytes | RuleError | None = None) -> Rule:
    """:func:`load_rule`, its warnings added to ``notes`` (``data``: the file's, if read already)."""
    source = _read(path, data)
    toml = path.suffix.lower() == ".toml"
    if not (_RULE_TABLE.search(source) if toml else _starts_like_a_rule(source)):
        raise RuleError(f"{path}: not a detection rule: no [rule] table" if toml else
                        f"{path}: not an EQL rule file: it starts with neither a rule header (/* ... */) "
                        "nor an EQL query (`process where ...`, `sequence ...`, `sample ...`)")
    table, tables, metadata_at, query_at = (_read_toml if toml else _read_eql)(source, path)
    try:
        for name, value in tables.items():
            if not isinstance(value, dict):
                raise RuleError(f"{name} must be a table", key=name)
        _check_keys(table, path, source, metadata_at, strict, notes)
        return Rule.from_table(table, path=path, **tables)
    except RuleError as error:
        raise _at_key(error, path, source, metadata_at) from None
    except EqlError as error:  # the query's own error: place it in the file
        raise _moved(error, path, source, query_at) from None


def rule_files(path: str | Path, *, follow_links: bool = False, on_error: OnError | None = None) -> list[Path]:
    """The rule files at ``path``: the file itself, or under a folder (recursively, sorted)
    every ``.eql`` file and every ``.toml`` file with a ``[rule]`` table.

    A link under the folder that leads out of it is not followed unless ``follow_links``:
    ``on_error(link, error)`` hears of it (without ``on_error``, the error is raised).
    """
    return list(_found(Path(path), follow_links, on_error))


def _found(path: Path, follow_links: bool, on_error: OnError | None) -> dict[Path, bytes | RuleError | None]:
    """:func:`rule_files`, each with its bytes when they were read to find it (``.toml``)."""
    if not path.is_dir():
        if not path.exists():
            raise RuleError(f"{path}: no such file or folder")
        return {path: None}
    found: dict[Path, bytes | RuleError | None] = {}
    _walk(path, path.resolve(), follow_links, _raise if on_error is None else on_error, found, set())
    return dict(sorted(found.items()))


def load_rules(path: str | Path, *, on_error: OnError | None = None, follow_links: bool = False,
               cache: bool = True) -> list[Rule]:
    """Load a rule file, or every rule file under a folder (see :func:`rule_files`).

    Without ``on_error`` the first file that cannot be loaded raises its error; with it,
    ``on_error(path, error)`` hears of each such file (and each link not followed) and
    the others are loaded. Header keys no detection rule has are RuleWarnings.

    A pack loaded before comes from the on-disk cache (:mod:`eqlmini.pack_cache`), with the
    same errors and warnings as when it was compiled; ``cache=False`` compiles it anyway.
    """
    files = {file: _read_bytes(file) if data is None else data
             for file, data in _found(Path(path), follow_links, on_error).items()}
    store = PackCache.open(cache)
    key = loaded = None
    if store is not None:
        # The pack: each file's name and bytes (or why it cannot be read), in load order.
        key = store.key([f"follow_links={follow_links}".encode(), *(
            part for file, data in files.items() for part in (os.fsencode(file), _bytes(data)))])
        loaded = store.get(key)
    if not isinstance(loaded, _Loaded):
        loaded = _Loaded.of(files)
        if store is not None and key is not None:
            store.put(key, loaded)
    for file, error in loaded.errors:
        if on_error is None:
            raise error
        on_error(file, error)
    _warn(loaded.notes)
    return list(loaded.rules)


class _Loaded:
    """What loading some rule files gave: the rules, the files that failed (with their errors)
    and the warnings; what the pack cache keeps."""

    def __init__(self, rules: list[Rule], errors: list[tuple[Path, EqlError]], notes: list[str]) -> None:
        self.rules, self.errors, self.notes = rules, errors, notes

    @classmethod
    def of(cls, files: dict[Path, bytes | RuleError]) -> _Loaded:
        """Load each file (its bytes, or why they cannot be read, are given)."""
        loaded = cls([], [], [])
        for file, data in files.items():
            try:
                loaded.rules.append(_load_rule(file, False, loaded.notes, data))
            except EqlError as error:
                loaded.errors.append((file, error))
        return loaded


def _bytes(data: bytes | RuleError) -> bytes:
    return data if isinstance(data, bytes) else b"\0" + str(data).encode("utf-8", "surrogatepass")


def bundled_rules_folder() -> Path:
    """Where the bundled ``.eql`` files are: the installed ``eqlmini/bundled`` folder, or
    the ``rules/`` folder of a source checkout run without installing."""
    installed = Path(__file__).resolve().parent / "bundled"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[2] / "rules"


def bundled_rules(*, cache: bool = True) -> list[Rule]:
    """The rules shipped with eqlmini (the ``rules/`` folder of the project), loaded now
    (from the pack cache unless ``cache`` is False, as :func:`load_rules`)."""
    return load_rules(bundled_rules_folder(), cache=cache)


def _raise(path: Path, error: EqlError) -> None:
    raise error


def _walk(folder: Path, root: Path, follow_links: bool, on_error: OnError,
          found: dict[Path, bytes | RuleError | None], walked: set[Path]) -> None:
    """Collect the rule files under ``folder`` (inside ``root``) into ``found`` (see _found)."""
    walked.add(folder.resolve())
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        on_error(folder, RuleError(f"{folder}: cannot read the folder: {error.strerror or error}"))
        return
    for entry in entries:
        path = Path(entry.path)
        is_dir = entry.is_dir()                    # through a link
        if entry.is_symlink():
            target = path.resolve()
            if not (follow_links or target.is_relative_to(root)):
                if is_dir or path.suffix.lower() in _RULE_SUFFIXES:
                    on_error(path, RuleError(f"{path}: a link out of the rules folder, not followed "
                                             "(follow_links=True, or --follow-links, follows it)"))
                continue
            if is_dir and (not follow_links or target in walked):
                continue                           # its files are found where it leads
        if is_dir:
            _walk(path, root, follow_links, on_error, found, walked)
        elif entry.is_file() and path.suffix.lower() == ".eql":
            found[path] = None
        elif entry.is_file() and path.suffix.lower() == ".toml":
            data = _read_bytes(path)
            if _has_rule_table(path, data):
                found[path] = data


def _read(path: Path, data: bytes | RuleError | None = None) -> str:
    """The text of a rule file: a regular file, within the size limit, in UTF-8 (``data``: what
    :func:`_read_bytes` gave for it, if it was called already)."""
    if data is None:
        data = _read_bytes(path)
    if isinstance(data, RuleError):
        raise data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RuleError(f"{path}: cannot read rule file: not UTF-8 text ({error.reason} at byte {error.start})") \
            from None


def _read_bytes(path: Path) -> bytes | RuleError:
    """The bytes of a rule file: a regular file, within the size limit; or why they cannot be read."""
    limit = limits.MAX_RULE_FILE_BYTES
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return RuleError(f"{path}: not a regular file")
        with open(path, "rb") as file:
            data = file.read(limit + 1)
    except OSError as error:
        return RuleError(f"{path}: cannot read rule file: {error.strerror or error}")
    if len(data) > limit:
        return RuleError(f"{path}: the rule file is longer than {limit:,} bytes, the limit "
                         "eqlmini.limits.MAX_RULE_FILE_BYTES")
    return data


def _has_rule_table(file: Path, data: bytes | RuleError) -> bool:
    try:
        return bool(_RULE_TABLE.search(_read(file, data)))
    except RuleError:
        return True  # let load_rule report it


def _starts_like_a_rule(source: str) -> bool:
    """An ``.eql`` file starts with a header comment or an EQL query (blanks and ``//``
    comments before either)."""
    start = 0
    while True:
        start = _skip_space(source, start)
        if not source.startswith("//", start):
            break
        start = source.find("\n", start)
        if start < 0:
            return False
    return source.startswith("/*", start) or bool(_EQL_START.match(source, start))


def _check_keys(table: dict[str, Any], path: Path, source: str, at: int, strict: bool, notes: list[str]) -> None:
    """Report header keys that no detection rule has (see load_rule): an error with ``strict``,
    else a line in ``notes``."""
    for key in table:
        if key in KNOWN_KEYS:
            continue
        close = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
        problem = RuleError(f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""), key=key)
        if strict:
            raise problem
        placed = _at_key(problem, path, source, at)
        where = f" (line {placed.line})" if placed.line else ""
        notes.append(f"{placed.message}{where}")


def _warn(notes: list[str]) -> None:
    """Each note as a RuleWarning about the line that called the public function."""
    for note in notes:
        warnings.warn(note, RuleWarning, stacklevel=3)


_RULE_TABLE = re.compile(r"^[ \t]*\[[ \t]*rule[ \t]*\]", re.MULTILINE)
_TOML_POSITION = re.compile(r"(.*) \(at line (\d+), column (\d+)\)\Z", re.DOTALL)
_TOML_QUERY = re.compile(r"^[ \t]*query[ \t]*=[ \t]*(?:'''|\"\"\"|'|\")(?:\r?\n)?", re.MULTILINE)

# A reader returns: the [rule] table (query included), the file's other tables, where to
# search for a metadata key, and where the query text starts (None: unknown).
_Read = tuple[dict[str, Any], dict[str, Any], int, int | None]


def _read_toml(source: str, path: Path) -> _Read:
    data = _parse_toml(source, 0, len(source), path, "TOML")
    if not isinstance(data.get("rule"), dict):
        raise RuleError(f"{path}: not a detection rule: no [rule] table")
    unknown = sorted(set(data) - {"rule", *_FILE_TABLES})
    if unknown:
        raise _at_key(RuleError(f"unsupported top-level table [{unknown[0]}]", key=unknown[0]), path, source, 0)
    found = _TOML_QUERY.search(source)
    query_at = None if found is None else _skip_space(source, found.end())
    return data["rule"], {name: data[name] for name in _FILE_TABLES if name in data}, 0, query_at


def _read_eql(source: str, path: Path) -> _Read:
    start = _skip_space(source, 0)
    table: dict[str, Any] = {}
    header_at = query_at = start
    if source.startswith("/*", start):
        header_at = start + 2
        end = _header_end(source, start, path)
        table = _parse_toml(source, header_at, end, path, "rule header")
        query_at = _skip_space(source, end + 2)
    if query_at >= len(source):
        raise RuleError(f"{path}: no query after the rule header",
                        Span.at(source, len(source)), source)
    if "query" in table:
        raise _at_key(RuleError("the query follows the header: remove `query` from it", key="query"),
                      path, source, header_at)
    tables = {name: table.pop(name) for name in _FILE_TABLES if name in table}
    table.setdefault("name", path.stem)
    table["query"] = source[query_at:]
    return table, tables, header_at, query_at


def _header_end(source: str, start: int, path: Path) -> int:
    """Where the header comment opened at ``start`` ends (its closing ``*/``).

    Block comments end as in Elasticsearch's lexer (:func:`comment_end`): a balanced
    ``/* ... */`` inside the header, even in a TOML string, nests; a lone ``/*`` is text.
    So a header without an end is one with no ``*/`` at all: any ``*/`` can close it.
    """
    end = comment_end(source, start)
    if end is None:
        raise RuleError(f"{path}: unterminated rule header: no closing */", Span.at(source, start), source)
    return end - 2


def _parse_toml(source: str, start: int, end: int, path: Path, what: str) -> dict[str, Any]:
    """TOML ``source[start:end]``; a decoding error points at its place in the file."""
    try:
        return tomllib.loads(source[start:end])
    except RecursionError:
        raise RuleError(f"{path}: malformed {what}: nested too deeply") from None
    except tomllib.TOMLDecodeError as error:
        found = _TOML_POSITION.match(str(error))
        if found is None:  # "... (at end of document)"
            message = str(error).removesuffix(" (at end of document)")
            raise RuleError(f"{path}: malformed {what}: {message}",
                            Span.at(source, end), source) from None
        problem = RuleError(f"malformed {what}: {found.group(1)}", Span.point(int(found.group(2)), int(found.group(3))))
        raise _moved(problem, path, source, start) from None


def _skip_space(source: str, index: int) -> int:
    while index < len(source) and source[index].isspace():
        index += 1
    return index


def place_error(path: str | Path, error: EqlError) -> EqlError:
    """``error`` about the rule of the file ``path``, placed in the file: a :class:`RuleError`
    with a ``key`` on the line that sets the key, any other error (its line and column counted
    in the rule's query text, as :func:`eqlmini.schemas.check` gives them) where the query is.

    For checks made after loading (a schema, say); the file is read again.
    """
    path = Path(path)
    source = _read(path)
    _, _, metadata_at, query_at = (_read_toml if path.suffix.lower() == ".toml" else _read_eql)(source, path)
    if isinstance(error, RuleError) and error.key is not None:
        return _at_key(error, path, source, metadata_at)
    return _moved(error, path, source, query_at)


def _moved(error: EqlError, path: Path, source: str, offset: int | None) -> EqlError:
    """The same error about ``path``, its span (relative to ``source[offset:]``) made absolute;
    ``offset`` None: the place is unknown."""
    span = None
    if error.span is not None and offset is not None:
        at = Span.at(source, offset)
        line, column = at.line, at.column

        def shift(at_line: int | None, at_column: int | None) -> tuple[int | None, int | None]:
            if at_line is None or at_column is None:
                return at_line, at_column
            return at_line + line - 1, at_column + (column - 1 if at_line == 1 else 0)

        span = Span(*shift(error.span.line, error.span.column), *shift(error.span.end_line, error.span.end_column))
    # A copy with every attribute (a RuleError's key, an UnknownFieldError's suggestions), not
    # a new error: subclasses take other arguments.
    moved = type(error).__new__(type(error))
    moved.__dict__.update(error.__dict__)
    moved.message = f"{path}: {error.message}"
    moved.args = (moved.message,)
    moved.span, moved.text = span, source if span else None
    return moved


def _at_key(error: RuleError, path: Path, source: str, start: int) -> EqlError:
    """A metadata error placed on the first line from ``start`` that sets its key."""
    found = None
    if error.key is not None:
        key = re.escape(error.key)
        pattern = re.compile(rf"^[ \t]*(?:\[\[?[ \t]*(?:rule\.)?{key}\b|{key}[ \t]*=)", re.MULTILINE)
        found = pattern.search(source, start)
    if found is None:
        return _moved(error, path, source, None)
    error.span = Span.at(source, _skip_space(source, found.start()))
    return _moved(error, path, source, 0)


class Skipped:
    """An ``on_error`` for :func:`load_rules` that keeps what was skipped and says it in a line.

    >>> skipped = Skipped()                                     # doctest: +SKIP
    >>> rules = load_rules("detection-rules/rules", on_error=skipped)
    >>> skipped.summary(len(rules))
    '1019 rules loaded, 5 skipped: 3 not EQL (kuery), 2 invalid'
    """

    def __init__(self) -> None:
        self.errors: list[tuple[Path, EqlError]] = []

    def __call__(self, path: Path, error: EqlError) -> None:
        self.errors.append((path, error))

    def __len__(self) -> int:
        return len(self.errors)

    @property
    def invalid(self) -> list[tuple[Path, EqlError]]:
        """The files skipped for an error (not for being rules in another language)."""
        return [(path, error) for path, error in self.errors if not isinstance(error, NotEqlError)]

    def summary(self, loaded: int) -> str:
        """``N rules loaded, M skipped: A not EQL (kuery), B invalid`` (the parts that apply)."""
        text = f"{loaded} rule{'s' if loaded != 1 else ''} loaded"
        return f"{text}, {self.details()}" if self.errors else text

    def details(self) -> str:
        """``M skipped: A not EQL (kuery), B invalid`` (the parts that apply; "" when none was skipped)."""
        if not self.errors:
            return ""
        languages = Counter(error.language for _, error in self.errors if isinstance(error, NotEqlError))
        parts = []
        if languages:
            kinds = (", ".join(f"{count} {name}" for name, count in languages.most_common())
                     if len(languages) > 1 else next(iter(languages)))
            parts.append(f"{languages.total()} not EQL ({kinds})")
        if self.invalid:
            parts.append(f"{len(self.invalid)} invalid")
        return f"{len(self.errors)} skipped: {', '.join(parts)}"
