"""Parse SOQL text into the syntax tree of ``gateway.soql.syntax`` (the local org's side of SOQL).

A hand-written tokenizer and recursive-descent parser for exactly the subset the gateway prints, with
Salesforce's rules: keywords in any case, string escapes as Salesforce has them (``''`` is an error),
``\\%`` and ``\\_`` only inside ``LIKE``, AND and OR never mixed without parentheses. Every failure is a
``SoqlSyntaxError`` whose message reads like Salesforce's MALFORMED_QUERY; ``error_layout`` renders the
real org's ``^`` / ``ERROR at Row:r:Column:c`` layout around it.

``parse_soql(print_soql(q)) == q`` for every tree the printer can print.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from gateway.soql.syntax import (
    DATE_FUNCTIONS,
    RELATIVE_DATES,
    RELATIVE_DATES_N,
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

RESERVED = frozenset(
    "AND ASC DESC EXCLUDES FIRST FROM GROUP HAVING IN INCLUDES LAST LIKE LIMIT NOT NULL NULLS OR "
    "SELECT WHERE WITH OFFSET ORDER BY TRUE FALSE".split()
)
"""Words that cannot be a field or object name."""


class SoqlSyntaxError(Exception):
    """A malformed query: ``message`` as Salesforce words it, ``position`` the 0-based offset in the text."""

    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.message = message
        self.position = position


def error_layout(soql: str, position: int, message: str) -> str:
    """The real org's error text: the query row, a caret under the column, the row and column, the message."""
    position = max(0, min(position, len(soql)))
    row = soql.count("\n", 0, position) + 1
    line_start = soql.rfind("\n", 0, position) + 1
    line_end = soql.find("\n", position)
    line = soql[line_start : len(soql) if line_end < 0 else line_end]
    column = position - line_start + 1
    return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{message}"


# --- tokens ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # word, string, number, date, datetime, op, punct, eof
    text: str  # the source text
    position: int
    value: object = None

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))"
)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_OPS = ("!=", "<>", "<=", ">=", "=", "<", ">")
_SIMPLE_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


