"""Parse OData system query options (syntax only; names are resolved later by ``bind``).

``$filter`` is parsed with odata-query, through a lexer subclass and a token pass that fix its quirks:
identifiers beginning with ``null``/``true``/``false``/``any``/``all`` (``Allocation__c``) lex as
identifiers, ``X in ('A')`` (a one-item list) works, operator keywords used as property names
(``Name eq 'a' or or``) are rejected, and date/datetime literals must be real dates with an offset.
``$select``, ``$orderby`` and ``$expand`` have small parsers of their own. Every syntax error is a 400
``ODataError`` whose message gives the position.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from odata_query import ast
from odata_query.exceptions import (
    ODataException,
    ParsingException,
    TokenizingException,
    UnknownFunctionException,
)
from odata_query.grammar import ODataLexer, ODataParser
from sly.lex import Token

from gateway.odata.http.errors import ODataError, bad_request, not_implemented

SelectPath = tuple[str, ...]

SUPPORTED_OPTIONS = (
    "$select",
    "$filter",
    "$orderby",
    "$expand",
    "$top",
    "$skip",
    "$count",
    "$search",
    "$format",
    "$skiptoken",
)
UNSUPPORTED_OPTIONS = ("$apply", "$compute", "$levels", "$index", "$deltatoken", "$schemaversion", "$id")
EXPAND_OPTIONS = ("$select", "$filter", "$orderby", "$expand", "$top", "$skip", "$count", "$search")

_IDENTIFIER = r"[^\W\d]\w{0,127}"
_PATH_RE = re.compile(rf"{_IDENTIFIER}(?:/{_IDENTIFIER})*")
_ORDER_ITEM_RE = re.compile(rf"\s*({_IDENTIFIER}(?:/{_IDENTIFIER})*)(?:\s+(asc|desc))?\s*")
_OPERATOR_WORDS = frozenset("and or not eq ne gt ge lt le has in add sub mul div mod".split())


@dataclass(frozen=True)
class OrderItem:
    path: tuple[str, ...]
    descending: bool = False


@dataclass(frozen=True)
class ExpandItem:
    path: tuple[str, ...]  # ("Contacts",), ("*",), ("Contacts", "$ref")
    options: QueryOptions


@dataclass(frozen=True)
class QueryOptions:
    select: tuple[SelectPath, ...] | None = None  # None = not given
    filter: Any = None  # an odata_query.ast node
    orderby: tuple[OrderItem, ...] = ()
    expand: tuple[ExpandItem, ...] = ()
    top: int | None = None
    skip: int | None = None
    count: bool = False
    search: str | None = None
    format: str | None = None
    skiptoken: str | None = None
    unsupported: tuple[str, ...] = ()  # option names bind refuses with 501 ($apply, $compute, ...)
    filter_text: str | None = field(default=None, compare=False)


def _syntax_error(option: str, message: str) -> ODataError:
    return bad_request(f"Syntax error in {option}: {message}", target=option, code="SyntaxError")


# --- $filter --------------------------------------------------------------------------------------

MAX_FILTER_TERMS = 1000
"""Conditions joined by and/or in one $filter. Salesforce Connect's longest filters (a search or-chain over
every text field, 100-Id or-chains) stay far below; SOQL's 100,000 characters bound the rest."""
MAX_FILTER_DEPTH = 100
"""Nesting of parentheses, ``not`` and property paths (``a/b/c``) in one $filter, and of parentheses in
``$expand``; hand-written and generated requests nest a few levels."""


UNIMPLEMENTED_FUNCTIONS = frozenset({"cast", "isof", "case"})
"""OData functions the parser does not know but the ABNF allows: 501, not a syntax error."""
# valid OData (per the ABNF) the parser cannot read: what the text at the failing position starts with
_UNIMPLEMENTED_SYNTAX = (
    (re.compile(r"\$it\b"), "$it (the current instance)"),
    (re.compile(r"\$root\b"), "$root (paths from the service root)"),
    (re.compile(r"@[A-Za-z_]"), "parameter aliases (@name)"),
    (re.compile(r"\["), "JSON array literals"),
    (re.compile(r"\{"), "JSON object literals"),
    (re.compile(r"has\s"), "the has operator (enumeration flags)"),
    (re.compile(r"divby\s"), "arithmetic (divby)"),
    (re.compile(r"\$count\b"), "$count of a collection"),
)


