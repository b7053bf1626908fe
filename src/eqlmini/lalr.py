"""The parser's fast path: Lark's own LALR tables and lexers, run by one short loop.

Lark's parse loop is general: it tracks line and column of every token, keeps state for
interactive parsing and error recovery, and goes through a generator, a lexer thread and a
chain of wrappers per token. The fast path of :func:`parser.parse` needs none of that, since
an error there is reported by parsing again with Lark and positions. This loop reads the very
tables and per-state token patterns that Lark built from grammar.lark and calls the same rule
callbacks, so it reads the same tokens and builds the same tree; tests/test_lalr.py holds it to
that against Lark itself. On a text it does not accept it raises :class:`Rejected`.
"""

from __future__ import annotations

from typing import Any, Callable

from lark import Lark, Token

__all__ = ["LalrLoop", "Rejected"]

_END = "$END"


class Rejected(Exception):
    """The text is not in the language: parse it with Lark, which says where and why."""


class LalrLoop:
    """``parse(text)``: what ``lark.parse(text)`` returns, for a Lark built with ``parser="lalr"``,
    ``lexer="contextual"`` and a transformer (the tree is built as the text is parsed)."""

    def __init__(self, lark: Lark) -> None:
        # Lark's internals, imported here: a Lark without them makes parser.py fall back, not fail
        from lark.grammar import Terminal
        from lark.parse_tree_builder import ExpandSingleChild
        from lark.parsers.lalr_analysis import Shift

        frontend = lark.parser
        lalr = frontend.parser.parser  # lark.parsers.lalr_parser._Parser
        table, callbacks = lalr.parse_table, lalr.callbacks
        start, = lark.options.start
        self.start, self.end = table.start_states[start], table.end_states[start]
        if lark.lexer_conf.postlex is not None or any(isinstance(key, str) for key in callbacks):
            raise ValueError("a post-lexer or terminal callbacks are not supported")
        # Per state and next symbol: (True, next state) to shift, (False, reduction) to reduce,
        # a reduction being (size, rule name, callback), the callback None for a `?rule` that
        # passes its one child up (ExpandSingleChild does nothing else with one child).
        self.actions: dict[Any, dict[str, tuple[bool, Any]]] = {}
        for state, row in table.states.items():
            self.actions[state] = {  # names as plain str: Lark's Token compares in Python, slowly
                str(symbol): (True, target) if action is Shift
                else (False, self._reduction(target, callbacks[target], ExpandSingleChild))
                for symbol, (action, target) in row.items()}
        # (state below, top state, next terminal) -> top state after a chain of `?rule`s.
        self.chains: dict[tuple[Any, Any, str], Any] = {}
        # Terminals that every rule filters out of its children, as Lark does with anonymous ones.
        kept = {symbol.name for rule in lark.rules for symbol in rule.expansion
                if isinstance(symbol, Terminal) and not (symbol.filter_out and not rule.options.keep_all_tokens)}
        self.dropped = frozenset(t.name for t in lark.terminals) - kept | {_END}
        # Per state, the `match` of the regex Lark's contextual lexer tries there (the terminals
        # the parser can take in that state, in Lark's order), and which matches to skip.
        self.lexers: dict[Any, Callable[[str, int], Any]] = {}
        self.ignore = frozenset(lark.lexer_conf.ignore)
        for state, lexer in frontend.lexer.lexers.items():
            patterns = lexer.scanner._mres  # noqa: SLF001 - one compiled regex per state for this grammar
            if len(patterns) != 1 or lexer.callback:
                raise ValueError("a state lexer with several regexes or callbacks is not supported")
            self.lexers[state] = patterns[0].match

    @staticmethod
    def _reduction(rule: Any, callback: Callable[[list[Any]], Any],
                   expand_single_child: type) -> tuple[int, str, Callable[..., Any] | None]:
        passes_child = isinstance(callback, expand_single_child) and len(rule.expansion) == 1
        return len(rule.expansion), str(rule.origin.name), None if passes_child else callback

    def parse(self, text: str) -> Any:
        """The transformer's result for ``text``; :class:`Rejected` if the text is not accepted."""
        actions, lexers, ignore, dropped = self.actions, self.lexers, self.ignore, self.dropped
        end_state, chains = self.end, self.chains
        states: list[Any] = [self.start]
        values: list[Any] = []
        position, length = 0, len(text)
        while True:
            kind = _END
            while position < length:
                match = lexers[states[-1]](text, position)
                if match is None:
                    raise Rejected
                position = match.end()
                if match.lastgroup not in ignore:
                    kind = match.lastgroup
                    break
            # A keyword or punctuation token no rule keeps (`where`, `(`) needs no Token object.
            token = kind if kind in dropped else Token(kind, match.group())
            while True:  # reduce as long as the table says so, then shift the token
                try:
                    shift, target = actions[states[-1]][kind]
                except KeyError:
                    raise Rejected from None
                if shift:
                    if kind == _END:
                        raise Rejected
                    states.append(target)
                    values.append(token)
                    break
                size, name, callback = target
                if callback is None:  # `?rule`s passing one child up: the whole chain in one step
                    key = (states[-2], states[-1], kind)
                    states[-1] = chains[key] if key in chains else self._passed_up(*key)
                else:
                    children = values[-size:] if size else []
                    if size:
                        del states[-size:]
                        del values[-size:]
                    values.append(callback(children))
                    states.append(actions[states[-1]][name][1])
                if kind == _END and states[-1] == end_state:
                    return values[-1]

    def _passed_up(self, below: Any, state: Any, kind: str) -> Any:
        """The state on top of ``below`` after every reduction by a `?rule` that passes its one
        child up, from ``state`` with ``kind`` next. Such a reduction replaces the top state and
        leaves the rest of the stack alone, so the chain depends on these three only."""
        top = state
        while top != self.end:
            shift, target = self.actions[top].get(kind, (True, None))
            if shift or target[2] is not None:
                break
            top = self.actions[below][target[1]][1]
        self.chains[below, state, kind] = top
        return top
