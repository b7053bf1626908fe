"""Split a Windows command line into arguments exactly as ``CommandLineToArgvW`` does.

Windows passes a program one string, not a list; ``process.args`` in ECS is that string
split the way the program itself would see it. Two parsers exist on Windows: the C
runtime's (``argv`` in ``main``) and shell32's ``CommandLineToArgvW``. They agree except
on the corner cases below, and this module follows ``CommandLineToArgvW``:

The first argument (the program name) has its own rules:

* if the line starts with ``"``, the program name is everything up to the next ``"``
  (or the end of the line); backslashes are literal, and the next argument starts
  right after that closing quote, even without a space (``"a b"c`` gives ``a b``, ``c``);
* otherwise it runs up to the first space or tab, quotes and backslashes included;
* a line that starts with a space or tab has an empty program name.

The other arguments are separated by runs of spaces and tabs, and:

* ``"`` opens or closes a quoted part, in which spaces and tabs are literal;
  quoted parts may sit inside a word: ``a"b c"d`` is one argument, ``ab cd``;
* ``2n`` backslashes before a ``"`` become ``n`` backslashes and the quote opens or
  closes a quoted part; ``2n+1`` backslashes before a ``"`` become ``n`` backslashes
  and a literal ``"``; backslashes not followed by a quote are literal;
* inside a quoted part, ``""`` is a literal ``"`` **and ends the quoted part** (the
  rule of the C runtime before 2008, which ``CommandLineToArgvW`` still follows; the
  C runtime since 2008 stays inside the quotes): ``"a""b c"`` gives ``a"b``, ``c``;
* an unbalanced quote simply runs to the end of the line; ``""`` alone is an empty
  argument.

Cmd.exe syntax (``&``, ``|``, ``>>``, ``^``, ``%VAR%``) means nothing here: those
characters are ordinary text, exactly as the started program receives them.

One deliberate difference: ``CommandLineToArgvW("")`` returns the path of the calling
program; :func:`split_command_line` returns ``[]``. The rules are those documented by
Raymond Chen ("What's up with the strange treatment of quotation marks and backslashes
by CommandLineToArgvW", 2010) and David Deley ("How Command Line Parameters Are
Parsed"), as implemented by Wine's ``shell32`` and by Chris Wellons' ``cmdline.c``
(skeeto/u-config), which was fuzzed against the real function.
"""

from __future__ import annotations

__all__ = ["split_command_line"]

_BLANKS = " \t"


def split_command_line(text: str, *, keep_program_quotes: bool = False) -> list[str]:
    """Split a Windows command line into its arguments, as ``CommandLineToArgvW`` does.

    Never fails: any text has a split. ``keep_program_quotes=True`` keeps the quotes
    around a quoted program name (``"C:\\x.exe" a`` gives ``['"C:\\x.exe"', 'a']``),
    which is what winlogbeat puts in ``process.args`` for Security event 4688.

    >>> split_command_line('cmd.exe /c "echo a >> b & c"')
    ['cmd.exe', '/c', 'echo a >> b & c']
    >>> split_command_line('"C:/Program Files/x.exe" a""b "c d')
    ['C:/Program Files/x.exe', 'ab', 'c d']
    """
    if not text:
        return []
    program, pos = _program_name(text)
    if keep_program_quotes and text.startswith('"'):
        program = text[:pos]
    args = [program]
    args.extend(_arguments(text, pos))
    return args


def _program_name(text: str) -> tuple[str, int]:
    """The first argument and the index just past it (past its closing quote, if any)."""
    if text[0] == '"':
        end = text.find('"', 1)
        if end < 0:
            return text[1:], len(text)
        return text[1:end], end + 1
    end = 0
    while end < len(text) and text[end] not in _BLANKS:
        end += 1
    return text[:end], end


def _arguments(text: str, pos: int) -> list[str]:
    """The arguments after the program name, from index ``pos`` to the end."""
    args: list[str] = []
    n = len(text)
    while True:
        while pos < n and text[pos] in _BLANKS:
            pos += 1
        if pos >= n:
            return args
        arg, pos = _one_argument(text, pos)
        args.append(arg)


def _one_argument(text: str, pos: int) -> tuple[str, int]:
    """Read one argument starting at ``pos`` (not a blank); return it and the index after it."""
    out: list[str] = []
    quoted = False
    n = len(text)
    while pos < n:
        c = text[pos]
        if c in _BLANKS and not quoted:
            break
        if c == "\\":
            start = pos
            while pos < n and text[pos] == "\\":
                pos += 1
            slashes = pos - start
            if pos < n and text[pos] == '"':
                out.append("\\" * (slashes // 2))
                if slashes % 2:              # 2n+1 backslashes: a literal quote
                    out.append('"')
                    pos += 1
                # 2n backslashes: the quote is read again below as a delimiter
            else:
                out.append("\\" * slashes)
            continue
        if c == '"':
            pos += 1
            if quoted and pos < n and text[pos] == '"':
                out.append('"')              # "" inside quotes: a quote, and the quotes end
                pos += 1
                quoted = False
            else:
                quoted = not quoted
            continue
        out.append(c)
        pos += 1
    return "".join(out), pos
