"""``$search``: OData search expressions parsed into the SOSL search tree, with the rules Salesforce applies
checked before any call.

Syntax (OData 4.01 ABNF): words, ``"quoted phrases"`` (``\\"`` and ``\\\\`` inside), ``AND`` (also
implicit: words side by side), ``OR``, ``NOT``, parentheses; ``NOT`` binds tighter than ``AND``, ``AND``
tighter than ``OR``; the operators are upper case (``and`` is a word). ``*`` and ``?`` inside a word or
phrase are SOSL wildcards (any run of characters, one character); every other character is literal (the
SOSL printer escapes it). Words are matched as ``gateway.soql.search_words`` says (``EXT-00017`` behaves
as the phrase ``"EXT 00017"``).

Refusals, all before any API call: 400 for an empty search, an unbalanced quote or parenthesis, no term
of at least two characters, a wildcard at the start of a word, a search over 10,000 characters; 501 for a
``NOT`` without a positive term beside it in an ``AND`` (SOSL only has ``AND NOT``).
"""

from __future__ import annotations

import re
from typing import Any

from odata_query import ast

from gateway.odata.http.errors import ODataError, bad_request, not_implemented
from gateway.odata.model.entities import EntitySet
from gateway.odata.read.capabilities import CAPABILITIES
from gateway.odata.read.query_options import operand_chain
from gateway.soql.search_words import MAX_SEARCH_TEXT, SearchRuleError, check_search
from gateway.soql.sosl import (
    MAX_SEARCH_DEPTH,
    Phrase,
    SearchAnd,
    SearchExpr,
    SearchNot,
    SearchOr,
    Term,
    Wildcard,
)

NOT_ADVICE = (
    "SOSL can only exclude terms beside a term that must match: write 'acme AND NOT corp' or "
    "'acme NOT corp', not NOT alone or inside OR."
)


def _bad(message: str) -> ODataError:
    return bad_request(message, target="$search")


def _parts(text: str) -> tuple[str | Wildcard, ...]:
    parts: list[str | Wildcard] = []
    for piece in re.split(r"([*?])", text):
        if piece in ("*", "?"):
            parts.append(Wildcard(piece))
        elif piece:
            parts.append(piece)
    return tuple(parts)


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) tokens: word, phrase, AND, OR, NOT, (, )."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append((ch, ch))
            i += 1
        elif ch == '"':
            value, i = _phrase(text, i + 1)
            tokens.append(("phrase", value))
        else:
            match = re.compile(r'[^\s()"]+').match(text, i)
            assert match is not None
            word = match[0]
            tokens.append((word, word) if word in ("AND", "OR", "NOT") else ("word", word))
            i = match.end()
    return tokens


def _phrase(text: str, i: int) -> tuple[str, int]:
    out = []
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            out.append(text[i + 1])
            i += 2
        elif ch == '"':
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise _bad('The $search has an unbalanced quote: close every "phrase".')


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_SEARCH_DEPTH:
            raise _bad(f"The $search nests parentheses or NOT deeper than {MAX_SEARCH_DEPTH} levels.")

    @property
    def kind(self) -> str:
        return self.tokens[self.index][0] if self.index < len(self.tokens) else "end"

    def parse(self) -> SearchExpr:
        expr = self.or_expr()
        if self.kind == ")":
            raise _bad("The $search has an unbalanced parenthesis: ')' without '('.")
        if self.kind != "end":
            raise _bad(f"The $search cannot be read at '{self.tokens[self.index][1]}'.")
        return expr

    def or_expr(self) -> SearchExpr:
        items = [self.and_expr()]
        while self.kind == "OR":
            self.index += 1
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else SearchOr(tuple(items))

    def and_expr(self) -> SearchExpr:
        items = [self.unary()]
        while self.kind in ("AND", "NOT", "word", "phrase", "("):
            if self.kind == "AND":
                self.index += 1
            items.append(self.unary())
        return items[0] if len(items) == 1 else SearchAnd(tuple(items))

    def unary(self) -> SearchExpr:
        if self.kind == "NOT":
            self.index += 1
            self.deeper()
            negated = SearchNot(self.unary())
            self.depth -= 1
            return negated
        kind = self.kind
        if kind == "(":
            self.index += 1
            self.deeper()
            inner = self.or_expr()
            if self.kind != ")":
                raise _bad("The $search has an unbalanced parenthesis: '(' without ')'.")
            self.index += 1
            self.depth -= 1
            return inner
        if kind in ("word", "phrase"):
            text = self.tokens[self.index][1]
            self.index += 1
            return Term(_parts(text)) if kind == "word" else Phrase(_parts(text))
        if kind == "end":
            raise _bad("The $search ends where a search term is expected.")
        raise _bad(f"The $search has '{self.tokens[self.index][1]}' where a search term is expected.")


