"""OData V2 ``$filter`` syntax → the same filter tree the V4 binder consumes.

V2 and V4 share operators, precedence and most functions; they differ in a few spellings. Rather than a
second grammar, the V2 text is rewritten token by token into V4 text, which then goes through the V4
parser (``query_options.parse_filter``, with all its checks), and one small tree pass fixes what only the
model can know. So every rule of the binder — what SOQL can answer, null semantics, 501 refusals — holds
for V2 unchanged.

Token rewrites (strings are never touched):

- ``substringof('a', Name)`` → ``contains(Name, 'a')`` (arguments swapped, nested expressions kept);
- ``datetime'2024-01-31T10:00[:ss[.fffffff]]'`` → ``2024-01-31T10:00Z`` (V2 DateTime has no offset; the
  gateway serves every datetime in UTC, so it is read as UTC; a date alone means midnight);
- ``datetimeoffset'2024-01-31T10:00:00+02:00'`` → ``2024-01-31T10:00:00+02:00``;
- ``guid'…'`` → the bare GUID; ``time'PT10H'`` → ``duration'PT10H'`` (the binder then refuses both with
  the reason, as in V4);
- numbers with type suffixes: ``123L`` (Int64), ``1.5M`` (Decimal), ``1.5d`` (Double), ``1.5f`` (Single)
  → ``123``, ``1.5``;
- ``binary'…'`` / ``X'…'``: 501, nothing published is binary.

Tree pass: the V2 face publishes dates (V4 ``Edm.Date``) as ``Edm.DateTime`` at midnight UTC, so a
DateTime literal compared with a date property becomes a date comparison with the same meaning:
``Birthdate ge datetime'2024-01-31T08:00'`` is true for 2024-02-01 onwards, hence ``Birthdate gt
2024-01-31``; ``eq`` with a time other than midnight matches nothing, ``ne`` everything.

Syntax errors report positions in the V2 text the client sent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from odata_query import ast

from gateway.odata.http.errors import ODataError, bad_request, not_implemented
from gateway.odata.model.entities import EntitySet, Model, Property
from gateway.odata.read.query_options import parse_datetime, parse_filter

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<typed>(?:datetimeoffset|datetime|guid|time|binary|X)'(?:[^']|'')*')
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[LlMmDdFf]?(?!\w))
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<other>.)
    """,
    re.X | re.S,
)
_TYPED = re.compile(r"(?P<prefix>\w+)'(?P<body>(?:[^']|'')*)'", re.S)
_V2_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?)?Z?$", re.I)
_V2_DATETIMEOFFSET = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})$", re.I
)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_POSITION = re.compile(r"position (\d+)")


@dataclasses.dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    index: int  # position in the V2 text


Piece = tuple[str, int]  # (V4 text, position in the V2 text it came from)


def _syntax_error(message: str) -> ODataError:
    return bad_request(f"Syntax error in $filter: {message}", target="$filter", code="SyntaxError")


