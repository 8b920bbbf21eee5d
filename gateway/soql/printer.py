"""Print a SOQL syntax tree as SOQL text.

``soql_literal`` is the one place where a value becomes SOQL text; nothing else in the project quotes or
escapes. Output is canonical: ``parser.parse_soql(print_soql(q)) == q``.

Printing is bounded: ``print_soql(query, max_length=MAX_STATEMENT)`` stops with ``StatementTooLong`` as soon
as the text passes the limit, so an oversized statement is never built whole; conditions are walked without
recursion, so nesting depth costs no stack.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from gateway.soql.syntax import (
    And,
    BooleanLiteral,
    Comparison,
    Condition,
    Count,
    DateFunction,
    DateLiteral,
    DateTimeLiteral,
    Field,
    Includes,
    InList,
    LikePattern,
    Literal,
    Not,
    NullLiteral,
    NumberLiteral,
    Operand,
    Or,
    OrderBy,
    Query,
    RelativeDate,
    SelectItem,
    StringLiteral,
    Subquery,
)

MAX_STRING_LITERAL = 4000
"""Salesforce's limit on each string in WHERE."""
MAX_STATEMENT = 100_000
"""Salesforce's limit on a whole SOQL statement."""


class StatementTooLong(ValueError):
    """The statement would pass ``limit`` characters (printing stopped there)."""

    def __init__(self, limit: int):
        super().__init__(f"the SOQL statement would be longer than {limit} characters")
        self.limit = limit


class _Text:
    """Pieces of text with a running length; past ``limit`` it raises instead of growing."""

    def __init__(self, limit: int | None):
        self.pieces: list[str] = []
        self.length = 0
        self.limit = limit

    def add(self, piece: str) -> None:
        self.length += len(piece)
        if self.limit is not None and self.length > self.limit:
            raise StatementTooLong(self.limit)
        self.pieces.append(piece)

    def text(self) -> str:
        return "".join(self.pieces)


_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


def _escape_char(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if ord(ch) < 0x20 or ord(ch) == 0x7F:
        return f"\\u{ord(ch):04x}"
    return ch


def soql_string(value: str) -> str:
    """A SOQL string literal for ``value``, quoted, every special character escaped."""
    return "'" + "".join(_escape_char(ch) for ch in value) + "'"


def like_pattern(text: str, *, leading: bool = False, trailing: bool = False) -> LikePattern:
    """A LIKE pattern matching ``text`` literally, with ``%`` before and/or after it."""
    body = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return LikePattern(("%" if leading else "") + body + ("%" if trailing else ""))


def _like_text(pattern: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_\\":
            out.append("\\" + pattern[i + 1])
            i += 2
            continue
        out.append(_escape_char(ch))
        i += 1
    return "'" + "".join(out) + "'"


def _number(value: Decimal) -> str:
    text = format(value, "f")
    return "0" if text in ("-0", "0") else text


def _datetime(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("SOQL datetime literals need a timezone")
    utc = value.astimezone(dt.UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond // 1000:03d}"
    return text + "Z"


def soql_literal(literal: Literal) -> str:
    """SOQL text for one literal: the only function that turns values into SOQL."""
    match literal:
        case StringLiteral(value):
            return soql_string(value)
        case LikePattern(value):
            return _like_text(value)
        case NumberLiteral(value):
            return _number(value)
        case BooleanLiteral(value):
            return "TRUE" if value else "FALSE"
        case NullLiteral():
            return "null"
        case DateLiteral(value):
            return value.isoformat()
        case DateTimeLiteral(value):
            return _datetime(value)
        case RelativeDate(name, n):
            return name if n is None else f"{name}:{n}"
    raise TypeError(f"not a SOQL literal: {literal!r}")


def _operand(operand: Operand) -> str:
    match operand:
        case Field():
            return operand.dotted
        case DateFunction(name, field):
            return f"{name}({field.dotted})"
    raise TypeError(f"not a SOQL operand: {operand!r}")


def _leaf(cond: Condition) -> str:
    match cond:
        case Comparison(left, op, right):
            return f"{_operand(left)} {op} {soql_literal(right)}"
        case InList(left, values, negated):
            keyword = "NOT IN" if negated else "IN"
            return f"{_operand(left)} {keyword} ({', '.join(soql_literal(v) for v in values)})"
        case Includes(left, values, excludes):
            keyword = "EXCLUDES" if excludes else "INCLUDES"
            return f"{left.dotted} {keyword} ({', '.join(soql_literal(v) for v in values)})"
    raise TypeError(f"not a SOQL condition: {cond!r}")


def _condition_pieces(cond: Condition, nested: bool) -> Iterator[str]:
    """The text of a condition piece by piece, walked with an explicit stack (no recursion)."""
    stack: list[str | tuple[Condition, bool]] = [(cond, nested)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
            continue
        current, inner = item
        match current:
            case And(items) | Or(items):
                joiner = " AND " if isinstance(current, And) else " OR "
                parts: list[str | tuple[Condition, bool]] = ["("] if inner else []
                for index, child in enumerate(items):
                    if index:
                        parts.append(joiner)
                    parts.append((child, True))
                if inner:
                    parts.append(")")
                stack.extend(reversed(parts))
            case Not(child):
                stack.extend((")", (child, False), "NOT ("))
            case _:
                yield _leaf(current)


def print_condition(cond: Condition, *, nested: bool = False) -> str:
    return "".join(_condition_pieces(cond, nested))


def _select_item(item: SelectItem, limit: int | None) -> str:
    match item:
        case Field():
            return item.dotted
        case Count():
            return "COUNT()"
        case Subquery(query):
            return f"({print_soql(query, max_length=limit)})"
    raise TypeError(f"not a SOQL select item: {item!r}")


def print_order_by(key: OrderBy) -> str:
    text = key.field.dotted + (" DESC" if key.descending else " ASC")
    if key.nulls:
        text += f" NULLS {key.nulls}"
    return text


def print_soql(query: Query, *, max_length: int | None = None) -> str:
    """The SOQL statement for ``query``; ``StatementTooLong`` as soon as it passes ``max_length``."""
    text = _Text(max_length)
    text.add("SELECT ")
    for index, item in enumerate(query.select):
        text.add((", " if index else "") + _select_item(item, max_length))
    text.add(f" FROM {query.sobject}")
    if query.where is not None:
        text.add(" WHERE ")
        for piece in _condition_pieces(query.where, False):
            text.add(piece)
    if query.order_by:
        text.add(f" ORDER BY {', '.join(print_order_by(k) for k in query.order_by)}")
    if query.limit is not None:
        text.add(f" LIMIT {query.limit}")
    if query.offset is not None:
        text.add(f" OFFSET {query.offset}")
    return text.text()