def _check_not(expr: SearchExpr, *, allowed: bool = False) -> SearchExpr:
    """SOSL's shape: every NOT an item of an AND that has a positive item; double negation removed."""
    match expr:
        case SearchNot(SearchNot(inner)):
            return _check_not(inner, allowed=allowed)
        case SearchNot(inner):
            if not allowed:
                raise not_implemented(NOT_ADVICE, "$search")
            return SearchNot(_check_not(inner))
        case SearchAnd(items):
            if not any(not isinstance(i, SearchNot) for i in items):
                raise not_implemented(NOT_ADVICE, "$search")
            checked = [_check_not(i, allowed=True) for i in items]
            # SOSL prints AND NOT after a positive term: put the positive items first
            return SearchAnd(
                tuple([i for i in checked if not isinstance(i, SearchNot)])
                + tuple(i for i in checked if isinstance(i, SearchNot))
            )
        case SearchOr(items):
            return SearchOr(tuple(_check_not(i) for i in items))
    return expr


def parse_search(text: str) -> SearchExpr:
    """The SOSL search tree of a ``$search`` value; ODataError 400/501 for what Salesforce refuses."""
    if len(text) > MAX_SEARCH_TEXT:
        raise _bad(f"The $search is longer than {MAX_SEARCH_TEXT:,} characters.")
    if not text.strip():
        raise _bad("The $search is empty: give at least one search term.")
    expr = _check_not(_Parser(_tokens(text)).parse())
    try:
        return check_search(expr, len(text))
    except SearchRuleError as error:
        message = str(error)
        if message.startswith("search term must be"):
            message = "The $search needs a term of at least two characters (Salesforce searches no shorter)."
        raise _bad(message) from None


# --- binding to an entity set ----------------------------------------------------------------------


def bind_search(entity_set: EntitySet, text: str) -> SearchExpr:
    """The search expression of ``$search`` on ``entity_set``: 501 when search is off for it (publication
    or the source's describe, as ``read/capabilities.py`` declares), 400/501 for the expression, all before
    any API call."""
    if CAPABILITIES.searches(entity_set):
        return parse_search(text)
    if not entity_set.searchable:
        raise not_implemented(
            f"Search is turned off for the entity set {entity_set.name} (its publication says "
            "searchable = false); use $filter instead.",
            "$search",
        )
    raise not_implemented(
        f"Salesforce cannot search {entity_set.sobject} (its describe says searchable: false); "
        "use $filter instead.",
        "$search",
    )


def _contains_chain(node: Any) -> list[str] | None:
    """The property names of Salesforce Connect's search filter ``contains(F,'x') eq true or …`` (all with
    the same text), or None when ``node`` is another filter."""
    names, texts = [], set()
    for item in operand_chain(node, ast.Or):
        match item:
            case ast.Compare(
                comparator=ast.Eq(),
                left=ast.Call(
                    func=ast.Identifier(name="contains"),
                    args=[ast.Identifier() as field, ast.String() as value],
                ),
                right=ast.Boolean(val="true"),
            ):
                names.append(field.name)
                texts.add(value.val)
            case _:
                return None
    return names if len(texts) == 1 else None


def check_contains_chain(entity_set: EntitySet, node: Any) -> None:
    """400 telling the admin what to change when Salesforce Connect's search filter (Enable Search without
    free-text expressions) names a published field Salesforce cannot filter (a long text area)."""
    names = _contains_chain(node) if node is not None else None
    if not names:
        return
    blocked = [p.name for p in map(entity_set.property, names) if p is not None and not p.filterable]
    if not blocked:
        return  # every field is filterable: the chain stays SOQL
    fields = ", ".join(blocked)
    raise bad_request(
        f"Salesforce Connect's search sent contains() (substringof() with OData 2.0) over every text field "
        f"of {entity_set.name}, but "
        f"Salesforce cannot filter {fields} (long text). To search it, either turn on 'Use Free-Text Search "
        "Expressions' on the External Data Source (the gateway then answers with Salesforce search, long "
        f"text included), or stop publishing {fields} in the publication (metadata/) and Sync the External "
        "Data Source again.",
        target="$filter",
    )
