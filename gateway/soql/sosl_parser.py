"""Parse SOSL text into the syntax tree of ``gateway.soql.sosl`` (the local org's side of search).

``FIND {…}``: the search text ends at the first ``}`` not escaped by a backslash. Inside it, terms are
separated by white space; ``"…"`` is a phrase; ``(`` ``)`` group; ``AND``, ``OR`` and ``AND NOT`` (any case)
combine, and terms side by side mean ``AND``; ``AND`` binds tighter than ``OR``. A backslash makes the next
character literal; unescaped ``*`` and ``?`` are wildcards; any other reserved character unescaped is an
error, as Salesforce has it (also inside a phrase). After the braces: ``IN ALL|NAME|EMAIL|PHONE FIELDS``,
``RETURNING`` objects with their fields, ``WHERE`` (SOQL conditions), ``ORDER BY``, ``LIMIT``, ``OFFSET``,
and an overall ``LIMIT``. Keywords in any case.

Failures raise ``SoslSyntaxError(message, position)`` (a ``SoqlSyntaxError``); the local org answers them
as ``MALFORMED_SEARCH`` in Salesforce's ``^`` / ``ERROR at Row:r:Column:c`` layout (``error_layout``).
``parse_sosl(print_sosl(s)) == s`` for every tree the printer can print.
"""

from __future__ import annotations

import re

from gateway.soql.parser import SoqlSyntaxError, Token, _Parser, tokenize
from gateway.soql.sosl import (
    MAX_SEARCH_DEPTH,
    SCOPES,
    Phrase,
    Returning,
    Search,
    SearchAnd,
    SearchExpr,
    SearchNot,
    SearchOr,
    Term,
    Wildcard,
)
from gateway.soql.sosl_printer import RESERVED_CHARACTERS
from gateway.soql.syntax import Field

_FIND = re.compile(r"\s*FIND\s*\{", re.IGNORECASE)
_GROUPING = frozenset('()"')


class SoslSyntaxError(SoqlSyntaxError):
    """A malformed search: ``message`` as Salesforce words it, ``position`` the 0-based offset."""


# --- the search expression inside the braces ------------------------------------------------------


def closing_brace(text: str, start: int) -> int:
    """The index of the ``}`` that ends the search text opened just before ``start``."""
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "}":
            return i
        i += 1
    raise SoslSyntaxError(f"line 1:{len(text)} mismatched character '<EOF>' expecting '}}'", len(text))


class _ExprParser:
    """Tokens of the search text (words, phrases, parentheses), then AND/OR/NOT precedence."""

    def __init__(self, text: str, start: int, end: int):
        self.text = text
        self.end = end
        self.tokens = self._tokenize(start, end)
        self.index = 0
        self.depth = 0

    def _error(self, message: str, position: int) -> SoslSyntaxError:
        return SoslSyntaxError(message, position)

    def _parts(self, i: int, stop: frozenset[str], *, phrase: bool) -> tuple[tuple[str | Wildcard, ...], int]:
        parts: list[str | Wildcard] = []
        literal: list[str] = []

        def flush() -> None:
            if literal:
                parts.append("".join(literal))
                literal.clear()

        while i < self.end:
            ch = self.text[i]
            if ch == "\\":
                if i + 1 >= self.end:
                    raise self._error(f"line 1:{i + 1} mismatched character '}}' after '\\'", i)
                literal.append(self.text[i + 1])
                i += 2
                continue
            if ch in stop or (not phrase and ch.isspace()):
                break
            if ch in "*?":
                flush()
                parts.append(Wildcard(ch))
            elif ch in RESERVED_CHARACTERS:
                raise self._error(f"line 1:{i} mismatched character '{ch}' expecting '}}'", i)
            else:
                literal.append(ch)
            i += 1
        flush()
        return tuple(parts), i

    def _tokenize(self, start: int, end: int) -> list[tuple[str, object, int]]:
        tokens: list[tuple[str, object, int]] = []
        i = start
        while i < end:
            ch = self.text[i]
            if ch.isspace():
                i += 1
            elif ch in "()":
                tokens.append((ch, None, i))
                i += 1
            elif ch == '"':
                parts, j = self._parts(i + 1, frozenset('"'), phrase=True)
                if j >= end:
                    raise self._error(f"line 1:{end} mismatched character '}}' expecting '\"'", end)
                tokens.append(("phrase", Phrase(parts), i))
                i = j + 1
            else:
                parts, j = self._parts(i, _GROUPING, phrase=False)
                word = parts[0].upper() if len(parts) == 1 and isinstance(parts[0], str) else ""
                raw = self.text[i:j]
                if word in ("AND", "OR", "NOT") and raw.upper() == word:
                    tokens.append((word, None, i))
                else:
                    tokens.append(("term", Term(parts), i))
                i = j
        tokens.append(("eof", None, end))
        return tokens

    @property
    def kind(self) -> str:
        return self.tokens[self.index][0]

    def unexpected(self) -> SoslSyntaxError:
        kind, _, position = self.tokens[self.index]
        shown = "}" if kind == "eof" else self.text[position]
        return self._error(f"line 1:{position} mismatched character '{shown}'", position)

    def parse(self) -> SearchExpr:
        if self.kind == "eof":
            raise self._error("No search term found. The search term must be longer than one character", 0)
        expr = self.or_expr()
        if self.kind != "eof":
            raise self.unexpected()
        return expr

    def or_expr(self) -> SearchExpr:
        items = [self.and_expr()]
        while self.kind == "OR":
            self.index += 1
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else SearchOr(tuple(items))

    def and_expr(self) -> SearchExpr:
        items = [self.primary()]
        while self.kind in ("AND", "term", "phrase", "("):
            if self.kind == "AND":
                self.index += 1
                if self.kind == "NOT":
                    self.index += 1
                    items.append(SearchNot(self.primary()))
                    continue
            items.append(self.primary())
        return items[0] if len(items) == 1 else SearchAnd(tuple(items))

    def primary(self) -> SearchExpr:
        kind, value, _ = self.tokens[self.index]
        if kind in ("term", "phrase"):
            self.index += 1
            return value  # type: ignore[return-value]
        if kind == "(":
            self.depth += 1
            if self.depth > MAX_SEARCH_DEPTH:
                raise self._error(
                    f"Search expressions nest at most {MAX_SEARCH_DEPTH} levels", self.tokens[self.index][2]
                )
            self.index += 1
            inner = self.or_expr()
            self.depth -= 1
            if self.kind != ")":
                raise self.unexpected()
            self.index += 1
            return inner
        raise self.unexpected()


