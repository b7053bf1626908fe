"""The compiled rule-pack cache: same rules, alerts and reports as a cold load; trusts only its own files."""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

import eqlmini
from eqlmini import compile_cache, limits, pack_cache, pack_pickle, rules as rules_module
from eqlmini.cli.common import INTERNAL
from eqlmini.errors import EqlError
from eqlmini.pack_cache import CacheWarning, PackCache
from eqlmini.rule_files import Skipped, load_rules
from eqlmini.rule_toml import dumps
from eqlmini.ruleset import RuleSet

from conftest import CORPUS, PROJECT, require, run_cli

pytestmark = pytest.mark.filterwarnings("ignore::eqlmini.rules.RuleWarning")  # typo.eql's, checked where it counts
BUNDLED = PROJECT / "rules" / "xp_cmdshell.eql"
KQL = '[rule]\nname = "KQL"\ntype = "query"\nlanguage = "kuery"\nquery = "process.name : cmd.exe"\n'
BROKEN = '/*\nname = "Broken"\n*/\nprocess where process.name == \n'
TYPO = '/*\nname = "Typo"\nserverity = "high"\n*/\nprocess where process.name : "a*"\n'


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder of this test's own."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("EQLMINI_CACHE_DIR", str(folder))
    return folder


@pytest.fixture()
def pack(tmp_path: Path) -> Path:
    """The bundled rule, a KQL rule, a broken rule and one with a typo in a header key."""
    folder = tmp_path / "pack"
    folder.mkdir()
    for name, text in (("xp_cmdshell.eql", BUNDLED.read_text(encoding="utf-8")), ("kql.toml", KQL),
                       ("broken.eql", BROKEN), ("typo.eql", TYPO)):
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _benchmark() -> Any:
    spec = importlib.util.spec_from_file_location("benchmark_ruleset", PROJECT / "benchmarks" / "ruleset.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, compiling a rule's query fails the test: a load must come from the cache."""
    def refuse(text: str, options: dict[str, Any]) -> Any:
        raise AssertionError(f"compiled {text!r}")
    monkeypatch.setattr(rules_module, "_compiled", refuse)


def _packs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.pack"))


def _loaded(pack: Path, **options: Any) -> tuple[list[Any], list[str], str, list[str]]:
    """Load ``pack``: its rules, the errors reported, the summary line and the warnings."""
    skipped = Skipped()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rules = load_rules(pack, on_error=skipped, **options)
    return (rules, [f"{type(error).__name__}: {error}" for _, error in skipped.errors], skipped.summary(len(rules)),
            [f"{w.category.__name__}: {w.message}" for w in caught])


# ----------------------------------------------------------------------------- same as cold
def test_the_corpus_from_the_cache_answers_as_compiled(cache: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The 1024 corpus rules as a pack: loaded again from the cache, without compiling, they are
    equal rules with equal queries and raise the same alerts, indexed and naive."""
    require(CORPUS)
    bench = _benchmark()
    for i, (table, metadata) in enumerate(bench.corpus_tables(CORPUS)):
        path = tmp_path / "corpus" / f"{i // 100}" / f"{i:04}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps({"metadata": metadata, "rule": table}), encoding="utf-8")
    cold = load_rules(tmp_path / "corpus")
    assert len(cold) == 1024 and len(_packs(cache)) == 1
    _no_compiling(monkeypatch)
    cached = load_rules(tmp_path / "corpus")
    assert cached == cold and [rule.path for rule in cached] == [rule.path for rule in cold]
    assert all(a.query is not b.query and a.query.tree == b.query.tree and a.query.options == b.query.options
               for a, b in zip(cold, cached))
    events = bench.generate_events(cold, 4000, seed=9)

    def alerts(rules: list[Any], indexed: bool = True) -> list[tuple[Any, ...]]:
        return [(alert.rule.rule_id, tuple(map(id, alert.events)), repr(alert.join_keys))
                for alert in RuleSet(rules).scan(events, indexed=indexed)]
    expected = alerts(cold)
    assert len(expected) > 100 and len({rule_id for rule_id, *_ in expected}) > 50  # many rules take part
    assert alerts(cached) == expected
    assert alerts(cached[:300], indexed=False) == alerts(cold[:300], indexed=False)


def test_skipped_files_and_warnings_are_reported_as_when_compiled(cache: Path, pack: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cold = _loaded(pack)
    assert cold[2] == "2 rules loaded, 2 skipped: 1 not EQL (kuery), 1 invalid"
    assert [w for w in cold[3] if w.startswith("RuleWarning")] == [
        f"RuleWarning: {pack / 'typo.eql'}: unknown key 'serverity' (did you mean 'severity'?) (line 3)"]
    _no_compiling(monkeypatch)
    assert _loaded(pack) == cold
    with pytest.raises(EqlError, match="broken.eql: unexpected end of query") as raised:
        load_rules(pack)  # without on_error: the first error, raised
    assert raised.value.line == 4 and "^" in str(raised.value)  # placed in the file, as when compiled


def test_a_changed_file_is_a_new_pack(cache: Path, pack: Path) -> None:
    before = load_rules(pack / "typo.eql")
    (pack / "typo.eql").write_text(TYPO.replace('"a*"', '"b*"'), encoding="utf-8")
    after = load_rules(pack / "typo.eql")
    assert before[0].text.endswith('"a*"') and after[0].text.endswith('"b*"')
    assert len(_packs(cache)) == 2


def test_plain_pickling_still_sends_text(cache: Path) -> None:
    """pickle keeps sending queries and rules as text (recompiled once per process); only the
    cache's own pickler keeps their compiled state."""
    rule = eqlmini.Rule("r", 'process where process.name : ("a*", "*b", "c") and process.pid > 3')
    assert pickle.loads(pickle.dumps(rule.query)) is compile_cache.compiled(rule.text)
    assert b"_rule_from_state" in pickle.dumps(rule) and b"marshal" not in pickle.dumps(rule)
    data = pack_pickle.dumps(rule.query)
    again = pack_pickle.loads(data)
    assert b"pack_pickle" in data and again is not compile_cache.compiled(rule.text) and again.tree == rule.query.tree
    for name, pid, expected in (("abc", 4, True), ("xb", 9, True), ("c", 4, True), ("abc", 3, False), ("d", 9, False)):
        event = {"event": {"category": "process"}, "process": {"name": name, "pid": pid}}
        assert again.match(event) is rule.query.match(event) is expected


# ----------------------------------------------------------------------------- trust
def test_a_file_it_did_not_write_is_never_loaded(cache: Path, pack: Path, tmp_path: Path) -> None:
    """A cache file under another key (or none), or changed by one byte, is ignored, said once,
    and the pack is compiled and stored again."""
    _loaded(pack)
    (path,) = _packs(cache)
    good = path.read_bytes()
    marker = tmp_path / "ran"

    class Planted:
        def __reduce__(self) -> Any:
            return (open, (str(marker), "w"))
    start = len(pack_cache._MAGIC)
    planted = pickle.dumps(Planted())
    header = pack_cache._header() + b"\n" + path.stem.encode()
    body = len(header).to_bytes(4, "big") + header + planted
    import hashlib
    import hmac
    forged = pack_cache._MAGIC + hmac.new(os.urandom(32), body, hashlib.sha256).digest() + body
    for bad in (forged, good[:start + 5] + bytes([good[start + 5] ^ 1]) + good[start + 6:],
                good[:-1] + bytes([good[-1] ^ 1]), good[:100], b""):
        path.write_bytes(bad)
        pack_cache._warned.clear()
        rules, errors, summary, said = _loaded(pack)
        assert [w for w in said if w.startswith("CacheWarning")] == (
            [f"CacheWarning: ignored the rule-pack cache file {path}: it was not written by this cache, or was "
             "changed since; the pack is compiled again"])
        assert summary == "2 rules loaded, 2 skipped: 1 not EQL (kuery), 1 invalid"
        assert not marker.exists()
        assert path.read_bytes() != bad  # built again
    path.write_bytes(good)
    other = cache / ("0" * 64 + ".pack")
    other.write_bytes(good)  # a good file under another name: its header names its own key
    pack_cache._warned.clear()
    with pytest.warns(CacheWarning, match="not written by this cache"):
        assert PackCache.open().get("0" * 64) is None  # type: ignore[union-attr]


def test_a_cache_folder_others_can_write_is_not_used(cache: Path, pack: Path) -> None:
    cache.mkdir(mode=0o777)
    os.chmod(cache, 0o777)
    pack_cache._warned.clear()
    with pytest.warns(CacheWarning, match="can be written by other users"):
        assert len(load_rules(pack / "typo.eql")) == 1
    assert os.listdir(cache) == []
    os.chmod(cache, 0o700)
    load_rules(pack / "typo.eql")
    key = cache / "key"
    assert os.stat(cache).st_mode & 0o777 == 0o700 and os.stat(key).st_mode & 0o777 == 0o600
    assert len(key.read_bytes()) == 32 and len(_packs(cache)) == 1
    os.chmod(key, 0o644)
    pack_cache._warned.clear()
    with pytest.warns(CacheWarning, match="key can be read or written by other users"):
        load_rules(pack / "typo.eql")
    os.chmod(key, 0o600)
    if os.getuid() == 0:  # root may give the folder away
        os.chown(cache, 65534, 65534)
        pack_cache._warned.clear()
        with pytest.warns(CacheWarning, match="belongs to another user"):
            load_rules(pack / "typo.eql")


def test_no_cache_where_it_cannot_be(tmp_path: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder that cannot be made degrades to no cache, with one warning; ``off`` and
    ``cache=False`` write nothing."""
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("EQLMINI_CACHE_DIR", str(tmp_path / "file" / "cache"))
    pack_cache._warned.clear()
    first, second = _loaded(pack), _loaded(pack)
    assert first[2] == second[2] == "2 rules loaded, 2 skipped: 1 not EQL (kuery), 1 invalid"
    assert [w for w in first[3] if "CacheWarning" in w] == [
        f"CacheWarning: the rule-pack cache in {tmp_path / 'file' / 'cache'} cannot be used (Not a directory); "
        "rule packs are compiled on every load"]
    assert not [w for w in second[3] if "CacheWarning" in w]  # said once
    monkeypatch.setenv("EQLMINI_CACHE_DIR", "off")
    assert pack_cache.directory() is None and len(load_rules(pack / "typo.eql")) == 1
    monkeypatch.setenv("EQLMINI_CACHE_DIR", str(tmp_path / "cache"))
    load_rules(pack / "typo.eql", cache=False)
    assert not (tmp_path / "cache").exists()


def test_no_home_folder_means_no_cache_not_an_error(pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``Path.home()`` raises where HOME is unset and the user has no passwd entry (a container
    run as a bare uid): loading goes on without the cache, with one warning."""
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("EQLMINI_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(Path, "home", no_home)
    pack_cache._warned.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [rule.name for rule in load_rules(pack / "xp_cmdshell.eql")] == [
            "Execution via MSSQL xp_cmdshell Stored Procedure"]
    assert [str(w.message) for w in caught if w.category is CacheWarning] == [
        "the rule-pack cache cannot be used (Could not determine home directory.); rule packs are compiled on "
        "every load"]


def test_temporary_files_left_by_a_killed_writer_go(cache: Path, tmp_path: Path) -> None:
    rule = tmp_path / "r.eql"
    rule.write_text("process where process.pid == 1\n", encoding="utf-8")
    load_rules(rule)
    left = cache / ".abc.pack.123.0000.tmp"
    fresh = cache / ".def.pack.124.0000.tmp"
    left.write_bytes(b"x" * 100)
    fresh.write_bytes(b"x")
    os.utime(left, ns=(1, 1))  # long ago: its writer is gone
    rule.write_text("process where process.pid == 2\n", encoding="utf-8")
    load_rules(rule)  # a new pack: stored, then the folder pruned
    assert not left.exists() and fresh.exists()


def test_where_the_cache_is(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EQLMINI_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert pack_cache.directory() == tmp_path / "xdg" / "eqlmini"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert pack_cache.directory() == tmp_path / "home" / ".cache" / "eqlmini"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert pack_cache.directory() == tmp_path / "local" / "eqlmini"
    monkeypatch.setenv("EQLMINI_CACHE_DIR", "OFF")
    assert pack_cache.directory() is None


def test_the_least_recently_used_packs_go(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_CACHED_PACKS", 2)
    files = []
    for i in range(3):
        files.append(tmp_path / f"r{i}.eql")
        files[-1].write_text(f'process where process.pid == {i}\n', encoding="utf-8")
    load_rules(files[0])
    (first,) = _packs(cache)
    os.utime(first, ns=(1, 1))  # long ago
    load_rules(files[1])
    (second,) = set(_packs(cache)) - {first}
    os.utime(second, ns=(2, 2))  # less long ago
    load_rules(files[0])  # the first used again: now the most recent
    load_rules(files[2])
    assert len(_packs(cache)) == 2 and first in _packs(cache) and second not in _packs(cache)


def test_a_pack_over_the_size_limit_is_not_cached(cache: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_CACHED_PACK_BYTES", 1000)
    pack_cache._warned.clear()
    with pytest.warns(CacheWarning, match=r"not cached: the limit is eqlmini.limits.MAX_CACHED_PACK_BYTES \(1,000\)"):
        assert len(load_rules(pack / "typo.eql")) == 1
    assert _packs(cache) == []


def test_a_key_covers_the_limits(cache: Path, pack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A limit that changes what compiling gives (patterns per RE2 program) makes another pack."""
    load_rules(pack / "typo.eql")
    monkeypatch.setattr(limits, "MAX_WILDCARDS_PER_REGEX", 3)
    load_rules(pack / "typo.eql")
    assert len(_packs(cache)) == 2


# ----------------------------------------------------------------------------- the commands
def test_scan_and_replay_use_the_cache(cache: Path, pack: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text(json.dumps({"@timestamp": "2024-01-01T00:00:00Z", "event": {"category": "process"},
                                  "process": {"name": "abc"}}) + "\n", encoding="utf-8")
    arguments = ("scan", "--rules", pack, "--format", "json", events)
    cold = run_cli(capsys, *arguments)
    assert cold[0] == 1 and json.loads(cold[1])["rule"] == "Typo"
    assert "2 rules loaded, 2 skipped: 1 not EQL (kuery), 1 invalid" in cold[2]
    assert "unknown key 'serverity'" in cold[2] and "broken.eql" in cold[2]
    assert len(_packs(cache)) == 1
    _no_compiling(monkeypatch)
    assert run_cli(capsys, *arguments) == cold
    replayed = run_cli(capsys, "replay", "--rules", pack, "--format", "json", "-q", events)
    assert replayed[0] == 1
    assert replayed[2] == cold[2][:cold[2].index("eqlmini: 1 event")]  # the same messages as scan
    assert run_cli(capsys, "replay", "--strict", "--rules", pack, events)[0] == 3
    status, _, err = run_cli(capsys, "scan", "--no-cache", "--rules", pack, events)
    assert status == INTERNAL and "AssertionError: compiled" in err  # --no-cache compiles


def test_a_new_process_loads_the_cached_pack(cache: Path, pack: Path) -> None:
    """Loaded in another process (nothing compiled or imported beforehand), the pack matches."""
    load_rules(pack, on_error=Skipped())
    script = ("import sys, eqlmini, eqlmini.rules as r\n"
              "def refuse(*a): raise SystemExit('compiled')\n"
              "r._compiled = refuse\n"
              "rules = eqlmini.load_rules(sys.argv[1], on_error=lambda *a: None)\n"
              "e = {'event': {'category': 'process', 'type': 'start'}, 'process': {'name': 'abc'}}\n"
              "print(sorted((rule.name, rule.query.match(e)) for rule in rules))\n")
    done = subprocess.run([sys.executable, "-c", script, str(pack)], capture_output=True, text=True,
                          env={**os.environ, "EQLMINI_CACHE_DIR": str(cache)}, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str([("Execution via MSSQL xp_cmdshell Stored Procedure", False), ("Typo", True)])
    assert eqlmini.load_rules is load_rules


def test_loading_leaves_the_garbage_collector_as_it_was(cache: Path, pack: Path) -> None:
    """Loading turns the collector off while it builds the pack, and leaves it as it found it:
    on or off, and what the program froze still frozen."""
    import gc

    def frozen(obj: object) -> bool:  # the collector's lists leave out the frozen
        return not any(tracked is obj for tracked in gc.get_objects())

    load_rules(pack / "typo.eql")  # from the cache from here on
    enabled_before = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            mine = [object()]
            gc.freeze()
            assert frozen(mine) and len(load_rules(pack / "typo.eql")) == 1
            assert gc.isenabled() is enabled and frozen(mine)
            gc.unfreeze()
            assert len(load_rules(pack / "typo.eql")) == 1
            assert gc.isenabled() is enabled and gc.get_freeze_count() == 0 and not frozen(mine)
    finally:
        gc.unfreeze()
        (gc.enable if enabled_before else gc.disable)()
