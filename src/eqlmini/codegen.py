"""Python source for compiled predicates, with every value from the query a constant.

The compiler writes the source of a function and ``exec``'s it once. The source never
spells a value from the query: a value (a string, a number, a set of them) is written as a
placeholder the compiler made up (``'\\x00eqlmini:3'``) and, after compiling, swapped for
the real object in the code object's own constants (``co_consts``), the cheapest values to
read; a function (field getter, pattern matcher) cannot be called as a constant without a
SyntaxWarning, so it gets a made-up global name (``f3``).
"""

from __future__ import annotations

import functools
import itertools
from types import CodeType
from typing import Any, Callable

from . import limits, patterns, runtime
from .errors import EqlSemanticError


class _Nothing:
    """What an absent or empty object reads as: it holds no key and is never false, so a
    read path can go on through it (``_dget(e, "process", _NOTHING).get("name")``)."""

    __slots__ = ()

    def get(self, key: str, default: Any = None) -> Any:
        return default

    def __contains__(self, key: object) -> bool:
        return False


# The helpers generated code calls, by the names it calls them.
RUNTIME: dict[str, Any] = {f"_{name}": getattr(runtime, name) for name in (
    "present", "any_number_in", "any_typed", "any_match", "any_in", "any_equal", "any_leaf",
    "not3", "and3", "or3", "match3", "in3", "in3_folded", "java_in3", "negate")}
RUNTIME.update(
    _NOTHING=_Nothing(), _dget=dict.get, _fold=patterns.fold, list=list, str=str, len=len,  # module globals read fastest
    _NUMBERS=runtime.NUMBERS, _TEXT_OR_BOOL=frozenset({str, bool}),
    # Exact types whose `==` with a plain string is the whole answer (None and objects: no value).
    _PLAIN=frozenset({str, int, float, bool, type(None), dict}),
)


class Source:
    """The constants and functions of one generated function, and the build of its source."""

    def __init__(self) -> None:
        self.constants: dict[str, Any] = {}  # placeholder -> value
        self.functions: dict[str, Any] = {}  # global name -> function
        self.temporaries = itertools.count()

    def const(self, value: Any) -> str:
        """The door from query text into source for a value: a made-up placeholder literal,
        replaced by the value itself in the compiled code's constants (see ``build``)."""
        placeholder = f"\x00eqlmini:{len(self.constants)}"
        self.constants[placeholder] = value
        return repr(placeholder)

    def function(self, value: Callable[..., Any]) -> str:
        """The door for a callable: a made-up global name."""
        name = f"f{len(self.functions)}"
        self.functions[name] = value
        return name

    def temporary(self) -> str:
        """A fresh local variable name."""
        return f"v{next(self.temporaries)}"

    def build(self, source: str, name: str) -> Any:
        """Compile ``source``, put the constants in place, run it; return its ``name``."""
        try:
            code = _compiled(source)
        except (SyntaxError, MemoryError, RecursionError):  # Python's own nesting limits
            raise EqlSemanticError("the query is nested too deeply to be compiled") from None
        namespace: dict[str, Any] = {**RUNTIME, **self.functions}
        exec(_with_constants(code, self.constants), namespace)  # noqa: S102 - source holds no query text
        return namespace[name]


def _compiled(source: str) -> CodeType:
    """``source`` compiled. Values are placeholders, so queries of one shape (``a == "x"``,
    ``b == "y"``) have one source, and a rule pack compiles each small shape once (in the
    corpus, a quarter of the sources repeat one met before); a long source, which no other
    query is likely to repeat, is not kept (``limits.CODE_CACHE_SOURCE_CHARS``)."""
    if len(source) <= limits.CODE_CACHE_SOURCE_CHARS:
        return _compiled_shape(source)
    return compile(source, "<eqlmini>", "exec")


_compiled_shape = functools.lru_cache(maxsize=256)(lambda source: compile(source, "<eqlmini>", "exec"))


def _with_constants(code: CodeType, constants: dict[str, Any]) -> CodeType:
    """``code`` (and the code nested in it) with each placeholder constant replaced by its value."""
    return code.replace(co_consts=tuple(
        _with_constants(item, constants) if isinstance(item, CodeType)
        else constants.get(item, item) if item.__class__ is str else item
        for item in code.co_consts))
