"""SOQL execution on the local org's store, with Salesforce's semantics rather than SQLite's.

``execute`` parses the statement, checks it against the schema (raising the errors Salesforce raises, in
its layout), translates it into one parameterised SQLite statement that finds the matching Ids in order,
and returns a ``QueryResult`` that builds records batch by batch from those Ids.

Salesforce semantics that differ from SQL and are reproduced here:
- text ``=`` ``!=`` ``<`` ``IN`` ``LIKE`` and ORDER BY ignore case (Unicode case folding, collation SFCI);
- ``!=`` and ``NOT IN`` also match nulls; every condition is two-valued, so ``NOT`` of a false
  comparison against a null is true;
- ORDER BY puts nulls first in both directions unless ``NULLS LAST``;
- on a boolean field null means false (``= null`` is ``= false``, ``!= null`` is ``!= false``);
- a date literal only for date fields, a datetime literal only for datetime fields, strings only for text
  fields; ``TODAY`` / ``LAST_N_DAYS:n`` are day ranges in the org's time zone (UTC).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import math
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from gateway.soql.parser import SoqlSyntaxError, Token, error_layout, parse_soql, tokenize
from gateway.soql.search_words import index_text
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
    Query,
    RelativeDate,
    StringLiteral,
    Subquery,
)

from . import date_literals, ids, records
from .errors import SalesforceError, invalid_type
from .schema import SObjectType

if TYPE_CHECKING:
    from .access import UserAccess

MAX_OFFSET = 2000
MAX_RELATIONSHIP_DEPTH = 5
MAX_INT = 2_147_483_647
MIN_INT64, MAX_INT64 = -(2**63), 2**63 - 1
MAX_STATEMENT_LENGTH = 100_000
MAX_CONDITION_DEPTH = 100  # nested NOT / parentheses; far beyond any generated or hand-written filter
# a datetime beyond what the store's text can hold sorts after (or before) every stored value
_AFTER_EVERY_MOMENT, _BEFORE_EVERY_MOMENT = "9999-12-31T23:59:59.999Z~", "0000"
COLLATION = "SFCI"

_NUMERIC_TYPES = frozenset({"int", "double", "currency", "percent"})
_ID_TYPES = frozenset({"id", "reference"})
_LOW_CARDINALITY_TYPES = frozenset({"id", "boolean", "picklist", "multipicklist", "combobox"})
_CASE_INSENSITIVE_TYPES = records.TEXT_TYPES - _ID_TYPES
_TYPE_WORDS = {
    "date": "date",
    "datetime": "dateTime",
    "boolean": "boolean",
    "int": "integer",
    "double": "double",
    "currency": "double",
    "percent": "double",
}
# CALENDAR_YEAR(f) and kin: the part of the stored text (1-based start, length) they read.
_DATE_PARTS = {
    "CALENDAR_YEAR": (1, 4),
    "CALENDAR_MONTH": (6, 2),
    "DAY_IN_MONTH": (9, 2),
    "HOUR_IN_DAY": (12, 2),
}


# --- SQLite functions -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def _sort_key(text: str) -> tuple[str, str]:
    """Letters first without their accents, then with them, case ignored: ``e`` < ``é`` < ``f``."""
    folded = text.casefold()
    base = "".join(ch for ch in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(ch))
    return base, folded


def _collate(a: str, b: str) -> int:
    if a.isascii() and b.isascii():  # the common case, without the cost of Unicode normalisation
        la, lb = a.lower(), b.lower()
        return (la > lb) - (la < lb)
    ka, kb = _sort_key(a), _sort_key(b)
    return (ka > kb) - (ka < kb)


@functools.lru_cache(maxsize=256)
def _like_regex(pattern: str) -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _sf_like(value: str | None, pattern: str) -> int:
    return int(value is not None and _like_regex(pattern).fullmatch(value) is not None)


def _picklist_set(value: str | None) -> frozenset[str]:
    if not value:
        return frozenset()
    return frozenset(part.strip().casefold() for part in value.split(";") if part.strip())


def _sf_includes(value: str | None, groups_json: str) -> int:
    """1 when the multi-select value holds every value of at least one group."""
    present = _picklist_set(value)
    return int(any(frozenset(group) <= present for group in json.loads(groups_json)))


def _sf_mp_in(value: str | None, sets_json: str) -> int:
    """1 when the multi-select value is exactly one of the given sets (order and case aside)."""
    present = _picklist_set(value)
    return int(any(frozenset(group) == present for group in json.loads(sets_json)))


def register_sql_functions(conn: sqlite3.Connection) -> None:
    """Give a connection the collation and functions the engine's SQL (and its indexes) use."""
    conn.create_collation(COLLATION, _collate)
    conn.create_function("sf_like", 2, _sf_like, deterministic=True)
    conn.create_function("sf_includes", 2, _sf_includes, deterministic=True)
    conn.create_function("sf_mp_in", 2, _sf_mp_in, deterministic=True)
    conn.create_function("sosl_words", 1, index_text, deterministic=True)  # the search index's text