def _string_end(text: str, start: int) -> int:
    """The index just past the closing quote of the string literal opening at ``start``."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "'":
            return i + 1
        i += 1
    raise SoqlSyntaxError(f"unexpected token: '{text[start:]}'", start)


def _datetime_value(match: re.Match, position: int) -> dt.datetime:
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        tz = dt.UTC
        if not zulu:
            offset = dt.timedelta(hours=int(off_h), minutes=int(off_m))
            tz = dt.timezone(-offset if sign == "-" else offset)
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        return dt.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz
        )
    except ValueError:
        raise SoqlSyntaxError(f"unexpected token: '{match[0]}'", position) from None


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "'":
            end = _string_end(text, i)
            tokens.append(Token("string", text[i:end], i))
            i = end
            continue
        if ch.isdigit() or (ch == "-" and i + 1 < len(text) and text[i + 1].isdigit()):
            if m := _DATETIME.match(text, i):
                tokens.append(Token("datetime", m[0], i, _datetime_value(m, i)))
            elif (m := _DATE.match(text, i)) and not (m.end() < len(text) and text[m.end()].isalnum()):
                try:
                    value = dt.date(int(m[1]), int(m[2]), int(m[3]))
                except ValueError:
                    raise SoqlSyntaxError(f"unexpected token: '{m[0]}'", i) from None
                tokens.append(Token("date", m[0], i, value))
            else:
                m = _NUMBER.match(text, i)
                tokens.append(Token("number", m[0], i, Decimal(m[0])))
            i = m.end()
            continue
        if m := _WORD.match(text, i):
            tokens.append(Token("word", m[0], i))
            i = m.end()
            continue
        op = next((op for op in _OPS if text.startswith(op, i)), None)
        if op:
            tokens.append(Token("op", op, i))
            i += len(op)
            continue
        if ch in "(),:":
            tokens.append(Token("punct", ch, i))
            i += 1
            continue
        raise SoqlSyntaxError(f"unexpected token: '{ch}'", i)
    tokens.append(Token("eof", "<EOF>", len(text)))
    return tokens


def _unescape(token: Token, *, like: bool) -> str:
    """The value of a string literal token; in LIKE, ``\\%`` ``\\_`` ``\\\\`` stay escaped in the pattern."""
    raw = token.text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = raw[i + 1] if i + 1 < len(raw) else ""
        if like and nxt in ("%", "_", "\\"):
            out.append("\\" + nxt)
            i += 2
        elif nxt in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", raw[i + 2 : i + 6]):
            out.append(chr(int(raw[i + 2 : i + 6], 16)))
            i += 6
        else:
            raise SoqlSyntaxError(
                f"Invalid string literal '{raw}'. Illegal character sequence '\\{nxt}' in string literal.",
                token.position + 1 + i,
            )
    text = "".join(out)
    # a \uXXXX surrogate pair stands for one character
    return text.encode("utf-16", "surrogatepass").decode("utf-16") if _has_surrogates(text) else text


def _has_surrogates(text: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


# --- parser ---------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.token
        if token.kind != "eof":
            self.index += 1
        return token

    def unexpected(self, token: Token | None = None) -> SoqlSyntaxError:
        token = token or self.token
        return SoqlSyntaxError(f"unexpected token: '{token.text}'", token.position)

    def at_word(self, *words: str) -> bool:
        return self.token.upper in words

    def accept_word(self, word: str) -> bool:
        if self.token.upper == word:
            self.advance()
            return True
        return False

    def expect_word(self, word: str) -> Token:
        if self.token.upper != word:
            raise self.unexpected()
        return self.advance()

    def accept_punct(self, ch: str) -> bool:
        if self.token.kind == "punct" and self.token.text == ch:
            self.advance()
            return True
        return False

    def expect_punct(self, ch: str) -> Token:
        if not (self.token.kind == "punct" and self.token.text == ch):
            raise self.unexpected()
        return self.advance()

    # -- query --

    def query(self, *, subquery: bool = False) -> Query:
        self.expect_word("SELECT")
        select = [self.select_item()]
        while self.accept_punct(","):
            select.append(self.select_item())
        self.expect_word("FROM")
        sobject = self.name()
        where = None
        if self.accept_word("WHERE"):
            where = self.condition()
        order_by: list[OrderBy] = []
        if self.at_word("ORDER"):
            self.advance()
            self.expect_word("BY")
            order_by.append(self.order_key())
            while self.accept_punct(","):
                order_by.append(self.order_key())
        limit = self.integer() if self.accept_word("LIMIT") else None
        offset = self.integer() if self.accept_word("OFFSET") else None
        if subquery:
            if not (self.token.kind == "punct" and self.token.text == ")"):
                raise self.unexpected()
        elif self.token.kind != "eof":
            raise self.unexpected()
        return Query(tuple(select), sobject, where, tuple(order_by), limit, offset)

    def name(self) -> str:
        token = self.token
        if token.kind != "word" or "." in token.text or token.upper in RESERVED:
            raise self.unexpected()
        self.advance()
        return token.text

    def field(self) -> Field:
        token = self.token
        if token.kind != "word" or any(part.upper() in RESERVED for part in token.text.split(".")):
            raise self.unexpected()
        self.advance()
        return Field(tuple(token.text.split(".")))

    def select_item(self) -> SelectItem:
        if self.token.kind == "punct" and self.token.text == "(":
            self.advance()
            inner = self.query(subquery=True)
            self.expect_punct(")")
            return Subquery(inner)
        if self.token.upper == "COUNT" and self.peek().text == "(":
            self.advance()
            self.expect_punct("(")
            self.expect_punct(")")
            return Count()
        return self.field()

    def integer(self) -> int:
        token = self.token
        if token.kind != "number" or not re.fullmatch(r"\d+", token.text):
            raise self.unexpected()
        self.advance()
        return int(token.text)

    def order_key(self) -> OrderBy:
        field = self.field()
        descending = False
        if self.accept_word("DESC"):
            descending = True
        else:
            self.accept_word("ASC")
        nulls = None
        if self.accept_word("NULLS"):
            if not self.at_word("FIRST", "LAST"):
                raise self.unexpected()
            nulls = self.advance().upper
        return OrderBy(field, descending, nulls)

    # -- conditions --

    def condition(self) -> Condition:
        first = self.term()
        if not self.at_word("AND", "OR"):
            return first
        joiner = self.token.upper
        items = [first]
        while self.at_word("AND", "OR"):
            if self.token.upper != joiner:
                raise self.unexpected()
            self.advance()
            items.append(self.term())
        return And(tuple(items)) if joiner == "AND" else Or(tuple(items))

    def term(self) -> Condition:
        if self.accept_word("NOT"):
            return Not(self.term())
        if self.accept_punct("("):
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.simple()

    def operand(self) -> Operand:
        token = self.token
        if token.kind == "word" and token.upper in DATE_FUNCTIONS and self.peek().text == "(":
            self.advance()
            self.expect_punct("(")
            field = self.field()
            self.expect_punct(")")
            return DateFunction(token.upper, field)
        return self.field()

    def simple(self) -> Condition:
        left = self.operand()
        token = self.token
        if token.kind == "op":
            self.advance()
            op = "!=" if token.text == "<>" else token.text
            return Comparison(left, op, self.literal())
        if self.accept_word("LIKE"):
            string = self.token
            if string.kind != "string":
                raise self.unexpected()
            self.advance()
            return Comparison(left, "LIKE", LikePattern(_unescape(string, like=True)))
        if self.accept_word("IN"):
            return InList(left, self.literal_list(), False)
        if self.at_word("NOT") and self.peek().upper == "IN":
            self.advance()
            self.advance()
            return InList(left, self.literal_list(), True)
        if self.at_word("INCLUDES", "EXCLUDES"):
            excludes = self.advance().upper == "EXCLUDES"
            if not isinstance(left, Field):
                raise self.unexpected(token)
            values = self.literal_list()
            for value in values:
                if not isinstance(value, StringLiteral):
                    raise self.unexpected()
            return Includes(left, values, excludes)  # type: ignore[arg-type]
        raise self.unexpected()

    def literal_list(self) -> tuple[Literal, ...]:
        self.expect_punct("(")
        values = [self.literal()]
        while self.accept_punct(","):
            values.append(self.literal())
        self.expect_punct(")")
        return tuple(values)

    def literal(self) -> Literal:
        token = self.token
        match token.kind:
            case "string":
                self.advance()
                return StringLiteral(_unescape(token, like=False))
            case "number":
                self.advance()
                return NumberLiteral(token.value)  # type: ignore[arg-type]
            case "date":
                self.advance()
                return DateLiteral(token.value)  # type: ignore[arg-type]
            case "datetime":
                self.advance()
                return DateTimeLiteral(token.value)  # type: ignore[arg-type]
            case "word":
                word = token.upper
                if word in ("TRUE", "FALSE"):
                    self.advance()
                    return BooleanLiteral(word == "TRUE")
                if word == "NULL":
                    self.advance()
                    return NullLiteral()
                if word in RELATIVE_DATES:
                    self.advance()
                    return RelativeDate(word)
                if word in RELATIVE_DATES_N:
                    self.advance()
                    self.expect_punct(":")
                    return RelativeDate(word, self.integer())
        raise self.unexpected()


def parse_soql(text: str) -> Query:
    """The syntax tree of a SOQL statement; raises ``SoqlSyntaxError`` when it is malformed."""
    return _Parser(text).query()