def _tokens(text: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        tokens.append(_Token(kind, match.group(), match.start()))
    return tokens


def _typed_literal(token: _Token) -> str:
    match = _TYPED.fullmatch(token.text)
    assert match is not None  # the tokenizer only makes typed tokens of this shape
    prefix, body = match["prefix"], match["body"]
    where = f"at position {token.index}"
    if prefix.lower() == "datetime":
        if not _V2_DATETIME.match(body):
            raise _syntax_error(f"datetime'{body}' {where} is not yyyy-mm-ddThh:mm[:ss[.fffffff]]")
        if "T" not in body.upper():
            body += "T00:00:00"
        return body if body.upper().endswith("Z") else body + "Z"
    if prefix.lower() == "datetimeoffset":
        if not _V2_DATETIMEOFFSET.match(body):
            raise _syntax_error(
                f"datetimeoffset'{body}' {where} is not yyyy-mm-ddThh:mm[:ss[.fffffff]] with Z or ±hh:mm"
            )
        return body
    if prefix.lower() == "guid":
        if not _GUID.match(body):
            raise _syntax_error(f"guid'{body}' {where} is not a GUID")
        return body
    if prefix.lower() == "time":
        return f"duration'{body}'"
    raise not_implemented(
        f"Binary literals ({prefix}'…' {where}) are not supported: nothing published is binary.",
        target="$filter",
    )


def _number(text: str) -> str:
    return text[:-1] if text[-1] in "LlMmDdFf" else text


def _skip_ws(tokens: list[_Token], i: int) -> int:
    while i < len(tokens) and tokens[i].kind == "ws":
        i += 1
    return i


def _arguments(tokens: list[_Token], open_index: int) -> tuple[list[list[_Token]], int]:
    """The top-level comma-separated arguments after the ``(`` at ``open_index``, and the index of the
    matching ``)``."""
    args: list[list[_Token]] = [[]]
    depth = 0
    for i in range(open_index + 1, len(tokens)):
        tok = tokens[i]
        if tok.text == "(" and tok.kind == "other":
            depth += 1
        elif tok.text == ")" and tok.kind == "other":
            if depth == 0:
                return args, i
            depth -= 1
        elif tok.text == "," and tok.kind == "other" and depth == 0:
            args.append([])
            continue
        args[-1].append(tok)
    raise _syntax_error(f"missing ')' for the '(' at position {tokens[open_index].index}")


def _rewrite(tokens: list[_Token]) -> list[Piece]:
    pieces: list[Piece] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind == "ident" and tok.text == "substringof":
            j = _skip_ws(tokens, i + 1)
            if j < len(tokens) and tokens[j].text == "(":
                args, close = _arguments(tokens, j)
                if len(args) != 2 or not all(any(t.kind != "ws" for t in a) for a in args):
                    raise _syntax_error(
                        f"substringof at position {tok.index} takes two arguments: "
                        "substringof('text', Property)"
                    )
                pieces.append(("contains(", tok.index))
                pieces.extend(_rewrite(args[1]))
                pieces.append((",", tokens[close].index))
                pieces.extend(_rewrite(args[0]))
                pieces.append((")", tokens[close].index))
                i = close + 1
                continue
        if tok.kind == "typed":
            pieces.append((_typed_literal(tok), tok.index))
        elif tok.kind == "number":
            pieces.append((_number(tok.text), tok.index))
        else:
            pieces.append((tok.text, tok.index))
        i += 1
    return pieces


def to_v4_text(text: str) -> tuple[str, list[int]]:
    """The V4 spelling of a V2 ``$filter``, and for each character of it the V2 position it came from."""
    pieces = _rewrite(_tokens(text))
    out: list[str] = []
    origin: list[int] = []
    for piece, index in pieces:
        out.append(piece)
        origin.extend([index] * len(piece))
    return "".join(out), origin


def _v2_positions(error: ODataError, origin: list[int], length: int) -> ODataError:
    def back(match: re.Match[str]) -> str:
        position = int(match.group(1))
        return f"position {origin[position] if position < len(origin) else length}"

    error.message = _POSITION.sub(back, error.message)
    return error


# --- the tree pass: DateTime literals compared with date-only properties ------------------------------

_FLIPPED = {
    ast.Lt: ast.Gt,
    ast.LtE: ast.GtE,
    ast.Gt: ast.Lt,
    ast.GtE: ast.LtE,
    ast.Eq: ast.Eq,
    ast.NotEq: ast.NotEq,
}
_NEVER = ast.Compare(ast.Eq(), ast.Identifier("Id"), ast.Null())  # every record has an Id
_ALWAYS = ast.Compare(ast.NotEq(), ast.Identifier("Id"), ast.Null())


def _property_of(node: Any, entity_set: EntitySet, model: Model) -> Property | None:
    if isinstance(node, ast.Identifier) and not node.namespace:
        return entity_set.property(node.name)
    if isinstance(node, ast.Attribute) and isinstance(node.owner, ast.Identifier):
        nav = entity_set.navigation.get(node.owner.name)
        target = model.entity_set(nav.target_set) if nav is not None else None
        return target.property(node.attr) if target is not None else None
    return None


def _instant(literal: ast.DateTime) -> dt.datetime | None:
    try:
        return parse_datetime(literal.val).astimezone(dt.UTC)
    except ValueError:
        return None  # the binder reports it


def _date_comparison(comparator: Any, prop_node: Any, instant: dt.datetime) -> Any:
    """``prop <comparator> instant`` for a date property whose values are midnight UTC."""
    day = ast.Date(instant.date().isoformat())
    midnight = instant.timetz().replace(tzinfo=None) == dt.time(0)
    kind = type(comparator)
    if midnight:
        return ast.Compare(comparator, prop_node, day)
    if kind is ast.Eq:
        return _NEVER
    if kind is ast.NotEq:
        return _ALWAYS
    if kind in (ast.Gt, ast.GtE):
        return ast.Compare(ast.Gt(), prop_node, day)
    return ast.Compare(ast.LtE(), prop_node, day)


def _fix_dates(node: Any, entity_set: EntitySet, model: Model) -> Any:
    if isinstance(node, ast.Compare) and type(node.comparator) in _FLIPPED:
        left, right, comparator = node.left, node.right, node.comparator
        if isinstance(left, ast.DateTime):
            left, right, comparator = right, left, _FLIPPED[type(comparator)]()
        prop = _property_of(left, entity_set, model)
        if isinstance(right, ast.DateTime) and prop is not None and prop.edm_type == "Edm.Date":
            instant = _instant(right)
            if instant is not None:
                return _date_comparison(comparator, left, instant)
        return node
    if isinstance(node, ast.Compare) and isinstance(node.comparator, ast.In):
        prop = _property_of(node.left, entity_set, model)
        if prop is not None and prop.edm_type == "Edm.Date" and isinstance(node.right, ast.List):
            items = []
            for item in node.right.val:
                instant = _instant(item) if isinstance(item, ast.DateTime) else None
                if instant is None:
                    items.append(item)
                elif instant.timetz().replace(tzinfo=None) == dt.time(0):
                    items.append(ast.Date(instant.date().isoformat()))
            if not items:
                return _NEVER
            return dataclasses.replace(node, right=ast.List(items))
        return node
    if isinstance(node, ast.BoolOp):
        return dataclasses.replace(
            node,
            left=_fix_dates(node.left, entity_set, model),
            right=_fix_dates(node.right, entity_set, model),
        )
    if isinstance(node, ast.UnaryOp):
        return dataclasses.replace(node, operand=_fix_dates(node.operand, entity_set, model))
    return node


def parse_v2_filter(text: str, entity_set: EntitySet, model: Model) -> Any:
    """The filter tree (odata-query AST) of a V2 ``$filter`` on ``entity_set``; 400 with V2 positions on
    a syntax error, 501 for binary literals."""
    if not text.strip():
        raise _syntax_error("the expression is empty")
    v4_text, origin = to_v4_text(text)
    try:
        tree = parse_filter(v4_text)
    except ODataError as error:
        raise _v2_positions(error, origin, len(text)) from None
    return _fix_dates(tree, entity_set, model)
