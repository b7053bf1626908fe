"""Compiled rule packs kept on disk, so that loading a pack a second time skips compiling it.

:func:`eqlmini.load_rules` (and so every command that loads ``--rules``) keys a pack on its
files' names and bytes, the load options, and everything that could change what compiling
gives: eqlmini's version and the stat of its own source files, Python's bytecode magic,
Lark's and RE2's versions, the values in :mod:`eqlmini.limits`. A pack loaded before under
the same key comes back from the cache as it was built (rules, compiled queries, and what
loading them reported); any other pack is compiled and stored.

The cache is a folder (:func:`directory`): ``$EQLMINI_CACHE_DIR``, else
``$XDG_CACHE_HOME/eqlmini``, else ``~/.cache/eqlmini`` (on Windows ``%LOCALAPPDATA%\\eqlmini``);
``EQLMINI_CACHE_DIR=off`` turns it off. Deleting it is always safe.

Cache files hold pickled code, which runs when loaded: so every file carries an HMAC-SHA256
of its contents under a random key that the cache made in its own folder (readable by its
owner only), and a file whose HMAC, header or size is not right is never unpickled: it is
ignored and built again. A folder that is not private to the user, or that cannot be
written, means no cache, never an error (:class:`CacheWarning`, once per process). What this
protects against, and what not, is in docs/security.md.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import importlib.util
import json
import os
import secrets
import stat
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from . import limits, pack_pickle

__all__ = ["CacheWarning", "PackCache", "directory"]

FORMAT = 1  # the layout of a cache file; a new one makes every older file a stranger
_MAGIC = b"eqlmini pack cache\n"
_TAG_BYTES = 32  # an HMAC-SHA256
_KEY_FILE = "key"
_SUFFIX = ".pack"
_TEMPORARY = ".tmp"
_TOUCH_AFTER = 3600  # seconds: a file used is marked used (its mtime) at most this often, for pruning


class CacheWarning(UserWarning):
    """The rule-pack cache could not be used, or ignored a file it could not trust; loading went on
    without it (the message says why)."""


def directory() -> Path | None:
    """The cache folder (see the module docstring); None when ``EQLMINI_CACHE_DIR`` is ``off``."""
    chosen = os.environ.get("EQLMINI_CACHE_DIR", "")
    if chosen.strip().lower() == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("LOCALAPPDATA") if sys.platform == "win32" else os.environ.get("XDG_CACHE_HOME")
    return Path(base or Path.home() / ".cache") / "eqlmini"


class PackCache:
    """One cache folder: :meth:`key` names a pack, :meth:`get` and :meth:`put` read and write it.

    Build it with :meth:`open`, which returns None when the cache is off or unusable.
    """

    def __init__(self, folder: Path, secret: bytes) -> None:
        self.folder = folder
        self._secret = secret

    @classmethod
    def open(cls, enabled: bool = True) -> PackCache | None:
        """The cache in :func:`directory`, its folder and key made if missing; None when it is
        turned off (``enabled`` False, or ``EQLMINI_CACHE_DIR=off``) or cannot be used."""
        folder = None
        try:
            folder = directory() if enabled else None
            if folder is None:
                return None
            _environment()  # what keys a pack, read here where a failure only turns the cache off
            return cls(folder, _secret(folder))
        # RuntimeError: no home folder (Path.home); ImportError: Lark or RE2 without its metadata
        except (OSError, RuntimeError, ImportError) as error:
            _warn_once(f"the rule-pack cache{_in(folder)} cannot be used ({getattr(error, 'strerror', None) or error}); "
                       "rule packs are compiled on every load")
        except _Untrusted as error:
            _warn_once(f"the rule-pack cache{_in(folder)} is not used: {error}")
        return None

    def key(self, parts: list[bytes]) -> str:
        """The name of the pack made of ``parts`` (its files' names and bytes, its options),
        under this eqlmini, Python and set of limits."""
        digest = hashlib.sha256(_header())
        for part in parts:
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return digest.hexdigest()

    def get(self, key: str) -> Any | None:
        """The value stored under ``key``, or None: never stored, removed, or not to be trusted."""
        path = self.folder / (key + _SUFFIX)
        try:
            with open(path, "rb") as file:
                info = os.fstat(file.fileno())
                if not stat.S_ISREG(info.st_mode):
                    return None
                data = file.read(limits.MAX_CACHED_PACK_BYTES + 1)
        except OSError:  # absent (the usual miss), or unreadable: built again
            return None
        payload = self._verified(data, key)
        if payload is None:
            _warn_once(f"ignored the rule-pack cache file {path}: it was not written by this cache, or "
                       "was changed since; the pack is compiled again")
            return None
        try:
            value = pack_pickle.loads(payload)
        except Exception as error:  # noqa: BLE001 - our own file, yet unloadable: build again
            _warn_once(f"could not load the rule-pack cache file {path} ({type(error).__name__}: {error}); "
                       "the pack is compiled again")
            return None
        if time.time() - info.st_mtime > _TOUCH_AFTER:
            try:
                os.utime(path)  # used: among the last to be pruned
            except OSError:
                pass
        return value

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` (atomically), then drop the least recently used files
        beyond ``limits.MAX_CACHED_PACKS``. A failure leaves the cache as it was."""
        try:
            payload = pack_pickle.dumps(value)
        except Exception as error:  # noqa: BLE001 - something in the pack that does not pickle
            _warn_once(f"a rule pack could not be cached ({type(error).__name__}: {error})")
            return
        header = _header() + b"\n" + key.encode()
        body = len(header).to_bytes(4, "big") + header + payload
        data = _MAGIC + hmac.new(self._secret, body, hashlib.sha256).digest() + body
        if len(data) > limits.MAX_CACHED_PACK_BYTES:  # too large to read back
            _warn_once(f"a rule pack of {len(data):,} bytes compiled is not cached: the limit is "
                       f"eqlmini.limits.MAX_CACHED_PACK_BYTES ({limits.MAX_CACHED_PACK_BYTES:,})")
            return
        try:
            _write_atomically(self.folder / (key + _SUFFIX), data)
            self._prune()
        except OSError as error:
            _warn_once(f"the rule-pack cache in {self.folder} cannot be written ({error.strerror or error})")

    def _verified(self, data: bytes, key: str) -> memoryview | None:
        """The payload of a cache file, if its HMAC, header and size are right."""
        start = len(_MAGIC) + _TAG_BYTES
        if len(data) > limits.MAX_CACHED_PACK_BYTES or len(data) < start + 4 or not data.startswith(_MAGIC):
            return None
        body = memoryview(data)[start:]
        if not hmac.compare_digest(data[len(_MAGIC):start], hmac.new(self._secret, body, hashlib.sha256).digest()):
            return None
        size = int.from_bytes(body[:4], "big")
        return body[4 + size:] if body[4:4 + size] == _header() + b"\n" + key.encode() else None

    def _prune(self) -> None:
        """Drop the least recently used packs beyond the limit, and temporary files that a
        process killed while writing left behind."""
        packs = []
        stale = time.time() - _TOUCH_AFTER
        for entry in os.scandir(self.folder):
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                modified = entry.stat(follow_symlinks=False).st_mtime
            except FileNotFoundError:  # another process pruned it meanwhile
                continue
            if entry.name.endswith(_SUFFIX):
                packs.append((modified, entry.path))
            elif entry.name.endswith(_TEMPORARY) and modified < stale:
                _unlink(entry.path)
        for _, path in sorted(packs, reverse=True)[limits.MAX_CACHED_PACKS:]:
            _unlink(path)


def _in(folder: Path | None) -> str:
    return f" in {folder}" if folder is not None else ""


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:  # another process removed it first
        pass


class _Untrusted(Exception):
    """The cache folder or its key could be read or written by someone else."""


def _secret(folder: Path) -> bytes:
    """The HMAC key of the cache in ``folder``: made (random, 32 bytes, readable by its owner
    only) when missing. The folder is made too (0700); one that others can write, or a key
    that others can read, is refused. Two processes that make it at once keep one key (or,
    where the file system has no links, the last: the other's files then fail their check
    and are built again)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _check_private(folder, os.stat(folder), writable_only=True)
    path = folder / _KEY_FILE
    if not os.path.lexists(path):
        _write_atomically(path, secrets.token_bytes(32), replace=False)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _Untrusted(f"{path} is not a regular file")
        _check_private(path, info, writable_only=False)
        secret = file.read(33)
    if len(secret) != 32:
        raise _Untrusted(f"{path} is not a key this cache wrote (delete the folder to start afresh)")
    return secret


def _check_private(path: Path, info: os.stat_result, *, writable_only: bool) -> None:
    """On POSIX: ``path`` belongs to this user, and no one else may write it (nor, unless
    ``writable_only``, read it)."""
    if not hasattr(os, "getuid"):
        return  # Windows: a folder under %LOCALAPPDATA% is the user's own
    others = 0o022 if writable_only else 0o077
    if info.st_uid != os.getuid():
        raise _Untrusted(f"{path} belongs to another user")
    if info.st_mode & others:
        raise _Untrusted(f"{path} can be {'written' if writable_only else 'read or written'} by other users "
                         f"(mode {stat.S_IMODE(info.st_mode):o})")


def _write_atomically(path: Path, data: bytes, *, replace: bool = True) -> None:
    """Write ``data`` to a new private file beside ``path``, then move it to ``path``: readers
    see the old file or the whole new one. Without ``replace``, an existing ``path`` wins."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{_TEMPORARY}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temporary, flags, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        if replace:
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)  # fails if another process made it first: theirs is kept
            except FileExistsError:
                pass
            except OSError:  # a file system without links: the last writer wins (harmless, see _secret)
                os.replace(temporary, path)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


def _header() -> bytes:
    """What a cache file must have been written under to be read (and what keys a pack)."""
    return json.dumps({**_environment(), "limits": [[name, repr(value)] for name, value in sorted(vars(limits).items())
                                                    if name.isupper()]}, sort_keys=True).encode()


@functools.cache
def _environment() -> dict[str, Any]:
    """The part of the header that cannot change while the process runs."""
    from importlib import metadata  # 10 ms to import: only when a pack is loaded

    from . import __version__

    package = Path(__file__).resolve().parent
    sources = hashlib.sha256()  # the source itself: a changed checkout under the same version
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".lark"):
            info = path.stat()
            sources.update(f"{path.relative_to(package)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return {
        "format": FORMAT,
        "eqlmini": __version__,
        "sources": sources.hexdigest(),
        "python": f"{sys.implementation.cache_tag} {importlib.util.MAGIC_NUMBER.hex()}",
        "lark": metadata.version("lark"),
        "re2": metadata.version("google-re2"),
    }


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, CacheWarning, stacklevel=4)