def _prepare(conn: sqlite3.Connection) -> None:
    """Register the engine's functions on the connection unless they already are."""
    try:
        conn.execute("SELECT sf_like(NULL, '')")
    except sqlite3.OperationalError:
        register_sql_functions(conn)


def _ensure_index(conn: sqlite3.Connection, table: str, column: str, collate: bool) -> None:
    """Create (once) the index a sort or an equality filter on ``column`` needs to be fast."""
    name = f"sf_{'ci' if collate else 'ix'}_{table}_{column}"
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)).fetchone()
    if exists or conn.in_transaction:
        return
    collation = f" COLLATE {COLLATION}" if collate else ""
    conn.execute(f'CREATE INDEX "{name}" ON "{table}" ("{column}"{collation}, "Id")')
    # statistics let SQLite choose between a sort index and a filter index by selectivity
    conn.execute(f'ANALYZE "{table}"')


# --- errors ---------------------------------------------------------------------------------------


def too_complicated() -> SalesforceError:
    return SalesforceError(
        400,
        "QUERY_TOO_COMPLICATED",
        "Query is either selecting too many fields or the filter conditions are too complicated.",
    )


def _condition_depth(cond: Condition | None) -> int:
    """How deeply NOT / AND / OR nest in a condition (counted without recursion)."""
    deepest, stack = 0, [(cond, 1)] if cond is not None else []
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, Not):
            stack.append((item.item, depth + 1))
        elif isinstance(item, And | Or):
            stack.extend((child, depth + 1) for child in item.items)
    return deepest


def _balanced(joiner: str, parts: list[str]) -> str:
    """``(a) OR (b) OR …`` grouped as a balanced tree: SQLite refuses expression trees deeper than 1,000,
    and a flat chain of 1,000 terms is that deep; the balanced one is 10 deep."""
    if len(parts) <= 2:
        return joiner.join(f"({p})" for p in parts)
    middle = len(parts) // 2
    return f"({_balanced(joiner, parts[:middle])}){joiner}({_balanced(joiner, parts[middle:])})"


def _stored_moment(moment: dt.datetime) -> str:
    try:
        return records.stored_datetime(moment)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-14:00 is in the year 10000 in UTC
        return _AFTER_EVERY_MOMENT if moment.year > 1 else _BEFORE_EVERY_MOMENT


class _Locator:
    """Finds where a name occurs in the statement, for the ``^`` of Salesforce's error layout."""

    def __init__(self, soql: str):
        self.soql = soql
        try:
            self.tokens: list[Token] = tokenize(soql)
        except SoqlSyntaxError:
            self.tokens = []

    def position(self, text: str, *, after_from: bool = False) -> int:
        previous = ""
        for exact in (True, False):
            for token in self.tokens:
                matches = token.text == text if exact else token.text.lower() == text.lower()
                if token.kind == "word" and matches and (not after_from or previous == "FROM"):
                    return token.position
                previous = token.upper
        return 0

    def error(self, status: int, code: str, message: str, at: str, **kw: bool) -> SalesforceError:
        return SalesforceError(status, code, error_layout(self.soql, self.position(at, **kw), message))


def _no_such_column(name: str, entity: str) -> str:
    return (
        f"No such column '{name}' on entity '{entity}'. If you are attempting to use a custom field, be sure "
        "to append the '__c' after the custom field name. Please reference your WSDL or the describe call "
        "for the appropriate names."
    )


def _bad_relationship(name: str, where: str) -> str:
    return (
        f"Didn't understand relationship '{name}' in {where}. If you are attempting to use a custom "
        "relationship, be sure to append the '__r' after the custom relationship name. Please reference "
        "your WSDL or the describe call for the appropriate names."
    )


# --- planning -------------------------------------------------------------------------------------


@dataclass
class _Column:
    """A field of the select list, resolved: its describe entry and where its value is read from."""

    field: dict
    alias: str
    steps: tuple[tuple[str, str], ...]  # (relationshipName, join alias) from the root to the field's object

    @property
    def sql(self) -> str:
        return f'{self.alias}."{self.field["name"]}"'


@dataclass
class _Join:
    alias: str
    sobject: SObjectType
    sql: str


@dataclass
class _Child:
    name: str  # the child relationship name as the describe spells it
    plan: _Plan
    parent_field: str


@dataclass
class _Plan:
    """One (sub)query, checked and translated: the SQL pieces and how to build its records."""

    sobject: SObjectType
    query: Query
    joins: dict[tuple[str, ...], _Join] = field(default_factory=dict)
    columns: list[_Column | _Child | None] = field(default_factory=list)
    where_sql: str = ""
    where_params: list[Any] = field(default_factory=list)
    order_sql: str = 't0."Id"'
    count_only: bool = False

    @property
    def from_sql(self) -> str:
        return " ".join([f'"{self.sobject.name}" AS t0', *(j.sql for j in self.joins.values())])


