"""The SOQL syntax tree: small frozen dataclasses, one per construct of the SOQL subset we speak.

The gateway builds these trees and prints them (``printer``); the local org parses SOQL text into the
same trees (``parser``) and executes them. Printing then parsing a tree gives the same tree back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

# --- select items ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A field, or a path along lookups: ``('Account', 'Owner', 'Name')`` is ``Account.Owner.Name``."""

    path: tuple[str, ...]

    @classmethod
    def of(cls, dotted: str) -> Field:
        return cls(tuple(dotted.split(".")))

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Count:
    """``COUNT()``: the query answers only ``totalSize``."""


@dataclass(frozen=True)
class Subquery:
    """A child relationship subquery ``(SELECT … FROM Contacts …)``; ``query.sobject`` is the relationship."""

    query: Query


SelectItem = Field | Count | Subquery

# --- literals -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StringLiteral:
    value: str


@dataclass(frozen=True)
class LikePattern:
    """The right side of ``LIKE``: ``%`` and ``_`` are wildcards; ``\\%``, ``\\_`` and ``\\\\`` stand
    for a literal ``%``, ``_`` and backslash (use ``like_pattern`` in ``printer`` to build one)."""

    value: str


@dataclass(frozen=True)
class NumberLiteral:
    value: Decimal


@dataclass(frozen=True)
class BooleanLiteral:
    value: bool


@dataclass(frozen=True)
class NullLiteral:
    pass


@dataclass(frozen=True)
class DateLiteral:
    value: dt.date


@dataclass(frozen=True)
class DateTimeLiteral:
    """A datetime literal; ``value`` is timezone-aware."""

    value: dt.datetime


@dataclass(frozen=True)
class RelativeDate:
    """A date literal such as ``TODAY`` (``n`` None) or ``LAST_N_DAYS:7``; ``name`` is upper case, one of
    ``RELATIVE_DATES`` or (with ``n``) ``RELATIVE_DATES_N``."""

    name: str
    n: int | None = None


Literal = (
    StringLiteral
    | LikePattern
    | NumberLiteral
    | BooleanLiteral
    | NullLiteral
    | DateLiteral
    | DateTimeLiteral
    | RelativeDate
)

# --- conditions -----------------------------------------------------------------------------------

DATE_FUNCTIONS = ("CALENDAR_YEAR", "CALENDAR_MONTH", "DAY_IN_MONTH", "HOUR_IN_DAY")
_PERIODS = ("WEEK", "MONTH", "QUARTER", "YEAR", "FISCAL_QUARTER", "FISCAL_YEAR")
RELATIVE_DATES = frozenset(
    {"TODAY", "YESTERDAY", "TOMORROW", "LAST_90_DAYS", "NEXT_90_DAYS"}
    | {f"{when}_{period}" for when in ("THIS", "LAST", "NEXT") for period in _PERIODS}
)
"""Date literals written alone (``RelativeDate.n`` is None)."""
RELATIVE_DATES_N = frozenset(
    form.replace("*", unit)
    for form in ("LAST_N_*", "NEXT_N_*", "N_*_AGO")
    for unit in ("DAYS", "WEEKS", "MONTHS", "QUARTERS", "YEARS", "FISCAL_QUARTERS", "FISCAL_YEARS")
)
"""Date literals that take a number: ``LAST_N_DAYS:7``, ``N_MONTHS_AGO:2`` …"""
COMPARISON_OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "LIKE")


@dataclass(frozen=True)
class DateFunction:
    """``CALENDAR_YEAR(CloseDate)`` and its kin; ``name`` is one of ``DATE_FUNCTIONS``."""

    name: str
    field: Field


Operand = Field | DateFunction


@dataclass(frozen=True)
class Comparison:
    """``left op right``; ``op`` is one of ``COMPARISON_OPERATORS`` (``LIKE`` takes a ``LikePattern``)."""

    left: Operand
    op: str
    right: Literal


@dataclass(frozen=True)
class InList:
    """``left IN (…)`` or, negated, ``left NOT IN (…)``."""

    left: Operand
    values: tuple[Literal, ...]
    negated: bool = False


@dataclass(frozen=True)
class Includes:
    """``left INCLUDES ('a;b', 'c')`` or ``EXCLUDES`` for multi-select picklists."""

    left: Field
    values: tuple[StringLiteral, ...]
    excludes: bool = False


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Comparison | InList | Includes | And | Or | Not

# --- the query ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderBy:
    """One sort key; ``nulls`` is ``'FIRST'``, ``'LAST'`` or None (Salesforce's default: first)."""

    field: Field
    descending: bool = False
    nulls: str | None = None


@dataclass(frozen=True)
class Query:
    select: tuple[SelectItem, ...]
    sobject: str
    where: Condition | None = None
    order_by: tuple[OrderBy, ...] = ()
    limit: int | None = None
    offset: int | None = None
