"""Print a SOSL syntax tree as SOSL text.

``sosl_literal`` is the one place where text becomes part of a SOSL search expression: it escapes every
character Salesforce reserves inside ``FIND {…}`` with a backslash. Values in ``WHERE`` go through the SOQL
printer's ``soql_literal``. Output is canonical: ``sosl_parser.parse_sosl(print_sosl(s)) == s``.
"""

from __future__ import annotations

from gateway.soql.printer import print_condition, print_order_by
from gateway.soql.sosl import (
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

RESERVED_CHARACTERS = frozenset("?&|!{}[]()^~*:\\\"'+-")
"""Characters Salesforce reserves inside ``FIND {…}``: each must be preceded by a backslash."""
KEYWORDS = frozenset({"AND", "OR", "NOT"})


def sosl_literal(text: str) -> str:
    """``text`` as literal SOSL search text: every reserved character escaped with a backslash."""
    return "".join("\\" + ch if ch in RESERVED_CHARACTERS else ch for ch in text)


def _parts(parts: tuple[str | Wildcard, ...]) -> str:
    return "".join(p.kind if isinstance(p, Wildcard) else sosl_literal(p) for p in parts)


def print_search_expr(expr: SearchExpr, *, nested: bool = False) -> str:
    """The text inside ``FIND {…}`` for an expression (raises ValueError for a tree SOSL cannot say)."""
    match expr:
        case Term(parts):
            text = _parts(parts)
            if not text or any(ch.isspace() for ch in text) or text.upper() in KEYWORDS:
                raise ValueError(f"not printable as a SOSL term (quote it as a phrase): {expr.text!r}")
            return text
        case Phrase(parts):
            return '"' + _parts(parts) + '"'
        case SearchAnd(items):
            if isinstance(items[0], SearchNot):
                raise ValueError("SOSL needs a positive term before AND NOT")
            text = " AND ".join(print_search_expr(i, nested=True) for i in items)
            return f"({text})" if nested else text
        case SearchOr(items):
            if any(isinstance(i, SearchNot) for i in items):
                raise ValueError("SOSL has no NOT inside OR (only AND NOT)")
            text = " OR ".join(print_search_expr(i, nested=True) for i in items)
            return f"({text})" if nested else text
        case SearchNot(item):
            if not nested:
                raise ValueError("SOSL needs a positive term beside NOT")
            return "NOT " + print_search_expr(item, nested=True)
    raise TypeError(f"not a search expression: {expr!r}")


def _returning(item: Returning) -> str:
    if not item.fields:
        if item.where is not None or item.order_by or item.limit is not None or item.offset is not None:
            raise ValueError("a RETURNING object with WHERE, ORDER BY, LIMIT or OFFSET needs fields")
        return item.sobject
    parts = [", ".join(f.dotted for f in item.fields)]
    if item.where is not None:
        parts.append(f"WHERE {print_condition(item.where)}")
    if item.order_by:
        parts.append(f"ORDER BY {', '.join(print_order_by(k) for k in item.order_by)}")
    if item.limit is not None:
        parts.append(f"LIMIT {item.limit}")
    if item.offset is not None:
        parts.append(f"OFFSET {item.offset}")
    return f"{item.sobject}({' '.join(parts)})"


def print_sosl(search: Search) -> str:
    """The SOSL statement for ``search``."""
    text = f"FIND {{{print_search_expr(search.find)}}} IN {search.scope} FIELDS"
    if search.returning:
        text += " RETURNING " + ", ".join(_returning(r) for r in search.returning)
    if search.limit is not None:
        text += f" LIMIT {search.limit}"
    return text