def parse_search_expr(text: str) -> SearchExpr:
    """The tree of a search text as written inside ``FIND {…}`` (without the braces)."""
    return _ExprParser(text, 0, len(text)).parse()


# --- the rest of the statement --------------------------------------------------------------------


class _StatementParser(_Parser):
    """The SOQL parser's machinery over the tokens that follow the closing brace."""

    def __init__(self, text: str, start: int):
        self.text = text
        try:
            tail = tokenize(text[start:])
        except SoqlSyntaxError as error:
            raise SoslSyntaxError(error.message, error.position + start) from None
        self.tokens = [Token(t.kind, t.text, t.position + start, t.value) for t in tail]
        self.index = 0

    def unexpected(self, token: Token | None = None) -> SoslSyntaxError:
        token = token or self.token
        return SoslSyntaxError(f"Malformed search token: {token.text}", token.position)

    def statement(self, find: SearchExpr) -> Search:
        scope = "ALL"
        if self.accept_word("IN"):
            if not self.at_word(*SCOPES):
                raise self.unexpected()
            scope = self.advance().upper
            self.expect_word("FIELDS")
        returning: list[Returning] = []
        if self.accept_word("RETURNING"):
            returning.append(self.returning())
            while self.accept_punct(","):
                returning.append(self.returning())
        limit = self.integer() if self.accept_word("LIMIT") else None
        if self.token.kind != "eof":
            raise self.unexpected()
        return Search(find, tuple(returning), scope, limit)

    def returning(self) -> Returning:
        sobject = self.name()
        if not self.accept_punct("("):
            return Returning(sobject)
        fields: list[Field] = [self.field()]
        while self.accept_punct(","):
            fields.append(self.field())
        where = self.condition() if self.accept_word("WHERE") else None
        order_by = []
        if self.accept_word("ORDER"):
            self.expect_word("BY")
            order_by.append(self.order_key())
            while self.accept_punct(","):
                order_by.append(self.order_key())
        limit = self.integer() if self.accept_word("LIMIT") else None
        offset = self.integer() if self.accept_word("OFFSET") else None
        self.expect_punct(")")
        return Returning(sobject, tuple(fields), where, tuple(order_by), limit, offset)


def parse_sosl(text: str) -> Search:
    """The syntax tree of a SOSL statement; raises ``SoslSyntaxError`` when it is malformed."""
    match = _FIND.match(text)
    if not match:
        found = text.strip().split(None, 1)
        token = found[0] if found else "<EOF>"
        raise SoslSyntaxError(f"Malformed search token: {token}", len(text) - len(text.lstrip()))
    end = closing_brace(text, match.end())
    find = _ExprParser(text, match.end(), end).parse()
    return _StatementParser(text, end + 1).statement(find)
