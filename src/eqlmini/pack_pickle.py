"""Compiled rules to bytes and back, by value: what :mod:`eqlmini.pack_cache` stores on disk.

Plain :mod:`pickle` turns a :class:`~eqlmini.Query` (and a :class:`~eqlmini.rules.Rule`) into
its text, and unpickling compiles it again: right for sending queries to other processes,
but the compiling is the cost a cache is there to save. :func:`dumps` keeps the compiled
state instead:

* a function that cannot be imported by name (generated predicates, closures, lambdas) as
  its code (:mod:`marshal`, with the code's constants pickled beside it), its globals (the
  module's, by name, or a generated namespace, by value), closure cells and defaults;
* an object that is a global of an eqlmini module (a sentinel, a compiled ``re`` pattern)
  by name, so that identity tests on it still hold (plain lists, dicts, tuples and sets are
  copied: pickle does not offer them to this pickler);
* Query and Rule objects by their attributes, bypassing their own ``__reduce__``;
* RE2 programs as their pattern and options, and a function with a ``rebuild`` attribute
  (``(callable, args)``: the RE2 matchers of :mod:`eqlmini.re2_support`) as that call: both
  compiled again when loaded, as RE2 cannot save a program.

:func:`loads` runs the code it reads, as pickle and marshal always do: only bytes this
process's cache wrote and authenticated (``pack_cache``) may reach it. The format is tied
to the Python version (marshal) and to eqlmini's own source: the cache keys on both.
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import gc
import importlib
import io
import marshal
import pickle
import sys
import types
from functools import partial
from types import BuiltinFunctionType, CellType, CodeType, FunctionType, MappingProxyType, ModuleType
from typing import Any, Callable

import re2

from .codegen import RUNTIME
from .errors import EqlError
from .query import Query
from .rules import Rule

__all__ = ["dumps", "loads"]

_BY_ATTRIBUTES = (Query, Rule)  # their __reduce__ recompiles from text: here, their state is kept
_SCALARS = (str, bytes, int, float, complex, bool, type(None))  # values whose identity never matters
# Scalars, and what pickle names anyway (functions, classes, modules): no need to look them up.
_BY_NAME_ANYWAY = (*_SCALARS, type, FunctionType, BuiltinFunctionType, ModuleType)


def dumps(value: Any) -> bytes:
    """``value`` (compiled rules, say) as bytes that :func:`loads` turns back into an equal,
    working value in a process of the same Python and eqlmini."""
    buffer = io.BytesIO()
    _Pickler(buffer).dump(value)
    return buffer.getvalue()


def loads(data: bytes | memoryview) -> Any:
    """The value :func:`dumps` wrote. It runs code from ``data``: never call it on bytes that
    did not come from :func:`dumps` in a trusted place (see the module docstring)."""
    # Hundreds of thousands of new objects and no garbage: the cycle collector would run again
    # and again over all of them (as long as the loading itself, measured), then once more
    # over the youngest generation, which holds them all, when it is enabled again. Freezing
    # and unfreezing moves them to the oldest generation at once, unless the program froze
    # objects of its own (unfreezing would release those too).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(data)  # noqa: S301 - authenticated by the caller (pack_cache)
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if collecting:
            gc.enable()


class _Namespace:
    """Stands for the globals of generated functions while pickling, so that they pickle once
    and unpickle as one fresh dict that every function of theirs shares."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values


