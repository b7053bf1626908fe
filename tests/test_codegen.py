"""Generated code: queries of one shape share one compiled source, each with its own values."""

from __future__ import annotations

import eqlmini
from eqlmini import codegen, limits


def test_queries_of_one_shape_compile_their_source_once_and_keep_their_own_values() -> None:
    first = eqlmini.compile('process where shape_test.name == "one" and shape_test.pid == 1')
    before = codegen._compiled_shape.cache_info()
    second = eqlmini.compile('network where other.field == "two" and other.port == 2')
    after = codegen._compiled_shape.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses
    one = {"event": {"category": "process"}, "shape_test": {"name": "one", "pid": 1}}
    two = {"event": {"category": "network"}, "other": {"field": "two", "port": 2}}
    assert first(one) and not first(two) and second(two) and not second(one)


def test_a_long_source_is_compiled_but_not_kept() -> None:
    text = "process where " + " or ".join(f'long_source.f{i} == "{i}"' for i in range(300))
    before = codegen._compiled_shape.cache_info()
    query = eqlmini.compile(text)
    assert codegen._compiled_shape.cache_info() == before  # over limits.CODE_CACHE_SOURCE_CHARS
    assert query({"event": {"category": "process"}, "long_source": {"f299": "299"}})
    assert not query({"event": {"category": "process"}, "long_source": {"f299": "298"}})
    assert limits.CODE_CACHE_SOURCE_CHARS < 300 * 20
