"""How search text matches record text — the one place these rules live (gateway and local org share it).

Fields
    Fields of the types in ``SEARCHABLE_TYPES`` are searched (``IN ALL FIELDS``; ``NAME``/``EMAIL``/
    ``PHONE FIELDS`` narrow that to the name field, email fields, phone fields).

Words
    Text is folded (Unicode compatibility decomposition, every combining mark removed, case folded), then
    split into **words**: maximal runs of letters and digits (any script; ``_`` and punctuation separate).
    So case and accents never matter (``Émile`` = ``emile``), and ``EXT-00017`` is the two words ``ext``
    ``00017``. There are no stop words and no stemming (Salesforce stems some languages; we do not).

Terms and phrases
    A search term or a quoted phrase is split into words by the same rule, ``*`` and ``?`` counting as
    word characters. It matches a field when its words appear in the field **one after the other**; so a
    term with punctuation behaves as a phrase (``EXT-00017`` = ``"EXT 00017"``). Inside a word, ``*``
    matches any run of characters (also none) and ``?`` exactly one.

Records
    A term matches a record when it matches one of the searched fields. ``AND``, ``OR`` and ``AND NOT``
    combine per record (the terms of an ``AND`` may match in different fields).

Rules checked before a search runs (``check_search``; Salesforce refuses the same): terms without any
letter or digit are left out (they match nothing and cost nothing); at least one term must have two or
more characters besides wildcards; a wildcard cannot start a word; the whole search text is at most
10,000 characters.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.soql.sosl import (
    Phrase,
    SearchAnd,
    SearchExpr,
    SearchNot,
    SearchOr,
    Term,
    Wildcard,
    search_items,
)

SEARCHABLE_TYPES = frozenset({"string", "picklist", "textarea", "email", "phone", "url"})
"""Field types (describe ``type``) whose words search finds: text, picklist, text area and long text area,
email, phone, url."""
MAX_SEARCH_TEXT = 10_000
"""Salesforce's limit on the length of the search text."""

_ANY, _ONE = "\ue000", "\ue001"  # wildcards while a term is folded and split (never in folded text)
_WORD = re.compile(r"[^\W_]+")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_PATTERN_WORD = re.compile(rf"(?:[^\W_]|[{_ANY}{_ONE}])+")


