"""The fast path's LALR loop (eqlmini.lalr) against Lark's own parser on the same tables.

The loop must accept exactly the texts Lark accepts and build exactly the tree Lark's parse
builds with the same transformer. Seeds are the round-trip queries and the corpus; random
edits at the level of tokens (drop, repeat, swap, insert a token of the language) make
texts on both sides of the grammar's edge.
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS, require
from lark import Lark
from lark.exceptions import UnexpectedInput

import eqlmini
from eqlmini import parser
from eqlmini.errors import EqlError
from eqlmini.lalr import LalrLoop, Rejected

ROUNDTRIP = Path(__file__).parent / "data" / "roundtrip.eql"
EDITS = int(os.environ.get("EQLMINI_EXAMPLES", "300")) * 10
# Tokens of EQL, and of the forms the grammar parses only to reject them.
LEXEMES = ("where", "any", "sequence", "sample", "join", "by", "with", "maxspan", "=", "runs", "until", "of",
           "[", "]", "![", "(", ")", ",", "|", "head", "and", "or", "not", "in", "in~", ":", "like", "like~",
           "regex~", "==", "!=", "<", ">=", "+", "-", "*", "/", "%", "?", ".", "`a b`", "process", "a",
           "length", "startsWith~(", "1", "2.5", "1e3", "5s", "[0]", '"x"', '"""y"""', "'z'", '?"q"',
           "true", "false", "null", "\n", "~", "@timestamp", "#")
TOKEN = re.compile(r'"""[^\n]*?"""|\?"(?:\\.|[^"\\\n])*"|"(?:\\.|[^"\\\n])*"|\'[^\'\n]*\'|`[^`]*`'
                   r'|\[\s*\d+\s*\]|[A-Za-z_@][\w]*~?|\d+(?:\.\d*)?(?:e\d+)?|[=!<>]=|!\[|\S')


def lark_parser() -> Lark:
    return Lark.open_from_package("eqlmini", "grammar.lark", transformer=parser._FastToAst(), **parser._GRAMMAR)


@pytest.fixture(scope="module")
def both() -> tuple[Lark, LalrLoop]:
    lark = lark_parser()
    return lark, LalrLoop(lark_parser())


def outcome(parse: Any, text: str) -> tuple[str, Any]:
    """What parsing gives: the tree, the EqlError a rule raised, or a rejection."""
    try:
        return "tree", parse(text)
    except (Rejected, UnexpectedInput):
        return "rejected", None
    except EqlError as error:  # its position comes from parsing again with positions (parser.parse)
        return "error", (type(error), error.message)


# Texts the grammar parses and a rule then rejects (the rule raises while Lark parses).
REJECTED_BY_RULES = ("join [a where true] [b where true]", "sequence with maxspan=5 [a where true] [b where true]",
                     "process where a == 'x'", "sequence [a where true] with runs=200 [b where true]",
                     "process where a[0] == 1", "process where a = 1", "process where child of [b where true]",
                     'process where a : ?"x"', "process where a == 1e999")


def seeds() -> list[str]:
    lines = ROUNDTRIP.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")] + list(REJECTED_BY_RULES)


def test_the_loop_builds_the_tree_lark_builds_for_the_corpus(both: tuple[Lark, LalrLoop]) -> None:
    lark, loop = both
    rules = [json.loads(line) for line in require(CORPUS).read_text(encoding="utf-8").splitlines()]
    texts = [parser.blank_comments(rule["query"]) for rule in rules]
    for text in texts:
        assert outcome(loop.parse, text) == outcome(lark.parse, text) != ("rejected", None), text


def test_the_loop_accepts_and_rejects_what_lark_does(both: tuple[Lark, LalrLoop]) -> None:
    lark, loop = both
    texts = seeds()
    assert [outcome(lark.parse, text)[0] for text in texts].count("error") == len(REJECTED_BY_RULES)
    chance = random.Random(9)
    seen = {"tree": 0, "rejected": 0, "error": 0}
    for _ in range(EDITS):
        tokens = TOKEN.findall(chance.choice(texts))
        for _ in range(chance.choice((1, 1, 1, 2))):
            at = chance.randrange(len(tokens))
            edit = chance.randrange(5)
            if edit == 0:
                del tokens[at]
            elif edit == 1:
                tokens.insert(at, tokens[at])
            elif edit == 2:
                tokens[at - 1], tokens[at] = tokens[at], tokens[at - 1]
            elif edit == 3:
                tokens[at] = chance.choice(tokens)
            else:
                tokens.insert(at, chance.choice(LEXEMES))
        text = " ".join(tokens)
        expected = outcome(lark.parse, text)
        assert outcome(loop.parse, text) == expected, text
        seen[expected[0]] += 1
    assert seen["tree"] > EDITS // 20 and seen["error"] > EDITS // 100, seen  # each outcome was tried


def test_the_loop_rejects_what_no_state_can_read(both: tuple[Lark, LalrLoop]) -> None:
    _, loop = both
    for text in ("", "   ", "process where", "process where a == 1 )", "process where a == $", "process where a =="):
        with pytest.raises(Rejected):
            loop.parse(text)
    assert loop.parse("process where a == 1") == parser.parse("process where a == 1", positions=False)


@pytest.mark.parametrize("missing", [AttributeError("parse_table"), ImportError("lark.parsers.lalr_analysis")])
def test_a_lark_the_loop_cannot_read_parses_with_its_own_loop(monkeypatch, missing: Exception) -> None:
    """A future Lark whose internals differ must cost speed, never answers or errors."""
    def unreadable(lark: Lark) -> None:
        raise missing

    texts = [line for line in ROUNDTRIP.read_text(encoding="utf-8").splitlines() if line.strip()][:200]
    texts += ['process where a == 1 /* x /* y */ or b == 2', "process where (", 'any where a == "x" "y"']

    def outcome(text: str) -> str:
        try:
            return repr(eqlmini.compile(text).tree)
        except EqlError as error:
            return f"{type(error).__name__}: {error}"

    expected = [outcome(text) for text in texts]
    monkeypatch.setattr(parser, "LalrLoop", unreadable)
    parser._fast_parser.cache_clear()
    try:
        assert [outcome(text) for text in texts] == expected
        assert isinstance(parser._fast_parser().__self__, Lark)  # Lark's own parse ran
    finally:
        parser._fast_parser.cache_clear()
    assert any(item.startswith("EqlSyntaxError") for item in expected)