class _Planner:
    def __init__(
        self,
        store: Any,
        soql: str,
        now: dt.datetime,
        api_version: str,
        include_deleted: bool,
        access: UserAccess | None = None,
    ):
        self.store = store
        self.access = access
        # names resolve against what the running user's describe shows: unreadable is unknown
        self.schema = access.schema if access is not None else store.schema
        self.locator = _Locator(soql)
        self.now = now
        self.api_version = api_version
        self.include_deleted = include_deleted
        self.index_wanted: list[tuple[str, str, bool]] = []

    # -- select --

    def plan(self, query: Query, sobject: SObjectType, *, child_field: str | None = None) -> _Plan:
        plan = _Plan(sobject, query)
        seen: set[str] = set()
        for item in query.select:
            if isinstance(item, Count):
                plan.count_only = True
                plan.columns.append(None)
                continue
            if isinstance(item, Subquery):
                plan.columns.append(self.child(plan, item.query))
                continue
            key = item.dotted.lower()
            if key in seen:
                raise self.locator.error(
                    400, "MALFORMED_QUERY", f"duplicate field selected: {item.dotted}", item.dotted
                )
            seen.add(key)
            plan.columns.append(self.resolve(plan, item))
        if plan.count_only and len(query.select) > 1:
            raise self.locator.error(400, "MALFORMED_QUERY", "unexpected token: ','", "COUNT")
        conditions, params = [], []
        if not self.include_deleted:
            conditions.append('t0."IsDeleted" = 0')
        if self.access is not None:
            conditions.append(self.access.visibility_sql(sobject.name, "t0"))
        if query.where is not None:
            sql, where_params = self.condition(plan, query.where)
            conditions.append(sql)
            params.extend(where_params)
        # each condition in parentheses: an OR in the WHERE must not escape the IsDeleted condition
        plan.where_sql = " AND ".join(f"({c})" for c in conditions) or "1"
        plan.where_params = params
        plan.order_sql = self.order_by(plan)
        self.check_limits(query)
        return plan

    def check_limits(self, query: Query) -> None:
        for value in (query.limit, query.offset):
            if value is not None and value > MAX_INT:
                raise self.locator.error(400, "MALFORMED_QUERY", f'For input string: "{value}"', str(value))
        if query.offset is not None and query.offset > MAX_OFFSET:
            raise SalesforceError(
                400, "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            )

    def child(self, plan: _Plan, query: Query) -> _Child:
        found = plan.sobject.child(query.sobject)
        child_type = self.schema.get(found[0]) if found else None
        if child_type is None:
            raise self.locator.error(
                400,
                "INVALID_TYPE",
                _bad_relationship(query.sobject, "FROM part of query call"),
                query.sobject,
                after_from=True,
            )
        name = next(
            r["relationshipName"]
            for r in plan.sobject.describe["childRelationships"]
            if (r.get("relationshipName") or "").lower() == query.sobject.lower()
        )
        return _Child(name, self.plan(query, child_type, child_field=found[1]), found[1])

    def resolve(self, plan: _Plan, item: Field) -> _Column:
        """The column for a field path, adding the LEFT JOINs its relationships need."""
        sobject, alias, steps = plan.sobject, "t0", []
        *relationships, name = item.path
        if len(relationships) > MAX_RELATIONSHIP_DEPTH:
            raise self.locator.error(
                400,
                "MALFORMED_QUERY",
                f"SOQL statements cannot query more than {MAX_RELATIONSHIP_DEPTH} levels of relationships "
                "away from the root entity object.",
                item.dotted,
            )
        for depth, relationship in enumerate(relationships):
            parent = sobject.parent(relationship)
            target = self.schema.get(parent[1]) if parent else None
            if target is None:
                raise self.locator.error(
                    400, "INVALID_FIELD", _bad_relationship(relationship, "field path"), item.dotted
                )
            key = tuple(r.lower() for r in relationships[: depth + 1])
            join = plan.joins.get(key)
            if join is None:
                join_alias = f"t{len(plan.joins) + 1}"
                # a parent the running user cannot see comes back null, as in Salesforce
                visible = (
                    ""
                    if self.access is None
                    else f" AND {self.access.visibility_sql(target.name, join_alias)}"
                )
                join = _Join(
                    join_alias,
                    target,
                    f'LEFT JOIN "{target.name}" AS {join_alias} '
                    f'ON {join_alias}."Id" = {alias}."{parent[0]["name"]}"{visible}',
                )
                plan.joins[key] = join
            steps.append((parent[0]["relationshipName"], join.alias))
            sobject, alias = target, join.alias
        described = sobject.field(name)
        if described is None:
            raise self.locator.error(400, "INVALID_FIELD", _no_such_column(name, sobject.name), item.dotted)
        return _Column(described, alias, tuple(steps))

    # -- order by --

    def order_by(self, plan: _Plan) -> str:
        keys = []
        for position, key in enumerate(plan.query.order_by):
            column = self.resolve(plan, key.field)
            if not column.field["sortable"]:
                raise self.locator.error(
                    400,
                    "INVALID_FIELD",
                    f"field '{column.field['name']}' can not be sorted in a query call",
                    key.field.dotted,
                )
            text = column.sql
            case_insensitive = column.field["type"] in _CASE_INSENSITIVE_TYPES
            if case_insensitive:
                text += f" COLLATE {COLLATION}"
            if key.descending:
                text += " DESC" if key.nulls == "LAST" else " DESC NULLS FIRST"
            else:
                text += " ASC NULLS LAST" if key.nulls == "LAST" else " ASC"
            keys.append(text)
            if position == 0 and column.alias == "t0":
                self.index_wanted.append((plan.sobject.name, column.field["name"], case_insensitive))
        if not any(k.field.dotted.lower() == "id" for k in plan.query.order_by):
            keys.append('t0."Id"')  # a stable order for ties, as paging needs
        return ", ".join(keys)

    # -- where --

    def condition(self, plan: _Plan, cond: Condition) -> tuple[str, list[Any]]:
        match cond:
            case And(items) | Or(items):
                parts = [self.condition(plan, item) for item in items]
                joiner = " AND " if isinstance(cond, And) else " OR "
                return _balanced(joiner, [sql for sql, _ in parts]), [p for _, ps in parts for p in ps]
            case Not(item):
                sql, params = self.condition(plan, item)
                return f"NOT ({sql})", params
            case Comparison(left, op, right):
                return self.comparison(plan, left, op, right)
            case InList(left, values, negated):
                return self.in_list(plan, left, values, negated)
            case Includes(left, values, excludes):
                return self.includes(plan, left, values, excludes)
        raise TypeError(f"not a condition: {cond!r}")

    def filter_column(self, plan: _Plan, operand: Operand) -> tuple[_Column, str]:
        item = operand.field if isinstance(operand, DateFunction) else operand
        column = self.resolve(plan, item)
        if not column.field["filterable"] or records.sqlite_type(column.field["type"]) is None:
            raise self.locator.error(
                400,
                "INVALID_FIELD",
                f"field '{column.field['name']}' can not be filtered in a query call",
                item.dotted,
            )
        return column, item.dotted

    def mismatch(self, dotted: str, field_type: str) -> SalesforceError:
        if field_type in _TYPE_WORDS:
            message = (
                f"value of filter criterion for field '{dotted}' must be of type {_TYPE_WORDS[field_type]} "
                "and should not be enclosed in quotes"
            )
        else:
            message = (
                f"value of filter criterion for field '{dotted}' must be of type string and should be "
                "enclosed in quotes"
            )
        return self.locator.error(400, "INVALID_FIELD", message, dotted)

    def value(self, column: _Column, dotted: str, literal: Literal) -> Any:
        """The stored form of a literal compared with a field; raises when the types do not match."""
        field_type = column.field["type"]
        match literal:
            case StringLiteral(text) if field_type in _ID_TYPES:
                if text == "":
                    return None
                if not ids.is_valid_id(text):
                    raise self.locator.error(
                        400, "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {text}", dotted
                    )
                return ids.to_18(text)
            case StringLiteral(text) if field_type in records.TEXT_TYPES or field_type == "time":
                return text
            case NumberLiteral(number) if field_type in _NUMERIC_TYPES:
                return self.number(number, field_type == "int", dotted)
            case BooleanLiteral(flag) if field_type == "boolean":
                return int(flag)
            case DateLiteral(day) if field_type == "date":
                return day.isoformat()
            case DateTimeLiteral(moment) if field_type == "datetime":
                return _stored_moment(moment)
        raise self.mismatch(dotted, field_type)

    def number(self, number: Decimal, integer: bool, dotted: str) -> int | float:
        """A number literal as SQLite compares it; beyond a 64-bit integer (an int field) or a double
        (other numbers) it is Salesforce's MALFORMED_QUERY, not an overflow."""
        if number == number.to_integral_value() and MIN_INT64 <= number <= MAX_INT64:
            return int(number)
        value = float(number)
        if not math.isfinite(value) or (integer and not MIN_INT64 <= value <= MAX_INT64):
            raise self.locator.error(400, "MALFORMED_QUERY", f'For input string: "{number}"', dotted)
        return value

    def day_range(self, literal: RelativeDate, field_type: str) -> tuple[str, str]:
        """``[start, end)`` of a relative date literal, as stored text for the field's type."""
        if literal.n is not None and literal.n > MAX_INT:
            text = f"{literal.name}:{literal.n}"
            raise self.locator.error(400, "MALFORMED_QUERY", f'For input string: "{literal.n}"', text)
        today = self.now.astimezone(dt.UTC).date()
        start, end = date_literals.day_range(literal.name, literal.n, today)
        start_text, end_text = start.isoformat(), end.isoformat()
        if end == date_literals.END_DAY:
            end_text += "~"  # after every stored value, that day included
        if field_type == "date":
            return start_text, end_text
        return start_text + "T00:00:00.000Z", end_text + "T00:00:00.000Z"

    def relative_date_condition(
        self, column: _Column, dotted: str, op: str, literal: RelativeDate
    ) -> tuple[str, list[Any]]:
        field_type = column.field["type"]
        if field_type not in ("date", "datetime"):
            raise self.mismatch(dotted, field_type)
        start, end = self.day_range(literal, field_type)
        col = column.sql
        return {
            "=": (f"({col} >= ? AND {col} < ?)", [start, end]),
            "!=": (f"({col} IS NULL OR {col} < ? OR {col} >= ?)", [start, end]),
            "<": (f"{col} < ?", [start]),
            "<=": (f"{col} < ?", [end]),
            ">": (f"{col} >= ?", [end]),
            ">=": (f"{col} >= ?", [start]),
        }[op]

    def comparison(self, plan: _Plan, left: Operand, op: str, right: Literal) -> tuple[str, list[Any]]:
        column, dotted = self.filter_column(plan, left)
        field_type = column.field["type"]
        if isinstance(left, DateFunction):
            return self.date_function(column, dotted, left, op, [right])
        col = column.sql
        if isinstance(right, NullLiteral) or (
            isinstance(right, StringLiteral) and right.value == "" and field_type in _ID_TYPES
        ):
            if field_type == "boolean":
                return (f"{col} = 0", []) if op == "=" else (f"{col} = 1", []) if op == "!=" else ("0", [])
            return (
                (f"{col} IS NULL", [])
                if op == "="
                else (f"{col} IS NOT NULL", [])
                if op == "!="
                else ("0", [])
            )
        if op == "LIKE":
            if field_type not in records.TEXT_TYPES:
                raise self.mismatch(dotted, field_type)
            assert isinstance(right, LikePattern)
            return f"sf_like({col}, ?)", [right.value]
        if isinstance(right, RelativeDate):
            return self.relative_date_condition(column, dotted, op, right)
        if field_type == "multipicklist" and op in ("=", "!="):
            assert isinstance(right, StringLiteral)
            sql = f"sf_mp_in({col}, ?)"
            param = json.dumps([sorted(_picklist_set(right.value))])
            return (sql if op == "=" else f"NOT {sql}"), [param]
        value = self.value(column, dotted, right)
        if field_type in _CASE_INSENSITIVE_TYPES:
            col = f"{col} COLLATE {COLLATION}"
            if op == "=":
                self.want_index(plan, column, True)
        elif op == "=":
            self.want_index(plan, column, False)
        if op == "!=":
            return f"({column.sql} IS NULL OR {col} <> ?)", [value]
        return f"({column.sql} IS NOT NULL AND {col} {op} ?)", [value]

    def want_index(self, plan: _Plan, column: _Column, collate: bool) -> None:
        # Few distinct values (picklists, booleans): an index would only tempt SQLite away from the
        # sort index, and a sorted page would then sort a third of the table.
        if column.alias == "t0" and column.field["type"] not in _LOW_CARDINALITY_TYPES:
            self.index_wanted.append((plan.sobject.name, column.field["name"], collate))

    def date_function(
        self, column: _Column, dotted: str, left: DateFunction, op: str, values: list[Literal]
    ) -> tuple[str, list[Any]]:
        field_type = column.field["type"]
        if field_type not in ("date", "datetime") or (left.name == "HOUR_IN_DAY" and field_type == "date"):
            raise self.locator.error(
                400,
                "MALFORMED_QUERY",
                f"{left.name} can not be applied to field '{column.field['name']}'",
                dotted,
            )
        start, length = _DATE_PARTS[left.name]
        expr = f"CAST(substr({column.sql}, {start}, {length}) AS INTEGER)"
        numbers = []
        for literal in values:
            if not isinstance(literal, NumberLiteral) or literal.value != literal.value.to_integral_value():
                raise self.mismatch(dotted, "int")
            numbers.append(self.number(literal.value, True, dotted))
        if op in ("IN", "NOT IN"):
            marks = ", ".join("?" * len(numbers))
            if op == "IN":
                return f"({column.sql} IS NOT NULL AND {expr} IN ({marks}))", numbers
            return f"({column.sql} IS NULL OR {expr} NOT IN ({marks}))", numbers
        if op == "LIKE":
            raise self.mismatch(dotted, "int")
        if op == "!=":
            return f"({column.sql} IS NULL OR {expr} <> ?)", numbers
        return f"({column.sql} IS NOT NULL AND {expr} {op} ?)", numbers

    def in_list(
        self, plan: _Plan, left: Operand, values: tuple[Literal, ...], negated: bool
    ) -> tuple[str, list[Any]]:
        column, dotted = self.filter_column(plan, left)
        if isinstance(left, DateFunction):
            return self.date_function(column, dotted, left, "NOT IN" if negated else "IN", list(values))
        field_type = column.field["type"]
        has_null = any(isinstance(v, NullLiteral) for v in values)
        literals = [v for v in values if not isinstance(v, NullLiteral)]
        if field_type == "multipicklist":
            sets = [sorted(_picklist_set(v.value)) for v in literals if isinstance(v, StringLiteral)]
            if len(sets) != len(literals):
                raise self.mismatch(dotted, field_type)
            sql = f"sf_mp_in({column.sql}, ?)"
            return (f"NOT {sql}" if negated else sql), [json.dumps(sets)]
        if any(isinstance(v, RelativeDate) for v in literals):
            return self.in_list_with_ranges(column, dotted, literals, has_null, negated)
        params = [self.value(column, dotted, v) for v in literals]
        if field_type == "boolean":
            params = [*params, *([0] if has_null else [])]
            marks = ", ".join("?" * len(params))
            return f"{column.sql} {'NOT IN' if negated else 'IN'} ({marks})", params
        col = column.sql
        if field_type in _CASE_INSENSITIVE_TYPES:
            col += f" COLLATE {COLLATION}"
        if not negated:
            self.want_index(plan, column, field_type in _CASE_INSENSITIVE_TYPES)
        marks = ", ".join("?" * len(params))
        if not params:
            return (f"{column.sql} IS NOT NULL", []) if negated else (f"{column.sql} IS NULL", [])
        if negated:
            null_part = f"{column.sql} IS NOT NULL AND" if has_null else f"{column.sql} IS NULL OR"
            return f"({null_part} {col} NOT IN ({marks}))", params
        null_part = f"{column.sql} IS NULL OR" if has_null else f"{column.sql} IS NOT NULL AND"
        return f"({null_part} {col} IN ({marks}))", params

    def in_list_with_ranges(
        self, column: _Column, dotted: str, literals: list[Literal], has_null: bool, negated: bool
    ) -> tuple[str, list[Any]]:
        """``d IN (TODAY, LAST_MONTH, 2024-01-31)``: the value lies in one of the days or ranges."""
        parts, params = [], []
        for literal in literals:
            if isinstance(literal, RelativeDate):
                sql, part_params = self.relative_date_condition(column, dotted, "=", literal)
            else:
                sql, part_params = f"{column.sql} = ?", [self.value(column, dotted, literal)]
            parts.append(sql)
            params.extend(part_params)
        ranges = _balanced(" OR ", parts)
        if negated:  # NOT IN matches nulls unless null is listed
            null_part = f"{column.sql} IS NOT NULL AND" if has_null else f"{column.sql} IS NULL OR"
            return f"({null_part} NOT ({ranges}))", params
        null_part = f"{column.sql} IS NULL OR" if has_null else f"{column.sql} IS NOT NULL AND"
        return f"({null_part} ({ranges}))", params

    def includes(
        self, plan: _Plan, left: Field, values: tuple[StringLiteral, ...], excludes: bool
    ) -> tuple[str, list[Any]]:
        column, dotted = self.filter_column(plan, left)
        if column.field["type"] != "multipicklist":
            raise self.locator.error(
                400,
                "INVALID_QUERY_FILTER_OPERATOR",
                "includes or excludes operator only valid on multipicklist field",
                dotted,
            )
        groups = [sorted(_picklist_set(v.value)) for v in values]
        sql = f"sf_includes({column.sql}, ?)"
        return (f"NOT {sql}" if excludes else sql), [json.dumps(groups)]


# --- execution ------------------------------------------------------------------------------------


def _ids_sql(plan: _Plan) -> str:
    sql = f'SELECT t0."Id" FROM {plan.from_sql} WHERE {plan.where_sql} ORDER BY {plan.order_sql}'
    if plan.query.limit is not None or plan.query.offset:
        sql += " LIMIT ? OFFSET ?"
    return sql


def _ids_params(plan: _Plan) -> list[Any]:
    params = list(plan.where_params)
    if plan.query.limit is not None or plan.query.offset:
        params += [-1 if plan.query.limit is None else plan.query.limit, plan.query.offset or 0]
    return params


class _RecordBuilder:
    """Builds REST-shaped records for a list of Ids of one plan (children included)."""

    def __init__(self, store: Any, plan: _Plan, api_version: str, parent_field: str = ""):
        self.store = store
        self.plan = plan
        self.api_version = api_version
        self.parent_field = parent_field  # for a child subquery: its reference to the parent
        columns = [c for c in plan.columns if isinstance(c, _Column)]
        self.select_sql = ", ".join(
            ['t0."Id"']
            + [c.sql if records.sqlite_type(c.field["type"]) else "NULL" for c in columns]
            + [f'{j.alias}."Id"' for j in plan.joins.values()]
        )
        self.join_index = {j.alias: 1 + len(columns) + n for n, j in enumerate(plan.joins.values())}
        self.children = {
            id(c): _RecordBuilder(store, c.plan, api_version, c.parent_field)
            for c in plan.columns
            if isinstance(c, _Child)
        }

    def url(self, sobject_name: str, record_id: str) -> str:
        return f"/services/data/v{self.api_version}/sobjects/{sobject_name}/{record_id}"

    def attributes(self, default_type: str, record_id: str) -> dict:
        found = self.store.schema.type_of_id(record_id)
        type_name = found.name if found else default_type
        return {"type": type_name, "url": self.url(type_name, record_id)}

    def build(self, record_ids: list[str]) -> list[dict]:
        """The records of these Ids, in this order (Ids no longer in the store are skipped)."""
        by_id = self.build_by_id(record_ids)
        return [by_id[i] for i in record_ids if i in by_id]

    def build_by_id(self, record_ids: list[str]) -> dict[str, dict]:
        if not record_ids:
            return {}
        conn = self.store.conn
        rows = conn.execute(
            f"SELECT {self.select_sql} FROM {self.plan.from_sql} "
            f'WHERE t0."Id" IN (SELECT value FROM json_each(?))',
            (json.dumps(record_ids),),
        ).fetchall()
        by_id = {row[0]: row for row in rows}
        children = {key: builder.children_of(list(by_id)) for key, builder in self.children.items()}
        return {i: self.record(row, children) for i, row in by_id.items()}

    def record(self, row: tuple, children: dict[int, dict[str, dict]]) -> dict:
        plan = self.plan
        out: dict[str, Any] = {
            "attributes": {"type": plan.sobject.name, "url": self.url(plan.sobject.name, row[0])}
        }
        index = 1
        for column in plan.columns:
            if isinstance(column, _Child):
                out[column.name] = children[id(column)].get(row[0])
                continue
            if column is None:
                continue
            container: dict | None = out
            for relationship, alias in column.steps:
                if relationship not in container:
                    parent_id = row[self.join_index[alias]]
                    join = next(j for j in plan.joins.values() if j.alias == alias)
                    container[relationship] = (
                        None
                        if parent_id is None
                        else {"attributes": self.attributes(join.sobject.name, parent_id)}
                    )
                container = container[relationship]
                if container is None:
                    break
            if container is not None:
                container[column.field["name"]] = records.to_json_value(column.field["type"], row[index])
            index += 1
        return out

    def children_of(self, parent_ids: list[str]) -> dict[str, dict]:
        """Each parent's nested query result (``totalSize``, ``done``, ``records``); parents without
        children are absent (the record shows null)."""
        plan = self.plan
        parent_column = f't0."{self.parent_field}"'
        lower = plan.query.offset or 0
        upper = -1 if plan.query.limit is None else lower + plan.query.limit
        # the subquery's LIMIT and OFFSET apply to each parent's children
        sql = (
            f'SELECT parent, id FROM (SELECT {parent_column} AS parent, t0."Id" AS id, '
            f"ROW_NUMBER() OVER (PARTITION BY {parent_column} ORDER BY {plan.order_sql}) AS rn "
            f"FROM {plan.from_sql} WHERE {parent_column} IN (SELECT value FROM json_each(?)) "
            f"AND {plan.where_sql}) WHERE rn > ? AND (? < 0 OR rn <= ?) ORDER BY parent, rn"
        )
        params = [json.dumps(parent_ids), *plan.where_params, lower, upper, upper]
        grouped: dict[str, list[str]] = {}
        for parent, child_id in self.store.conn.execute(sql, params):
            grouped.setdefault(parent, []).append(child_id)
        built = self.build_by_id([i for child_ids in grouped.values() for i in child_ids])
        return {
            parent: {
                "totalSize": len(child_ids),
                "done": True,
                "records": [built[i] for i in child_ids if i in built],
            }
            for parent, child_ids in grouped.items()
        }


@contextlib.contextmanager
def _complexity_guard() -> Iterator[None]:
    """SQLite's own limits (variables, expression depth) reached by a valid query: Salesforce's answer."""
    try:
        yield
    except sqlite3.OperationalError as error:
        text = str(error)
        if "too many SQL variables" in text or "too large" in text or "too complex" in text:
            raise too_complicated() from None
        raise


def _queries(query: Query) -> list[Query]:
    """The query and its child subqueries."""
    return [query, *(item.query for item in query.select if isinstance(item, Subquery))]


class QueryResult:
    """A query's matching Ids in order; ``next_batch`` builds the next records from the store on demand."""

    def __init__(self, store: Any, builder: _RecordBuilder | None, matching_ids: list[str], total_size: int):
        self._store = store
        self._builder = builder
        self._ids = matching_ids
        self._position = 0
        self._lock = threading.Lock()
        self.total_size = total_size

    @property
    def done(self) -> bool:
        return self._position >= len(self._ids)

    def next_batch(self, n: int) -> list[dict]:
        """The next ``n`` records (fewer at the end), in REST shape."""
        with self._lock:
            batch = self._ids[self._position : self._position + n]
            self._position += len(batch)
        if not batch or self._builder is None:
            return []
        with self._store.lock, _complexity_guard():
            return self._builder.build(batch)


def execute(
    store: Any,
    soql_text: str,
    *,
    include_deleted: bool = False,
    api_version: str = "59.0",
    now: dt.datetime | Callable[[], dt.datetime] | None = None,
    access: UserAccess | None = None,
) -> QueryResult:
    """Run a SOQL statement on the store; raises ``SalesforceError`` as Salesforce would.

    With ``access`` it runs as that user: only the objects and fields they can read exist, and only the
    records they can see match (root, parent lookups, child subqueries and counts alike).
    """
    if len(soql_text) > MAX_STATEMENT_LENGTH:
        raise SalesforceError(
            400, "MALFORMED_QUERY", f"SOQL statements cannot be longer than {MAX_STATEMENT_LENGTH} characters"
        )
    try:
        query = parse_soql(soql_text)
    except SoqlSyntaxError as exc:
        raise SalesforceError(
            400, "MALFORMED_QUERY", error_layout(soql_text, exc.position, exc.message)
        ) from None
    except RecursionError:  # parentheses nested hundreds deep
        raise too_complicated() from None
    return execute_tree(
        store,
        query,
        soql_text,
        include_deleted=include_deleted,
        api_version=api_version,
        now=now,
        access=access,
    )


def execute_tree(
    store: Any,
    query: Query,
    text: str,
    *,
    include_deleted: bool = False,
    api_version: str = "59.0",
    now: dt.datetime | Callable[[], dt.datetime] | None = None,
    access: UserAccess | None = None,
    restrict: tuple[str, list[Any]] | None = None,
) -> QueryResult:
    """Run a parsed query; ``text`` is the statement errors point into. ``restrict`` is one more SQL
    condition on the root row (alias ``t0``) with its parameters: the local org's SOSL passes its matches."""
    plan = _planned(store, query, text, include_deleted, api_version, now, access, restrict)
    with store.lock, _complexity_guard():
        conn = store.conn
        if plan.count_only:
            (total,) = conn.execute(f"SELECT COUNT(*) FROM ({_ids_sql(plan)})", _ids_params(plan)).fetchone()
            return QueryResult(store, None, [], total)
        matching = [row[0] for row in conn.execute(_ids_sql(plan), _ids_params(plan))]
    return QueryResult(store, _RecordBuilder(store, plan, api_version), matching, len(matching))


def _planned(
    store: Any,
    query: Query,
    text: str,
    include_deleted: bool,
    api_version: str,
    now: dt.datetime | Callable[[], dt.datetime] | None,
    access: UserAccess | None,
    restrict: tuple[str, list[Any]] | None,
) -> _Plan:
    """The checked plan of a parsed query, with the indexes it wants created."""
    if any(_condition_depth(q.where) > MAX_CONDITION_DEPTH for q in _queries(query)):
        raise too_complicated()
    if callable(now):
        now = now()
    if now is None:
        now = store.now() if callable(getattr(store, "now", None)) else dt.datetime.now(dt.UTC)
    planner = _Planner(store, text, now, api_version, include_deleted, access)
    if callable(getattr(store, "purge_recycle_bin", None)):
        store.purge_recycle_bin()  # what the recycle bin held past its retention is gone
    sobject = planner.schema.get(query.sobject)
    if sobject is None:
        error = invalid_type(query.sobject)
        raise planner.locator.error(400, error.error_code, error.message, query.sobject, after_from=True)
    plan = planner.plan(query, sobject)
    if restrict is not None:
        plan.where_sql = f"{plan.where_sql} AND {restrict[0]}"
        plan.where_params = [*plan.where_params, *restrict[1]]
    with store.lock:
        _prepare(store.conn)
        for table, column, collate in planner.index_wanted:
            _ensure_index(store.conn, table, column, collate)
    return plan


def explain(store: Any, soql_text: str, *, access: UserAccess | None = None) -> list[str]:
    """SQLite's ``EXPLAIN QUERY PLAN`` of the statement that finds a SOQL query's matching Ids, one line
    per step (``SEARCH t0 USING INDEX sf_ci_Account_Name (Name>?)``): how the org would run it."""
    query = parse_soql(soql_text)
    plan = _planned(store, query, soql_text, False, "59.0", None, access, None)
    with store.lock:
        rows = store.conn.execute(f"EXPLAIN QUERY PLAN {_ids_sql(plan)}", _ids_params(plan)).fetchall()
    return [row[-1] for row in rows]