class _ModuleNamespace:
    """Stands for the globals of a module's functions while pickling: found again by name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._namespaces: dict[int, _Namespace | _ModuleNamespace] = {}
        self._globals = _module_globals()
        # How each type is reduced, found once per type: this runs for every object of a pack.
        self._reducers: dict[type, Callable[[Any], Any]] = {
            FunctionType: self._function, CodeType: _reduce_code, CellType: _reduce_cell,
            _Namespace: _reduce_namespace, _ModuleNamespace: _reduce_module_namespace,
            MappingProxyType: _reduce_mapping_proxy, re2._Regexp: _reduce_regexp,
            **{kind: _reduce_by_attributes for kind in _BY_ATTRIBUTES}}

    def reducer_override(self, obj: Any) -> Any:
        reducer = self._reducers.get(type(obj))
        if reducer is None:
            reducer = self._reducers[type(obj)] = self._reducer_for(type(obj))
        return reducer(obj)

    def _reducer_for(self, kind: type) -> Callable[[Any], Any]:
        if kind in _SCALARS:
            return _as_pickle_does
        if "__slots__" in vars(kind) and dataclasses.is_dataclass(kind):
            # Frozen dataclasses with slots (the syntax tree): their own unpickling looks up
            # their fields for every object, slower than all the rest of a pack.
            names, by_init = _fields_of(kind)
            build = kind if by_init else partial(_slotted, kind)  # one object, pickled once
            return lambda obj: (build, tuple([getattr(obj, name) for name in names]))
        if issubclass(kind, EqlError):  # what loading a pack reported; subclasses take other arguments
            return lambda obj: (_error, (kind, obj.args, dict(vars(obj))))
        if issubclass(kind, re2._re2.RE2.Options):
            return _reduce_re2_options
        return self._other

    def _other(self, obj: Any) -> Any:
        named = self._globals.get(id(obj))
        if named is not None and named[2] is obj:  # a sentinel, a table: the module's own
            return _global, named[:2]
        if obj is FunctionType or obj is CellType:  # not importable by name; their module is
            return getattr, (types, "FunctionType" if obj is FunctionType else "CellType")
        if type(obj) is ModuleType:
            return importlib.import_module, (obj.__name__,)
        return NotImplemented

    def _function(self, function: FunctionType) -> Any:
        if _importable(function):
            return NotImplemented  # by name, as pickle does
        rebuild = getattr(function, "rebuild", None)
        if rebuild is not None:  # made from data it cannot show us (an RE2 program): made again
            return rebuild
        namespace = self._namespaces.get(id(function.__globals__))
        if namespace is None:
            module = sys.modules.get(function.__module__ or "")
            namespace = _ModuleNamespace(function.__module__) if vars(module or _Namespace) is function.__globals__ \
                else _Namespace({name: value for name, value in function.__globals__.items()
                                 if name != "__builtins__" and value is not RUNTIME.get(name, _Namespace)})
            self._namespaces[id(function.__globals__)] = namespace
        made = (function.__code__, namespace, function.__name__, None, function.__closure__)
        # The code gives the function its qualified name and docstring; the rest, when set, is
        # state: its attributes, and its defaults (set after it is made: they may hold it).
        if function.__defaults__ is None and function.__kwdefaults__ is None and not vars(function):
            return FunctionType, made
        return FunctionType, made, (dict(vars(function)) or None, {
            "__defaults__": function.__defaults__, "__kwdefaults__": function.__kwdefaults__})


def _as_pickle_does(obj: Any) -> Any:
    return NotImplemented


def _reduce_code(code: CodeType) -> Any:
    # marshal writes code but not arbitrary constants (sets of values, objects): the constants
    # travel beside it, through the pickler.
    return _code, (marshal.dumps(code.replace(co_consts=())), code.co_consts)


def _reduce_cell(cell: CellType) -> Any:
    # Filled after it is made (pickle sets `cell_contents`), as the contents may hold the
    # function that holds the cell.
    try:
        return CellType, (), (None, {"cell_contents": cell.cell_contents})
    except ValueError:  # an empty cell
        return CellType, ()


def _reduce_namespace(namespace: _Namespace) -> Any:
    return _namespace, (), None, None, iter(namespace.values.items())


def _reduce_module_namespace(namespace: _ModuleNamespace) -> Any:
    return _module_namespace, (namespace.name,)


def _reduce_mapping_proxy(mapping: MappingProxyType) -> Any:
    return _read_only, (dict(mapping),)


def _reduce_by_attributes(obj: Any) -> Any:
    # pickle sets a state dict without __setattr__, frozen or not
    return object.__new__, (type(obj),), dict(vars(obj))


def _reduce_regexp(regexp: Any) -> Any:
    return re2.compile, (regexp.pattern, regexp.options)


def _reduce_re2_options(options: Any) -> Any:
    return _re2_options, (tuple((name, getattr(options, name)) for name in re2.Options.NAMES),)


def _module_globals() -> dict[int, tuple[str, str, Any]]:
    """The objects that are globals of a loaded eqlmini module (scalars, functions, classes and
    modules aside), by identity: (module, name, the object)."""
    found: dict[int, tuple[str, str, Any]] = {}
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == "eqlmini" or module_name.startswith("eqlmini.")):
            continue
        for name, value in vars(module).items():
            if not isinstance(value, _BY_NAME_ANYWAY) and not name.startswith("__"):
                found.setdefault(id(value), (module_name, name, value))
    return found


def _importable(function: FunctionType) -> bool:
    """Whether ``function`` is what its module and qualified name lead to."""
    found: Any = sys.modules.get(function.__module__ or "")
    for part in function.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is function


# ---- what the pickled data calls to rebuild (all importable, so pickle names them) -------------

def _global(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


def _code(data: bytes, constants: tuple[Any, ...]) -> CodeType:
    code: CodeType = marshal.loads(data)  # noqa: S302 - see loads()
    return code.replace(co_consts=constants)


def _namespace() -> dict[str, Any]:
    # Generated predicates read eqlmini's runtime helpers as globals: they are not pickled, but
    # put back, by name, in each namespace (a few names too many in a matcher's is harmless).
    return {"__builtins__": builtins, **RUNTIME}


def _module_namespace(module: str) -> dict[str, Any]:
    return vars(importlib.import_module(module))


def _read_only(mapping: dict[str, Any]) -> MappingProxyType:
    return MappingProxyType(mapping)


@functools.cache
def _fields_of(kind: type) -> tuple[tuple[str, ...], bool]:
    """A dataclass's field names, and whether its own ``__init__`` takes them all and does
    nothing else (then it is the fastest way to rebuild one)."""
    fields = dataclasses.fields(kind)
    return tuple(field.name for field in fields), all(field.init for field in fields) and \
        not hasattr(kind, "__post_init__")


def _slotted(kind: type, *values: Any) -> Any:
    obj = object.__new__(kind)
    for name, value in zip(_fields_of(kind)[0], values):
        object.__setattr__(obj, name, value)
    return obj


def _error(kind: type[EqlError], args: tuple[Any, ...], attributes: dict[str, Any]) -> EqlError:
    error = kind.__new__(kind)
    error.args = args
    vars(error).update(attributes)
    return error


def _re2_options(values: tuple[tuple[str, Any], ...]) -> re2.Options:
    options = re2.Options()
    for name, value in values:
        setattr(options, name, value)
    return options