def _refuse_unimplemented_syntax(text: str, position: int) -> None:
    """501 naming the construct when valid OData the parser cannot read starts at ``position``."""
    rest = text[position:].lstrip()
    for pattern, construct in _UNIMPLEMENTED_SYNTAX:
        if pattern.match(rest):
            raise not_implemented(f"{construct} in $filter is valid OData but not supported.", "$filter")


def _check_filter_size(tokens: list[Token]) -> None:
    """400 naming the limit before a filter too long or too deeply nested is parsed or translated."""
    terms, depth, deepest, nots, path = 1, 0, 0, 0, 0
    for tok in tokens:
        if tok.type == "/":
            path += 1  # a/b/c nests member access like parentheses
        elif tok.type != "ODATA_IDENTIFIER":
            path = 0
        deepest = max(deepest, path)
        if tok.type in ("AND", "OR"):
            terms += 1
        if tok.type == "(":
            depth += 1
        elif tok.type == ")":
            depth -= 1
        if tok.type == "NOT":
            nots += 1
        elif tok.type not in ("WS", "("):
            nots = 0  # a run of ``not not (…`` nests like parentheses
        deepest = max(deepest, depth + nots)
    if terms > MAX_FILTER_TERMS:
        raise bad_request(
            f"The $filter joins {terms} conditions with and/or; at most {MAX_FILTER_TERMS} are accepted. "
            "Use 'in' for lists of values, or split the request.",
            target="$filter",
            code="FilterTooLong",
        )
    if deepest > MAX_FILTER_DEPTH:
        raise bad_request(
            f"The $filter nests parentheses, 'not' and property paths {deepest} deep; at most "
            f"{MAX_FILTER_DEPTH} levels are accepted.",
            target="$filter",
            code="FilterTooDeep",
        )


class FilterLexer(ODataLexer):
    """odata-query's lexer with keyword literals that only match whole words."""

    tokens = ODataLexer.tokens

    @_(r"(?:true|false)(?!\w)")  # noqa: F821 - sly injects ``_`` into the class body
    def BOOLEAN(self, t):
        t.value = ast.Boolean(t.value)
        return t

    @_(r"null(?!\w)")  # noqa: F821
    def NULL(self, t):
        t.value = ast.Null()
        return t

    # ``not(`` is common in the wild; the ABNF wants ``not`` + whitespace. Accept both.
    @_(r"not(?:\s+|(?=\())")  # noqa: F821
    def NOT(self, t):
        t.value = ast.Not()
        return t

    @_(r"\s+in(?:\s+|(?=\())")  # noqa: F821
    def IN(self, t):
        t.value = ast.In()
        return t

    @_(r"any(?=\s*\()")  # noqa: F821
    def ANY(self, t):
        t.value = ast.Any()
        return t

    @_(r"all(?=\s*\()")  # noqa: F821
    def ALL(self, t):
        t.value = ast.All()
        return t


def _token(type_: str, value: Any, index: int) -> Token:
    tok = Token()
    tok.type, tok.value, tok.lineno, tok.index = type_, value, 1, index
    return tok


def _checked_tokens(text: str) -> list[Token]:
    """Tokens of ``text``, with literals checked and one-item ``in`` lists given the trailing comma
    odata-query wants (``('A')`` → ``('A',)``)."""
    tokens = list(FilterLexer().tokenize(text))
    for tok in tokens:
        if tok.type == "ODATA_IDENTIFIER" and tok.value.name.lower() in _OPERATOR_WORDS:
            _refuse_unimplemented_syntax(text, tok.index)
            raise _syntax_error("$filter", f"unexpected '{tok.value.name}' at position {tok.index}")
        if tok.type == "DATE":
            _check_date(tok.value.val, tok.index)
        elif tok.type == "DATETIME":
            _check_datetime(tok.value.val, tok.index)
    comma_before: set[int] = set()  # indexes of the ')' closing a one-item ``in`` list
    for i, tok in enumerate(tokens):
        if tok.type != "IN":
            continue
        j = i + 1
        while j < len(tokens) and tokens[j].type == "WS":
            j += 1
        if j >= len(tokens) or tokens[j].type != "(":
            continue
        depth, commas = 0, 0
        for k in range(j, len(tokens)):
            if tokens[k].type == "(":
                depth += 1
            elif tokens[k].type == ")":
                depth -= 1
                if depth == 0:
                    if commas == 0 and k > j + 1:
                        comma_before.add(k)
                    break
            elif tokens[k].type == "," and depth == 1:
                commas += 1
    out: list[Token] = []
    for i, tok in enumerate(tokens):
        if i in comma_before:
            out.append(_token(",", ",", tok.index))
        out.append(tok)
    return out