class SearchRuleError(ValueError):
    """A search Salesforce would refuse; the message says why, in words fit for a client."""


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.category(ch).startswith("M"))


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Text with case and accents removed (compatibility forms too: ``ﬁ`` is ``fi``)."""
    if text.isascii():
        return text.lower()
    return _strip_marks(_strip_marks(text).casefold())


def words(text: str | None) -> list[str]:
    """The words of a field value, folded, in order."""
    if not text:
        return []
    if text.isascii():
        return _ASCII_WORD.findall(text.lower())
    return _WORD.findall(fold(text))


def index_text(text: str | None) -> str | None:
    """The words of a value joined by single spaces (what a word index stores), None when there are none."""
    found = words(text)
    return " ".join(found) if found else None


@dataclass(frozen=True)
class WordPattern:
    """One word of a term: its folded text, with ``*`` / ``?`` wildcards."""

    pieces: tuple[str | Wildcard, ...]

    @property
    def literal(self) -> str | None:
        """The word when it has no wildcard."""
        return self.pieces[0] if len(self.pieces) == 1 and isinstance(self.pieces[0], str) else None

    @property
    def prefix(self) -> str:
        """The text before the first wildcard."""
        return self.pieces[0] if isinstance(self.pieces[0], str) else ""

    @property
    def is_prefix_search(self) -> bool:
        """``acme*``: only one ``*``, at the end."""
        return len(self.pieces) == 2 and isinstance(self.pieces[0], str) and self.pieces[1] == Wildcard("*")

    @property
    def characters(self) -> int:
        return sum(len(p) for p in self.pieces if isinstance(p, str))

    @functools.cached_property
    def regex(self) -> re.Pattern:
        out = []
        for piece in self.pieces:
            if isinstance(piece, Wildcard):
                out.append(".*" if piece.kind == "*" else ".")
            else:
                out.append(re.escape(piece))
        return re.compile("".join(out), re.DOTALL)

    def matches(self, word: str) -> bool:
        return self.regex.fullmatch(word) is not None


def term_words(leaf: Term | Phrase) -> tuple[WordPattern, ...]:
    """The words of a search term or phrase, by the same rule as record text."""
    marked = "".join(
        (_ANY if p.kind == "*" else _ONE)
        if isinstance(p, Wildcard)
        else p.replace(_ANY, " ").replace(_ONE, " ")
        for p in leaf.parts
    )
    patterns = []
    for raw in _PATTERN_WORD.findall(fold(marked)):
        pieces: list[str | Wildcard] = []
        for chunk in re.split(f"([{_ANY}{_ONE}])", raw):
            if chunk == _ANY:
                pieces.append(Wildcard("*"))
            elif chunk == _ONE:
                pieces.append(Wildcard("?"))
            elif chunk:
                pieces.append(chunk)
        patterns.append(WordPattern(tuple(pieces)))
    return tuple(patterns)


def phrase_in(patterns: tuple[WordPattern, ...], field_words: list[str]) -> bool:
    """Whether the patterns match consecutive words of a field."""
    n = len(patterns)
    for start in range(len(field_words) - n + 1):
        if all(p.matches(field_words[start + k]) for k, p in enumerate(patterns)):
            return True
    return False


def matches(expr: SearchExpr, fields: Iterable[list[str]]) -> bool:
    """Whether a record matches: ``fields`` are the words of each searched field (``words(value)``)."""
    field_words = list(fields)

    def leaf_matches(leaf: Term | Phrase) -> bool:
        patterns = term_words(leaf)
        return bool(patterns) and any(phrase_in(patterns, w) for w in field_words)

    def evaluate(node: SearchExpr) -> bool:
        match node:
            case Term() | Phrase():
                return leaf_matches(node)
            case SearchAnd(items):
                return all(not evaluate(i.item) if isinstance(i, SearchNot) else evaluate(i) for i in items)
            case SearchOr(items):
                return any(evaluate(i) for i in items)
            case SearchNot(item):
                return not evaluate(item)
        raise TypeError(f"not a search expression: {node!r}")

    return evaluate(expr)


def without_wordless(expr: SearchExpr) -> SearchExpr | None:
    """The expression without terms that hold no letter or digit (None when nothing is left)."""
    match expr:
        case Term() | Phrase():
            return expr if term_words(expr) else None
        case SearchNot(item):
            inner = without_wordless(item)
            return None if inner is None else SearchNot(inner)
        case SearchAnd(items) | SearchOr(items):
            kept = [k for k in (without_wordless(i) for i in items) if k is not None]
            if not kept:
                return None
            if len(kept) == 1:
                return kept[0]
            return SearchAnd(tuple(kept)) if isinstance(expr, SearchAnd) else SearchOr(tuple(kept))
    raise TypeError(f"not a search expression: {expr!r}")


def _has_positive(expr: SearchExpr) -> bool:
    match expr:
        case SearchNot():
            return False
        case SearchAnd(items):
            return any(_has_positive(i) for i in items)
        case SearchOr(items):
            return all(_has_positive(i) for i in items)
    return True


def check_search(expr: SearchExpr, text_length: int = 0) -> SearchExpr:
    """The expression to run (wordless terms left out), or ``SearchRuleError`` saying what is wrong."""
    if text_length > MAX_SEARCH_TEXT:
        raise SearchRuleError(f"The search text is longer than {MAX_SEARCH_TEXT:,} characters.")
    kept = without_wordless(expr)
    if kept is None:
        raise SearchRuleError("search term must be longer than one character")
    leaves = search_items(kept)
    for leaf in leaves:
        for pattern in term_words(leaf):
            if isinstance(pattern.pieces[0], Wildcard):
                raise SearchRuleError(
                    f"Wildcards cannot start a search term: '{leaf.text}'. Put at least one letter or "
                    "digit before * or ?."
                )
    if not any(sum(p.characters for p in term_words(leaf)) >= 2 for leaf in leaves):
        raise SearchRuleError("search term must be longer than one character")
    if not _has_positive(kept):
        raise SearchRuleError("A search needs a term that is not negated beside every NOT.")
    return kept
