"""The SOSL syntax tree: frozen dataclasses for the subset of Salesforce search the gateway and the local
org speak (``FIND {…} IN … FIELDS RETURNING Object(fields WHERE … ORDER BY … LIMIT n OFFSET n) LIMIT n``).

The gateway builds these trees and prints them (``sosl_printer``); the local org parses SOSL text into the
same trees (``sosl_parser``) and executes them. Printing then parsing a tree gives the same tree back.
``WHERE`` and ``ORDER BY`` inside ``RETURNING`` reuse the SOQL tree (``gateway.soql.syntax``).

The search expression (the part inside the braces):

- ``Term``: one search term as written, a sequence of literal text and wildcards (``Wildcard('*')`` any
  run of characters, ``Wildcard('?')`` one character). ``Term.of("acme")`` is a term without wildcards.
- ``Phrase``: a quoted phrase, the same parts.
- ``SearchAnd`` / ``SearchOr``: two or more items; ``SearchNot`` only as an item of ``SearchAnd``
  (SOSL's ``AND NOT``), beside at least one positive item.

How a term or phrase matches record text is in ``gateway.soql.search_words`` (the one place).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.soql.syntax import Condition, Field, OrderBy

SCOPES = ("ALL", "NAME", "EMAIL", "PHONE")
"""``IN <scope> FIELDS``: every searchable text field, the name field, email fields, phone fields."""

MAX_SEARCH_LIMIT = 2000
"""Salesforce returns at most 2,000 records a search (``LIMIT`` at most 2,000, the default)."""
MAX_SEARCH_OFFSET = 2000
MAX_SEARCH_DEPTH = 50
"""Parentheses (and NOTs) nested deeper than this are refused by both parsers (bounded work, no recursion
overflow)."""


@dataclass(frozen=True)
class Wildcard:
    """``*`` (any run of characters, also none) or ``?`` (exactly one character) inside a word."""

    kind: str


@dataclass(frozen=True)
class Term:
    """One search term: literal text and wildcards, in order (adjacent text parts are merged)."""

    parts: tuple[str | Wildcard, ...]

    @classmethod
    def of(cls, text: str) -> Term:
        return cls((text,) if text else ())

    @property
    def text(self) -> str:
        """The term with wildcards shown as ``*`` / ``?`` (for messages, not for escaping)."""
        return "".join(p.kind if isinstance(p, Wildcard) else p for p in self.parts)


@dataclass(frozen=True)
class Phrase:
    """A quoted phrase: its words must follow one another in one field."""

    parts: tuple[str | Wildcard, ...]

    @classmethod
    def of(cls, text: str) -> Phrase:
        return cls((text,) if text else ())

    @property
    def text(self) -> str:
        return "".join(p.kind if isinstance(p, Wildcard) else p for p in self.parts)


@dataclass(frozen=True)
class SearchAnd:
    items: tuple[SearchExpr, ...]


@dataclass(frozen=True)
class SearchOr:
    items: tuple[SearchExpr, ...]


@dataclass(frozen=True)
class SearchNot:
    item: SearchExpr


SearchExpr = Term | Phrase | SearchAnd | SearchOr | SearchNot


@dataclass(frozen=True)
class Returning:
    """One object of ``RETURNING``: ``Account(Id, Name WHERE … ORDER BY … LIMIT n OFFSET n)``.

    ``fields`` empty means the bare object name (Salesforce then returns only the Id).
    """

    sobject: str
    fields: tuple[Field, ...] = ()
    where: Condition | None = None
    order_by: tuple[OrderBy, ...] = ()
    limit: int | None = None
    offset: int | None = None


@dataclass(frozen=True)
class Search:
    """A whole SOSL statement; ``scope`` is one of ``SCOPES``."""

    find: SearchExpr
    returning: tuple[Returning, ...]
    scope: str = "ALL"
    limit: int | None = None


def search_items(expr: SearchExpr) -> list[Term | Phrase]:
    """Every term and phrase of an expression, in order (negated ones included)."""
    match expr:
        case Term() | Phrase():
            return [expr]
        case SearchAnd(items) | SearchOr(items):
            return [leaf for item in items for leaf in search_items(item)]
        case SearchNot(item):
            return search_items(item)
    raise TypeError(f"not a search expression: {expr!r}")