def _check_date(text: str, position: int) -> None:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise _syntax_error("$filter", f"invalid date {text} at position {position}") from None


def _check_datetime(text: str, position: int) -> None:
    if not re.search(r"(Z|[+-]\d\d:\d\d)$", text, re.I):
        raise _syntax_error(
            "$filter",
            f"the date-time {text} at position {position} needs a time zone offset (Z or +hh:mm)",
        )
    try:
        parse_datetime(text)
    except ValueError:
        raise _syntax_error("$filter", f"invalid date-time {text} at position {position}") from None


def parse_datetime(text: str) -> dt.datetime:
    """An OData DateTimeOffset literal as an aware datetime (seconds and fractions optional)."""
    value = dt.datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("no offset")
    return value


def parse_filter(text: str) -> Any:
    """The odata-query AST of a ``$filter`` expression; 400 with the position on a syntax error."""
    if not text.strip():
        raise _syntax_error("$filter", "the expression is empty")
    try:
        tokens = _checked_tokens(text)
        _check_filter_size(tokens)
        return ODataParser().parse(iter(tokens))
    except TokenizingException as exc:
        _refuse_unimplemented_syntax(text, exc.token.index)
        raise _syntax_error("$filter", f"unexpected character at position {exc.token.index}") from None
    except ParsingException as exc:
        if exc.eof or exc.token is None:
            raise _syntax_error("$filter", f"unexpected end of expression at position {len(text)}") from None
        position = exc.token.index
        _refuse_unimplemented_syntax(text, position)
        shown = text[position:].strip()[:20] or exc.token.type
        raise _syntax_error("$filter", f"unexpected '{shown}' at position {position}") from None
    except UnknownFunctionException as exc:
        name = exc.function_name
        if name in UNIMPLEMENTED_FUNCTIONS:
            raise not_implemented(
                f"The function {name}() is valid OData but not supported: SOQL has no equivalent.", "$filter"
            ) from None
        raise _syntax_error("$filter", f"unknown function '{name}'") from None
    except ODataException as exc:
        raise _syntax_error("$filter", str(exc)) from None


def operand_chain(node: Any, op: type) -> list[Any]:
    """The operands of a chain of one boolean operator (``a or b or c``), in order, without recursion."""
    operands, stack = [], [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.BoolOp) and isinstance(item.op, op):
            stack.extend((item.right, item.left))
        else:
            operands.append(item)
    return operands


# --- $select, $orderby, $expand ------------------------------------------------------------------


def _split_top_level(text: str, separator: str, option: str, offset: int = 0) -> list[tuple[str, int]]:
    """Split on ``separator`` outside parentheses and quoted strings; each part with its position."""
    parts: list[tuple[str, int]] = []
    depth, start, i, quoted = 0, 0, 0, False
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "'":
                if text[i + 1 : i + 2] == "'":
                    i += 1
                else:
                    quoted = False
        elif ch == "'":
            quoted = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise _syntax_error(option, f"unbalanced ')' at position {offset + i}")
        elif ch == separator and depth == 0:
            parts.append((text[start:i], offset + start))
            start = i + 1
        i += 1
    if quoted:
        raise _syntax_error(option, f"unterminated string at position {offset + len(text)}")
    if depth:
        raise _syntax_error(option, f"missing ')' at position {offset + len(text)}")
    parts.append((text[start:], offset + start))
    return parts


def parse_select(text: str) -> tuple[SelectPath, ...]:
    items = []
    for part, position in _split_top_level(text, ",", "$select"):
        item = part.strip()
        if item == "*":
            items.append(("*",))
        elif _PATH_RE.fullmatch(item):
            items.append(tuple(item.split("/")))
        else:
            what = f"'{item}'" if item else "an empty item"
            raise _syntax_error("$select", f"{what} at position {position} is not a property path")
    return tuple(items)


def parse_orderby(text: str) -> tuple[OrderItem, ...]:
    items = []
    for part, position in _split_top_level(text, ",", "$orderby"):
        match = _ORDER_ITEM_RE.fullmatch(part)
        if match is None:
            if "(" in part:
                raise ODataError(
                    501,
                    "NotImplemented",
                    f"$orderby supports property paths only, not the expression '{part.strip()}'",
                    "$orderby",
                )
            what = f"'{part.strip()}'" if part.strip() else "an empty item"
            raise _syntax_error("$orderby", f"{what} at position {position} is not 'path [asc|desc]'")
        items.append(OrderItem(tuple(match.group(1).split("/")), match.group(2) == "desc"))
    return tuple(items)


_EXPAND_ITEM_RE = re.compile(
    rf"\s*(\*|{_IDENTIFIER}(?:/{_IDENTIFIER})*(?:/\$ref|/\$count)?)\s*(?:\((.*)\))?\s*", re.S
)


def _nesting(text: str) -> int:
    """How deeply parentheses nest in ``text``, outside string literals."""
    deepest = depth = 0
    quoted = False
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif not quoted and char == ")":
            depth -= 1
    return deepest


def parse_expand(text: str) -> tuple[ExpandItem, ...]:
    if _nesting(text) > MAX_FILTER_DEPTH:
        raise bad_request(
            f"The $expand nests options more than {MAX_FILTER_DEPTH} levels deep; the gateway expands one "
            "level.",
            target="$expand",
            code="ExpandTooDeep",
        )
    items = []
    for part, position in _split_top_level(text, ",", "$expand"):
        match = _EXPAND_ITEM_RE.fullmatch(part)
        if match is None:
            what = f"'{part.strip()}'" if part.strip() else "an empty item"
            raise _syntax_error("$expand", f"{what} at position {position} is not a navigation path")
        path = tuple(match.group(1).split("/"))
        options = QueryOptions()
        if match.group(2) is not None:
            inner_position = position + match.start(2)
            pairs = []
            for option, option_position in _split_top_level(match.group(2), ";", "$expand", inner_position):
                name, equals, value = option.strip().partition("=")
                if not equals:
                    raise _syntax_error(
                        "$expand", f"'{option.strip()}' at position {option_position} is not '$option=value'"
                    )
                pairs.append((name.strip(), value))
            options = _parse_pairs(pairs, allowed=EXPAND_OPTIONS, context="$expand")
        items.append(ExpandItem(path, options))
    return tuple(items)


# --- the whole query ------------------------------------------------------------------------------


def _non_negative_int(name: str, value: str) -> int:
    if not re.fullmatch(r"\d{1,18}", value.strip()):
        raise bad_request(f"{name} must be a non-negative integer, not '{value}'", target=name)
    return int(value)


def _pairs(args: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    getlist = getattr(args, "getlist", None)
    if getlist is not None:  # werkzeug MultiDict: keep repeated options so they can be refused
        return [(key, value) for key in args.keys() for value in getlist(key)]
    if isinstance(args, Mapping):
        return list(args.items())
    return list(args)


def parse_query_options(args: Mapping[str, str] | Iterable[tuple[str, str]]) -> QueryOptions:
    """The system query options among ``args``; other (custom) options are ignored."""
    pairs = [(k, v) for k, v in _pairs(args) if k.startswith("$")]
    return _parse_pairs(pairs, allowed=SUPPORTED_OPTIONS, context=None)


def _parse_pairs(
    pairs: list[tuple[str, str]], *, allowed: tuple[str, ...], context: str | None
) -> QueryOptions:
    seen: set[str] = set()
    values: dict[str, Any] = {}
    unsupported: list[str] = []
    where = f" inside {context}" if context else ""
    for name, value in pairs:
        if name in seen:
            raise bad_request(f"The query option {name} is given more than once{where}", target=name)
        seen.add(name)
        if name in UNSUPPORTED_OPTIONS:
            if name == "$levels" and not re.fullmatch(r"[1-9][0-9]*|max", value):
                raise _syntax_error(name, f"'{value}' is not a number of levels (1, 2, … or max)")
            unsupported.append(name)
            continue
        if name not in allowed:
            raise bad_request(f"Unknown query option {name}{where}", target=context or name)
        if not value.strip() and name != "$search":
            raise _syntax_error(name, "the value is empty")
        if name == "$select":
            values["select"] = parse_select(value)
        elif name == "$filter":
            values["filter"] = parse_filter(value)
            values["filter_text"] = value
        elif name == "$orderby":
            values["orderby"] = parse_orderby(value)
        elif name == "$expand":
            values["expand"] = parse_expand(value)
        elif name in ("$top", "$skip"):
            values[name[1:]] = _non_negative_int(name, value)
        elif name == "$count":
            if value not in ("true", "false"):
                raise bad_request(f"$count must be true or false, not '{value}'", target=name)
            values["count"] = value == "true"
        else:  # $search, $format, $skiptoken: kept as text
            values[name[1:]] = value
    return QueryOptions(unsupported=tuple(unsupported), **values)
